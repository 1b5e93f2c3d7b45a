"""The proposal review's tree: problems in the order the plan addresses them, goals with
their phase, objectives and interventions, each with the therapist's decision mark, and
the detail lines under the tree for the item under the cursor.

Marks read without colour: a screen-only problem not yet confirmed is "?" and says
"screen only - confirm:" before its name (a confirms, r rejects); a goal that waits
says "deferred" in its label and "DEFERRED until ..." with the rules in its detail.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from planwise.tui.widgets.proposal_model import KINDS, Item, Review

MARKS = {"accepted": "\u2713", "rejected": "\u2717", "edited": "\u270e", "added": "+",
         "unconfirmed": "?"}
KIND_TAG = {"goal": "Goal", "objective": "Obj", "intervention": "Int"}
LEGEND = ("\u2713 accepted \u2717 rejected \u270e edited + added ? confirm\n"
          "NEW new / - gone / CHANGED by the last what-if")
BASIS_SHOWN = {"clinician": "the clinician's assessment",
               "screen_and_concern": "a screening concern and a score over the cut-off",
               "screen_only": "a score alone (nothing else names it)"}
# How a screen-only problem reads in the tree, before and after the therapist decides.
TO_CONFIRM = "screen only \u2014 confirm:"
CONFIRMED = "screen only, confirmed"


def tree_nodes(root: TreeNode[str]) -> list[TreeNode[str]]:
    """Every node under root, depth first, in display order."""
    out: list[TreeNode[str]] = []
    stack = list(reversed(root.children))
    while stack:
        n = stack.pop()
        out.append(n)
        stack.extend(reversed(n.children))
    return out


def instrument_name(kb: Any, inst: str) -> str:
    return str(kb.instruments[inst].name) if inst in kb.instruments else inst


PANEL_BODY = {
    "warning": lambda f, kb: f"! {str(f.get('kind', '')).replace('_', ' ')}",
    "treatment": lambda f, kb: (
        f"{sessions_text(f)} sessions, {f.get('frequency_per_week')}/week, "
        f"{kb.label('levels_of_care', f.get('level_of_care', '')).lower()}, review at "
        f"{f.get('review_weeks')} wk"),
    "referral": lambda f, kb: (f"{kb.label('referral_kinds', f.get('kind', ''))}: "
                               f"{str(f.get('urgency', '')).upper()}"),
    "assessment": lambda f, kb: instrument_name(kb, str(f.get("instrument", ""))),
}


def body(review: Review, it: Item, kb: Any) -> str:
    """An item's text without marks: '2. Depression (severe)', 'Goal (treat): ...'."""
    fields = review.current(it.key)
    if it.kind in PANEL_BODY:
        return PANEL_BODY[it.kind](fields, kb)
    if it.kind == "problem":
        rank = f"{it.priority}. " if it.priority else ""
        return f"{rank}{kb.label('conditions', it.condition)} ({fields.get('severity')})"
    tag = KIND_TAG[it.kind]
    if it.kind == "goal" and (it.phase or it.deferred):
        tag += " (" + ", ".join(x for x in (it.phase, "deferred" if it.deferred else "")
                                if x) + ")"
    return f"{tag}: {fields.get('text', '')}"


def label(review: Review, it: Item, kb: Any, gone: bool = False) -> Text:
    r = review
    out = Text()
    if gone:
        out.append("- ", style="bold")
        out.append(body(r, it, kb), style="strike dim")
        out.append("  (no longer proposed)", style="italic")
        return out
    status = r.status(it.key)
    ancestor = r.rejected_ancestor(it.key)
    mark = MARKS["rejected"] if ancestor is not None and status != "rejected" else \
        MARKS[status]
    if it.kind != "warning":        # a warning is the engine's note: nothing to decide
        out.append(f"{mark} ", style="bold")
    if it.key in r.appeared:
        out.append("NEW ", style="bold reverse")
    style = "bold" if it.kind == "problem" else ""
    if status == "rejected" or ancestor is not None:
        style += " dim"
    text = body(r, it, kb)
    if status == "unconfirmed":
        # Before the name, so that it shows however narrow the tree is.
        rank, dot, name = text.partition(". ") if it.priority else ("", "", text)
        out.append(rank + dot, style="bold")
        out.append(TO_CONFIRM, style="bold reverse")
        out.append(" " + name, style="bold")
    else:
        out.append(text, style=style.strip())
    if status == "rejected":
        out.append(f"  (rejected: {r.reason(it.key)})", style="italic")
    elif ancestor is not None:
        out.append(f"  (rejected with its {ancestor.kind})", style="italic")
    else:
        if it.screen_only and status != "unconfirmed":
            out.append(f"  {CONFIRMED}", style="italic")
        if r.decisions.get(it.key, {}).get("edit"):
            out.append("  (edited)", style="italic")
    was = r.was.get(it.key)
    if was is not None:
        before = was.get("severity") if it.kind == "problem" else None
        out.append(f"  (CHANGED, was {before})" if before else "  (CHANGED)", style="italic")
    return out


