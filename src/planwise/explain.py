"""Explanations a supervisor would give a trainee: facts, rule, source, conclusion.

`explain()` walks the whole evaluation in order; `show_entry()` prints one
piece of knowledge with its source (`planwise knowledge show ID`).
"""

from __future__ import annotations

import json
import textwrap
from typing import Any

from planwise.facts import STAGES
from planwise.intake_io import ScoredIntake
from planwise.kb.loader import KnowledgeBase
from planwise.kb.patterns import Pattern, Ref
from planwise.models.proposal import Proposal
from planwise.rules.pipeline import Evaluation
from planwise.rules.steps import BUILTIN_STEPS

STAGE_TITLES = {
    "severity": "Step 1. From scores and answers to severity and suicide risk",
    "problem": "Step 2. Which problems the plan addresses",
    "plan": "Step 3. Goals, treatment, referrals and assessments for each problem",
    "integrate": "Step 4. Pulling the problems into one plan",
    "warn": "Step 5. Checks on the whole plan",
}

# Said once, where the risk level is reached, so that a trainee does not read
# the level as a forecast (NICE NG225 advises against using risk levels that way).
RISK_NOTE = (
    "Note: the suicide-risk level below is a formulation that guides the plan (what "
    "comes first, how often the client is seen, who else is involved), not a prediction "
    "of whether the client will harm themselves. NICE NG225 (2022) advises against "
    "using risk scales or low/medium/high levels to predict suicide or to decide who "
    "gets help; ask about risk again at every session."
)


def _label(kb: KnowledgeBase, kind: str, value: str) -> str:
    return kb.label(kind, value) if value else value


def sentence(fact: dict[str, Any], kb: KnowledgeBase) -> str:
    """One fact in plain words."""
    t = fact["fact"]
    cond = _label(kb, "conditions", fact.get("condition", ""))
    if t == "score":
        inst = kb.instruments.get(fact["instrument"])
        name = inst.name if inst else fact["instrument"]
        band = next((b.label for b in inst.bands if b.name == fact["band"]), fact["band"]) \
            if inst else fact["band"]
        return f"{name} = {fact['total']} ({band.lower()})"
    if t == "flag":
        inst = kb.instruments.get(fact["instrument"])
        return f"{inst.name if inst else fact['instrument']} flag: {fact['name'].replace('_', ' ')}"
    if t == "concern":
        name = fact["name"]
        label = kb.label("concerns", name) if name in kb.vocab["concerns"] else \
            kb.label("conditions", name)
        return f"screening concern: {label.lower()}"
    if t == "impression":
        return f"the clinician confirms {cond.lower()}"
    if t == "clinician_severity":
        return f"the clinician rates {cond.lower()} as {fact['severity']}"
    if t == "risk_answers":
        yes = [k for k in ("method", "intent", "plan") if fact[k]]
        return (f"risk assessment: ideation {fact['ideation']}, behaviour {fact['behaviour']}"
                + (f", {' and '.join(yes)} present" if yes else ", no method, intent or plan"))
    if t == "case":
        return "the case context"
    if t == "competency":
        return f"the therapist lists {cond.lower()} as a competency"
    if t == "trained":
        return f"the therapist is trained in {_label(kb, 'modalities', fact['modality'])}"
    if t == "risk_level":
        return f"suicide risk level {fact['level']}"
    if t == "risk":
        return f"the suicide risk level is {fact['level']}"
    if t == "severity":
        return f"{cond.lower()} is {fact['severity']} (by {fact['by']})"
    if t == "problem_found":
        return f"{cond.lower()} is a problem for this client"
    if t == "problem":
        basis = {"screen_only": ", on a screen only (to confirm)",
                 "screen_and_concern": ", from a screening concern and a score"}
        how = basis.get(str(fact.get("basis")), "")
        return f"problem: {cond.lower()}, {fact['severity']}{how}"
    if t == "priority":
        return (f"{cond.lower()} is addressed at rank {fact['rank']} (1 first)"
                + (f": {fact['reason']}" if fact.get("reason") else ""))
    if t == "defer":
        return (f"goals with {_label(kb, 'modalities', fact['modality'])} wait until "
                f"{fact['until']}")
    if t == "goal":
        goal = kb.goals.get(fact["goal"])
        return f"goal \u201c{goal.text if goal else fact['goal']}\u201d"
    if t == "treatment_option":
        return (f"a course for {cond.lower()} of {fact['sessions_min']}-{fact['sessions_max']} "
                f"sessions, {fact['frequency_per_week']} a week, "
                f"{_label(kb, 'levels_of_care', fact['level_of_care']).lower()}, "
                f"review at {fact['review_weeks']} weeks")
    if t == "referral":
        return (f"a referral to {_label(kb, 'referral_kinds', fact['kind'])} "
                f"({fact['urgency']}): {fact['reason']}")
    if t == "assessment":
        inst = kb.instruments.get(fact["instrument"])
        return f"give the {inst.name if inst else fact['instrument']}: {fact['reason']}"
    if t == "warning":
        return f"warning ({fact['kind']}): {fact['message']}"
    if t == "intervention":
        itv = kb.interventions.get(fact["item"])
        return (f"intervention \u201c{itv[0].text if itv else fact['item']}\u201d "
                f"({_label(kb, 'modalities', fact['modality'])})")
    if t == "objective":
        return f"objective {fact['item']}"
    if t == "treatment":
        return (f"the combined course: {fact['sessions_min']}-{fact['sessions_max']} sessions, "
                f"{fact['frequency_per_week']} a week, "
                f"{_label(kb, 'levels_of_care', fact['level_of_care']).lower()}")
    return t


