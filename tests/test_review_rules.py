"""The review rules over trajectory fixtures, on both engines, and the caseload flags.

Each tests/fixtures/trajectories/*.toml is a Course plus expectations:
expect_changes (ids kind:subject:item that must be proposed; with
expect_exact = true, exactly those), expect_not_changes, expect_kinds,
expect_not_kinds, expect_rules / expect_not_rules (rule ids in any change's
because), expect_urgency (id -> urgency), expect_order (kinds, in the order
they must appear) and expect_flags (attention_flags, exactly).
"""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planwise.clinical.course import Course
from planwise.clinical.review_facts import ATTENTION_FLAGS, attention_flags, progress_facts
from planwise.kb import load_knowledge
from planwise.models.review import Review
from planwise.rules import durable_available, evaluate, evaluate_review, review
from planwise.rules.progress_review import KIND_ORDER

TRAJECTORIES = sorted((Path(__file__).parent / "fixtures" / "trajectories").glob("*.toml"))
EXPECT_KEYS = {
    "expect_changes", "expect_exact", "expect_not_changes", "expect_kinds", "expect_not_kinds",
    "expect_rules", "expect_not_rules", "expect_urgency", "expect_order", "expect_flags",
}

# Which rules stand for which caseload flag (review_due proposes no change).
FLAG_RULES = {
    "not_on_track": "review.not_on_track.",
    "deteriorated": "review.deteriorated.alliance",
    "risk_reemerging": "review.risk.reemerged",
    "objectives_overdue": "review.objective.overdue",
    "session_limit_near": "review.session_limit.near",
}


def _load(path: Path) -> tuple[Course, dict[str, Any]]:
    data = tomllib.loads(path.read_text())
    assert set(data) <= {"description", "course"} | EXPECT_KEYS, path.name
    assert data.get("description"), path.name
    return Course.model_validate(data["course"]), data


def _rules(r: Review) -> set[str]:
    return {rule for c in r.changes for rule in c.because}


def test_there_are_trajectories() -> None:
    assert len(TRAJECTORIES) >= 20


@pytest.mark.parametrize("path", TRAJECTORIES, ids=[p.stem for p in TRAJECTORIES])
def test_engines_agree_on_every_trajectory(path: Path) -> None:
    assert durable_available(), "the review is compared on both engines"
    course, _ = _load(path)
    kb = load_knowledge()
    durable = review(course, kb, "durable").model_dump(mode="json")
    reference = review(course, kb, "reference").model_dump(mode="json")
    assert durable == reference


@pytest.mark.parametrize("path", TRAJECTORIES, ids=[p.stem for p in TRAJECTORIES])
def test_trajectory_expectations(path: Path) -> None:
    course, expect = _load(path)
    kb = load_knowledge()
    r = review(course, kb, "reference")
    ids = [c.id for c in r.changes]
    kinds = [c.kind for c in r.changes]
    rules = _rules(r)
    for cid in expect.get("expect_changes", []):
        assert cid in ids, f"{cid} missing; got {ids}"
    if expect.get("expect_exact"):
        assert sorted(ids) == sorted(expect.get("expect_changes", [])), ids
    for cid in expect.get("expect_not_changes", []):
        assert cid not in ids, f"{cid} should be absent"
    for kind in expect.get("expect_kinds", []):
        assert kind in kinds, f"{kind} missing; got {ids}"
    for kind in expect.get("expect_not_kinds", []):
        assert kind not in kinds, f"{kind} should be absent; got {ids}"
    for rule in expect.get("expect_rules", []):
        assert rule in rules, f"{rule} did not fire; fired {sorted(rules)}"
    for rule in expect.get("expect_not_rules", []):
        assert rule not in rules, f"{rule} should not fire"
    for cid, urgency in expect.get("expect_urgency", {}).items():
        assert next(c for c in r.changes if c.id == cid).urgency == urgency
    order = [k for k in kinds if k in expect.get("expect_order", [])]
    assert order == [k for k in expect.get("expect_order", []) if k in kinds]
    if "expect_flags" in expect:
        assert attention_flags(course, kb) == expect["expect_flags"]