def structure(review: Review) -> list[tuple[Item, bool, str | None]]:
    """(item, shown as gone, parent key in the tree) in tree order."""
    r = review
    gone_keys = {it.key for it in r.gone}
    by_parent: dict[str | None, list[tuple[Item, bool]]] = {}
    for it in r.all_items():
        if it.kind in KINDS:        # the side panel's items are the panel's
            by_parent.setdefault(it.parent, []).append((it, False))
    for it in r.gone:
        if it.kind not in KINDS:
            continue
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


def detail_lines(review: Review, key: str, kb: Any) -> list[str]:
    """What the strip under the tree says about one item."""
    r = review
    it = r.get(key)
    if it is None:
        return [LEGEND]
    f = r.current(key)
    lines = []
    status = r.status(key)
    ancestor = r.rejected_ancestor(key)
    if r.is_gone(key):
        lines.append("NO LONGER PROPOSED with the changed answers")
    elif status == "rejected":
        lines.append(f"REJECTED: {r.reason(key)}")
    elif ancestor is not None:
        lines.append(f"REJECTED with its {ancestor.kind}: {r.reason(ancestor.key)}")
    elif status == "unconfirmed":
        lines.append("SCREEN ONLY: a score over the cut-off that nothing else names. a "
                     "confirms it, r rejects it (with a reason); the plan cannot be signed "
                     "until you decide.")
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
        mod = f.get("modality") or it.modality
        lines.append(f"{kb.label('modalities', mod)}: {f.get('text', '')}")
    elif it.kind in PANEL_DETAIL:
        lines += PANEL_DETAIL[it.kind](f, kb)
    elif it.kind == "goal":
        if it.deferred:
            lines.append(f"DEFERRED until {it.deferred.get('until', '')} (rules: "
                         f"{', '.join(it.deferred.get('because', []))})")
        if it.phase:
            lines.append(f"Phase: {it.phase}.")
        lines.append(f.get("text", ""))
    else:
        if status != "unconfirmed":
            done = "; confirmed by you" if it.screen_only and r.confirmed(key) else ""
            facts = ([f"Priority {it.priority} (1 first)"] if it.priority else []) + (
                [f"basis: {BASIS_SHOWN.get(it.basis, it.basis)}{done}"] if it.basis else [])
            if facts:
                lines.append("; ".join(facts) + ".")
            lines.append(LEGEND)
    return lines


def _treatment_detail(f: dict[str, Any], kb: Any) -> list[str]:
    return [f"{sessions_text(f)} sessions, {f.get('frequency_per_week')}/week, "
            f"{kb.label('levels_of_care', f.get('level_of_care', ''))}, review at "
            f"{f.get('review_weeks')} wk",
            "Modalities: " + ", ".join(kb.label("modalities", m)
                                       for m in f.get("modalities") or [])]


def sessions_text(f: dict[str, Any]) -> str:
    lo, hi = f.get("sessions_min"), f.get("sessions_max")
    return str(lo) if lo == hi else f"{lo}-{hi}"


PANEL_DETAIL = {
    "treatment": _treatment_detail,
    "referral": lambda f, kb: [f"Referral to {kb.label('referral_kinds', f.get('kind', ''))}, "
                               f"{str(f.get('urgency', '')).upper()}: {f.get('reason', '')}"],
    "assessment": lambda f, kb: [f"Give the {f.get('instrument', '')}: {f.get('reason', '')}"],
    "warning": lambda f, kb: [f"{kb.label('warning_kinds', f.get('kind', ''))}: "
                              f"{f.get('message', '')}"],
}


class ProposalTree(Tree[str]):
    """The proposal's items; its keys are the screen's (a, r, e, +, w, c)."""

    HELP_AREA = "proposal"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._shape: list[Any] = []

    def selected_key(self) -> str | None:
        node = self.cursor_node
        return node.data if node is not None and node.data else None

    def move_to(self, key: str) -> None:
        node = next((n for n in tree_nodes(self.root) if n.data == key), None)
        if node is not None:
            self.move_cursor(node)

    def draw(self, review: Review, kb: Any) -> None:
        """Rebuild the tree from the review; relabel in place when the items are the same
        (the cursor and folds stay)."""
        items = structure(review)
        shape = [(it.key, gone, parent) for it, gone, parent in items]
        if shape == self._shape:
            nodes = {n.data: n for n in tree_nodes(self.root)}
            for it, gone, _parent in items:
                nodes[it.key].set_label(label(review, it, kb, gone))
            return
        self._shape = shape
        selected = self.selected_key()
        collapsed = {n.data for n in tree_nodes(self.root) if not n.is_expanded and n.children}
        self.clear()
        has_children = {parent for _it, _gone, parent in items}
        made: dict[str | None, TreeNode[str]] = {None: self.root}
        for it, gone, parent in items:
            node = made[parent]
            if it.key in has_children:
                made[it.key] = node.add(label(review, it, kb, gone), data=it.key,
                                        expand=it.key not in collapsed)
            else:
                made[it.key] = node.add_leaf(label(review, it, kb, gone), data=it.key)
        if not items:
            self.root.add_leaf(Text("No problem was established: nothing to plan yet. "
                                    "c changes the answers."), data="")
        self.root.expand()
        if selected is not None:
            self.call_after_refresh(self.move_to, selected)
        elif items:
            # Start on the first problem, so the first a / r / w acts on something.
            self.call_after_refresh(self.move_to, items[0][0].key)
