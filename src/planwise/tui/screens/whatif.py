"""What-if from the proposal review (c): the intake's five steps on a COPY of the
answers. Nothing here is saved anywhere: not the client's intake draft (the real
answers of a new intake stay as they were), not the stored intake. Ctrl+R hands the
changed answers back to the proposal review, which shows what they change; Esc goes
back with nothing changed, without the keep-or-discard question of a real intake."""

from __future__ import annotations

from typing import Any

from planwise.tui.screens.intake import IntakeScreen


class WhatIfIntakeScreen(IntakeScreen):
    HELP_TEXT = ("What-if: a copy of the answers. Change any of them, then Ctrl+R shows the "
                 "proposal they make, with what changed marked; Esc goes back with nothing "
                 "changed. Nothing typed here is saved.")

    def __init__(self, client_id: int, data: dict[str, Any]) -> None:
        super().__init__(client_id, data=data)

    def on_mount(self) -> None:
        # Textual runs the intake's own on_mount after this one (it names a new intake):
        # the what-if title goes up once that is done.
        self.call_after_refresh(self._title)

    def _title(self) -> None:
        self.sub_title = f"What-if for C{self.client_id}: a copy of the answers (Esc: back)"

    def changed(self) -> None:
        """A copy: never written over the client's intake draft."""

    def action_back(self) -> None:
        self.dismiss(None)

    def _open_proposal(self, data: dict[str, Any]) -> None:
        self.dismiss(data)
