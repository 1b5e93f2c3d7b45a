"""Proposal review: the engine's proposal as a tree, the therapist's decisions on it.

Left (widgets/proposal_tree.py): problems in priority order -> goals (with their
phase; "deferred" when they wait) -> objectives and interventions, each with its
decision mark; a screen-only problem is "?" until confirmed (a) or rejected (r).
Right (widgets/proposal_panel.py): warnings, the treatment block, referrals,
assessments to give; the treatment block, referrals and assessments are decided
there with the same keys as the tree's items.
The suicide-risk level is always on the top line. `w` explains any item (tree
or side panel); `c` opens a copy of the answers (what-if, screens/whatif.py) and
marks what appeared, disappeared or changed; Esc then goes back to the real
answers. Ctrl+S stores the intake, drafts the plan and applies the decisions;
every decision is saved as a draft as it is made (screens/proposal_saving.py).
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
from textual.widgets import Footer, Header, OptionList, Static, Tree

from planwise.tui import keymap
from planwise.tui.screens.proposal_dialogs import ProposalDialogs
from planwise.tui.widgets.proposal_model import (
    Item,
    Review,
    items_from_proposal,
)
from planwise.tui.widgets.proposal_panel import ProposalPanel, instrument_name
from planwise.tui.widgets.proposal_tree import LEGEND, ProposalTree, detail_lines


def _when(stamp: str) -> str:
    """A draft's UTC time stamp, as 2026-11-29 14:03 UTC."""
    return stamp.replace("T", " ")[:16] + " UTC" if stamp else "earlier"


