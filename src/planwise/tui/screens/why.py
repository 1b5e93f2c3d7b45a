"""Why: the supervisor-style explanation of one proposed item.

For each rule in the item's `because`: the facts it matched, in plain words
(`planwise.explain.sentence`), what the rule says, its source, and what it
concluded; then how the facts it rested on were established in turn (back to
the answers and scores). `engine.*` steps are the engine's own, explained
from `planwise.rules.BUILTIN_STEPS`.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from typing import Any

from rich.markup import escape
from textual import events
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from planwise.explain import _case_detail, _negated, sentence
from planwise.kb.loader import KnowledgeBase
from planwise.rules import BUILTIN_STEPS
from planwise.rules.memory import Firing
from planwise.rules.pipeline import Evaluation
from planwise.tui import keymap

MAX_DEPTH = 4
WIDTH = 76  # wrapped with a hanging indent; readable at 80 columns


@dataclass
class Step:
    rule: str
    builtin: bool = False
    facts: list[str] = field(default_factory=list)
    says: str = ""
    source: str = ""
    concluded: list[str] = field(default_factory=list)


def _related(fact: dict[str, Any], ctx: dict[str, str]) -> bool:
    """Is a derived fact about the item (same goal, condition, referral kind, ...)?"""
    kind = ctx.get("kind", "")
    t = fact.get("fact")
    if kind in ("goal", "objective", "intervention"):
        return t == "goal" and fact.get("goal") == ctx.get("goal")
    if kind == "problem":
        return fact.get("condition") == ctx.get("condition") or (
            ctx.get("condition") == "suicide_risk" and t in ("risk_level", "risk"))
    if kind == "treatment":
        return t in ("treatment_option", "treatment")
    if kind in ("referral", "warning"):
        return t == kind and fact.get("kind") == ctx.get("id")
    if kind == "assessment":
        return t == "assessment" and fact.get("instrument") == ctx.get("id")
    if kind == "risk":
        return t in ("risk_level", "risk")
    return True


def _ctx_of_fact(fact: dict[str, Any]) -> dict[str, str]:
    t = fact.get("fact", "")
    if t in ("problem", "problem_found", "severity"):
        return {"kind": "problem", "condition": fact.get("condition", "")}
    if t in ("risk", "risk_level"):
        return {"kind": "risk"}
    if t in ("treatment", "treatment_option"):
        return {"kind": "treatment"}
    if t == "goal":
        return {"kind": "goal", "goal": fact.get("goal", "")}
    return {"kind": t}


def _step(f: Firing, evaluation: Evaluation, kb: KnowledgeBase) -> Step:
    mem = evaluation.memory
    rule = kb.rule(f.rule)
    if rule is None:
        return Step(f.rule, says="(not in the loaded knowledge)")
    facts = [mem.facts[n] for n in f.matched]
    positive = [p for p in rule.patterns if not p.negated]
    described = [_case_detail(p, fact) if fact["fact"] == "case" else sentence(fact, kb)
                 for p, fact in zip(positive, facts, strict=False)]
    described += [_negated(p, kb) for p in rule.patterns if p.negated]
    return Step(f.rule, facts=described, says=rule.entry.says, source=rule.entry.source,
                concluded=[sentence(mem.facts[n], kb) for n in f.derived])


def explain_item(because: list[str], ctx: dict[str, str], evaluation: Evaluation,
                 kb: KnowledgeBase) -> tuple[list[Step], list[Step]]:
    """(the item's own rules, the rules that established the facts those rested on)."""
    mem = evaluation.memory
    direct: list[Step] = []
    seen: set[int] = set()
    pending: list[tuple[int, int]] = []     # (fact number, depth)

    def firings_for(rule: str, ctx: dict[str, str]) -> list[Firing]:
        fs = [f for f in mem.firings if f.rule == rule]
        related = [f for f in fs if any(_related(mem.facts[n], ctx) for n in f.derived)]
        return related or fs

    for rule in because:
        if rule in BUILTIN_STEPS:
            direct.append(Step(rule, builtin=True, says=BUILTIN_STEPS[rule]))
            continue
        for f in firings_for(rule, ctx):
            if id(f) in seen:
                continue
            seen.add(id(f))
            direct.append(_step(f, evaluation, kb))
            pending += [(n, 1) for n in f.matched]
    upstream: list[Step] = []
    done_facts: set[int] = set()
    while pending:
        n, depth = pending.pop(0)
        if n in done_facts or depth > MAX_DEPTH:
            continue
        done_facts.add(n)
        fact = mem.facts[n]
        rules = mem.because.get(n, [])
        if not rules:
            continue  # an answer, a score, the case: nothing to explain further
        derived_by = [f for f in mem.firings if n in f.derived]
        if not derived_by:  # made by the engine between stages from these rules' facts
            fctx = _ctx_of_fact(fact)
            derived_by = [f for r in rules if r not in BUILTIN_STEPS
                          for f in firings_for(r, fctx)]
        for r in rules:
            if r in BUILTIN_STEPS and all(s.rule != r for s in (*direct, *upstream)):
                upstream.append(Step(r, builtin=True, says=BUILTIN_STEPS[r]))
        for f in derived_by:
            if id(f) in seen:
                continue
            seen.add(id(f))
            upstream.append(_step(f, evaluation, kb))
            pending += [(m, depth + 1) for m in f.matched]
    return direct, upstream


def render_steps(title: str, direct: list[Step], upstream: list[Step],
                 width: int = WIDTH) -> str:
    """Rich markup; everything readable without colour. Wrapped to `width` with a hanging
    indent (the screen gives its own width, so 60 columns wrap as cleanly as 80)."""
    lines = [f"[b]{escape(x)}[/b]" for x in textwrap.wrap(f"Why: {title}", width)] + [""]


    def para(text: str, first: str = "  ", rest: str = "    ") -> None:
        lines.extend(escape(x) for x in textwrap.wrap(text, width, initial_indent=first,
                                                      subsequent_indent=rest))

    def block(s: Step) -> None:
        if s.builtin:
            lines.append(f"[b]{escape(s.rule)}[/b] (a step of the engine itself)")
            para(s.says)
            lines.append("")
            return
        lines.append(f"[b]rule {escape(s.rule)}[/b]")
        if s.facts:
            para("Because " + "; and ".join(s.facts) + ",")
        para(f"the rule says: {s.says}")
        para(f"Source: {s.source}")
        if s.concluded:
            para("So: " + "; ".join(s.concluded) + ".")
        lines.append("")

    if not direct:
        lines += ["Added by the therapist: no rule proposed it.", ""]
    for s in direct:
        block(s)
    if upstream:
        lines += ["[b]How those facts were established[/b]", ""]
        for s in upstream:
            block(s)
    return "\n".join(lines)


class WhyScreen(Screen[None]):
    HELP_AREA = "why"
    BINDINGS = keymap.bindings("why")
    HELP_TEXT = ("The facts each rule matched, what the rule says, its source and what it "
                 "concluded; then how those facts were established.")

    def __init__(self, title: str, because: list[str], ctx: dict[str, str],
                 evaluation: Evaluation, kb: KnowledgeBase) -> None:
        super().__init__()
        self.item_title = title
        self.steps = explain_item(because, ctx, evaluation, kb)
        self.text = render_steps(title, *self.steps)

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="why-scroll"):
            yield Static(self.text, id="why-text")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "Why"
        self.query_one("#why-scroll").focus()

    def on_resize(self, event: events.Resize) -> None:
        # The text's own wrap (hanging indents) follows the terminal: no second wrap.
        width = max(30, min(WIDTH, event.size.width - 4))
        self.text = render_steps(self.item_title, *self.steps, width=width)
        self.query_one("#why-text", Static).update(self.text)

    def action_back(self) -> None:
        self.app.pop_screen()
