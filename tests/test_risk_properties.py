"""Properties of risk and sequencing over generated intakes (reference engine).

Intakes mix screens, concerns, impressions, severities, complete, incomplete or
absent risk sections and history flags, so that high risk, acute illness and
withdrawal meet exposure and trauma work in many combinations.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planwise.intake_io import intake_from_data
from planwise.kb import load_knowledge
from planwise.models.proposal import Proposal
from planwise.rules import recommend

KB = load_knowledge()
HELD_BACK = {"exposure", "trauma_focused", "emdr"}
PHASES = {"stabilise", "treat", "maintain"}
INSTRUMENTS = ["phq9", "asq", "pcl5", "audit", "gad7", "pgsi", "dar5", "dast10", "pdss",
               "mini_spin"]
CONDITIONS = ["depression", "ptsd", "panic", "agoraphobia", "social_anxiety", "specific_phobia",
              "alcohol_use", "drug_use", "schizophrenia", "schizoaffective", "bipolar_i",
              "anger", "gambling", "generalized_anxiety", "borderline_pd"]
CONCERNS = ["mood", "anxiety", "trauma", "substance_use", "psychosis", "bipolar", "anger",
            "gambling", "depression", "ptsd", "agoraphobia", "social_anxiety"]
SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _answers(inst_id: str) -> st.SearchStrategy[Any]:
    inst = KB.instruments[inst_id]
    if inst.kind == "asq":
        acute = inst.scoring.acute_item
        keys = {i.key: st.booleans() for i in inst.items if i.number != acute and i.key}
        acute_key = inst.item(acute).key if acute else None
        optional = {acute_key: st.booleans()} if acute_key else {}
        return st.fixed_dictionaries(keys, optional=optional)
    return st.tuples(*(st.sampled_from(inst.allowed_values(n))
                       for n in range(1, inst.scoring.items + 1))).map(list)


@st.composite
def intakes(draw: st.DrawFn, high_risk: bool = False) -> dict[str, Any]:
    """An intake; with high_risk, the clinician's section records a plan (risk high)."""
    chosen = draw(st.lists(st.sampled_from(INSTRUMENTS), max_size=4, unique=True))
    impressions = draw(st.lists(st.sampled_from(CONDITIONS), min_size=1, max_size=3,
                                unique=True))
    severity = {c: draw(st.sampled_from(["mild", "moderate", "severe"]))
                for c in impressions if draw(st.booleans())}
    data: dict[str, Any] = {
        "schema": "planwise.intake/1",
        "screening": {"concerns": draw(st.lists(st.sampled_from(CONCERNS), max_size=3,
                                                unique=True))},
        "instruments": {i: draw(_answers(i)) for i in chosen},
        "clinician": {"impressions": impressions, "severity": severity},
        "history": {"trauma": draw(st.booleans()),
                    "withdrawal_complications": draw(st.booleans())},
    }
    age = draw(st.none() | st.integers(min_value=12, max_value=80))
    if age is not None:
        data["client"] = {"age": age}
    section = draw(st.sampled_from(["none", "complete", "incomplete"]))
    if section != "none":
        risk: dict[str, Any] = {
            "method": draw(st.booleans()), "intent": draw(st.booleans()),
            "plan": draw(st.booleans()),
            "behaviour": draw(st.sampled_from(["none", "past", "recent"])),
        }
        if section == "complete":
            risk["ideation"] = draw(st.sampled_from(["none", "passive", "active"]))
        data["risk"] = risk
    if high_risk:
        data["risk"] = {**data.get("risk", {}), "ideation": "active", "plan": True}
    return data


def _propose(data: dict[str, Any]) -> Proposal:
    return recommend(intake_from_data(data, KB), None, KB, "reference")


@SETTINGS
@given(data=intakes(high_risk=True))
def test_no_exposure_or_trauma_processing_starts_while_risk_is_high(data: dict[str, Any]) -> None:
    p = _propose(data)
    assert p.risk.level == "high"
    for prob in p.problems:
        for g in prob.goals:
            if {i.modality for i in g.interventions} & HELD_BACK:
                assert g.deferred is not None, f"{g.id} starts now although risk is high"
                assert g.deferred.until and g.deferred.because


@SETTINGS
@given(data=intakes())
def test_every_goal_once_with_a_phase(data: dict[str, Any]) -> None:
    p = _propose(data)
    ids = [g.id for prob in p.problems for g in prob.goals]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    for prob in p.problems:
        phases = [g.phase for g in prob.goals]
        assert set(phases) <= PHASES, phases
        order = ["stabilise", "treat", "maintain"]
        assert phases == sorted(phases, key=order.index), (prob.condition, phases)


@SETTINGS
@given(data=intakes())
def test_every_item_is_explained(data: dict[str, Any]) -> None:
    p = _propose(data)
    assert p.risk.because
    items: list[Any] = [*p.problems, *p.referrals, *p.assessments, *p.warnings]
    for prob in p.problems:
        for g in prob.goals:
            items += [g, *g.objectives, *g.interventions]
    if p.treatment is not None:
        items.append(p.treatment)
    for item in items:
        assert item.because and all(item.because), item


@SETTINGS
@given(data=intakes())
def test_raised_risk_comes_first_and_disagreements_are_warned(data: dict[str, Any]) -> None:
    p = _propose(data)
    if p.risk.level != "none":
        assert p.problems[0].condition == "suicide_risk"
        assert p.problems[0].priority == 1
    conflicts = [w for w in p.warnings if w.kind == "risk_conflict"]
    risk = data.get("risk")
    if risk is not None and "ideation" not in risk:
        assert any("incomplete" in w.message for w in conflicts)
    phq9 = data["instruments"].get("phq9")
    if risk is not None and risk.get("ideation") == "none" and phq9 and phq9[8] > 0:
        assert any("PHQ-9 item 9" in w.message for w in conflicts)
    asq = data["instruments"].get("asq")
    if (risk is not None and "ideation" in risk and risk["behaviour"] == "none" and asq
            and asq["attempt_ever"]):
        assert any("past suicide attempt" in w.message for w in conflicts)
