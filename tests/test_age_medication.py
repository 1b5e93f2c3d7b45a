"""Age and medication routing (knowledge/crosscutting/age.toml, medication.toml).

What a supervisor checks in any plan, whatever the intake: a referral asks the
prescriber for a review and names no drug; a young person is not sent to adult
services or to a GP antidepressant route, and has parents or carers in the
plan; no antidepressant route from primary care while bipolar disorder or
psychosis is not excluded; 65 and over, depression or drinking brings a medical
review; no child behaviour plan for an adult.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planwise.intake_io import intake_from_data
from planwise.kb import load_knowledge
from planwise.models.profile import Profile
from planwise.models.proposal import Proposal
from planwise.rules import durable_available, recommend

ENGINE_PARAMS = ["reference"] + (["durable"] if durable_available() else [])
CASES = Path(__file__).parent / "fixtures" / "cases"
KB = load_knowledge()

# Drugs and drug classes a referral reason must not choose for the prescriber.
DRUG_WORDS = (
    "lithium", "ssri", "snri", "antidepressant", "antipsychotic", "mood stabiliser",
    "mood stabilizer", "mood-stabilising", "antimanic", "benzodiazepine", "acamprosate",
    "naltrexone", "nalmefene", "disulfiram", "thiamine", "methadone", "buprenorphine",
    "naloxone", "substitution", "fluoxetine", "sertraline", "citalopram", "escitalopram",
    "paroxetine", "venlafaxine", "duloxetine", "mirtazapine", "pregabalin", "clozapine",
    "olanzapine", "quetiapine", "risperidone", "aripiprazole", "valproate", "lamotrigine",
    "carbamazepine", "diazepam", "chlordiazepoxide", "lorazepam", "stimulant medication",
)
DRUG_RE = re.compile("|".join(rf"\b{re.escape(w)}s?\b" for w in DRUG_WORDS), re.IGNORECASE)

# Adult psychiatry and the adult DBT skills group too: under 18 the psychiatric review,
# the medication review and DBT for adolescents are child and adolescent services'.
ADULT_ONLY_REFERRALS = {"mutual_help", "ips_employment", "residential_treatment",
                        "assertive_community_treatment", "psychiatry", "dbt_skills_group"}
# The rules that route medication to the GP (crosscutting/medication.toml).
PRIMARY_CARE_MEDICATION = {r.id for r in KB.rules if r.id.startswith("medication.")
                           and r.id.endswith(".primary_care")}
SMI = {"bipolar_i", "bipolar_ii", "schizophrenia", "schizoaffective"}
BIPOLAR_OR_PSYCHOSIS_CONCERNS = SMI | {"bipolar", "psychosis"}
# ICD-10-CM codes that put bipolar disorder or psychosis in question: the listed
# conditions' categories (F20 schizophrenia, F25 schizoaffective, F31 bipolar) and the
# codes crosscutting/medication.toml reads directly.
BIPOLAR_OR_PSYCHOSIS_CODE_PREFIXES = ("F20", "F25", "F31", "F30", "F34.0", "F22", "F23", "F28",
                                      "F29", "F06.0", "F06.2", "F32.3", "F33.3")
_CODES = ["F32.1", "F32.2", "F32.3", "F33.42", "F41.1", "F40.01", "F10.20", "F12.20",
          "F20.9", "F25.0", "F31.2", "F31.81", "F31.75", "F30.10", "F29", "F60.3", "F63.0",
          "F91.3", "F43.10", "F50.00"]


def run(data: dict[str, Any], engine: str = "reference",
        profile: Profile | None = None) -> Proposal:
    return recommend(intake_from_data(data, KB), profile, KB, engine)


def fixture(name: str) -> tuple[dict[str, Any], Profile | None]:
    data = tomllib.loads((CASES / f"{name}.toml").read_text())
    profile = Profile.model_validate(data["profile"]) if "profile" in data else None
    return data["intake"], profile


def gp_medication_routes(p: Proposal) -> list[str]:
    return [rid for r in p.referrals if r.kind == "primary_care" for rid in r.because
            if rid in PRIMARY_CARE_MEDICATION]


# -- the knowledge itself -------------------------------------------------------------

def test_the_drug_word_check_catches_what_the_issue_found() -> None:
    for reason in ("bipolar I disorder: long-term mood stabiliser (lithium first line)",
                   "severe generalized anxiety: discuss medication (an SSRI is first line)",
                   "relapse-prevention medication (acamprosate or naltrexone)",
                   "schizophrenia with current symptoms: start or optimise antipsychotic medication",
                   "more severe depression: review antidepressant medication alongside CBT"):
        assert DRUG_RE.search(reason), reason
    assert not DRUG_RE.search("more severe depression: medication review by the GP alongside CBT")


def test_no_referral_reason_in_the_knowledge_names_a_drug() -> None:
    named = [(r.id, c.values["reason"]) for r in KB.rules for c in r.conclusions
             if c.fact == "referral" and DRUG_RE.search(str(c.values.get("reason", "")))]
    assert named == []


# Drug words a goal, objective or intervention may keep, each with why it is not a
# prescribing choice made for the prescriber.
GOAL_TEXT_DRUG_WORDS_ALLOWED = {
    ("drug_use.specialist_care.harm", "naloxone"):
        "harm reduction: the client carries naloxone against an opioid overdose (NICE PH52, "
        "2014); it is supplied to anyone at risk, not chosen as a treatment by the therapist",
}


def _goal_texts() -> list[tuple[str, str, str]]:
    """(item id, field, text) for every goal, objective and intervention text the client
    or the therapist reads in a plan."""
    out = []
    for gid, goal in KB.goals.items():
        out.append((gid, "text", goal.text))
        for o in goal.objectives:
            out += [(o.id, "text", o.text), (o.id, "client_action", o.client_action),
                    (o.id, "measure", o.measure)]
    for iid, (itv, _) in KB.interventions.items():
        out.append((iid, "text", itv.text))
    return out


def test_no_goal_objective_or_intervention_text_names_a_drug() -> None:
    """The plan asks the prescriber for a review; what the client and therapist read in
    goals, objectives and interventions presumes no drug either (lithium levels, thiamine,
    antidepressants), except what the allow-list names with its reason."""
    named = []
    for item, field, text in _goal_texts():
        for m in DRUG_RE.finditer(text):
            word = m.group(0).lower().removesuffix("s")
            if (item, word) not in GOAL_TEXT_DRUG_WORDS_ALLOWED:
                named.append((item, field, m.group(0)))
    assert named == []
    # the allow-list names only what is there, so it cannot hide a new drug word
    texts = {item: " ".join(t for i, _f, t in _goal_texts() if i == item)
             for item, _w in GOAL_TEXT_DRUG_WORDS_ALLOWED}
    for (item, word), why in GOAL_TEXT_DRUG_WORDS_ALLOWED.items():
        assert word in texts[item].lower() and why


def test_the_goal_text_check_catches_what_the_review_found() -> None:
    for text in ("Explain how mood stabilisers protect against relapse, the blood tests lithium "
                 "needs, and the signs of toxicity",
                 "Liaise with the withdrawal service and GP about withdrawal, thiamine and "
                 "relapse-prevention medication (with consent)",
                 "Liaise with the prescriber about antidepressants and their interaction with "
                 "alcohol or drugs (with consent)"):
        assert DRUG_RE.search(text), text


def test_every_adult_only_referral_rule_excludes_minors() -> None:
    """mutual help, IPS, residential rehabilitation and ACT: each rule that proposes one
    tests `case minor = false`, so a young person never gets it."""
    offenders = []
    for r in KB.rules:
        kinds = {c.values.get("kind") for c in r.conclusions if c.fact == "referral"}
        if not kinds & ADULT_ONLY_REFERRALS:
            continue
        adult = any(p.fact == "case" and not p.negated and any(
            t.attr == "minor" and t.op == "eq" and t.value is False for t in p.tests)
            for p in r.patterns)
        if not adult:
            offenders.append(r.id)
    assert offenders == []
    assert PRIMARY_CARE_MEDICATION >= {"medication.depression.primary_care",
                                       "medication.panic.primary_care"}


def test_monitoring_coordination_and_applied_tension_have_their_own_modalities() -> None:
    modality = {iid: itv.modality for iid, (itv, _) in KB.interventions.items()}
    for iid in ("depression.symptoms.measure", "panic.symptoms.monitor",
                "ptsd.recovery.monitor", "bipolar_ii.depression.measure"):
        assert modality[iid] == "measurement_based_care", iid
    assert modality["specific_phobia.exposure.tension"] == "applied_tension"
    assert modality["schizophrenia.care_team.coordination"] == "care_coordination"
    assert modality["integrated.smi_substance.team"] == "care_coordination"


# -- fixtures, on both engines, for what the expect table cannot say -------------------

@pytest.mark.parametrize("engine", ENGINE_PARAMS)
def test_schizophrenia_referrals_ask_for_a_review_and_name_no_drug(engine: str) -> None:
    p = run(fixture("medication_schizophrenia_wording")[0], engine)
    psych = next(r for r in p.referrals if r.kind == "psychiatry")
    assert "medication review" in psych.reason
    assert not DRUG_RE.search(" ".join(r.reason for r in p.referrals))


@pytest.mark.parametrize("engine", ENGINE_PARAMS)
def test_adult_severe_depression_keeps_the_gp_review(engine: str) -> None:
    p = run(fixture("medication_severe_depression_adult_gp")[0], engine)
    assert gp_medication_routes(p) == ["medication.depression.primary_care"]
    gp = next(r for r in p.referrals if r.kind == "primary_care")
    assert "medication review by the GP" in gp.reason


@pytest.mark.parametrize("engine", ENGINE_PARAMS)
@pytest.mark.parametrize("name", ["medication_depression_psychosis_concern",
                                  "medication_bipolar_concern_depression",
                                  "medication_mdq_positive_severe_anxiety",
                                  "medication_bipolar_ii_depression"])
def test_no_gp_route_while_bipolar_or_psychosis_is_not_excluded(engine: str, name: str) -> None:
    p = run(fixture(name)[0], engine)
    assert gp_medication_routes(p) == []
    psych = next(r for r in p.referrals if r.kind == "psychiatry")
    assert "psychiatry" in psych.reason


@pytest.mark.parametrize("engine", ENGINE_PARAMS)
def test_young_persons_medication_goes_to_child_and_adolescent_psychiatry(engine: str) -> None:
    p = run(fixture("age_15_depression_mdq")[0], engine)
    camhs = next(r for r in p.referrals if r.kind == "child_adolescent_services")
    assert "child and adolescent psychiatry" in camhs.reason
    assert {"medication.minor.depression", "bipolar_screen.refer.minor"} <= set(camhs.because)
    assert gp_medication_routes(p) == []


@pytest.mark.parametrize("engine", ENGINE_PARAMS)
def test_a_minors_psychiatric_reviews_are_one_child_and_adolescent_referral(engine: str) -> None:
    p = run(fixture("followup_age_15_bipolar_i_moderate_risk")[0], engine)
    camhs = [r for r in p.referrals if r.kind == "child_adolescent_services"]
    assert len(camhs) == 1
    assert {"age.minor.smi", "risk.referral.moderate.minor"} <= set(camhs[0].because)
    assert "medication review" in camhs[0].reason and "suicide risk" in camhs[0].reason
    assert not [r for r in p.referrals if r.kind == "psychiatry"]


@pytest.mark.parametrize("engine", ENGINE_PARAMS)
def test_a_young_persons_withdrawal_management_stays_and_says_adolescent(engine: str) -> None:
    p = run(fixture("followup_age_17_drinking_withdrawal_seizures")[0], engine)
    wm = next(r for r in p.referrals if r.kind == "withdrawal_management")
    assert wm.urgency == "urgent"
    assert "adolescent withdrawal management" in wm.reason
    assert "withdrawal.minor" in wm.because
    camhs = next(r for r in p.referrals if r.kind == "child_adolescent_services")
    assert "withdrawal.minor" in camhs.because


@pytest.mark.parametrize("engine", ENGINE_PARAMS)
def test_a_young_person_without_a_home_gets_safeguarding_not_adult_housing(engine: str) -> None:
    p = run(fixture("followup_age_17_schizoaffective_unstable_housing")[0], engine)
    community = next(r for r in p.referrals if r.kind == "community_services")
    assert community.because == ["age.minor.housing"]
    assert "safeguarding" in community.reason and "benefits" not in community.reason


@pytest.mark.parametrize("engine", ENGINE_PARAMS)
def test_a_young_person_with_bpd_is_offered_dbt_for_adolescents(engine: str) -> None:
    p = run(fixture("followup_age_16_borderline_recent_self_harm")[0], engine)
    camhs = next(r for r in p.referrals if r.kind == "child_adolescent_services")
    assert "DBT-A" in camhs.reason
    assert {"borderline_pd.refer.minor", "borderline_pd.refer.minor.recent_self_harm",
            "age.minor.risk.high"} <= set(camhs.because)


@pytest.mark.parametrize("engine", ENGINE_PARAMS)
def test_routine_modalities_raise_no_training_warning(engine: str) -> None:
    intake, _ = fixture("medication_schizophrenia_wording")
    profile = Profile.model_validate({"therapist": {
        "name": "C. Therapist", "competencies": ["schizophrenia"],
        "modalities": ["cbtp", "family_intervention", "psychoeducation", "relapse_prevention",
                       "problem_solving", "person_centred", "social_skills"]}})
    p = run(intake, engine, profile)
    subjects = " ".join(w.message for w in p.warnings if w.kind == "modality_training")
    assert "care_coordination" not in subjects and "measurement_based_care" not in subjects
    assert "medication_support" in subjects  # the rule still warns about real trainings


@pytest.mark.parametrize("engine", ENGINE_PARAMS)
def test_applied_tension_warns_only_without_exposure_training(engine: str) -> None:
    intake, trained = fixture("medication_blood_phobia_trained_exposure")
    assert trained is not None
    assert not [w for w in run(intake, engine, trained).warnings
                if w.kind == "modality_training"]
    untrained = Profile.model_validate({"therapist": {
        "name": "D. Therapist", "competencies": ["specific_phobia"],
        "modalities": ["cbt", "psychoeducation", "self_help", "relapse_prevention"]}})
    messages = [w.message for w in run(intake, engine, untrained).warnings
                if w.kind == "modality_training"]
    assert any("applied_tension" in m for m in messages)
    assert any("exposure" in m and "applied_tension" not in m for m in messages)


# -- properties over generated intakes -------------------------------------------------

def _audit() -> st.SearchStrategy[list[int]]:
    return st.tuples(st.lists(st.integers(0, 4), min_size=8, max_size=8),
                     st.lists(st.sampled_from([0, 2, 4]), min_size=2, max_size=2)
                     ).map(lambda t: t[0] + t[1])


_MDQ = st.fixed_dictionaries({
    "symptoms": st.lists(st.booleans(), min_size=13, max_size=13),
    "same_period": st.booleans(),
    "impairment": st.sampled_from(["none", "minor", "moderate", "serious"]),
})
_INSTRUMENTS = st.fixed_dictionaries({}, optional={
    "phq9": st.lists(st.integers(0, 3), min_size=9, max_size=9),
    "gad7": st.lists(st.integers(0, 3), min_size=7, max_size=7),
    "audit": _audit(),
    "dast10": st.lists(st.integers(0, 1), min_size=10, max_size=10),
    "mini_spin": st.lists(st.integers(0, 4), min_size=3, max_size=3),
    "mdq": _MDQ,
})
_CONDITIONS = ["depression", "generalized_anxiety", "panic", "agoraphobia", "social_anxiety",
               "alcohol_use", "drug_use", "schizophrenia", "schizoaffective", "bipolar_i",
               "bipolar_ii", "employment", "child_behaviour", "ptsd", "borderline_pd",
               "gambling"]
_CONCERNS = _CONDITIONS + ["mood", "anxiety", "substance_use", "bipolar", "psychosis"]


@st.composite
def intakes(draw: st.DrawFn) -> dict[str, Any]:
    age = draw(st.one_of(st.none(), st.integers(8, 17), st.integers(18, 64),
                         st.integers(65, 90)))
    impressions = draw(st.lists(st.sampled_from(_CONDITIONS), max_size=3, unique=True))
    severity = {c: draw(st.sampled_from(["mild", "moderate", "severe"]))
                for c in impressions if draw(st.booleans())}
    data: dict[str, Any] = {
        "schema": "planwise.intake/1",
        "screening": {"concerns": draw(st.lists(st.sampled_from(_CONCERNS), max_size=4,
                                                unique=True))},
        "instruments": draw(_INSTRUMENTS),
        "clinician": {"impressions": impressions, "severity": severity,
                      "diagnoses": draw(st.lists(st.sampled_from(_CODES), max_size=2,
                                                 unique=True))},
        "risk": draw(st.fixed_dictionaries({
            "ideation": st.sampled_from(["none", "passive", "active"]),
            "method": st.booleans(), "intent": st.booleans(), "plan": st.booleans(),
            "behaviour": st.sampled_from(["none", "past", "recent"])})),
        "history": {"withdrawal_complications": draw(st.booleans())},
        "context": {"housing": draw(st.sampled_from(["stable", "unstable"])),
                    "employment": draw(st.sampled_from(["employed", "unemployed", "student"]))},
    }
    if age is not None:
        data["client"] = {"age": age}
    return data


PROPERTY = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(intakes())
def test_routing_properties(data: dict[str, Any]) -> None:
    p = run(data)
    age = data.get("client", {}).get("age")
    minor = age is not None and age < 18
    problems = {x.condition for x in p.problems}
    goals = {g.id for x in p.problems for g in x.goals}
    kinds = {r.kind for r in p.referrals}

    for r in p.referrals:
        assert not DRUG_RE.search(r.reason), r.reason

    if minor:
        assert not kinds & ADULT_ONLY_REFERRALS, sorted(kinds)
        assert gp_medication_routes(p) == []
        # withdrawal management stays for safety, in a young person's setting
        assert all("adolescent withdrawal management" in r.reason for r in p.referrals
                   if r.kind == "withdrawal_management")
        assert not any("debt advice" in r.reason for r in p.referrals)
        if problems - {"child_behaviour"}:
            assert "age.caregiver_involvement" in goals, sorted(goals)
        elif problems:  # a child behaviour plan is parent training already
            assert "child_behaviour.positive_parenting" in goals

    concerns = set(data["screening"]["concerns"])
    mdq_positive = any(s.instrument == "mdq" and "positive" in s.flags for s in p.scores)
    codes = data["clinician"]["diagnoses"]
    coded = any(c.startswith(BIPOLAR_OR_PSYCHOSIS_CODE_PREFIXES) for c in codes)
    if mdq_positive or concerns & BIPOLAR_OR_PSYCHOSIS_CONCERNS or problems & SMI or coded:
        assert gp_medication_routes(p) == []

    if age is not None and age >= 18:
        assert "child_behaviour" not in problems
    if age is not None and age >= 65 and problems & {"depression", "alcohol_use"}:
        assert "primary_care" in kinds