@pytest.mark.parametrize("path", TRAJECTORIES, ids=[p.stem for p in TRAJECTORIES])
def test_flags_agree_with_the_rules(path: Path) -> None:
    """attention_flags uses the rules' definitions: a flag is up exactly when its rule fires."""
    course, _ = _load(path)
    kb = load_knowledge()
    _check_flags_agree(course, kb)


def _check_flags_agree(course: Course, kb: Any) -> None:
    flags = set(attention_flags(course, kb))
    evaluation = evaluate_review(course, kb, "reference")
    fired = {f.rule for f in evaluation.memory.firings}
    for flag, prefix in FLAG_RULES.items():
        up = any(rule.startswith(prefix) for rule in fired)
        assert (flag in flags) == up, (flag, sorted(fired))
    course_fact = evaluation.memory.of_type("course")[0]
    assert ("review_due" in flags) == course_fact["review_due"]


def test_every_review_rule_is_exercised_by_a_trajectory() -> None:
    kb = load_knowledge()
    fired: set[str] = set()
    for path in TRAJECTORIES:
        course, _ = _load(path)
        fired |= _rules(review(course, kb, "reference"))
    review_rules = {r.id for r in kb.rules_in("review")}
    assert review_rules - fired == set()


def test_changes_are_merged_ordered_and_explained() -> None:
    kb = load_knowledge()
    course, _ = _load(next(p for p in TRAJECTORIES if p.stem == "phq9_flat_8_sessions"))
    r = review(course, kb, "reference")
    ids = [c.id for c in r.changes]
    assert len(ids) == len(set(ids))
    ranks = [KIND_ORDER.index(c.kind) for c in r.changes]
    assert ranks == sorted(ranks)
    refer = next(c for c in r.changes if c.kind == "refer")
    assert refer.urgency == "soon"
    assert refer.because == ["review.depression.no_change_psychiatry"]
    assert "PHQ-9" in refer.reason and "8 sessions" in refer.reason and "{" not in refer.reason
    assert any("PHQ-9 (primary measure of depression): 16 at baseline, 14 now" in f
               for f in refer.facts)
    assert len(r.facts) == len(progress_facts(course, kb))
    assert r.trace and all(t.rule.startswith("review.") for t in r.trace)


def test_one_alliance_change_from_several_rules() -> None:
    kb = load_knowledge()
    course = Course(
        today=dt.date(2026, 1, 26), start_date=dt.date(2025, 12, 1), sessions_used=8,
        problems={"depression": "mild"}, modalities=["cbt", "behavioural_activation", "ipt"],
        referrals=["psychiatry"],
        measures=[{"instrument": "phq9", "points": [  # type: ignore[list-item]
            {"date": "2025-12-01", "total": 14}, {"date": "2026-01-26", "total": 13,
                                                  "session": 8}]}],
        feedback=[{"session": 7, "answers": {"heard": 9, "mattered": 9, "approach": 9,  # type: ignore[list-item]
                                             "overall": 9}},
                  {"session": 8, "answers": {"heard": 6, "mattered": 6, "approach": 6,
                                             "overall": 6}}])
    r = review(course, kb, "reference")
    assert [c.id for c in r.changes] == ["review_alliance::"]
    alliance = r.changes[0]
    assert alliance.because == ["review.feedback.falling", "review.feedback.low",
                                "review.not_on_track.alliance"]
    assert any(f.startswith("Session feedback") for f in alliance.facts)
    assert any(f.startswith("PHQ-9") for f in alliance.facts)


