"""Proposal review: the engine's proposal as a tree, the therapist's decisions on it.

Left: problems -> goals -> objectives and interventions, each with its decision
mark. Right: the treatment block, referrals, assessments to give and warnings.
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
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Header, OptionList, Static, Tree
from textual.widgets.option_list import Option
from textual.widgets.tree import TreeNode

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

MARKS = {"accepted": "\u2713", "rejected": "\u2717", "edited": "\u270e", "added": "+"}
KIND_TAG = {"goal": "Goal", "objective": "Obj", "intervention": "Int"}
LEGEND = ("\u2713 accepted  \u2717 rejected  \u270e edited  + added\n"
          "NEW new, - gone, CHANGED by the last change of answers")


def _when(stamp: str) -> str:
    """A draft's UTC time stamp, as 2026-11-29 14:03 UTC."""
    return stamp.replace("T", " ")[:16] + " UTC" if stamp else "earlier"


class ProposalTree(Tree[str]):
    """The proposal's items; its keys are the screen's (a, r, e, +, w, c)."""

    HELP_AREA = "proposal"


class ProposalScreen(Screen[None]):
    HELP_AREA = "proposal"
    BINDINGS = keymap.bindings("proposal")
    DEFAULT_CSS = """
    #proposal-risk { height: 1; padding: 0 1; background: $boost; }
    #proposal-risk.risk-alert { background: $error 30%; }
    #proposal-body { height: 1fr; }
    #proposal-left { width: 1fr; }
    #proposal-tree { height: 1fr; overflow-x: hidden; }
    #proposal-detail { height: 4; padding: 0 1; border-top: solid $primary 50%;
        color: $text-muted; }
    #proposal-panel { width: 28; height: 1fr; border-left: solid $primary 50%; }
    """
    HELP_TEXT = ("Every item starts accepted. a accepts, r rejects (a reason is required), "
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
            yield OptionList(id="proposal-panel")
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
        self._draw_risk()
        self._draw_tree()
        self._draw_panel()
        self._draw_detail()

    def _draw_risk(self) -> None:
        risk = self.proposal.risk.level
        scores = ", ".join(f"{self._instrument(s.instrument)} {s.total}"
                           for s in self.proposal.scores)
        self.query_one("#proposal-risk", Static).update(
            f"[b]SUICIDE RISK: {risk.upper()}[/b]  {escape(scores)}")
        self.query_one("#proposal-risk").set_class(risk in ("moderate", "high", "unassessed"),
                                                  "risk-alert")

    def _label(self, it: Item, gone: bool = False) -> Text:
        r = self.review
        kb = self.app.services.kb  # type: ignore[attr-defined]
        fields = r.current(it.key)
        if it.kind == "problem":
            body = f"{kb.label('conditions', it.condition)} ({fields.get('severity')})"
        else:
            tag = KIND_TAG[it.kind]
            body = f"{tag}: {fields.get('text', '')}"
        label = Text()
        if gone:
            label.append("- ", style="bold")
            label.append(body, style="strike dim")
            label.append("  (no longer proposed)", style="italic")
            return label
        status = r.status(it.key)
        ancestor = r.rejected_ancestor(it.key)
        mark = MARKS["rejected"] if ancestor is not None and status != "rejected" else \
            MARKS[status]
        label.append(f"{mark} ", style="bold")
        if it.key in r.appeared:
            label.append("NEW ", style="bold reverse")
        style = "bold" if it.kind == "problem" else ""
        if status == "rejected" or ancestor is not None:
            style += " dim"
        label.append(body, style=style.strip())
        if status == "rejected":
            label.append(f"  (rejected: {r.reason(it.key)})", style="italic")
        elif ancestor is not None:
            label.append(f"  (rejected with its {ancestor.kind})", style="italic")
        elif status == "edited":
            label.append("  (edited)", style="italic")
        was = r.was.get(it.key)
        if was is not None:
            before = was.get("severity") if it.kind == "problem" else None
            label.append(f"  (CHANGED, was {before})" if before else "  (CHANGED)",
                         style="italic")
        return label

    def _structure(self) -> list[tuple[Item, bool, str | None]]:
        """(item, shown as gone, parent key in the tree) in tree order."""
        r = self.review
        gone_keys = {it.key for it in r.gone}
        by_parent: dict[str | None, list[tuple[Item, bool]]] = {}
        for it in r.all_items():
            by_parent.setdefault(it.parent, []).append((it, False))
        for it in r.gone:
            parent = it.parent if it.parent is None or r.get(it.parent) is not None else None
            by_parent.setdefault(parent, []).append((it, True))
        out: list[tuple[Item, bool, str | None]] = []

        def walk(parent: str | None, parent_gone: bool) -> None:
            for it, gone in by_parent.get(parent, []):
                is_gone = gone or parent_gone or it.key in gone_keys
                out.append((it, is_gone, parent))
                walk(it.key, is_gone)

        walk(None, False)
        return out

    def _draw_tree(self) -> None:
        tree: ProposalTree = self.query_one("#proposal-tree", ProposalTree)
        structure = self._structure()
        shape = [(it.key, gone, parent) for it, gone, parent in structure]
        if shape == self._shape:         # same items: relabel in place, the cursor stays
            nodes = {n.data: n for n in self._tree_nodes(tree.root)}
            for it, gone, _parent in structure:
                nodes[it.key].set_label(self._label(it, gone))
            return
        self._shape = shape
        selected = self._selected_key()
        collapsed = {n.data for n in self._tree_nodes(tree.root) if not n.is_expanded
                     and n.children}
        tree.clear()
        has_children = {parent for _it, _gone, parent in structure}
        made: dict[str | None, TreeNode[str]] = {None: tree.root}
        for it, gone, parent in structure:
            node = made[parent]
            if it.key in has_children:
                made[it.key] = node.add(self._label(it, gone), data=it.key,
                                        expand=it.key not in collapsed)
            else:
                made[it.key] = node.add_leaf(self._label(it, gone), data=it.key)
        if not structure:
            tree.root.add_leaf(Text("No problem was established: nothing to plan yet. "
                                    "c changes the answers."), data="")
        tree.root.expand()
        if selected is not None:
            self.call_after_refresh(self._move_to, selected)
        elif structure:
            # Start on the first problem, so the first a / r / w acts on something.
            self.call_after_refresh(self._move_to, structure[0][0].key)

    def _move_to(self, key: str) -> None:
        tree = self.query_one("#proposal-tree", ProposalTree)
        node = next((n for n in self._tree_nodes(tree.root) if n.data == key), None)
        if node is not None:
            tree.move_cursor(node)

    @staticmethod
    def _tree_nodes(root: TreeNode[str]) -> list[TreeNode[str]]:
        out: list[TreeNode[str]] = []
        stack = list(reversed(root.children))
        while stack:
            n = stack.pop()
            out.append(n)
            stack.extend(reversed(n.children))
        return out

    def _draw_panel(self) -> None:
        kb = self.app.services.kb  # type: ignore[attr-defined]
        panel = self.query_one("#proposal-panel", OptionList)
        highlighted = panel.highlighted
        panel.clear_options()
        p = self.proposal
        options: list[Option] = [Option(Text(f"Warnings ({len(p.warnings)})", style="bold"),
                                        disabled=True)]
        for i, w in enumerate(p.warnings):
            options.append(Option(Text(f"! {w.kind.replace('_', ' ')}"), id=f"warning:{i}"))
        t = p.treatment
        if t is not None:
            sessions = str(t.sessions.min) if t.sessions.min == t.sessions.max else \
                f"{t.sessions.min}-{t.sessions.max}"
            options.append(Option(Text("Treatment", style="bold"), disabled=True))
            options.append(Option(Text(
                f"{sessions} sessions, {t.frequency_per_week}/week, "
                f"{kb.label('levels_of_care', t.level_of_care).lower()}, review at "
                f"{t.review_weeks} wk"), id="treatment"))
        else:
            options.append(Option(Text("Treatment: none (no problem established)"),
                                  disabled=True))
        options.append(Option(Text(f"Referrals ({len(p.referrals)})", style="bold"),
                              disabled=True))
        for i, ref in enumerate(p.referrals):
            options.append(Option(Text(
                f"{kb.label('referral_kinds', ref.kind)}: {ref.urgency.upper()}"),
                id=f"referral:{i}"))
        if p.assessments:
            options.append(Option(Text("Assessments to give", style="bold"), disabled=True))
        for i, a in enumerate(p.assessments):
            options.append(Option(Text(self._instrument(a.instrument)), id=f"assessment:{i}"))
        options.append(Option(Text(f"Risk: {p.risk.level}"), id="risk"))
        panel.add_options(options)
        if highlighted is not None and highlighted < panel.option_count:
            panel.highlighted = highlighted

    def _instrument(self, inst: str) -> str:
        kb = self.app.services.kb  # type: ignore[attr-defined]
        return str(kb.instruments[inst].name) if inst in kb.instruments else inst

    def _panel_detail(self) -> str:
        kb = self.app.services.kb  # type: ignore[attr-defined]
        panel = self.query_one("#proposal-panel", OptionList)
        if panel.highlighted is None:
            return ""
        kind, _, idx = (panel.get_option_at_index(panel.highlighted).id or "").partition(":")
        p = self.proposal
        if kind == "treatment" and p.treatment is not None:
            return "Modalities: " + ", ".join(kb.label("modalities", m)
                                              for m in p.treatment.modalities)
        if kind == "referral":
            return p.referrals[int(idx)].reason  # type: ignore[no-any-return]
        if kind == "warning":
            return p.warnings[int(idx)].message  # type: ignore[no-any-return]
        if kind == "assessment":
            return p.assessments[int(idx)].reason  # type: ignore[no-any-return]
        if kind == "risk":
            return f"Suicide risk level: {p.risk.level} (w: why)"
        return ""

    def _draw_detail(self) -> None:
        detail = self.query_one("#proposal-detail", Static)
        if self.focused is self.query_one("#proposal-panel"):
            detail.update(escape(self._panel_detail()))
            return
        key = self._selected_key()
        if key is None or self.review.get(key) is None:
            detail.update(LEGEND)
            return
        it = self.review.get(key)
        assert it is not None
        f = self.review.current(key)
        lines = []
        r = self.review
        status = r.status(key)
        ancestor = r.rejected_ancestor(key)
        if r.is_gone(key):
            lines.append("NO LONGER PROPOSED with the changed answers")
        elif status == "rejected":
            lines.append(f"REJECTED: {r.reason(key)}")
        elif ancestor is not None:
            lines.append(f"REJECTED with its {ancestor.kind}: {r.reason(ancestor.key)}")
        elif status == "edited":
            lines.append("EDITED by you")
        elif status == "added":
            lines.append("ADDED by you")
        if key in r.was and not r.is_gone(key):
            lines.append("CHANGED by the new answers; was: " + "; ".join(
                str(v) for k, v in r.was[key].items() if f.get(k) != v))
        if it.kind == "objective":
            lines.append(f"client: {f.get('client_action', '')}")
            lines.append(f"measure: {f.get('measure', '')}; target {f.get('target_weeks')} wk")
        elif it.kind == "intervention":
            kb = self.app.services.kb  # type: ignore[attr-defined]
            mod = it.fields.get("modality") or it.modality
            lines.append(f"{kb.label('modalities', mod)}: {f.get('text', '')}")
        elif it.kind == "goal":
            lines.append(f.get("text", ""))
        else:
            lines.append(LEGEND)
        detail.update(escape("\n".join(lines)))

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
        tree = self.query_one("#proposal-tree", ProposalTree)
        node = tree.cursor_node
        return node.data if node is not None and node.data else None

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
        self.review.accept(it.key)
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
        panel = self.query_one("#proposal-panel", OptionList)
        if self.focused is panel:
            if panel.highlighted is None:
                return
            ref = panel.get_option_at_index(panel.highlighted).id or ""
            kind, _, idx = ref.partition(":")
            p = self.proposal
            if kind == "treatment" and p.treatment is not None:
                title, because, ctx = "the treatment block", p.treatment.because, \
                    {"kind": "treatment"}
            elif kind == "referral":
                r = p.referrals[int(idx)]
                title, because, ctx = (f"referral to {kb.label('referral_kinds', r.kind)}",
                                       r.because, {"kind": "referral", "id": r.kind})
            elif kind == "assessment":
                a = p.assessments[int(idx)]
                title, because, ctx = (f"give the {a.instrument}", a.because,
                                       {"kind": "assessment", "id": a.instrument})
            elif kind == "warning":
                w = p.warnings[int(idx)]
                title, because, ctx = (f"warning {w.kind}", w.because,
                                       {"kind": "warning", "id": w.kind})
            elif kind == "risk":
                title, because, ctx = (f"suicide risk {p.risk.level}", p.risk.because,
                                       {"kind": "risk"})
            else:
                return
        else:
            it = self._selected_item("Why")
            if it is None:
                return
            title, because = self._title(it), it.because
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