class ProposalScreen(ProposalDialogs):
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
                 "e edits, + adds under the selected item, w explains why it was proposed. "
                 "Tab moves to the side panel, where the treatment block, referrals and "
                 "assessments take the same keys (+ there adds a referral). c changes a copy "
                 "of the answers and marks what that changes (tree and panel); Esc then goes "
                 "back to the real answers. Ctrl+S saves the reviewed proposal as a plan.")

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
        # During a what-if: the real answers (and their stored intake) to go back to.
        self.real: dict[str, Any] | None = None
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
            self.real = restored.get("real")
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
        self.reopen_dialog()  # one left open by a crash or a hangup

    def answers_changed(self, data: dict[str, Any] | None) -> None:
        """The hand-back from the what-if copy of the answers: re-evaluate with them.
        None (left with Esc) changes nothing. The real answers are kept until Esc
        goes back to them."""
        if data is None or data == self.intake_data:
            return
        if self.real is None and self.intake_data is not None:
            self.real = {"intake_data": copy.deepcopy(self.intake_data),
                         "intake_id": self.intake_id}
        self.reevaluate(copy.deepcopy(data))

    @work(thread=True, exit_on_error=False, group="proposal-eval", exclusive=True)
    def reevaluate(self, data: dict[str, Any], back: bool = False) -> None:
        result = self.app.services.evaluate(data)  # type: ignore[attr-defined]
        self.app.call_from_thread(self._reevaluated, data, result, back)

    def _reevaluated(self, data: dict[str, Any], result: tuple[Any, Any, Any],
                     back: bool = False) -> None:
        proposal, evaluation, scored = result
        real = self.real
        if back and real is not None:
            self.real = None                 # the real answers, their intake, no marks
            self.intake_data, self.intake_id = data, real.get("intake_id")
            self.proposal, self.evaluation, self.scored = proposal, evaluation, scored
            self.review.replace_items(items_from_proposal(proposal, scored.intake.date),
                                      marks=False)
            self.notify("Back to the real answers: the proposal is as it was, with your "
                        "decisions.")
            self.refresh_view()
            self.autosave()
            return
        if self.scored is not None and scored.intake.model_dump(mode="json") == \
                self.scored.intake.model_dump(mode="json"):
            self.notify("The answers are unchanged: so is the proposal.")
            return
        self.intake_data = data
        self.intake_id = None            # the answers changed: a new intake when saved
        if real is not None and data == real.get("intake_data"):
            self.real = None             # changed back by hand: the real answers again
            self.intake_id = real.get("intake_id")
        self.proposal, self.evaluation, self.scored = proposal, evaluation, scored
        self.review.replace_items(items_from_proposal(proposal, scored.intake.date))
        new, gone = len(self.review.appeared), len(self.review.gone)
        self.notify(f"Proposal updated: {new} new item(s), {gone} no longer proposed, "
                    f"{len(self.review.was)} changed."
                    + (" Esc goes back to the real answers." if self.real else ""))
        self.refresh_view()
        self.autosave()

    # -- drawing --------------------------------------------------------------------------
    def refresh_view(self) -> None:
        if not self.loaded:
            return
        kb = self.app.services.kb  # type: ignore[attr-defined]
        self._draw_risk()
        self.query_one("#proposal-tree", ProposalTree).draw(self.review, kb)
        self.query_one("#proposal-panel", ProposalPanel).show(self.proposal, kb, self.review)
        self._draw_detail()

    def _draw_risk(self) -> None:
        kb = self.app.services.kb  # type: ignore[attr-defined]
        risk = self.proposal.risk.level
        scores = ", ".join(f"{instrument_name(kb, s.instrument)} {s.total}"
                           for s in self.proposal.scores)
        todo = len(self.review.unconfirmed())
        confirm = f"[b]? {todo} to confirm[/b]  " if todo else ""
        whatif = ""
        if self.real is not None:
            r = self.review
            whatif = (f"[b reverse]WHAT-IF[/b reverse] {len(r.appeared)} new, {len(r.gone)} "
                      f"gone, {len(r.was)} changed; Esc: real answers  ")
        self.query_one("#proposal-risk", Static).update(
            f"[b]SUICIDE RISK: {risk.upper()}[/b]  {whatif}{confirm}{escape(scores)}")
        self.sub_title = f"C{self.client_id} proposal review" + (
            " - WHAT-IF" if self.real is not None else "")
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
        panel = self.query_one("#proposal-panel", ProposalPanel)
        if self.focused is panel:
            it = panel.selected_item()
            if it is None:
                self.notify(f"{action}: select the treatment block, a referral or an "
                            "assessment (the risk level follows the answers: c changes them).")
                return None
            if it.kind == "warning" and action not in ("Why", "Add"):
                self.notify("A warning is the engine's note on the plan: nothing to decide. "
                            "w explains it.")
                return None
        else:
            key = self._selected_key()
            it = self.review.get(key) if key else None
            if it is None:
                self.notify("Select an item in the tree first.")
                return None
        if self.review.is_gone(it.key):
            self.notify("This item is no longer proposed with the changed answers.")
            return None
        return it

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
            if not because:
                self.notify("You added this item: no rule proposed it.")
                return
        else:
            it = self._selected_item("Why")
            if it is None:
                return
            if it.added:
                self.notify("You added this item: no rule proposed it.")
                return
            title, because = self._title(it), list(it.because)
            # A goal that waits: the rules that hold it back are part of why it is there so.
            because += [r for r in (it.deferred or {}).get("because", []) if r not in because]
            ctx = {"kind": it.kind, "condition": it.condition, "goal": it.goal}
        self.app.push_screen(WhyScreen(title, because, ctx, self.evaluation, kb))

    def action_walkthrough(self) -> None:
        """W: `planwise explain` for the answers under review, on its own screen."""
        from planwise.tui.screens.walkthrough import WalkthroughScreen

        if not self.loaded or self.intake_data is None:
            return
        what = f"the proposal review of C{self.client_id}" + (
            " (what-if answers)" if self.real is not None else "")
        self.app.push_screen(WalkthroughScreen(None, self.intake_id,
                                               copy.deepcopy(self.intake_data), what))

    # -- what-if --------------------------------------------------------------------------
    def action_change_answers(self) -> None:
        from planwise.tui.screens.whatif import WhatIfIntakeScreen

        if not self.loaded or self.intake_data is None:
            return
        screen = WhatIfIntakeScreen(self.client_id, copy.deepcopy(self.intake_data))
        # Hand-back: the intake screen dismisses with the new intake dict (or None).
        self.app.push_screen(screen, self.answers_changed)  # type: ignore[arg-type]

    def action_back(self) -> None:
        """Esc: after a what-if, back to the real answers (the review stays open);
        otherwise back to where the review was opened from."""
        if self.real is not None and self.loaded:
            self.reevaluate(copy.deepcopy(self.real["intake_data"]), back=True)
            return
        self.app.pop_screen()
