"""Proposal review: the engine's proposal as a tree, the therapist's decisions on it.

Left (widgets/proposal_tree.py): problems in priority order -> goals (with their
phase; "deferred" when they wait) -> objectives and interventions, each with its
decision mark; a screen-only problem is "?" until confirmed (a) or rejected (r).
Right (widgets/proposal_panel.py): warnings, the treatment block, referrals,
assessments to give.
The suicide-risk level is always on the top line. `w` explains any item (tree
or side panel); `c` goes back to the answers (what-if) and marks what appeared
and disappeared; Ctrl+S stores the intake, drafts the plan and applies the
decisions. Every decision is saved as a draft as it is made.
"""

from __future__ import annotations

import copy
import json
import threading
from typing import Any

from rich.markup import escape
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Header, OptionList, Static, Tree

from planwise.tui import keymap
from planwise.tui.screens.dialogs import TextPrompt
from planwise.tui.widgets.proposal_dialogs import ItemDialog
from planwise.tui.widgets.proposal_model import (
    ADD_FIELDS,
    ADD_UNDER,
    EDIT_FIELDS,
    Item,
    Review,
    check_values,
    items_from_proposal,
)
from planwise.tui.widgets.proposal_panel import ProposalPanel, instrument_name
from planwise.tui.widgets.proposal_tree import LEGEND, ProposalTree, detail_lines


def _when(stamp: str) -> str:
    """A draft's UTC time stamp, as 2026-11-29 14:03 UTC."""
    return stamp.replace("T", " ")[:16] + " UTC" if stamp else "earlier"


