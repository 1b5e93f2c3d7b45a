"""The plan editor's keys for interventions, the treatment block, referrals and
assessments: e edits the selected one, - (or Delete) rejects it with a reason, a
accepts it again, + adds one where the cursor is (an intervention on a goal, an
objective or an intervention; a referral on Referrals; an assessment on Assessments;
a treatment block when there is none); c confirms or rejects a problem found on a
screen alone. Like every edit, on a signed version this starts a revision. The
document changes are widgets/plan_items.py's."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual import work

from planwise.tui.dialog_drafts import DialogKeep, drop_kept, kept_dialog
from planwise.tui.screens.dialogs import TextPrompt
from planwise.tui.screens.plan_saving import PlanSaving
from planwise.tui.widgets import plan_items as items
from planwise.tui.widgets import plan_labels as labels
from planwise.tui.widgets import plan_model as pm
from planwise.tui.widgets.item_fields import check_values
from planwise.tui.widgets.plan_dialogs import ScreenDecisionDialog
from planwise.tui.widgets.plan_item_dialogs import FieldsDialog
from planwise.tui.widgets.proposal_model import ADD_FIELDS, EDIT_FIELDS

NodeData = tuple[str, str]  # (kind, key)
NOT_HERE = ("Select an intervention, the treatment block, a referral or an assessment "
            "(the tree lists them under each goal and at the end).")


class PlanItemActions(PlanSaving):
    # Supplied by the plan editor.
    selected: Callable[[], NodeData | None]
    build_tree: Callable[[], None]
    move_to_key: Callable[[str], None]

    def _vocab(self) -> dict[str, set[str]]:
        kb = self.app.services.kb  # type: ignore[attr-defined]
        return {"modalities": set(kb.vocab["modalities"]),
                "referral_kinds": set(kb.vocab["referral_kinds"]),
                "levels_of_care": set(kb.vocab["levels_of_care"]),
                "instruments": set(kb.instruments)}

    # -- the draft of an open dialog (tui/dialog_drafts.py) ----------------------------
    def _keep(self, action: dict[str, Any]) -> DialogKeep:
        client_id = self.view.client_id if self.view is not None else None
        return DialogKeep("plan", f"P{self.plan_id}", client_id,
                          f"a dialog of the plan editor of P{self.plan_id}", action)

    @work(thread=True, exit_on_error=False, group="dialog-restore")
    def reopen_dialog(self) -> None:
        """After the plan is shown: a dialog left open, opened again with its text."""
        draft = kept_dialog(self.app.services, "plan",  # type: ignore[attr-defined]
                            f"P{self.plan_id}")
        if draft is not None:
            self.app.call_from_thread(self._reopen_typed, draft)

    def _reopen_typed(self, draft: dict[str, Any]) -> None:
        action, values = draft["action"], draft["values"]
        do, key = action.get("do"), str(action.get("item", ""))
        found = items.find(self.doc, key) if self.doc is not None and key else None
        if do in ("edit", "reject", "add", "decide") and not self._editable():
            return  # older plan edits first (Ctrl+D); the dialog's text stays kept
        if do == "edit" and found is not None and found[0] in EDIT_FIELDS:
            self.edit_item(found[0], key, values)
        elif do == "reject" and found is not None:
            self._reject(found[0], key, str(values.get("text", "")), recovered=True)
        elif do == "add" and str(action.get("what")) in ADD_FIELDS and self.doc is not None:
            self._add(str(action["what"]), action.get("goal"), values)
        elif do == "decide" and self.doc is not None and \
                any(p.key == key for p in self.doc.problems):
            self._reject_problem(key, str(action.get("name", "the problem")),
                                 str(values.get("text", "")), recovered=True)
        else:
            drop_kept(self.app, "plan", f"P{self.plan_id}")  # its item is gone
            return
        when = pm.when_text(str(draft.get("_updated_at", "")))
        self.notify(f"Reopened the dialog you were typing in, with its text from {when}.",
                    title="Recovered")

    def _decided_item(self) -> tuple[str, str] | None:
        sel = self.selected()
        if sel is None or self.doc is None or sel[0] not in items.DECIDED:
            self.notify(NOT_HERE)
            return None
        if items.find(self.doc, sel[1]) is None:
            return None
        return sel

    def _changed(self, key: str | None = None) -> None:
        self._commit()
        self.build_tree()
        self.show_head()
        if key:
            self.call_after_refresh(self.move_to_key, key)

    def edit_item(self, kind: str, key: str, typed: dict[str, Any] | None = None) -> None:
        assert self.doc is not None
        found = items.find(self.doc, key)
        if found is None or not self._editable():
            return
        item = found[1]
        fields = EDIT_FIELDS[kind]
        vocab = self._vocab()

        def done(values: dict[str, Any] | None) -> None:
            if values is not None and self.doc is not None and items.edit(self.doc, key, values):
                self._changed(key)

        what = "the treatment block" if kind == "treatment" else f"this {kind}"
        self.app.push_screen(FieldsDialog(
            f"Edit {what}", fields, items.values(kind, item),
            lambda raw: check_values(fields, raw, vocab=vocab),
            note="Kept in the plan as edited; the proposal's version stays on record.",
            keep_as=self._keep({"do": "edit", "item": key}), typed=typed), done)

    def action_reject_item(self) -> None:
        sel = self._decided_item()
        if sel is None or not self._editable():
            return
        kind, key = sel
        assert self.doc is not None
        _kind, item, _goal = items.find(self.doc, key)  # type: ignore[misc]
        if item.origin == "added":
            items.reject(self.doc, key, "")
            self.notify(f"Removed the {kind} you added.")
            self._changed()
            return
        self._reject(kind, key, item.rejection_reason or "")

    def _reject(self, kind: str, key: str, value: str, recovered: bool = False) -> None:
        def given(reason: str | None) -> None:
            if reason and self.doc is not None and items.find(self.doc, key) is not None:
                items.reject(self.doc, key, reason)
                self.notify(f"Rejected: the {kind} stays on record with your reason and "
                            "leaves the plan's work" + (" (and its objectives' list)"
                                                       if kind == "intervention" else "."))
                self._changed(key)

        what = "the treatment block" if kind == "treatment" else f"this {kind}"
        self.app.push_screen(TextPrompt(
            f"Reject {what}", placeholder="Reason (required)",
            value=value, note="The reason is kept in the plan and in its export.",
            keep_as=self._keep({"do": "reject", "item": key}), recovered=recovered), given)

    def action_accept_item(self) -> None:
        sel = self._decided_item()
        if sel is None or self.doc is None:
            return
        _kind, item, _goal = items.find(self.doc, sel[1])  # type: ignore[misc]
        if item.origin != "proposed_rejected":
            self.notify("It is in the plan already (a takes back a rejection).")
            return
        if not self._editable():
            return
        items.accept(self.doc, sel[1])
        self.notify("Accepted again: it is back in the plan.")
        self._changed(sel[1])

    def action_add_item(self) -> None:
        sel = self.selected()
        if sel is None or self.doc is None:
            return
        kind, key = sel
        goal_key: str | None = None
        if kind in ("goal", "objective", "intervention"):
            goal = items.goal_of(self.doc, key)
            goal_key = goal.key if goal is not None else None
            what = "intervention"
        elif kind in ("referral", "referrals"):
            what = "referral"
        elif kind in ("assessment", "assessments"):
            what = "assessment"
        elif kind in ("treatment", "no_treatment"):
            if self.doc.treatment is not None:
                self.notify("The plan has its treatment block: e edits it.")
                return
            what = "treatment"
        else:
            self.notify("+ adds an intervention (on a goal), a referral (on Referrals), an "
                        "assessment (on Assessments) or a treatment block.")
            return
        if not self._editable():
            return
        self._add(what, goal_key)

    def _add(self, what: str, goal_key: str | None, typed: dict[str, Any] | None = None) -> None:
        fields = ADD_FIELDS[what]
        vocab = self._vocab()

        def done(values: dict[str, Any] | None) -> None:
            if values is None or self.doc is None:
                return
            new = items.add(self.doc, what, values, goal_key)
            self.notify(f"Added the {what}" + (": each objective of its goal is linked to it."
                                               if what == "intervention" else "."))
            self._changed(new)

        defaults = {"urgency": "routine"} if what == "referral" else \
            {"frequency_per_week": "1", "level_of_care": "outpatient"} if what == "treatment" \
            else {}
        self.app.push_screen(FieldsDialog(
            f"Add {'an' if what[0] in 'aeiou' else 'a'} {what}", fields, defaults,
            lambda raw: check_values(fields, raw, vocab=vocab),
            keep_as=self._keep({"do": "add", "what": what, "goal": goal_key}), typed=typed), done)

    # -- a problem found on a screen alone (c) ---------------------------------------
    def action_decide_screen(self) -> None:
        """c: confirm or reject the selected problem (or the one the selection is under)
        when it was found on a screen alone."""
        sel = self.selected()
        if sel is None or self.doc is None:
            return
        problem = pm.problem_of(self.doc, sel[1])
        if problem is None:
            self.notify("c confirms or rejects a problem found on a screen alone: select it "
                        "first.")
            return
        name = labels.condition_name(problem)
        if problem.basis != "screen_only":
            self.notify(f"{name.capitalize()} is not a screen-only problem: there is nothing "
                        "to confirm.")
            return
        evidence = [w.message for w in self.doc.warnings if w.kind == "unconfirmed_screen"]

        def decided(choice: str | None) -> None:
            if choice is None or not self._editable():
                return
            if choice == "reject":
                self._reject_problem(problem.key or "", name, problem.rejection_reason or "")
                return
            self._decide(problem.key or "", choice)

        self.app.push_screen(ScreenDecisionDialog(problem, name, evidence), decided)

    def _reject_problem(self, key: str, name: str, value: str,
                        recovered: bool = False) -> None:
        self.app.push_screen(TextPrompt(
            f"Reject {name}", placeholder="Reason (required)", value=value,
            note="The problem and everything under it leave the plan's work; the "
                 "reason is kept in the plan.",
            keep_as=self._keep({"do": "decide", "item": key, "name": name}),
            recovered=recovered),
            lambda reason: self._decide(key, "reject", reason))

    def _decide(self, key: str, choice: str, reason: str | None = None) -> None:
        assert self.doc is not None
        if choice == "reject" and not (reason or "").strip():
            return
        p = next(p for p in self.doc.problems if p.key == key)
        if choice == "reject":
            p.origin, p.rejection_reason, p.confirmed = "proposed_rejected", reason, None
        else:
            if p.origin == "proposed_rejected":
                p.origin, p.rejection_reason = None, None  # the store recomputes it
            p.confirmed = True if choice == "confirm" else None
        self._commit()
        self.build_tree()
        self.show_head()
        self.notify({"confirm": f"Confirmed: {labels.condition_name(p)} is a problem in the "
                                "plan.",
                     "reject": f"Rejected: {labels.condition_name(p)}.",
                     "undecide": f"{labels.condition_name(p).capitalize()} is undecided "
                                 "again: the plan cannot be signed until you decide."}[choice])
