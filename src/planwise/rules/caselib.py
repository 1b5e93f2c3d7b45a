"""The shipped case library, run against a knowledge base (`planwise knowledge check`).

Each case (tests/fixtures/cases, shipped in the wheel as planwise/_cases) is an
intake with a supervisor's expectations. A clinic's knowledge may change much of
a plan on purpose, so here only two things fail the check: a case the engine
cannot evaluate (a rule chain that does not settle, rule sets durable-rules cannot
build) and a case whose safety outcome got weaker (a lower risk level, a missing
emergency or withdrawal referral, a missing safety warning). Other differences
from the shipped expectations are counted and named, not failed.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from planwise.errors import PlanwiseError
from planwise.intake_io import intake_from_data
from planwise.kb.loader import KnowledgeBase
from planwise.models.profile import Profile
from planwise.models.proposal import Proposal
from planwise.rules import recommend

RISK_RANK = {"none": 0, "low": 1, "unassessed": 2, "moderate": 3, "high": 4}
SAFETY_REFERRALS = frozenset({"emergency", "withdrawal_management"})
SAFETY_WARNINGS = frozenset({"risk_unassessed", "risk_conflict", "unconfirmed_screen",
                             "trauma_caution"})


@dataclass
class CaseResult:
    name: str
    error: str | None = None
    safety: list[str] = field(default_factory=list)
    other: list[str] = field(default_factory=list)


def run_case_library(kb: KnowledgeBase, folder: Path, engine: str = "auto") -> list[CaseResult]:
    results = []
    for path in sorted(folder.glob("*.toml")):
        result = CaseResult(path.stem)
        results.append(result)
        try:
            data = tomllib.loads(path.read_text())
            profile = Profile.model_validate(data["profile"]) if "profile" in data else None
            proposal = recommend(intake_from_data(data["intake"], kb, path.name), profile, kb,
                                 engine)
        except PlanwiseError as exc:
            result.error = str(exc)
            continue
        _compare(proposal, data.get("expect", {}), result)
    return results


def _compare(p: Proposal, expect: dict[str, Any], result: CaseResult) -> None:
    if "risk" in expect and RISK_RANK[p.risk.level] < RISK_RANK[expect["risk"]]:
        result.safety.append(f"risk {p.risk.level}, expected {expect['risk']}")
    referrals = {(r.kind, r.urgency) for r in p.referrals}
    for spec in expect.get("referrals", []):
        kind, _, urgency = spec.partition(":")
        if not any(k == kind and (not urgency or u == urgency) for k, u in referrals):
            (result.safety if kind in SAFETY_REFERRALS else result.other).append(
                f"referral {spec} missing")
    kinds = {w.kind for w in p.warnings}
    for spec in expect.get("warnings", []):
        kind = spec.partition(":")[0]
        if kind not in kinds:
            (result.safety if kind in SAFETY_WARNINGS else result.other).append(
                f"warning {kind} missing")
    problems = {x.condition for x in p.problems}
    for spec in expect.get("problems", []):
        if spec.partition(":")[0] not in problems:
            result.other.append(f"problem {spec} missing")
    goals = {g.id for x in p.problems for g in x.goals}
    result.other += [f"goal {g} missing" for g in expect.get("goals", []) if g not in goals]