def _case_detail(pattern: Pattern, fact: dict[str, Any]) -> str:
    parts = [f"{t.attr.replace('_', ' ')} {fact[t.attr]}" for t in pattern.tests]
    return "the case: " + ", ".join(parts) if parts else "the case context"


def _negated(p: Pattern, kb: KnowledgeBase) -> str:
    tests = []
    for t in p.tests:
        if isinstance(t.value, Ref):
            tests.append(f"the same {t.attr.replace('_', ' ')}")
        elif isinstance(t.value, tuple):
            tests.append(" or ".join(map(str, t.value)))
        else:
            tests.append(str(t.value))
    what = {"score": "answered instrument", "flag": "screen flag", "competency":
            "competency", "trained": "training", "impression": "confirmed diagnosis"}.get(
                p.fact, p.fact.replace("_", " "))
    return f"no {what}" + (f" ({', '.join(tests)})" if tests else "")


WIDTH = 78


def _wrap(text: str, indent: str, width: int = WIDTH) -> str:
    return textwrap.fill(text, width=width, initial_indent=indent, subsequent_indent=indent)


def plan_order(prop: Proposal, kb: KnowledgeBase, width: int = WIDTH) -> list[str]:
    """The problems in the order the plan addresses them, each with its basis, and the
    goals that wait, with when they may start and the rules that hold them back."""
    from planwise.render import BASIS_TEXT, ordered

    out = ["The order of the plan"]
    waiting: list[str] = []
    for n, prob in ordered(prop):
        basis = f" [{BASIS_TEXT[prob.basis]}]" if prob.basis in BASIS_TEXT else ""
        out.append(_wrap(f"{n}. {kb.label('conditions', prob.condition)} "
                         f"({prob.severity}){basis}", "  ", width))
        for g in prob.goals:
            if g.deferred is not None:
                waiting.append(f"- \u201c{g.text}\u201d is deferred until {g.deferred.until} "
                               f"(rules: {', '.join(g.deferred.because)})")
    out += [textwrap.fill(w, width=width, initial_indent="  ", subsequent_indent="    ")
            for w in waiting]
    return out + [""]


