"""Every case fixture, through both engines, against its expectations."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from planwise.intake_io import intake_from_data
from planwise.kb import load_knowledge
from planwise.models.profile import Profile
from planwise.models.proposal import Proposal
from planwise.rules import durable_available, recommend

CASES = sorted((Path(__file__).parent / "fixtures" / "cases").glob("*.toml"))
EXPECT_KEYS = {
    "risk", "problems", "only_problems", "no_problems", "goals", "no_goals", "first_goals",
    "referrals", "no_referrals", "assessments", "no_assessments", "warnings", "no_warnings",
    "modalities", "level_of_care", "sessions", "frequency_per_week", "no_treatment",
    "deferred", "not_deferred", "priority", "phases",
    "bases",
}


def _load(path: Path) -> tuple[dict[str, Any], Profile | None, dict[str, Any]]:
    data = tomllib.loads(path.read_text())
    assert set(data) <= {"description", "intake", "profile", "expect"}, path.name
    assert set(data.get("expect", {})) <= EXPECT_KEYS, sorted(set(data["expect"]) - EXPECT_KEYS)
    profile = Profile.model_validate(data["profile"]) if "profile" in data else None
    return data["intake"], profile, data.get("expect", {})


def _run(path: Path, engine: str) -> Proposal:
    kb = load_knowledge()
    intake, profile, _ = _load(path)
    return recommend(intake_from_data(intake, kb), profile, kb, engine)


def test_there_are_cases() -> None:
    assert len(CASES) >= 3


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_engines_agree(path: Path) -> None:
    if not durable_available():
        pytest.skip("durable-rules does not import on this Python; reference only")
    durable = _run(path, "durable").model_dump(mode="json")
    reference = _run(path, "reference").model_dump(mode="json")
    assert durable == reference


def _matches_problem(spec: str, proposal: Proposal) -> bool:
    cond, _, sev = spec.partition(":")
    return any(p.condition == cond and (not sev or p.severity == sev) for p in proposal.problems)


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_expectations(path: Path) -> None:
    _, _, expect = _load(path)
    p = _run(path, "reference")
    goals = {g.id for prob in p.problems for g in prob.goals}
    referrals = {(r.kind, r.urgency) for r in p.referrals}
    problems = [f"{x.condition}:{x.severity}" for x in p.problems]
    if "risk" in expect:
        assert p.risk.level == expect["risk"]
    for spec in expect.get("problems", []):
        assert _matches_problem(spec, p), f"problem {spec} missing; got {problems}"
    if expect.get("only_problems"):
        assert len(p.problems) == len(expect["problems"]), problems
    for spec in expect.get("no_problems", []):
        assert not _matches_problem(spec, p), f"problem {spec} should be absent"
    for spec in expect.get("bases", []):
        cond, _, basis = spec.partition(":")
        got = {x.condition: x.basis for x in p.problems}
        assert got.get(cond) == basis, f"problem {cond} should have basis {basis}; got {got}"
    for g in expect.get("goals", []):
        assert g in goals, f"goal {g} missing; got {sorted(goals)}"
    for g in expect.get("no_goals", []):
        assert g not in goals, f"goal {g} should be absent"
    for spec in expect.get("first_goals", []):
        cond, goal = spec.split(":")
        prob = next(x for x in p.problems if x.condition == cond)
        assert prob.goals[0].id == goal, [g.id for g in prob.goals]
    for spec in expect.get("referrals", []):
        kind, _, urg = spec.partition(":")
        assert any(k == kind and (not urg or u == urg) for k, u in referrals), \
            f"referral {spec} missing; got {sorted(referrals)}"
    for kind in expect.get("no_referrals", []):
        assert kind not in {k for k, _ in referrals}, f"referral {kind} should be absent"
    assessments = {a.instrument for a in p.assessments}
    for a in expect.get("assessments", []):
        assert a in assessments, f"assessment {a} missing; got {sorted(assessments)}"
    for a in expect.get("no_assessments", []):
        assert a not in assessments
    for spec in expect.get("warnings", []):
        kind, _, text = spec.partition(":")
        assert any(w.kind == kind and text in w.message for w in p.warnings), \
            f"warning {spec} missing; got {[(w.kind, w.message) for w in p.warnings]}"
    for kind in expect.get("no_warnings", []):
        assert kind not in {w.kind for w in p.warnings}, f"warning {kind} should be absent"
    if expect.get("no_treatment"):
        assert p.treatment is None
    for key in ("modalities", "level_of_care", "sessions", "frequency_per_week"):
        if key in expect:
            assert p.treatment is not None, "no treatment block"
    if "modalities" in expect:
        assert p.treatment is not None
        for m in expect["modalities"]:
            assert m in p.treatment.modalities
    if "level_of_care" in expect:
        assert p.treatment is not None and p.treatment.level_of_care == expect["level_of_care"]
    if "sessions" in expect:
        assert p.treatment is not None
        assert [p.treatment.sessions.min, p.treatment.sessions.max] == expect["sessions"]
    if "frequency_per_week" in expect:
        assert p.treatment is not None
        assert p.treatment.frequency_per_week == expect["frequency_per_week"]
    _check_sequence(expect, p)


def _check_sequence(expect: dict[str, Any], p: Proposal) -> None:
    """deferred / not_deferred goal ids, the leading problems in order, goal phases."""
    by_id = {g.id: g for prob in p.problems for g in prob.goals}
    for g in expect.get("deferred", []):
        assert g in by_id, f"goal {g} missing; got {sorted(by_id)}"
        assert by_id[g].deferred is not None, f"goal {g} should be deferred"
    for g in expect.get("not_deferred", []):
        assert g in by_id, f"goal {g} missing; got {sorted(by_id)}"
        assert by_id[g].deferred is None, f"goal {g} should start now: {by_id[g].deferred}"
    if "priority" in expect:
        order = [x.condition for x in sorted(p.problems, key=lambda x: x.priority or 0)]
        want = expect["priority"]
        assert order[:len(want)] == want, f"problems in order {order}, expected {want} first"
    for spec in expect.get("phases", []):
        gid, _, phase = spec.partition(":")
        assert gid in by_id, f"goal {gid} missing; got {sorted(by_id)}"
        assert by_id[gid].phase == phase, f"goal {gid} has phase {by_id[gid].phase}"
