"""The plan editor's saving: edits to a draft version are saved as they are made, one save
at a time; edits to a signed version are kept as a draft (kind "plan", key "P<id>") until
Ctrl+R saves them, with a reason, as the next version; Ctrl+D discards them.

`PlanSaving` is the plan editor's base class; `PlanScreen` (screens/plan.py) supplies
the document, the view and the drawing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from textual import work
from textual.screen import Screen

from planwise.store.models import PlanDoc
from planwise.tui.screens.dialogs import TextPrompt
from planwise.tui.widgets import plan_model as pm


class PlanSaving(Screen[None]):
    plan_id: int
    view: pm.PlanView | None
    doc: PlanDoc | None
    revising: bool
    dirty: bool
    stale_draft: bool
    _saving: bool
    _pending: bool
    # Supplied by the plan editor.
    relint: Callable[[], None]
    show_head: Callable[[], None]
    load: Callable[[], Any]
    _editable: Callable[[], bool]

    @property
    def key(self) -> str:
        return f"P{self.plan_id}"

    def _commit(self) -> None:
        """The document changed: save it (a draft version) or keep it (a revision)."""
        assert self.doc is not None and self.view is not None
        self.relint()
        if self.view.state == "draft" and not self.revising:
            self._queue_save()
        else:
            self.dirty = True
            self.keep(self.doc.model_dump(mode="json", by_alias=True), time.monotonic_ns())


    @work(thread=True, exit_on_error=False, group="plan-draft")
    def keep(self, doc: dict[str, Any], seq: int) -> None:
        assert self.view is not None
        payload = {"doc": doc, "base_version": self.view.version}
        self.app.services.keep_draft("plan", self.key, payload, seq,  # type: ignore[attr-defined]
                                     self.view.client_id)

    def _queue_save(self) -> None:
        """Save the draft version; one save at a time, the newest edits last."""
        if self._saving:
            self._pending = True
            return
        assert self.doc is not None
        self._saving = True
        self.save_draft_version(self.doc.model_copy(deep=True))

    @work(thread=True, exit_on_error=False, group="plan-save")
    def save_draft_version(self, doc: PlanDoc) -> None:
        try:
            result = self.app.services.plan_save(self.plan_id, doc)  # type: ignore[attr-defined]
        except Exception:
            self.app.call_from_thread(self._save_failed, doc)
            raise
        self.app.call_from_thread(self._saved, result)

    def _saved(self, result: dict[str, Any]) -> None:
        self._saving = False
        if self.doc is not None:
            self.doc.row_version = result["row_version"]
        if self.view is not None:
            self.view.row_version = result["row_version"]
        if self._pending:
            self._pending = False
            self._queue_save()

    def _save_failed(self, doc: PlanDoc) -> None:
        """Not saved (e.g. signed elsewhere meanwhile): keep the edits as a draft."""
        self._saving = self._pending = False
        self.dirty = self.revising = True
        if self.doc is not None:
            self.keep(self.doc.model_dump(mode="json", by_alias=True), time.monotonic_ns())
        self.show_head()

    # -- revision ----------------------------------------------------------------------
    def action_revise(self) -> None:
        v = self.view
        if v is None:
            return
        if v.state == "draft" and not self.dirty:
            self.notify(f"Version {v.version} is a draft: edits are saved as you make them; "
                        "no revision is needed until it is signed.")
            return
        if not self.dirty:
            self._editable()
            return

        def reason_given(reason: str | None) -> None:
            if reason and self.doc is not None:
                self.save_revision(self.doc.model_copy(deep=True), reason)

        self.app.push_screen(TextPrompt(
            f"Reason for version {v.version + 1}", placeholder="Why the plan changes",
            note=f"Version {v.version} stays as it was signed; your edits become version "
                 f"{v.version + 1}. The reason is kept with it."), reason_given)

    @work(thread=True, exit_on_error=False, group="plan-save")
    def save_revision(self, doc: PlanDoc, reason: str) -> None:
        result = self.app.services.plan_save(self.plan_id, doc, reason)  # type: ignore[attr-defined]
        self.app.call_from_thread(self._revised, result)

    def _revised(self, result: dict[str, Any]) -> None:
        self.revising = self.dirty = False
        if result["changed"]:
            self.notify(f"Saved as version {result['version']} (a draft until signed).")
        else:
            self.notify("Nothing had changed: no new version.")
        self.load()

    def action_discard(self) -> None:
        if not (self.dirty or self.stale_draft):
            self.notify("No unsaved edits to discard.")
            return
        self.discard()

    @work(thread=True, exit_on_error=False, group="plan-draft")
    def discard(self) -> None:
        self.app.services.drop_draft("plan", self.key)  # type: ignore[attr-defined]
        self.app.call_from_thread(self._discarded)

    def _discarded(self) -> None:
        self.notify("Unsaved plan edits discarded.")
        self.load()