def explain(evaluation: Evaluation, scored: ScoredIntake, kb: KnowledgeBase,
            width: int = WIDTH) -> str:
    """The walk-through, wrapped to `width` (the interface asks for it unwrapped, with a
    very large width, and wraps it to the screen)."""
    mem = evaluation.memory
    out: list[str] = []
    intake = scored.intake
    who = f"client {intake.client.id}" if intake.client.id else "this client"
    out.append(f"How planwise reached its proposal for {who} (intake of {intake.date}).")
    out.append("")
    out.append("What we know")
    for s in scored.scores:
        out.append(_wrap("- " + sentence({"fact": "score", "instrument": s.instrument,
                                          "total": s.total, "band": s.band}, kb)
                         + (f"; flags: {', '.join(s.flags)}" if s.flags else ""), "  ",
                         width))
    for c in intake.screening.concerns:
        out.append("  - " + sentence({"fact": "concern", "name": c}, kb))
    for c in intake.clinician.impressions:
        out.append("  - " + sentence({"fact": "impression", "condition": c}, kb))
    if intake.risk is None:
        out.append("  - no structured suicide-risk assessment was recorded")
    out.append("")
    order = {s: i for i, s in enumerate(STAGES)}
    current = None
    for f in mem.canonical_firings(order):
        if f.stage != current:
            current = f.stage
            out.append(STAGE_TITLES[current])
            out.append("")
            if current == "severity":
                out.append(_wrap(RISK_NOTE, "  ", width))
                out.append("")
        rule = kb.rule(f.rule)
        assert rule is not None
        facts = [mem.facts[n] for n in f.matched]
        positive = [p for p in rule.patterns if not p.negated]
        described = []
        for p, fact in zip(positive, facts, strict=True):
            described.append(_case_detail(p, fact) if fact["fact"] == "case"
                             else sentence(fact, kb))
        described += [_negated(p, kb) for p in rule.patterns if p.negated]
        out.append(_wrap("Because " + "; and ".join(described) + ",", "  ", width))
        out.append(_wrap(f"rule {rule.id} says: {rule.entry.says}", "  ", width))
        out.append(_wrap(f"Source: {rule.entry.source}.", "    ", width))
        if f.derived:
            derived = [sentence(mem.facts[n], kb) for n in f.derived]
            out.append(_wrap("So: " + "; ".join(derived) + ".", "    ", width))
        out.append("")
    used = sorted({r for rs in mem.because.values() for r in rs if r.startswith("engine.")})
    if used:
        out.append("Steps the engine takes itself")
        for step in used:
            out.append(_wrap(f"- {step}: {BUILTIN_STEPS[step]}", "  ", width))
        out.append("")
    prop = evaluation.proposal
    if prop is not None and prop.problems:
        out += plan_order(prop, kb, width)
    if prop is not None:
        out.append(f"In all: {len(prop.problems)} problem(s), "
                   f"{sum(len(x.goals) for x in prop.problems)} goal(s), "
                   f"{len(prop.referrals)} referral(s), {len(prop.assessments)} assessment(s) "
                   f"to give, {len(prop.warnings)} warning(s).")
    return "\n".join(out)


def _toml_value(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False) if not isinstance(value, bool) else \
        str(value).lower()


def show_entry(kb: KnowledgeBase, entry_id: str) -> str:
    from planwise.errors import InputError
    from planwise.text import excerpt

    if entry_id in BUILTIN_STEPS:
        return f"{entry_id} (a step of the engine itself)\n\n{BUILTIN_STEPS[entry_id]}"
    rule = kb.rule(entry_id)
    if rule:
        e = rule.entry
        lines = [f"rule {e.id}  (stage {e.stage}; {rule.file}:{rule.line})", "",
                 f"  {e.says}", "", f"  Source: {e.source}", "", "  when"]
        for cond in e.when:
            lines.append("    " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in cond.items()))
        lines.append("  then")
        for concl in e.then:
            lines.append("    " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in concl.items()))
        return "\n".join(lines)
    goal = kb.goals.get(entry_id)
    if goal is None and entry_id in kb.objectives:
        goal = kb.goals[kb.objectives[entry_id][1]]
    if goal is None and entry_id in kb.interventions:
        goal = kb.goals[kb.interventions[entry_id][1]]
    if goal:
        loc = kb.where.get(goal.id)
        lines = [f"goal {goal.id}  (condition {goal.condition}; "
                 f"{loc.file if loc else '?'}:{loc.line if loc else '?'})", "",
                 f"  {goal.text}", "", f"  Source: {goal.source}", "", "  Objectives (client will)"]
        for o in goal.objectives:
            mark = " <-" if o.id == entry_id else ""
            lines += [f"  - {o.id}{mark}: {o.text}", f"      action: {o.client_action}",
                      f"      measure: {o.measure}", f"      target: {o.target_weeks} weeks"]
        lines.append("  Interventions (therapist will)")
        for i in goal.interventions:
            mark = " <-" if i.id == entry_id else ""
            lines.append(f"  - {i.id}{mark} [{i.modality}]: {i.text}")
        return "\n".join(lines)
    inst = kb.instruments.get(entry_id)
    if inst:
        lines = [f"instrument {inst.id}: {inst.name}, {inst.title}", "",
                 f"  Source: {inst.source}", f"  Licence: {inst.licence}",
                 f"  Total {inst.min_total}-{inst.max_total}; bands:"]
        lines += [f"    {b.min:>3}-{b.max:<3} {b.label}" for b in inst.bands]
        return "\n".join(lines)
    raise InputError("no rule, goal, objective, intervention or instrument with id "
                     f"{excerpt(entry_id)}"
                     " (see `planwise knowledge list`)")
