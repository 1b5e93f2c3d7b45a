"""Ending treatment: the facts it needs and the rules, on both engines.

Ending is proposed only when risk has been low or none for 4 weeks with no risk
flag since (course.risk_low_weeks), no safety objective is open
(course.safety_open) and remission has held on the last two totals
(measure.remission_held); otherwise, near the end, the review says what must
come first (knowledge/review/ending.toml, docs/review-rules.md).
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pytest

from planwise.clinical.course import Course
from planwise.clinical.progress import classify, in_remission
from planwise.clinical.review_facts import describe_fact, progress_facts
from planwise.kb import load_knowledge
from planwise.kb.loader import KnowledgeBase
from planwise.models.review import Review
from planwise.rules import durable_available, review

TODAY = dt.date(2026, 3, 2)
START = dt.date(2025, 12, 1)
ENGINES = ("reference", "durable")
BLOCKERS = ("review.end.first.", "review.end.goals_first.")


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return load_knowledge()


def _days_ago(days: int) -> str:
    return (TODAY - dt.timedelta(days=days)).isoformat()


def _phq9(*totals: int, flags: dict[int, list[str]] | None = None) -> dict[str, Any]:
    """PHQ-9 totals, the baseline at the start, the rest a fortnight apart up to today."""
    flags = flags or {}
    n = len(totals)
    points = [{"date": START.isoformat(), "total": totals[0], "flags": flags.get(0, [])}]
    points += [{"date": _days_ago(14 * (n - 1 - i)), "total": t, "session": 2 * i,
                "flags": flags.get(i, [])} for i, t in enumerate(totals) if i]
    return {"instrument": "phq9", "points": points}


def _course(**extra: Any) -> Course:
    base: dict[str, Any] = {"today": TODAY, "start_date": START, "sessions_used": 12,
                            "problems": {"depression": "moderate"}, "modalities": ["cbt"]}
    base.update(extra)
    return Course.model_validate(base)


def _facts(course: Course, kb: KnowledgeBase, kind: str) -> list[dict[str, Any]]:
    return [f for f in progress_facts(course, kb) if f["fact"] == kind]


def _course_fact(course: Course, kb: KnowledgeBase) -> dict[str, Any]:
    return _facts(course, kb, "course")[0]


def _rules(r: Review) -> set[str]:
    return {rule for c in r.changes for rule in c.because}


# -- the facts ------------------------------------------------------------------------

@pytest.mark.parametrize(("totals", "streak"), [
    ((17, 4, 3), 2), ((17, 11, 4), 1), ((17, 3, 8), 0), ((17, 4, 3, 2, 0), 4),
    ((3, 4), 2),   # the baseline is a total too
    ((17, 5, 4), 1),  # 5 is not under 5
])
def test_remission_streak_counts_the_latest_totals_in_remission(
        kb: KnowledgeBase, totals: tuple[int, ...], streak: int) -> None:
    measure = _facts(_course(measures=[_phq9(*totals)]), kb, "measure")[0]
    assert measure["remission_streak"] == streak
    assert measure["remission_held"] is (streak >= 2)
    # the streak's latest total agrees with the measure's own remission
    assert (measure["remission"] == "yes") is (streak >= 1)


def test_remission_streak_without_a_remission_definition_is_minus_one(kb: KnowledgeBase
                                                                      ) -> None:
    course = _course(problems={"generalized_anxiety": "moderate"}, measures=[
        {"instrument": "gad7", "points": [{"date": "2025-12-01", "total": 15},
                                          {"date": "2026-02-16", "total": 3, "session": 8},
                                          {"date": "2026-03-02", "total": 2, "session": 10}]}])
    measure = _facts(course, kb, "measure")[0]
    assert measure["remission_streak"] == -1 and measure["remission_held"] is False
    assert measure["remission"] == "unknown"


def test_a_baseline_alone_never_holds_remission(kb: KnowledgeBase) -> None:
    measure = _facts(_course(measures=[_phq9(3)]), kb, "measure")[0]
    assert measure["remission_streak"] == 1 and measure["remission_held"] is False


def test_in_remission_is_the_definition_classify_uses(kb: KnowledgeBase) -> None:
    phq9, gad7 = kb.instruments["phq9"], kb.instruments["gad7"]
    for total in range(28):
        assert in_remission(phq9, total) is classify(phq9, 27, total).remission
        assert in_remission(phq9, total) is (total < 5)
    assert in_remission(gad7, 0) is None


@pytest.mark.parametrize(("extra", "weeks"), [
    ({}, 13),                                               # none since the start
    ({"risk_level": "moderate"}, 0),                        # not low now
    ({"risk_level": "unassessed"}, 0),
    ({"risk_level": "high"}, 0),
    ({"risk_level": "low", "risk_history": [               # moderate until 9 days ago
        {"date": "2025-12-01", "level": "moderate"}, {"date": _days_ago(9), "level": "low"}]},
     1),
    ({"risk_level": "none", "risk_history": [              # low all along: from the start
        {"date": "2025-12-08", "level": "low"}, {"date": _days_ago(9), "level": "none"}]},
     13),
    ({"risk_level": "low", "risk_history": [               # up again, then down 5 weeks ago
        {"date": "2025-12-01", "level": "low"}, {"date": "2026-01-05", "level": "high"},
        {"date": _days_ago(35), "level": "low"}]}, 5),
    ({"risk_level": "low", "risk_history": [               # the history ends above low
        {"date": "2025-12-01", "level": "moderate"}]}, 0),
    ({"version": 2, "last_review": _days_ago(21)}, 3),      # a revision, no history known
    ({"version": 2}, 0),
])
def test_risk_low_weeks_from_the_plan_and_its_history(kb: KnowledgeBase, extra: dict[str, Any],
                                                      weeks: int) -> None:
    assert _course_fact(_course(measures=[_phq9(17, 4)], **extra), kb)["risk_low_weeks"] == weeks


def test_a_risk_flag_on_any_total_restarts_the_count(kb: KnowledgeBase) -> None:
    # PHQ-9 totals at the start, 4 weeks ago, 2 weeks ago, today: item 9 two weeks ago.
    flagged = _course(measures=[_phq9(17, 6, 4, 3, flags={2: ["item9_positive"]})])
    assert _course_fact(flagged, kb)["risk_low_weeks"] == 2
    asq = _course(measures=[_phq9(17, 4, 3), {"instrument": "asq", "points": [
        {"date": _days_ago(7), "total": 1, "flags": ["positive"]}]}])
    assert _course_fact(asq, kb)["risk_low_weeks"] == 1
    baseline = _course(measures=[_phq9(17, 4, 3, flags={0: ["item9_positive"]})])
    assert _course_fact(baseline, kb)["risk_low_weeks"] == 13


@pytest.mark.parametrize(("objective", "safety", "safety_open"), [
    ({"key": "suicide_risk.safety_plan.write", "goal": "suicide_risk.safety_plan",
      "condition": "suicide_risk"}, True, True),
    ({"key": "suicide_risk.safety_plan.write", "goal": "suicide_risk.safety_plan",
      "condition": "suicide_risk", "status": "partially_met"}, True, True),
    ({"key": "suicide_risk.safety_plan.write", "goal": "suicide_risk.safety_plan",
      "condition": "suicide_risk", "status": "not_met"}, True, True),  # closed, never reached
    ({"key": "suicide_risk.safety_plan.write", "goal": "suicide_risk.safety_plan",
      "condition": "suicide_risk", "status": "met"}, True, False),
    ({"key": "suicide_risk.safety_plan.write", "goal": "suicide_risk.safety_plan",
      "condition": "suicide_risk", "ratings": [6, 10]}, True, False),  # rated 10: met
    ({"key": "suicide_risk.safety_plan.write", "goal": "suicide_risk.safety_plan",
      "condition": "suicide_risk", "status": "discontinued"}, True, False),
    # a suicide_risk goal placed under another problem is still a safety goal
    ({"key": "suicide_risk.means_safety.remove", "goal": "suicide_risk.means_safety",
      "condition": "depression"}, True, True),
    # an objective of the suicide-risk problem whose goal the catalogue does not know
    ({"key": "own.crisis_card", "goal": "own.crisis", "condition": "suicide_risk"}, True, True),
    ({"key": "depression.thinking.record", "goal": "depression.thinking",
      "condition": "depression"}, False, False),
])
def test_safety_objectives_and_safety_open(kb: KnowledgeBase, objective: dict[str, Any],
                                           safety: bool, safety_open: bool) -> None:
    course = _course(objectives=[objective])
    progress = _facts(course, kb, "objective_progress")[0]
    assert progress["safety"] is safety
    assert progress["safety_open"] is safety_open
    assert _course_fact(course, kb)["safety_open"] is safety_open


def test_the_new_facts_in_words(kb: KnowledgeBase) -> None:
    course = _course(risk_level="low", measures=[_phq9(17, 11, 4)], objectives=[
        {"key": "suicide_risk.safety_plan.write", "goal": "suicide_risk.safety_plan",
         "condition": "suicide_risk"}])
    words = describe_fact(_course_fact(course, kb), kb)
    assert "plan risk level low (none or low for 13 weeks, no risk flag since)" in words
    assert words.endswith("1 objective open, a safety objective not met yet.")
    measure = describe_fact(_facts(course, kb, "measure")[0], kb)
    assert "remission yes (the latest total only)" in measure
    held = describe_fact(_facts(_course(measures=[_phq9(17, 4, 3)]), kb, "measure")[0], kb)
    assert "remission yes (2 totals in a row)" in held
    moderate = describe_fact(_course_fact(_course(risk_level="moderate"), kb), kb)
    assert "plan risk level moderate;" in moderate and "none or low for" not in moderate


# -- the rules, on both engines ---------------------------------------------------------

SAFETY_STATES = {
    "none": [],
    "met": [{"key": "suicide_risk.safety_plan.write", "goal": "suicide_risk.safety_plan",
             "condition": "suicide_risk", "status": "met", "ratings": [10]}],
    "open": [{"key": "suicide_risk.safety_plan.write", "goal": "suicide_risk.safety_plan",
              "condition": "suicide_risk", "target_date": "2026-04-06", "ratings": [3]}],
    "not_met": [{"key": "suicide_risk.safety_plan.write", "goal": "suicide_risk.safety_plan",
                 "condition": "suicide_risk", "status": "not_met"}],
}
RISK_STATES: dict[str, tuple[dict[str, Any], int]] = {
    "moderate now": ({"risk_level": "moderate"}, 0),
    "low 1 week": ({"risk_level": "low", "risk_history": [
        {"date": "2025-12-01", "level": "moderate"}, {"date": _days_ago(7), "level": "low"}]}, 1),
    "low 3 weeks": ({"risk_level": "low", "risk_history": [
        {"date": "2025-12-01", "level": "high"}, {"date": _days_ago(27), "level": "low"}]}, 3),
    "none 4 weeks": ({"risk_level": "none", "risk_history": [
        {"date": "2025-12-01", "level": "moderate"}, {"date": _days_ago(28), "level": "none"}]},
        4),
    "none 6 weeks": ({"risk_level": "none", "risk_history": [
        {"date": "2025-12-01", "level": "moderate"}, {"date": _days_ago(42), "level": "none"}]},
        6),
    "none all along": ({}, 13),
}
REMISSION_STATES = {"twice": (17, 9, 4, 3), "once": (17, 9, 6, 3)}
MATRIX = list(itertools.product(REMISSION_STATES, RISK_STATES, SAFETY_STATES))


def _matrix_course(remission: str, risk: str, safety: str) -> Course:
    problems = {"depression": "moderate"}
    if safety != "none":
        problems["suicide_risk"] = "low"
    return _course(problems=problems, measures=[_phq9(*REMISSION_STATES[remission])],
                   objectives=SAFETY_STATES[safety], **RISK_STATES[risk][0])


@pytest.mark.parametrize(("remission", "risk", "safety"), MATRIX,
                         ids=["-".join(m).replace(" ", "_") for m in MATRIX])
def test_ending_only_when_all_three_hold_and_otherwise_what_comes_first(
        kb: KnowledgeBase, remission: str, risk: str, safety: str) -> None:
    assert durable_available(), "the ending rules are checked on both engines"
    course = _matrix_course(remission, risk, safety)
    weeks = RISK_STATES[risk][1]
    assert _course_fact(course, kb)["risk_low_weeks"] == weeks
    reviews = {engine: review(course, kb, engine) for engine in ENGINES}
    assert reviews["durable"].model_dump(mode="json") == reviews["reference"].model_dump(
        mode="json")
    r = reviews["reference"]
    ids = {c.id for c in r.changes}
    safe = safety in ("none", "met")
    ends = remission == "twice" and weeks >= 4 and safe
    assert ("end_treatment::" in ids) is ends, ids
    if ends:
        assert _rules(r) & {"review.end.remission"}
        assert not any(rule.startswith(BLOCKERS) for rule in _rules(r))
        return
    # Not ending: one change per condition that does not hold, each saying why.
    first = {c.id: c for c in r.changes if any(b.startswith(BLOCKERS) for b in c.because)}
    expected = set()
    if remission == "once":
        expected.add("add_intervention:depression:depression.symptoms.measure")
    if weeks < 4:
        expected.add("reassess_risk::")
    if not safe:
        expected.add("revise_objective:suicide_risk.safety_plan.write:revise")
    assert set(first) == expected
    if weeks < 4:
        risk_change = first["reassess_risk::"]
        assert risk_change.urgency == "soon"
        assert f"only {weeks} of the 4 weeks" in risk_change.reason
    if not safe:
        assert "safety objective suicide_risk.safety_plan.write is not met" in \
            first["revise_objective:suicide_risk.safety_plan.write:revise"].reason
    if remission == "once":
        assert "latest total only (3" in \
            first["add_intervention:depression:depression.symptoms.measure"].reason
    for change in first.values():
        assert "Ending is" in change.reason and "{" not in change.reason


def test_no_word_on_ending_while_the_client_is_not_near_it(kb: KnowledgeBase) -> None:
    """The blockers speak only when the evidence for ending is there: a PHQ-9 still at 12
    with the safety plan unwritten and risk moderate says nothing about ending."""
    course = _course(risk_level="moderate", problems={"depression": "moderate",
                                                      "suicide_risk": "moderate"},
                     measures=[_phq9(17, 14, 12)], objectives=SAFETY_STATES["open"])
    for engine in ENGINES:
        r = review(course, kb, engine)
        assert not any(rule.startswith(("review.end.",)) for rule in _rules(r))


def test_a_risk_flag_since_the_last_review_is_immediate_and_blocks_the_ending(
        kb: KnowledgeBase) -> None:
    """Item 9 positive on a remitted total a fortnight ago, after the last review: the
    re-emerged signal's immediate reassessment and the ending's wait merge into one
    change at the higher urgency, and ending is not proposed."""
    course = _course(measures=[_phq9(17, 9, 4, 3, flags={2: ["item9_positive"]})],
                     last_review=_days_ago(20))
    for engine in ENGINES:
        r = review(course, kb, engine)
        ids = [c.id for c in r.changes]
        assert "end_treatment::" not in ids
        risk = next(c for c in r.changes if c.id == "reassess_risk::")
        assert risk.urgency == "immediate"
        assert set(risk.because) == {"review.risk.reemerged", "review.end.first.risk"}


def test_goals_met_ends_only_with_remission_held_where_the_measure_defines_it(
        kb: KnowledgeBase) -> None:
    met = [{"key": "depression.thinking.record", "goal": "depression.thinking",
            "condition": "depression", "status": "met", "ratings": [10]}]
    for totals, ends in (((19, 8), False), ((19, 8, 4), False), ((19, 4, 3), True)):
        course = _course(objectives=met, measures=[_phq9(*totals)])
        for engine in ENGINES:
            r = review(course, kb, engine)
            rules = _rules(r)
            assert ("review.end.goals_met" in rules) is ends, (totals, engine)
            assert ("review.end.goals_first.remission" in rules) is (not ends), (totals, engine)
            if not ends:
                assert [c.id for c in r.changes] == [
                    "add_intervention:depression:depression.symptoms.measure"]
