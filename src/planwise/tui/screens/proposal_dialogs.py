"""The proposal review's dialogs: reject with a reason, edit, add. What is typed in one is
kept as a draft while it is open (tui/dialog_drafts.py); when the review is opened again
after a crash or a hangup, the dialog opens again as it was left.

`ProposalDialogs` sits between `ProposalSaving` and `ProposalScreen`
(screens/proposal.py), which supplies the selection, the review and `_changed`.
"""

from __future__ import annotations

from typing import Any

from textual import work
from textual.screen import ModalScreen

from planwise.tui.dialog_drafts import DialogKeep, drop_kept, kept_dialog
from planwise.tui.screens.dialogs import TextPrompt
from planwise.tui.screens.proposal_saving import ProposalSaving
from planwise.tui.widgets.plan_item_dialogs import FieldsDialog
from planwise.tui.widgets.proposal_dialogs import ItemDialog
from planwise.tui.widgets.proposal_model import (
    ADD_FIELDS,
    ADD_UNDER,
    EDIT_FIELDS,
    PANEL_KINDS,
    Item,
    check_values,
)
from planwise.tui.widgets.proposal_panel import ProposalPanel
from planwise.tui.widgets.proposal_tree import body


def _when(stamp: str) -> str:
    return stamp.replace("T", " ")[:16] + " UTC" if stamp else "earlier"


