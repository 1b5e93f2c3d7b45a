"""Every positive screen is acted on; withdrawal history is never ignored; conditions
planwise has no plan rules for are referred, never improvised.

The property runs the reference engine over generated instrument answers, concerns
and impressions; the issue's example cases run on both engines.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planwise.clinical.instruments import Instrument
from planwise.errors import InputError
from planwise.intake_io import intake_from_data
from planwise.kb import load_knowledge
from planwise.models.proposal import Proposal
from planwise.rules import durable_available, recommend

KB = load_knowledge()
ENGINE_PARAMS = ["reference"] + (["durable"] if durable_available() else [])
REFERRAL_ONLY = ["eating_disorder", "ocd", "adhd", "autism", "dementia"]

# instrument -> (is the total over its cut-off, problems that account for it).
# A positive screen is acted on when one of those problems is in the plan or a
# warning names the instrument and its score.
POSITIVE: dict[str, tuple[Any, frozenset[str]]] = {
    "phq9": (lambda t: t >= 10,
             frozenset({"depression", "bipolar_i", "bipolar_ii", "schizoaffective"})),
    "gad7": (lambda t: t >= 10,
             frozenset({"generalized_anxiety", "panic", "agoraphobia", "social_anxiety", "ptsd",
                        "specific_phobia"})),
    "audit": (lambda t: t >= 8, frozenset({"alcohol_use"})),
    "audit_c": (lambda t: t >= 3, frozenset({"alcohol_use"})),
    "dast10": (lambda t: t >= 3, frozenset({"drug_use"})),
    "pcl5": (lambda t: t >= 31, frozenset({"ptsd"})),
    "pdss": (lambda t: t >= 8, frozenset({"panic", "agoraphobia"})),
    "mini_spin": (lambda t: t >= 6, frozenset({"social_anxiety"})),
    "msi_bpd": (lambda t: t >= 7, frozenset({"borderline_pd"})),
    "pgsi": (lambda t: t >= 3, frozenset({"gambling"})),
    "dar5": (lambda t: t >= 12, frozenset({"anger"})),
    "rses": (lambda t: t < 15, frozenset({"low_self_esteem"})),
    # The K10 names no condition: any problem but suicide risk accounts for it.
    "k10": (lambda t: t >= 22, frozenset(KB.vocab["conditions"]) - {"suicide_risk"}),
}
# The instrument behind each screen-only problem, for its warning.
SCREEN_OF = {"depression": ["phq9"], "generalized_anxiety": ["gad7"],
             "alcohol_use": ["audit", "audit_c"], "drug_use": ["dast10"], "ptsd": ["pcl5"],
             "panic": ["pdss"], "social_anxiety": ["mini_spin"], "gambling": ["pgsi"],
             "anger": ["dar5"], "low_self_esteem": ["rses"]}
CONCERNS = ["mood", "anxiety", "substance_use", "trauma", "behavioural", "personality",
            "bipolar", "other", "depression", "panic", "agoraphobia", "alcohol_use",
            "gambling", "low_self_esteem", *REFERRAL_ONLY]
IMPRESSIONS = ["generalized_anxiety", "depression", "bipolar_ii", "panic", "agoraphobia",
               "alcohol_use", "ptsd", "borderline_pd", "other", *REFERRAL_ONLY]


def answers_for(inst: Instrument) -> st.SearchStrategy[Any]:
    if inst.kind == "mdq":
        n = inst.scoring.items
        return st.fixed_dictionaries({
            "symptoms": st.lists(st.booleans(), min_size=n, max_size=n),
            "same_period": st.booleans(),
            "impairment": st.sampled_from(inst.scoring.impairment_levels or ["none"]),
        })
    # Skewed towards the ends of each item's range, so that totals cross cut-offs
    # in both directions often enough.
    items = [st.sampled_from(inst.allowed_values(n)) | st.just(inst.allowed_values(n)[-1])
             | st.just(inst.allowed_values(n)[0]) for n in range(1, inst.scoring.items + 1)]
    return st.tuples(*items).map(list)


@st.composite
def intakes(draw: st.DrawFn) -> dict[str, Any]:
    chosen = draw(st.lists(st.sampled_from([*POSITIVE, "mdq"]), min_size=1, max_size=5,
                           unique=True))
    data: dict[str, Any] = {
        "schema": "planwise.intake/1",
        "instruments": {i: draw(answers_for(KB.instruments[i])) for i in chosen},
        "screening": {"concerns": draw(st.lists(st.sampled_from(CONCERNS), max_size=3,
                                                unique=True))},
        "clinician": {"impressions": draw(st.lists(st.sampled_from(IMPRESSIONS), max_size=2,
                                                   unique=True))},
        "risk": {"ideation": "none"},
    }
    age = draw(st.none() | st.integers(min_value=12, max_value=90))
    if age is not None:
        data["client"] = {"age": age}
    if draw(st.booleans()):
        data["history"] = {"withdrawal_complications": True}
    return data


def run(data: dict[str, Any], engine: str = "reference") -> Proposal:
    return recommend(intake_from_data(data, KB), None, KB, engine)


def named_in_warning(p: Proposal, instrument: str, total: int, flags: list[str]) -> bool:
    name = KB.instruments[instrument].name
    needle = f"{name} positive" if instrument == "mdq" else f"{name} of {total}"
    return any(needle in w.message for w in p.warnings)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=intakes())
def test_every_score_over_a_cut_off_appears_as_a_problem_or_a_warning(data: dict[str, Any]
                                                                      ) -> None:
    p = run(data)
    problems = {x.condition for x in p.problems}
    for s in p.scores:
        if s.instrument == "mdq":
            if "positive" in s.flags:
                assert problems & {"bipolar_i", "bipolar_ii"} or named_in_warning(
                    p, "mdq", s.total, s.flags), "positive MDQ dropped in silence"
            continue
        over, covering = POSITIVE[s.instrument]
        if s.instrument == "audit_c" and "audit" in data["instruments"]:
            continue  # the full AUDIT grades the drinking
        if over(s.total):
            assert problems & covering or named_in_warning(p, s.instrument, s.total, s.flags), \
                f"{s.instrument} {s.total} is over the cut-off but neither a problem " \
                f"({sorted(problems)}) nor a warning acts on it"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=intakes())
def test_screen_only_problems_say_so_and_referral_only_conditions_get_no_problem(
        data: dict[str, Any]) -> None:
    p = run(data)
    totals = {s.instrument: s.total for s in p.scores}
    for prob in p.problems:
        assert prob.condition not in REFERRAL_ONLY
        if prob.basis == "screen_only" and prob.condition != "suicide_risk":
            assert "engine.problem.basis" in prob.because
            screens = [i for i in SCREEN_OF[prob.condition] if i in totals]
            assert any(w.kind == "unconfirmed_screen"
                       and f"{KB.instruments[i].name} of {totals[i]}" in w.message
                       for w in p.warnings for i in screens), (prob.condition, p.warnings)
    named = (set(data["screening"]["concerns"]) | set(data["clinician"]["impressions"])) \
        & set(REFERRAL_ONLY)
    if named:
        assert "other" not in {x.condition for x in p.problems}
        subjects = {w.message.split(" is named")[0] for w in p.warnings
                    if w.kind == "outside_knowledge"}
        assert len(subjects) == len(named), subjects


# -- the cases, on both engines ---------------------------------------------

PHQ9_16 = [2, 2, 2, 2, 2, 2, 2, 2, 0]
AUDIT_22 = [4, 4, 3, 3, 2, 1, 1, 2, 0, 2]
PCL5_44 = [3, 3, 2, 2, 3, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3]


def intake(**sections: Any) -> dict[str, Any]:
    return {"schema": "planwise.intake/1", **sections}


def problem(p: Proposal, condition: str) -> Any:
    found = [x for x in p.problems if x.condition == condition]
    assert found, f"no {condition} problem; got {[x.condition for x in p.problems]}"
    return found[0]


def warned(p: Proposal, kind: str, text: str) -> bool:
    return any(w.kind == kind and text in w.message for w in p.warnings)


def referral(p: Proposal, kind: str) -> Any:
    found = [r for r in p.referrals if r.kind == kind]
    assert found, f"no {kind} referral; got {[(r.kind, r.urgency) for r in p.referrals]}"
    return found[0]


@pytest.mark.parametrize("engine", ENGINE_PARAMS)
def test_three_unlisted_positive_screens_become_screen_only_problems(engine: str) -> None:
    p = run(intake(client={"age": 44}, screening={"concerns": ["other"]},
                   instruments={"phq9": PHQ9_16, "audit": AUDIT_22, "pcl5": PCL5_44},
                   risk={"ideation": "none"}), engine)
    for condition, severity in (("depression", "severe"), ("alcohol_use", "severe"),
                                ("ptsd", "moderate")):
        x = problem(p, condition)
        assert (x.basis, x.severity) == ("screen_only", severity)
        assert f"positive_screen.{condition}.problem" in x.because
    for text in ("PHQ-9 of 16", "AUDIT of 22", "PCL-5 of 44"):
        assert warned(p, "unconfirmed_screen", text), text
    assert referral(p, "withdrawal_management").urgency == "soon"
    assert "withdrawal.dependence_zone.refer" in referral(p, "withdrawal_management").because
    assert "mdq" in {a.instrument for a in p.assessments}
    assert "other" not in {x.condition for x in p.problems}  # no K10: no generic plan


@pytest.mark.parametrize("engine", ENGINE_PARAMS)
def test_phq9_with_item9_under_an_anxiety_impression_is_not_lost(engine: str) -> None:
    p = run(intake(instruments={"phq9": [3, 3, 2, 3, 2, 3, 2, 1, 2],
                                "gad7": [2, 2, 2, 2, 1, 1, 2]},
                   clinician={"impressions": ["generalized_anxiety"]}), engine)
    dep = problem(p, "depression")
    assert (dep.basis, dep.severity) == ("screen_only", "severe")
    assert problem(p, "generalized_anxiety").basis == "clinician"
    assert warned(p, "unconfirmed_screen", "PHQ-9 of 21")
    assert p.risk.level == "unassessed"
    assert problem(p, "suicide_risk")


@pytest.mark.parametrize("engine", ENGINE_PARAMS)
def test_a_concern_or_an_impression_keeps_its_basis_and_no_rule_doubles_it(engine: str
                                                                         ) -> None:
    p = run(intake(screening={"concerns": ["mood", "substance_use"]},
                   instruments={"phq9": PHQ9_16, "audit": AUDIT_22, "pcl5": PCL5_44},
                   clinician={"impressions": ["ptsd"]}, risk={"ideation": "none"}), engine)
    assert problem(p, "depression").basis == "screen_and_concern"
    assert problem(p, "alcohol_use").basis == "screen_and_concern"
    assert problem(p, "ptsd").basis == "clinician"
    fired = {t.rule for t in p.trace}
    assert not {r for r in fired if r.startswith("positive_screen.") and r.endswith("problem")}
    assert not [w for w in p.warnings if w.kind == "unconfirmed_screen"]


@pytest.mark.parametrize("engine", ENGINE_PARAMS)
def test_bipolar_impression_accounts_for_a_high_phq9(engine: str) -> None:
    p = run(intake(instruments={"phq9": PHQ9_16}, clinician={"impressions": ["bipolar_ii"]},
                   risk={"ideation": "none"}), engine)
    assert "depression" not in {x.condition for x in p.problems}
    assert problem(p, "bipolar_ii").basis == "clinician"


@pytest.mark.parametrize("engine", ENGINE_PARAMS)
def test_positive_screens_without_a_problem_raise_warnings(engine: str) -> None:
    mdq = {"symptoms": [True] * 8 + [False] * 5, "same_period": True, "impairment": "serious"}
    p = run(intake(instruments={"msi_bpd": [1] * 8 + [0, 0], "mdq": mdq,
                                "pgsi": [1, 1, 1, 1, 1, 0, 0, 0, 0], "audit_c": [1, 1, 1],
                                "k10": [3] * 10},
                   risk={"ideation": "none"}), engine)
    assert [x.condition for x in p.problems] == []
    for text in ("MSI-BPD of 8", "MDQ positive", "PGSI of 5", "AUDIT-C of 3", "K10 of 30"):
        assert warned(p, "unconfirmed_screen", text), text
    assert referral(p, "psychiatry")
    assert {"audit", "phq9", "gad7"} <= {a.instrument for a in p.assessments}


# -- withdrawal ---------------------------------------------------------------------

@pytest.mark.parametrize("engine", ENGINE_PARAMS)
@pytest.mark.parametrize("sections", [
    {"instruments": {"audit": [2, 1, 1, 1, 0, 0, 0, 1, 0, 2]}},              # AUDIT 8, hazardous
    {"instruments": {"audit": [3, 2, 2, 2, 1, 1, 1, 2, 0, 2]}},              # AUDIT 16, harmful
    {"instruments": {"audit_c": [1, 1, 1]}},                                 # AUDIT-C 3
    {"instruments": {"audit_c": [2, 1, 2]}},                                 # AUDIT-C 5
    {"screening": {"concerns": ["alcohol_use"]}},                            # no score yet
    {"clinician": {"impressions": ["alcohol_use"], "severity": {"alcohol_use": "mild"}}},
], ids=["audit8", "audit16", "audit_c3", "audit_c5", "concern", "impression_mild"])
def test_past_withdrawal_complications_with_any_alcohol_problem_are_urgent(
        engine: str, sections: dict[str, Any]) -> None:
    p = run(intake(history={"withdrawal_complications": True}, risk={"ideation": "none"},
                   **sections), engine)
    assert referral(p, "withdrawal_management").urgency == "urgent"


@pytest.mark.parametrize("engine", ENGINE_PARAMS)
def test_without_the_history_hazardous_drinking_gets_no_withdrawal_referral(engine: str
                                                                           ) -> None:
    p = run(intake(instruments={"audit": [3, 2, 2, 2, 1, 1, 1, 2, 0, 2]},
                   risk={"ideation": "none"}), engine)
    assert "withdrawal_management" not in {r.kind for r in p.referrals}


@pytest.mark.parametrize("engine", ENGINE_PARAMS)
def test_dependence_zone_refers_even_when_the_clinician_rates_it_mild(engine: str) -> None:
    p = run(intake(instruments={"audit": AUDIT_22}, risk={"ideation": "none"},
                   clinician={"impressions": ["alcohol_use"],
                              "severity": {"alcohol_use": "mild"}}), engine)
    assert problem(p, "alcohol_use").severity == "mild"
    r = referral(p, "withdrawal_management")
    assert r.urgency == "soon" and r.because == ["withdrawal.dependence_zone.refer"]


@pytest.mark.parametrize("engine", ENGINE_PARAMS)
def test_withdrawal_history_with_drug_use_or_low_or_no_drinking_still_acts(engine: str
                                                                          ) -> None:
    history = {"withdrawal_complications": True}
    drugs = run(intake(instruments={"dast10": [1, 1, 1, 1, 0, 0, 0, 0, 0, 0]},
                       history=history, risk={"ideation": "none"}), engine)
    assert referral(drugs, "withdrawal_management").urgency == "urgent"
    low = run(intake(instruments={"audit": [1, 1, 0, 0, 0, 0, 0, 0, 0, 0]},
                     history=history, risk={"ideation": "none"}), engine)
    assert referral(low, "primary_care").urgency == "soon"
    assert "withdrawal_management" not in {r.kind for r in low.referrals}
    none = run(intake(history=history, risk={"ideation": "none"}), engine)
    assert warned(none, "missing_assessment", "withdrawal seizures")
    assert "audit" in {a.instrument for a in none.assessments}


# -- conditions without plan rules ----------------------------------------------------

SERVICE = {"eating_disorder": "eating_disorder_service", "ocd": "specialist",
           "adhd": "psychiatry", "autism": "specialist", "dementia": "specialist"}
CODE = {"eating_disorder": "F50.0", "ocd": "F42.2", "adhd": "F90.0", "autism": "F84.0",
        "dementia": "F03.90"}


def named_by(condition: str, how: str) -> dict[str, Any]:
    if how == "concern":
        return {"screening": {"concerns": [condition]}}
    if how == "impression":
        return {"clinician": {"impressions": [condition], "severity": {condition: "severe"}}}
    return {"clinician": {"impressions": ["other"], "diagnoses": [CODE[condition]]}}


@pytest.mark.parametrize("engine", ENGINE_PARAMS)
@pytest.mark.parametrize("how", ["concern", "impression", "diagnosis"])
@pytest.mark.parametrize("condition", REFERRAL_ONLY)
def test_referral_only_condition_is_referred_never_planned(engine: str, how: str,
                                                           condition: str) -> None:
    p = run(intake(client={"age": 40}, risk={"ideation": "none"}, **named_by(condition, how)),
            engine)
    assert p.problems == [] and p.treatment is None
    assert [w.kind for w in p.warnings if w.kind == "outside_knowledge"] == ["outside_knowledge"]
    referral(p, SERVICE[condition])
    assert "child_adolescent_services" not in {r.kind for r in p.referrals}


@pytest.mark.parametrize("engine", ENGINE_PARAMS)
@pytest.mark.parametrize("condition", REFERRAL_ONLY)
def test_a_minor_goes_to_child_and_adolescent_services(engine: str, condition: str) -> None:
    p = run(intake(client={"age": 15}, risk={"ideation": "none"},
                   screening={"concerns": [condition]}), engine)
    assert referral(p, "child_adolescent_services")
    kinds = {r.kind for r in p.referrals}
    assert not kinds & {"psychiatry", "specialist"}, kinds
    if condition == "eating_disorder":
        assert "eating_disorder_service" in kinds


@pytest.mark.parametrize("engine", ENGINE_PARAMS)
def test_other_with_an_eating_disorder_code_gives_no_generic_plan(engine: str) -> None:
    p = run(intake(screening={"concerns": ["other"]}, instruments={"k10": [3] * 10},
                   clinician={"impressions": ["other"], "diagnoses": ["F50.0"]},
                   risk={"ideation": "none"}), engine)
    assert "other" not in {x.condition for x in p.problems}
    assert not any(g.id.startswith("other.") for x in p.problems for g in x.goals)
    assert referral(p, "eating_disorder_service").urgency == "soon"
    assert warned(p, "outside_knowledge", "eating disorder")
    assert warned(p, "unconfirmed_screen", "K10 of 30")


def test_intake_accepts_referral_only_ids_as_concerns_impressions_and_ratings() -> None:
    for condition in REFERRAL_ONLY:
        scored = intake_from_data(intake(
            screening={"concerns": [condition]},
            clinician={"impressions": [condition], "severity": {condition: "moderate"}}), KB)
        assert scored.intake.clinician.impressions == [condition]
    with pytest.raises(InputError, match="unknown condition"):
        intake_from_data(intake(clinician={"impressions": ["anorexia"]}), KB)
