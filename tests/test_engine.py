"""The staged evaluation: resolution steps, merging, ordering, explanations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from planwise.explain import explain
from planwise.intake_io import intake_from_data
from planwise.kb import load_knowledge
from planwise.models.profile import Profile
from planwise.rules import ENGINES, durable_available, evaluate, recommend
from planwise.rules.memory import Memory

ENGINE_PARAMS = ["reference"] + (["durable"] if durable_available() else [])


def intake(**sections: Any) -> dict[str, Any]:
    return {"schema": "planwise.intake/1", **sections}


def run(data: dict[str, Any], engine: str = "reference", profile: Profile | None = None,
        dirs: list[Path] | None = None):  # type: ignore[no-untyped-def]
    kb = load_knowledge(dirs or [])
    return recommend(intake_from_data(data, kb), profile, kb, engine)


@pytest.mark.parametrize("engine", ENGINE_PARAMS)
def test_clinician_severity_wins_over_instruments(engine: str) -> None:
    p = run(intake(instruments={"phq9": [3] * 8 + [0]}, risk={"ideation": "none"},
                   clinician={"impressions": ["depression"], "severity": {"depression": "mild"}}),
            engine)
    dep = next(x for x in p.problems if x.condition == "depression")
    assert dep.severity == "mild"
    assert "severity.clinician" in dep.because
    assert "engine.severity.resolve" in dep.because  # two opinions were weighed


@pytest.mark.parametrize("engine", ENGINE_PARAMS)
def test_problem_without_any_severity_evidence_defaults_to_moderate(engine: str) -> None:
    p = run(intake(clinician={"impressions": ["depression"]}, risk={"ideation": "none"}), engine)
    dep = next(x for x in p.problems if x.condition == "depression")
    assert dep.severity == "moderate"
    assert dep.because == ["depression.problem.impression", "engine.severity.resolve"]


def test_no_problem_means_no_treatment_block_but_still_a_risk_level() -> None:
    p = run(intake(screening={"concerns": ["anxiety"]}, risk={"ideation": "none"}))
    assert p.problems == [] and p.treatment is None
    assert p.risk.level == "none" and p.risk.because == ["risk.level.none.assessed"]
    assert {a.instrument for a in p.assessments} >= {"gad7", "pdss", "mini_spin"}


def test_assessments_already_answered_are_not_suggested_again() -> None:
    p = run(intake(screening={"concerns": ["anxiety"]}, risk={"ideation": "none"},
                   instruments={"gad7": [0] * 7}))
    assert "gad7" not in {a.instrument for a in p.assessments}
    assert "pdss" in {a.instrument for a in p.assessments}


def test_highest_risk_level_wins_and_says_so() -> None:
    p = run(intake(risk={"ideation": "active", "method": True, "plan": True}))
    assert p.risk.level == "high"
    assert p.risk.because == ["risk.level.high.plan", "engine.risk.highest"]
    assert p.referrals[0].kind == "emergency" and p.referrals[0].urgency == "immediate"
    assert p.problems[0].condition == "suicide_risk"
    assert [g.id for g in p.problems[0].goals][0] == "suicide_risk.safety_plan"
    assert "suicide_risk.means_safety" in [g.id for g in p.problems[0].goals]


def test_several_problems_make_one_block_with_the_most_intensive_need() -> None:
    p = run(intake(instruments={"phq9": [2] * 8 + [0], "gad7": [3] * 7},
                   clinician={"impressions": ["depression", "generalized_anxiety"]},
                   risk={"ideation": "passive", "method": True}))
    t = p.treatment
    assert t is not None
    # Moderate risk comes first (6-12, safety planning, 4-week review); severe depression
    # (16-20) adds half, its therapies being new to the course (8-10); severe anxiety
    # (12-15) adds a quarter, CBT being in the course already (3-4): 17-26.
    assert (t.sessions.min, t.sessions.max) == (17, 26)
    assert t.review_weeks == 4
    assert t.frequency_per_week == 1
    assert "engine.treatment.sequence" in t.because
    assert {"depression.treatment.severe", "generalized_anxiety.treatment.severe",
            "risk.referral.moderate"} <= set(t.because)


def test_referrals_of_one_kind_merge_to_the_most_urgent() -> None:
    p = run(intake(screening={"concerns": ["psychosis"]},
                   risk={"ideation": "passive", "behaviour": "past"}))
    psych = [r for r in p.referrals if r.kind == "psychiatry"]
    assert len(psych) == 1
    assert psych[0].urgency == "soon"
    assert set(psych[0].because) == {"screen.psychosis.refer", "risk.referral.moderate"}
    assert "possible psychosis" in psych[0].reason and "moderate suicide risk" in psych[0].reason


@pytest.mark.parametrize("engine", ENGINE_PARAMS)
def test_every_item_has_because_and_the_trace_covers_it(engine: str) -> None:
    p = run(intake(screening={"concerns": ["depression", "substance_use"]},
                   instruments={"phq9": [2, 3, 2, 2, 1, 2, 2, 1, 1]},
                   risk={"ideation": "active"}, context={"session_limit": 10}), engine)
    fired = {t.rule for t in p.trace}
    items = [p.risk, *p.referrals, *p.assessments, *p.warnings]
    items += [g for x in p.problems for g in x.goals]
    items += [o for x in p.problems for g in x.goals for o in g.objectives]
    items += [i for x in p.problems for g in x.goals for i in g.interventions]
    assert p.treatment is not None
    items.append(p.treatment)
    for item in items:
        assert item.because
        for rule in item.because:
            assert rule in fired or rule.startswith("engine."), rule


def test_trace_orders_chained_firings_after_what_they_used() -> None:
    p = run(intake(instruments={"phq9": [2] * 9}, screening={"concerns": ["depression"]}))
    order = [t.rule for t in p.trace]
    assert order.index("depression.severity.severe") < order.index("depression.problem.screen")
    assert order.index("depression.problem.screen") < order.index("depression.goals.core")
    first = p.trace[0]
    assert first.matched and all("(" in m for m in first.matched)


def test_memory_merges_because_of_a_fact_derived_twice() -> None:
    mem = Memory()
    mem.stage = "plan"
    n, new = mem.add({"fact": "concern", "name": "mood"})
    assert new
    derived = mem.fire("a", 0, [n], [{"fact": "assessment", "instrument": "phq9", "reason": "x"}])
    again = mem.fire("b", 1, [n], [{"fact": "assessment", "instrument": "phq9", "reason": "x"}])
    assert len(derived) == 1 and again == []
    assert mem.because[derived[0]["n"]] == ["a", "b"]


def test_explain_reads_facts_rule_source_conclusion_in_order() -> None:
    kb = load_knowledge()
    scored = intake_from_data(intake(client={"id": "C-1"}, screening={"concerns": ["depression"]},
                                     instruments={"phq9": [2, 3, 2, 2, 1, 2, 2, 1, 1]},
                                     risk={"ideation": "active"}), kb)
    text = explain(evaluate(scored, None, kb, "reference"), scored, kb)
    assert "client C-1" in text
    block = text[text.index("Because PHQ-9 = 16"):]
    rule_at = block.index("rule depression.severity.severe says")
    source_at = block.index("Source: NICE NG222")
    so_at = block.index("So: depression is severe")
    assert rule_at < source_at < so_at
    assert "Step 1." in text and "Step 3." in text


def test_engine_names() -> None:
    assert ENGINES == ("auto", "durable", "reference")
