"""The proposal review's saving: every decision and every change of answers is kept as a
draft (kind "proposal", key "C<client>") as it is made; Ctrl+S stores the intake
(unless it is the stored one, unchanged), drafts plan version 1 and applies the
decisions as one plan edit, then opens the plan editor.

`ProposalSaving` is the proposal review's base class; `ProposalScreen`
(screens/proposal.py) supplies the review, the answers and the drawing.
"""

from __future__ import annotations

import copy
import json
import threading
from typing import Any

from textual import work
from textual.screen import Screen

from planwise.tui.widgets.proposal_model import Review


class ProposalSaving(Screen[None]):
    client_id: int
    origin: dict[str, Any] | None
    intake_id: int | None
    intake_data: dict[str, Any] | None
    review: Review
    real: dict[str, Any] | None
    loaded: bool
    saving: bool
    _seq: int
    _written: int
    _draft_lock: threading.Lock

    # -- drafts ---------------------------------------------------------------------------
    def draft_payload(self) -> dict[str, Any]:
        return {"origin": self.origin, "intake_id": self.intake_id,
                "intake_data": self.intake_data, "review": self.review.to_json(),
                "real": self.real}

    def autosave(self) -> None:
        self._seq += 1
        # Serialised here, on the interface thread, so the worker writes this exact state.
        self._save_draft(self._seq, json.loads(json.dumps(self.draft_payload(), default=str)))

    @work(thread=True, exit_on_error=False, group="proposal-draft")
    def _save_draft(self, seq: int, payload: dict[str, Any]) -> None:
        with self._draft_lock:
            if seq < self._written or self.saving:
                return           # a newer state is on disk already (or the plan is saved)
            self.app.services.save_proposal_draft(self.client_id, payload)  # type: ignore
            self._written = seq

    # -- save as plan ---------------------------------------------------------------------
    def action_save_plan(self) -> None:
        if not self.loaded or self.saving or self.intake_data is None:
            return
        if not self.review.items:
            self.notify("No problem was established: there is nothing to save as a plan.",
                        severity="warning")
            return
        self.saving = True
        self.notify("Saving the plan with the what-if answers (stored as a new intake)..."
                    if self.real is not None else "Saving the plan...")
        self._save_plan(copy.deepcopy(self.intake_data), self.intake_id,
                        Review.from_json(self.review.to_json()), self._intake_below())

    @work(thread=True, exit_on_error=False, group="proposal-save")
    def _save_plan(self, data: dict[str, Any], intake_id: int | None, review: Review,
                   intake_below: bool) -> None:
        services = self.app.services  # type: ignore[attr-defined]
        try:
            with self._draft_lock:
                plan_id, notes = services.save_proposal_as_plan(self.client_id, data,
                                                                intake_id, review)
            if intake_below:   # the new intake is stored now: its draft is done with
                services.delete_intake_draft(self.client_id)
        except BaseException:
            self.app.call_from_thread(setattr, self, "saving", False)
            raise
        self.app.call_from_thread(self._saved, plan_id, notes)

    def _saved(self, plan_id: int, notes: list[str]) -> None:
        self.notify(f"Plan P{plan_id} saved from the reviewed proposal.", title="Saved")
        todo = len(self.review.unconfirmed())
        if todo:
            self.notify(f"{todo} screen-only problem(s) still to confirm or reject before "
                        "the plan is signed (c on the problem in the plan editor).",
                        severity="warning", timeout=8)
        for note in notes:
            self.notify(f"Not saved: {note}", severity="warning", timeout=8)
        app = self.app
        if self not in app.screen_stack:  # left while saving: the plan opens all the same
            app.open_plan(plan_id)  # type: ignore[attr-defined]
            return
        # A screen opened over the review while it saved (help, why) goes first: popping
        # by position took it for the review, and left the review and the stored
        # intake's form open under the plan (the monkey test found it).
        while app.screen_stack[-1] is not self:  # at once (pop_until_active waits)
            app.pop_screen()
        below_is_intake = self._intake_below()
        app.pop_screen()
        if below_is_intake:
            app.pop_screen()   # the finished new-intake form
        app.open_plan(plan_id)  # type: ignore[attr-defined]

    def _intake_below(self) -> bool:
        """Is this review on top of the new-intake form it came from?"""
        from planwise.tui.screens.intake import IntakeScreen

        stack = self.app.screen_stack
        below = stack[-2] if len(stack) >= 2 and stack[-1] is self else None
        return isinstance(below, IntakeScreen) and below.client_id == self.client_id