class ProposalScreen(Screen[None]):
    HELP_AREA = "proposal"
    BINDINGS = keymap.bindings("proposal")
    DEFAULT_CSS = """
    #proposal-risk { height: 1; padding: 0 1; background: $boost; }
    #proposal-risk.risk-alert { background: $error 30%; }
    #proposal-body { height: 1fr; }
    #proposal-left { width: 1fr; }
    #proposal-tree { height: 1fr; overflow-x: hidden; }
    #proposal-detail { height: 5; padding: 0 1; border-top: solid $primary 50%;
        color: $text-muted; }
    #proposal-panel { width: 28; height: 1fr; border-left: solid $primary 50%; }
    """
    HELP_TEXT = ("Every item starts accepted, except a problem found on a screen alone "
                 "(marked ?, 'screen only'): a confirms it, r rejects it, and a plan is not "
                 "signed until you decide. Problems are numbered in the order the plan "
                 "addresses them; a goal shows its phase, and 'deferred' when it waits "
                 "(the line under the tree says until when). "
                 "a accepts, r rejects (a reason is required), "
                 "e edits, + adds under the selected item, w explains why it was proposed, "
                 "c changes the intake answers and shows what that changes. Tab moves between "
                 "the tree and the side panel. Ctrl+S saves the reviewed proposal as a plan.")

    def __init__(self, client_id: int, intake_data: dict[str, Any] | None = None, *,
                 intake_id: int | None = None) -> None:
        super().__init__()
        self.client_id = client_id
        self.intake_data: dict[str, Any] | None = (copy.deepcopy(intake_data)
                                                    if intake_data is not None else None)
        # The stored intake this review is of, while its answers are unchanged.
        self.intake_id = intake_id
        # What this review was opened on; a draft is restored only for the same thing.
        origin = ({"intake_id": intake_id} if intake_id is not None
                  else {"data": self.intake_data} if intake_data is not None else None)
        self.origin: dict[str, Any] | None = json.loads(json.dumps(origin, default=str))
        self.review = Review()
        self.proposal: Any = None
        self.evaluation: Any = None
        self.scored: Any = None
        self.loaded = False
        self.saving = False
        self._seq = 0
        self._written = 0
        self._draft_lock = threading.Lock()
        self._shape: list[Any] = []

    @classmethod
    def from_stored_intake(cls, client_id: int, intake_id: int) -> ProposalScreen:
        """Review the proposal of an intake already stored (I<n>); loaded in a worker."""
        return cls(client_id, None, intake_id=intake_id)

    @classmethod
    def from_draft(cls, client_id: int) -> ProposalScreen:
        """Reopen the client's unsaved proposal review, whatever intake it was of."""
        return cls(client_id, None)

    # -- layout --------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Evaluating...", id="proposal-risk")
        with Horizontal(id="proposal-body"):
            with Vertical(id="proposal-left"):
                tree = ProposalTree("Proposal", id="proposal-tree")
                tree.show_root = False
                tree.guide_depth = 2
                yield tree
                yield Static("", id="proposal-detail")
            yield ProposalPanel(id="proposal-panel")
        yield Footer()

    def on_mount(self) -> None:
        self.title = "planwise"
        self.sub_title = f"C{self.client_id} proposal review"
        self.load()

    # -- loading, evaluating ----------------------------------------------------------------
    @work(thread=True, exit_on_error=False, group="proposal-eval", exclusive=True)
    def load(self) -> None:
        services = self.app.services  # type: ignore[attr-defined]
        draft = services.load_proposal_draft(self.client_id)
        restored = None
        if draft is not None and (self.origin is None or draft.get("origin") == self.origin):
            restored = draft
        data = self.intake_data
        if restored is not None:
            data = restored["intake_data"]
        elif data is None and self.intake_id is not None:
            data = services.stored_intake_data(self.intake_id)
        if data is None:
            self.app.call_from_thread(self.notify, "No unsaved proposal review to reopen.",
                                      severity="warning")
            self.app.call_from_thread(self.app.pop_screen)
            return
        result = services.evaluate(data)
        self.app.call_from_thread(self._loaded, data, result, restored,
                                  draft if restored is None else None)

    def _loaded(self, data: dict[str, Any], result: tuple[Any, Any, Any],
                restored: dict[str, Any] | None, other: dict[str, Any] | None) -> None:
        proposal, evaluation, scored = result
        self.intake_data = data
        self.proposal, self.evaluation, self.scored = proposal, evaluation, scored
        items = items_from_proposal(proposal, scored.intake.date)
        if restored is not None:
            self.review = Review.from_json(restored["review"])
            self.review.items = items        # the same evaluation: keep the marks as saved
            self.review.evaluated = True
            self.intake_id = restored.get("intake_id")
            self.origin = restored.get("origin", self.origin)
            self.notify(f"Recovered unsaved proposal review from "
                        f"{_when(restored.get('_updated_at', ''))}.", title="Recovered")
        else:
            self.review.replace_items(items)
            if other is not None:
                self.notify(f"An unsaved review of another intake (from "
                            f"{_when(other.get('_updated_at', ''))}) will be replaced by "
                            "this one when you change it.", severity="warning", timeout=8)
        self.loaded = True
        self.refresh_view()
        self.query_one("#proposal-tree", Tree).focus()

    def answers_changed(self, data: dict[str, Any] | None) -> None:
        """The hand-back from the intake screen (what-if): re-evaluate with these answers.
        None (the intake screen was left without new answers) changes nothing."""
        if data is None or data == self.intake_data:
            return
        self.reevaluate(copy.deepcopy(data))

    @work(thread=True, exit_on_error=False, group="proposal-eval", exclusive=True)
    def reevaluate(self, data: dict[str, Any]) -> None:
        result = self.app.services.evaluate(data)  # type: ignore[attr-defined]
        self.app.call_from_thread(self._reevaluated, data, result)

    def _reevaluated(self, data: dict[str, Any], result: tuple[Any, Any, Any]) -> None:
        proposal, evaluation, scored = result
        if self.scored is not None and scored.intake.model_dump(mode="json") == \
                self.scored.intake.model_dump(mode="json"):
            self.notify("The answers are unchanged: so is the proposal.")
            return
        self.intake_data = data
        self.intake_id = None            # the answers changed: a new intake when saved
        self.proposal, self.evaluation, self.scored = proposal, evaluation, scored
        self.review.replace_items(items_from_proposal(proposal, scored.intake.date))
        new, gone = len(self.review.appeared), len(self.review.gone)
        self.notify(f"Proposal updated: {new} new item(s), {gone} no longer proposed, "
                    f"{len(self.review.was)} changed.")
        self.refresh_view()
        self.autosave()

    # -- drawing --------------------------------------------------------------------------
    def refresh_view(self) -> None:
        if not self.loaded:
            return
        kb = self.app.services.kb  # type: ignore[attr-defined]
        self._draw_risk()
        self.query_one("#proposal-tree", ProposalTree).draw(self.review, kb)
        self.query_one("#proposal-panel", ProposalPanel).show(self.proposal, kb)
        self._draw_detail()

    def _draw_risk(self) -> None:
        kb = self.app.services.kb  # type: ignore[attr-defined]
        risk = self.proposal.risk.level
        scores = ", ".join(f"{instrument_name(kb, s.instrument)} {s.total}"
                           for s in self.proposal.scores)
        todo = len(self.review.unconfirmed())
        confirm = f"[b]? {todo} to confirm[/b]  " if todo else ""
        self.query_one("#proposal-risk", Static).update(
            f"[b]SUICIDE RISK: {risk.upper()}[/b]  {confirm}{escape(scores)}")
        self.query_one("#proposal-risk").set_class(risk in ("moderate", "high", "unassessed"),
                                                  "risk-alert")

    def _draw_detail(self) -> None:
        detail = self.query_one("#proposal-detail", Static)
        kb = self.app.services.kb  # type: ignore[attr-defined]
        panel = self.query_one("#proposal-panel", ProposalPanel)
        if self.focused is panel:
            detail.update(escape(panel.detail(kb)))
            return
        key = self._selected_key()
        if key is None or self.review.get(key) is None:
            detail.update(LEGEND)
            return
        detail.update(escape("\n".join(detail_lines(self.review, key, kb))))

    @on(Tree.NodeHighlighted, "#proposal-tree")
    @on(OptionList.OptionHighlighted, "#proposal-panel")
    def _highlighted(self, _event: Any) -> None:
        if self.loaded:
            self._draw_detail()

    def on_descendant_focus(self, _event: Any) -> None:
        if self.loaded:
            self._draw_detail()

    # -- the selection --------------------------------------------------------------------
    def _selected_key(self) -> str | None:
        return self.query_one("#proposal-tree", ProposalTree).selected_key()

    def _move_to(self, key: str) -> None:
        self.query_one("#proposal-tree", ProposalTree).move_to(key)

    def _selected_item(self, action: str) -> Item | None:
        if not self.loaded:
            self.notify("Still evaluating...")
            return None
        if self.focused is self.query_one("#proposal-panel"):
            self.notify(f"{action}: the side panel is read-only here; edit it in the plan "
                        "editor after saving. Tab goes back to the tree.")
            return None
        key = self._selected_key()
        it = self.review.get(key) if key else None
        if it is None:
            self.notify("Select an item in the tree first.")
            return None
        if self.review.is_gone(it.key):
            self.notify("This item is no longer proposed with the changed answers.")
            return None
        return it

    def _title(self, it: Item) -> str:
        kb = self.app.services.kb  # type: ignore[attr-defined]
        if it.kind == "problem":
            return f"problem {kb.label('conditions', it.condition)}"
        return f"{it.kind} \u201c{self.review.current(it.key).get('text', '')}\u201d"

    # -- decisions ------------------------------------------------------------------------
    def _changed(self) -> None:
        self.refresh_view()
        self.autosave()

    def action_accept(self) -> None:
        it = self._selected_item("Accept")
        if it is None:
            return
        if it.added:
            self.notify("An item you added is in the plan already.")
            return
        confirming = self.review.to_confirm(it.key)
        self.review.accept(it.key)
        if confirming:
            kb = self.app.services.kb  # type: ignore[attr-defined]
            self.notify(f"Confirmed: {kb.label('conditions', it.condition).lower()} is a "
                        "problem in the plan (you confirmed the screen).")
        self._changed()

    def action_reject(self) -> None:
        it = self._selected_item("Reject")
        if it is None:
            return
        if it.added:
            self.review.remove_added(it.key)
            self.notify("Removed the item you added.")
            self._changed()
            return

        def done(reason: str | None) -> None:
            if reason:
                self.review.reject(it.key, reason)
                self._changed()

        under = " and everything under it" if it.kind in ("problem", "goal") else ""
        self.app.push_screen(TextPrompt(
            f"Reject {self._title(it)}", placeholder="Reason (required)",
            value=self.review.reason(it.key) or "",
            note=f"Rejects this {it.kind}{under}. The reason is kept in the plan."), done)

    def action_edit(self) -> None:
        it = self._selected_item("Edit")
        if it is None:
            return
        fields = EDIT_FIELDS[it.kind]

        def done(values: dict[str, Any] | None) -> None:
            if values is not None:
                self.review.edit(it.key, values)
                self._changed()

        self.app.push_screen(ItemDialog(
            f"Edit {it.kind}", fields, self.review.current(it.key),
            lambda raw: check_values(fields, raw),
            note="Editing the text back to the proposal's makes it accepted again."), done)

    def action_add(self) -> None:
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

    def _add(self, parent: Item, kind: str) -> None:
        if self.review.reason(parent.key) or self.review.rejected_ancestor(parent.key):
            self.notify(f"The {parent.kind} is rejected: accept it (a) before adding to it.")
            return
        fields = ADD_FIELDS[kind]
        kb = self.app.services.kb  # type: ignore[attr-defined]
        modalities = set(kb.vocab["modalities"])

        def done(values: dict[str, Any] | None) -> None:
            if values is not None:
                item = self.review.add(kind, parent.key, values)
                self._changed()
                self.call_after_refresh(self._move_to, item.key)

        defaults = {"target_weeks": "4"} if kind == "objective" else {}
        self.app.push_screen(ItemDialog(
            f"Add {'an' if kind[0] in 'aeiou' else 'a'} {kind} to {self._title(parent)}",
            fields, defaults, lambda raw: check_values(fields, raw, modalities)), done)

    # -- why ------------------------------------------------------------------------------
    def action_why(self) -> None:
        from planwise.tui.screens.why import WhyScreen

        if not self.loaded:
            return
        kb = self.app.services.kb  # type: ignore[attr-defined]
        panel = self.query_one("#proposal-panel", ProposalPanel)
        if self.focused is panel:
            target = panel.why(kb)
            if target is None:
                return
            title, because, ctx = target
        else:
            it = self._selected_item("Why")
            if it is None:
                return
            title, because = self._title(it), list(it.because)
            # A goal that waits: the rules that hold it back are part of why it is there so.
            because += [r for r in (it.deferred or {}).get("because", []) if r not in because]
            ctx = {"kind": it.kind, "condition": it.condition, "goal": it.goal}
        self.app.push_screen(WhyScreen(title, because, ctx, self.evaluation, kb))

    # -- what-if --------------------------------------------------------------------------
    def action_change_answers(self) -> None:
        from planwise.tui.screens.intake import IntakeScreen

        if not self.loaded or self.intake_data is None:
            return
        screen = IntakeScreen(self.client_id, data=copy.deepcopy(self.intake_data))
        # Hand-back: the intake screen dismisses with the new intake dict (or None).
        self.app.push_screen(screen, self.answers_changed)  # type: ignore[arg-type]

    # -- drafts ---------------------------------------------------------------------------
    def draft_payload(self) -> dict[str, Any]:
        return {"origin": self.origin, "intake_id": self.intake_id,
                "intake_data": self.intake_data, "review": self.review.to_json()}

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
        self.notify("Saving the plan...")
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

    def action_back(self) -> None:
        self.app.pop_screen()
