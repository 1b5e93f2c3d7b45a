"""Quality checks over a loaded knowledge base (`planwise knowledge check`).

Loading already refuses anything malformed. These checks find what is well
formed but clinically or logically wrong:
- a goal without objectives or interventions;
- an objective that is not SMART-shaped (no observable action, nothing
  measurable, no time frame);
- a rule that can never fire, because a condition asks for a fact no rule,
  intake or engine step can produce with those values;
- two rules that silently conflict (different treatment lengths for the same
  problem and severity, which the combining step would hide).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from planwise.facts import BASE_TYPES, REVIEW_BASE_TYPES, REVIEW_STAGES
from planwise.kb.loader import KnowledgeBase
from planwise.kb.patterns import Pattern, Ref

MIN_ACTION_WORDS = 4


@dataclass(frozen=True)
class Finding:
    kind: str
    entry: str
    message: str
    file: str
    line: int | None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.entry}: {self.kind}: {self.message}"


def check_quality(kb: KnowledgeBase) -> list[Finding]:
    findings: list[Finding] = []
    findings += _check_goals(kb)
    findings += _check_reachable(kb)
    findings += _check_conflicts(kb)
    return findings


def _finding(kb: KnowledgeBase, kind: str, entry: str, message: str, owner: str | None = None
             ) -> Finding:
    loc = kb.where.get(entry) or kb.where.get(owner or entry)
    return Finding(kind, entry, message, loc.file if loc else "?", loc.line if loc else None)


_NUMBER_WORDS = re.compile(
    r"\b(one|two|three|four|five|six|seven|eight|nine|ten|twelve|half|twice|daily|weekly|"
    r"every|each|all|none|no)\b", re.IGNORECASE)


def _measurable(text: str, kb: KnowledgeBase) -> bool:
    if re.search(r"\d", text) or _NUMBER_WORDS.search(text):
        return True
    names = {i.name.lower() for i in kb.instruments.values()}
    return any(n in text.lower() for n in names)


def _check_goals(kb: KnowledgeBase) -> list[Finding]:
    out = []
    for gid, goal in kb.goals.items():
        if not goal.objectives:
            out.append(_finding(kb, "goal", gid, "has no objectives"))
        if not goal.interventions:
            out.append(_finding(kb, "goal", gid, "has no interventions"))
        for obj in goal.objectives:
            if len(obj.client_action.split()) < MIN_ACTION_WORDS:
                out.append(_finding(kb, "smart.S", obj.id,
                                    "client_action should name an observable behaviour "
                                    f"(at least {MIN_ACTION_WORDS} words)", gid))
            if not _measurable(obj.measure, kb):
                out.append(_finding(kb, "smart.M", obj.id,
                                    "measure needs a number or a named instrument", gid))
    return out


def _literal_values(p: Pattern) -> dict[str, set[Any]]:
    """attr -> the values a matching fact must have (from eq / in tests)."""
    out: dict[str, set[Any]] = {}
    for t in p.tests:
        if isinstance(t.value, Ref):
            continue
        if t.op == "eq":
            out[t.attr] = {t.value}
        elif t.op == "in":
            out[t.attr] = set(t.value)
    return out


def _producers(kb: KnowledgeBase) -> dict[str, list[dict[str, Any]]]:
    """fact type -> possible attribute values (None = any) that something can produce."""
    prod: dict[str, list[dict[str, Any]]] = {}
    for r in kb.rules:
        for c in r.conclusions:
            values = {k: (None if isinstance(v, str) and "{" in v else v)
                      for k, v in c.values.items() if not isinstance(v, list)}
            prod.setdefault(c.fact, []).append(values)
    # Engine steps between stages.
    prod["risk"] = [{"level": v.get("level")} for v in prod.get("risk_level", [])]
    prod["problem"] = [{"condition": v.get("condition")} for v in prod.get("problem_found", [])]
    goals = [v.get("goal") for v in prod.get("goal", [])]
    catalogue = kb.goals.values() if None in goals else [kb.goals[g] for g in goals if g]
    prod["intervention"] = [{"item": i.id, "modality": i.modality, "goal": g.id}
                            for g in catalogue for i in g.interventions]
    prod["objective"] = [{"item": o.id, "goal": g.id} for g in catalogue for o in g.objectives]
    prod["treatment"] = [{}] if prod.get("treatment_option") else []
    return prod


def _check_reachable(kb: KnowledgeBase) -> list[Finding]:
    prod = _producers(kb)
    out = []
    for r in kb.rules:
        for p in r.patterns:
            if p.negated or p.fact in BASE_TYPES:
                continue
            if r.stage in REVIEW_STAGES and p.fact in REVIEW_BASE_TYPES:
                continue  # a review's progress facts come from the course
            need = _literal_values(p)
            ok = any(all(v.get(attr) is None or v.get(attr) in allowed
                         for attr, allowed in need.items())
                     for v in prod.get(p.fact, []))
            if not ok:
                wanted = ", ".join(f"{a} in {sorted(map(str, s))}" for a, s in need.items())
                out.append(_finding(kb, "never_fires", r.id,
                                    f"no rule or engine step produces {p.fact}"
                                    + (f" with {wanted}" if wanted else "")))
    return out


def _check_conflicts(kb: KnowledgeBase) -> list[Finding]:
    out = []
    seen: dict[tuple[str, frozenset[str]], tuple[str, dict[str, Any]]] = {}
    for r in kb.rules:
        problem = next((p for p in r.patterns if p.fact == "problem" and not p.negated), None)
        severities = _literal_values(problem).get("severity") if problem else None
        for c in r.conclusions:
            if c.fact != "treatment_option":
                continue
            cond = c.values.get("condition")
            sev_key = frozenset(severities or {"*"})
            extra = sorted(repr((p.fact, p.negated, p.tests)) for p in r.patterns
                           if p.fact != "problem")
            key = (f"{cond}|{'|'.join(extra)}", sev_key)
            values = {k: v for k, v in c.values.items() if k != "modalities"}
            if key in seen and seen[key][1] != values:
                out.append(_finding(kb, "conflict", r.id,
                                    f"gives {cond} a different treatment course than "
                                    f"{seen[key][0]} for the same severity"))
            seen.setdefault(key, (r.id, values))
    return out
