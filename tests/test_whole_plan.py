"""The engine's whole-plan steps: one sequenced course, goals once, what fits a payer's limit."""

from __future__ import annotations

from typing import Any

import pytest

from planwise.intake_io import intake_from_data
from planwise.kb import load_knowledge
from planwise.rules import durable_available, recommend

ENGINES = ["reference"] + (["durable"] if durable_available() else [])
SEVERE_PHQ9 = [2, 2, 2, 2, 2, 2, 2, 2, 0]


def run(engine: str = "reference", **sections: Any):  # type: ignore[no-untyped-def]
    kb = load_knowledge()
    data = {"schema": "planwise.intake/1", "date": "2026-11-29",
            "risk": {"ideation": "none"}, **sections}
    return recommend(intake_from_data(data, kb), None, kb, engine)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_payer_limit_puts_the_first_review_inside_it_and_says_what_fits(engine: str) -> None:
    p = run(engine, instruments={"phq9": SEVERE_PHQ9}, clinician={"impressions": ["depression"]},
            context={"session_limit": 6})
    t = p.treatment
    assert t is not None and t.sessions.min > 6
    assert t.review_weeks * t.frequency_per_week < 6  # reviewed before the sessions run out
    assert "engine.treatment.sequence" in t.because
    fits = [w for w in p.warnings if w.kind == "course_overload"]
    assert len(fits) == 1 and f"week {t.review_weeks}" in fits[0].message
    assert "6 authorised sessions" in fits[0].message and "What fits" in fits[0].message
    first_goal = p.problems[0].goals[0].text.lower()
    assert first_goal in fits[0].message
    assert fits[0].because == ["engine.course.capacity"]
    assert "session_limit" in {w.kind for w in p.warnings}  # the knowledge's own warning


@pytest.mark.parametrize("engine", ENGINES)
def test_without_a_limit_no_review_is_moved_and_nothing_is_said_about_fit(engine: str) -> None:
    p = run(engine, instruments={"phq9": SEVERE_PHQ9}, clinician={"impressions": ["depression"]})
    assert p.treatment is not None and p.treatment.review_weeks == 8
    assert not [w for w in p.warnings if "What fits" in w.message]


@pytest.mark.parametrize("engine", ENGINES)
def test_many_problems_make_one_longer_course_and_say_it_is_overloaded(engine: str) -> None:
    p = run(engine, client={"age": 35},
            instruments={"phq9": SEVERE_PHQ9, "gad7": [3] * 7, "rses": [0] * 10,
                         "dar5": [4] * 5},
            clinician={"impressions": ["depression", "generalized_anxiety", "low_self_esteem",
                                       "anger", "social_anxiety", "panic"]})
    t = p.treatment
    assert t is not None
    singles = [16, 12]  # the longest single minimums among these (depression, anxiety)
    assert t.sessions.min > max(singles)  # more problems, a longer course
    goal_ids = [g.id for prob in p.problems for g in prob.goals]
    assert len(goal_ids) == len(set(goal_ids))
    objectives = sum(len(g.objectives) for prob in p.problems for g in prob.goals
                     if g.deferred is None)
    overload = [w for w in p.warnings if w.kind == "course_overload"]
    if objectives > 2 * t.sessions.max:  # about two objectives a session
        assert f"{objectives} objectives" in overload[0].message
    else:
        assert overload == []


@pytest.mark.parametrize("engine", ENGINES)
def test_priorities_are_numbered_in_order_and_risk_comes_first(engine: str) -> None:
    p = run(engine, instruments={"phq9": SEVERE_PHQ9[:8] + [2]},
            risk={"ideation": "active", "plan": True},
            clinician={"impressions": ["depression", "ptsd"]}, history={"trauma": True})
    assert [x.priority for x in p.problems] == list(range(1, len(p.problems) + 1))
    assert p.problems[0].condition == "suicide_risk" and p.problems[0].basis == "clinician"
    ptsd = next(x for x in p.problems if x.condition == "ptsd")
    processing = [g for g in ptsd.goals if any(i.modality in ("trauma_focused", "emdr", "exposure")
                                               for i in g.interventions)]
    assert processing and all(g.deferred is not None for g in processing)
    assert all("risk" in g.deferred.until for g in processing if g.deferred)
    phases = [g.phase for g in ptsd.goals]
    order = ["stabilise", "treat", "maintain"]
    assert phases == sorted(phases, key=lambda ph: order.index(ph or "treat"))


@pytest.mark.parametrize("engine", ENGINES)
def test_the_risk_problem_rests_on_the_screen_when_no_assessment_was_made(engine: str) -> None:
    kb = load_knowledge()
    data = {"schema": "planwise.intake/1", "date": "2026-11-29",
            "instruments": {"phq9": [1, 1, 1, 1, 1, 1, 1, 1, 2]}, "risk": {"intent": False}}
    p = recommend(intake_from_data(data, kb), None, kb, engine)
    assert p.risk.level == "unassessed"  # an incomplete section is no assessment
    risk = next(x for x in p.problems if x.condition == "suicide_risk")
    assert risk.basis == "screen_only" and "engine.problem.basis" in risk.because
    assert "risk_conflict" in {w.kind for w in p.warnings}


@pytest.mark.parametrize("engine", ENGINES)
def test_an_incomplete_section_still_counts_for_what_it_says(engine: str) -> None:
    p = run(engine, risk={"intent": True})
    assert p.risk.level == "high"
    assert ("emergency", "immediate") in {(r.kind, r.urgency) for r in p.referrals}


@pytest.mark.parametrize("engine", ENGINES)
def test_a_year_of_dbt_stays_a_year_when_a_safety_plan_comes_first(engine: str) -> None:
    p = run(engine, client={"age": 29}, instruments={"msi_bpd": [1] * 9 + [0]},
            risk={"ideation": "active", "plan": True, "behaviour": "recent"},
            clinician={"impressions": ["borderline_pd"], "severity": {"borderline_pd": "severe"}})
    assert p.problems[0].condition == "suicide_risk"
    t = p.treatment
    assert t is not None
    weeks = t.sessions.min / t.frequency_per_week
    assert weeks >= 46, (t.sessions, t.frequency_per_week)  # about a year, as DBT's rule says
    assert t.review_weeks <= 2 and t.level_of_care != "outpatient"  # the first block's intensity