def test_review_rules_never_run_in_a_proposal_and_proposal_rules_never_in_a_review() -> None:
    from planwise.intake_io import intake_from_data

    kb = load_knowledge()
    review_ids = {r.id for r in kb.rules_in("review")}
    assert review_ids
    case = Path(__file__).parent / "fixtures" / "cases"
    intake = tomllib.loads(sorted(case.glob("*.toml"))[0].read_text())["intake"]
    for engine in ("reference", "durable"):
        proposal_run = evaluate(intake_from_data(intake, kb), None, kb, engine)
        fired = {f.rule for f in proposal_run.memory.firings}
        assert fired and not fired & review_ids
        assert not proposal_run.memory.of_type("change", "measure", "course")
        course, _ = _load(next(p for p in TRAJECTORIES if p.stem == "phq9_flat_8_sessions"))
        review_run = evaluate_review(course, kb, engine)
        stages = {f.stage for f in review_run.memory.firings}
        assert stages == {"review"}
        assert {f.rule for f in review_run.memory.firings} <= review_ids
        derived = {f["fact"] for f in review_run.memory.facts.values()
                   if review_run.memory.stage_of[f["n"]] == "review"}
        assert derived == {"change"}


# -- property: noise inside the reliable-change band ------------------------------

PHQ9_BASELINE = st.integers(min_value=4, max_value=23)


@st.composite
def noisy_phq9(draw: st.DrawFn) -> tuple[int, list[int], int, int]:
    baseline = draw(PHQ9_BASELINE)
    later = draw(st.lists(st.integers(min_value=max(0, baseline - 4),
                                      max_value=min(27, baseline + 4)), min_size=1, max_size=8))
    sessions = draw(st.integers(min_value=1, max_value=20))
    frequency = draw(st.integers(min_value=1, max_value=3))
    return baseline, later, sessions, frequency


@settings(max_examples=150, deadline=None)
@given(noisy_phq9(), st.sampled_from(["mild", "moderate", "severe"]))
def test_noise_within_four_points_is_never_deterioration(
        data: tuple[int, list[int], int, int], severity: str) -> None:
    baseline, later, sessions, frequency = data
    kb = load_knowledge()
    start = dt.date(2025, 12, 1)
    points = [{"date": start, "total": baseline}]
    points += [{"date": start + dt.timedelta(days=7 * (i + 1)), "total": t,
                "session": min(i + 1, sessions)} for i, t in enumerate(later)]
    points[-1]["session"] = sessions
    course = Course(today=start + dt.timedelta(days=7 * (len(later) + 1)), start_date=start,
                    sessions_used=sessions, frequency_per_week=frequency,
                    problems={"depression": severity}, modalities=["cbt"],
                    measures=[{"instrument": "phq9", "points": points}])  # type: ignore[list-item]
    measure = next(f for f in progress_facts(course, kb) if f["fact"] == "measure")
    assert measure["change_class"] == "no_reliable_change"
    r = review(course, kb, "reference")
    for change in r.changes:
        if change.kind == "refer" or change.kind.startswith("step_up_"):
            assert not any(b.startswith("review.deteriorated.") for b in change.because)
    if sessions < 8:
        assert not [c for c in r.changes
                    if c.kind == "refer" or c.kind.startswith("step_up_")]
    assert "deteriorated" not in attention_flags(course, kb)
    _check_flags_agree(course, kb)


def test_attention_flags_come_in_a_fixed_order() -> None:
    kb = load_knowledge()
    course = Course(
        today=dt.date(2026, 3, 2), start_date=dt.date(2025, 12, 1), sessions_used=10,
        session_limit=11, problems={"depression": "moderate"},
        objectives=[{"key": "o", "goal": "g", "target_date": "2026-01-05",  # type: ignore[list-item]
                     "ratings": [1]}],
        measures=[{"instrument": "phq9", "points": [  # type: ignore[list-item]
            {"date": "2025-12-01", "total": 10},
            {"date": "2026-03-02", "total": 20, "session": 10, "flags": ["item9_positive"]}]}])
    # One measure cannot be both deteriorated and not on track: every other flag is up.
    assert attention_flags(course, kb) == [f for f in ATTENTION_FLAGS if f != "not_on_track"]