class ProposalDialogs(ProposalSaving):
    # Supplied by ProposalScreen.
    def _selected_item(self, action: str) -> Item | None:
        raise NotImplementedError

    def _move_to(self, key: str) -> None:
        raise NotImplementedError

    def _changed(self) -> None:
        raise NotImplementedError

    # -- the draft of an open dialog -------------------------------------------------------
    def _keep(self, action: dict[str, Any]) -> DialogKeep:
        return DialogKeep("proposal", f"C{self.client_id}", self.client_id,
                          f"a dialog of the proposal review of C{self.client_id}",
                          {**action, "intake": self.intake_id})

    @work(thread=True, exit_on_error=False, group="dialog-restore")
    def reopen_dialog(self) -> None:
        """After the review is shown: a dialog left open, opened again with its text."""
        draft = kept_dialog(self.app.services, "proposal",  # type: ignore[attr-defined]
                            f"C{self.client_id}")
        if draft is not None:
            self.app.call_from_thread(self._reopen_typed, draft)

    def _reopen_typed(self, draft: dict[str, Any]) -> None:
        action, values = draft["action"], draft["values"]
        do = action.get("do")
        it = self.review.get(str(action.get("item", "")))
        when = _when(str(draft.get("_updated_at", "")))
        if action.get("intake") != self.intake_id:
            return  # typed over the review of another intake: kept for that one
        if do == "reject" and it is not None and not it.added:
            self._reject(it, str(values.get("text", "")))
        elif do == "edit" and it is not None and it.kind in EDIT_FIELDS:
            self._edit(it, values)
        elif do == "add" and str(action.get("kind")) in ADD_FIELDS:
            parent = self.review.get(str(action["parent"])) if action.get("parent") else None
            if action.get("parent") and parent is None:
                drop_kept(self.app, "proposal", f"C{self.client_id}")
                return
            self._add(parent, str(action["kind"]), values)
        else:
            drop_kept(self.app, "proposal", f"C{self.client_id}")  # its item is gone
            return
        self.notify(f"Reopened the dialog you were typing in, with its text from {when}.",
                    title="Recovered")

    # -- the dialogs -----------------------------------------------------------------------
    def _title(self, it: Item) -> str:
        kb = self.app.services.kb  # type: ignore[attr-defined]
        if it.kind == "problem":
            return f"problem {kb.label('conditions', it.condition)}"
        if it.kind in PANEL_KINDS:
            what = "the treatment block" if it.kind == "treatment" else it.kind
            return f"{what} \u201c{body(self.review, it, kb)}\u201d"
        return f"{it.kind} \u201c{self.review.current(it.key).get('text', '')}\u201d"

    def _vocab(self) -> dict[str, set[str]]:
        kb = self.app.services.kb  # type: ignore[attr-defined]
        return {"modalities": set(kb.vocab["modalities"]),
                "referral_kinds": set(kb.vocab["referral_kinds"]),
                "levels_of_care": set(kb.vocab["levels_of_care"]),
                "instruments": set(kb.instruments)}

    def _form(self, title: str, kind: str, fields: tuple[str, ...], values: dict[str, Any],
              keep: DialogKeep, typed: dict[str, Any] | None = None,
              note: str = "") -> ModalScreen[dict[str, Any] | None]:
        """The tree's items keep their dialog; the panel's (up to six fields) the compact
        one, so that they fit at 80x24."""
        vocab = self._vocab()
        check = lambda raw: check_values(fields, raw, vocab=vocab)  # noqa: E731
        kind_of = FieldsDialog if kind in PANEL_KINDS else ItemDialog
        return kind_of(title, fields, values, check, note=note, keep_as=keep, typed=typed)

    def action_reject(self) -> None:
        it = self._selected_item("Reject")
        if it is None:
            return
        if it.added:
            self.review.remove_added(it.key)
            self.notify("Removed the item you added.")
            self._changed()
            return
        self._reject(it, None)

    def _reject(self, it: Item, typed: str | None) -> None:
        def done(reason: str | None) -> None:
            if reason and self.review.get(it.key) is not None:
                self.review.reject(it.key, reason)
                self._changed()

        under = " and everything under it" if it.kind in ("problem", "goal") else ""
        self.app.push_screen(TextPrompt(
            f"Reject {self._title(it)}", placeholder="Reason (required)",
            value=typed if typed is not None else (self.review.reason(it.key) or ""),
            note=f"Rejects this {it.kind}{under}. The reason is kept in the plan.",
            keep_as=self._keep({"do": "reject", "item": it.key}),
            recovered=typed is not None), done)

    def action_edit(self) -> None:
        it = self._selected_item("Edit")
        if it is not None:
            self._edit(it, None)

    def _edit(self, it: Item, typed: dict[str, Any] | None) -> None:
        fields = EDIT_FIELDS[it.kind]

        def done(values: dict[str, Any] | None) -> None:
            if values is not None and self.review.get(it.key) is not None:
                self.review.edit(it.key, values)
                self._changed()

        self.app.push_screen(self._form(
            f"Edit {self._title(it)}", it.kind, fields, self.review.current(it.key),
            self._keep({"do": "edit", "item": it.key}), typed,
            note="Editing back to the proposal's values makes it accepted again."), done)

    def action_add(self) -> None:
        panel = self.query_one("#proposal-panel", ProposalPanel)
        if self.loaded and self.focused is panel:
            chosen = panel.selected_item()
            self._add(None, "assessment" if chosen is not None and chosen.kind == "assessment"
                      else "referral")
            return
        it = self._selected_item("Add")
        if it is None:
            return
        if it.kind in ADD_UNDER:
            parent, kind = it, ADD_UNDER[it.kind]
            if kind == "objective":
                self._ask_objective_or_intervention(parent)
                return
        else:
            parent_item = self.review.get(it.parent or "")
            if parent_item is None:
                return
            parent, kind = parent_item, it.kind
        self._add(parent, kind)

    def _ask_objective_or_intervention(self, goal: Item) -> None:
        def chosen(answer: str | None) -> None:
            if answer is None:
                return
            a = answer.strip().lower()
            if a.startswith("o"):
                self._add(goal, "objective")
            elif a.startswith("i"):
                self._add(goal, "intervention")
            else:
                self.notify("Type o for an objective or i for an intervention.")

        self.app.push_screen(TextPrompt("Add under this goal", placeholder="o or i",
                                        note="o: an objective (the client will ...); "
                                             "i: an intervention (the therapist will ...)"),
                             chosen)

    def _add(self, parent: Item | None, kind: str, typed: dict[str, Any] | None = None) -> None:
        if parent is not None and (self.review.reason(parent.key)
                                   or self.review.rejected_ancestor(parent.key)):
            self.notify(f"The {parent.kind} is rejected: accept it (a) before adding to it.")
            return
        fields = ADD_FIELDS[kind]

        def done(values: dict[str, Any] | None) -> None:
            if values is not None:
                item = self.review.add(kind, parent.key if parent else None, values)
                self._changed()
                if parent is not None:
                    self.call_after_refresh(self._move_to, item.key)

        defaults = {"target_weeks": "4"} if kind == "objective" else \
            {"urgency": "routine"} if kind == "referral" else {}
        article = "an" if kind[0] in "aeiou" else "a"
        title = f"Add {article} {kind}" + (f" to {self._title(parent)}" if parent else "")
        keep = self._keep({"do": "add", "kind": kind,
                           "parent": parent.key if parent else None})
        self.app.push_screen(self._form(title, kind, fields, defaults, keep, typed), done)
