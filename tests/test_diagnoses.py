"""Coded diagnoses (clinician.diagnoses): ICD-10-CM prefixes, problems, severity, routing.

A supervisor reads a code as the clinician's diagnosis: it confirms the condition
(basis clinician), a code that states a severity rates the problem, and a code of a
bipolar or psychotic disorder closes the GP antidepressant route.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from planwise.errors import KnowledgeError
from planwise.intake_io import intake_from_data
from planwise.kb import load_knowledge
from planwise.kb.schema import VocabEntry
from planwise.models.proposal import Proposal
from planwise.rules import durable_available, recommend
from planwise.rules.inputs import _condition_of_code, icd10_prefixes

ENGINE_PARAMS = ["reference"] + (["durable"] if durable_available() else [])
CASES = Path(__file__).parent / "fixtures" / "cases"
KB = load_knowledge()
PREFIXES = icd10_prefixes(KB)


def run(clinician: dict[str, Any], engine: str = "reference", **extra: Any) -> Proposal:
    data = {"schema": "planwise.intake/1", "client": {"id": "DX", "age": 40},
            "risk": {"ideation": "none"}, "clinician": clinician, **extra}
    return recommend(intake_from_data(data, KB), None, KB, engine)


# -- the prefix pattern --------------------------------------------------------------

@pytest.mark.parametrize("prefix", ["F0", "F32", "F32.A", "F40.1", "F31.81", "F40.231", "Z63.0"])
def test_a_category_or_dotted_subcategory_is_a_prefix(prefix: str) -> None:
    assert VocabEntry(id="x", label="X", icd10=[prefix]).icd10 == [prefix]


@pytest.mark.parametrize("prefix", ["F", "f32", "F32.", "F3.2", "F32.12345", "32", "F32-1",
                                    "F321", " F32", "F32.1 "])
def test_a_malformed_prefix_is_refused(prefix: str) -> None:
    with pytest.raises(ValidationError):
        VocabEntry(id="x", label="X", icd10=[prefix])


def test_a_clinic_vocabulary_with_a_malformed_prefix_names_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "clinic"
    folder.mkdir()
    (folder / "vocabulary.toml").write_text(
        'conditions = [{ id = "insomnia", label = "Insomnia", icd10 = ["G47.0."] }]\n')
    with pytest.raises(KnowledgeError) as err:
        load_knowledge([folder])
    assert "vocabulary.toml" in str(err.value.file)


# -- the shipped prefixes --------------------------------------------------------------

@pytest.mark.parametrize("code,condition", [
    ("F32.2", "depression"), ("F32.A", "depression"), ("F33.1", "depression"),
    ("F34.1", "depression"), ("F41.1", "generalized_anxiety"), ("F41.0", "panic"),
    ("F40.00", "agoraphobia"), ("F40.01", "agoraphobia"), ("F40.10", "social_anxiety"),
    ("F40.11", "social_anxiety"), ("F40.231", "specific_phobia"), ("F43.10", "ptsd"),
    ("F43.12", "ptsd"), ("F10.20", "alcohol_use"), ("F11.20", "drug_use"),
    ("F12.90", "drug_use"), ("F13.20", "drug_use"), ("F16.10", "drug_use"),
    ("F18.10", "drug_use"), ("F19.20", "drug_use"), ("F20.9", "schizophrenia"),
    ("F25.0", "schizoaffective"), ("F31.2", "bipolar_i"), ("F31.9", "bipolar_i"),
    ("F31.81", "bipolar_ii"), ("F60.3", "borderline_pd"), ("F60.81", "narcissistic_pd"),
    ("F63.0", "gambling"), ("F91.3", "child_behaviour"), ("F50.00", "eating_disorder"),
    ("F90.0", "adhd"),
    # not a listed condition: no plan from the code alone
    ("F17.210", ""), ("F34.0", ""), ("F30.10", ""), ("F43.20", ""), ("F60.2", ""),
    ("F41.9", ""), ("F40.9", ""),
])
def test_the_longest_prefix_names_the_condition(code: str, condition: str) -> None:
    assert _condition_of_code(code, PREFIXES) == condition


def test_no_prefix_is_given_to_two_conditions() -> None:
    listed = [p for e in KB.vocab["conditions"].values() for p in e.icd10]
    assert len(listed) == len(set(listed))


def test_every_listed_condition_with_a_plan_has_a_code_except_the_non_diagnoses() -> None:
    uncoded = {cid for cid, e in KB.vocab["conditions"].items() if e.intake and not e.icd10}
    # employment, anger, low self-esteem, internet use and "other" are not ICD-10 diagnoses
    assert uncoded == {"employment", "anger", "low_self_esteem", "problematic_internet_use",
                       "other"}


def test_every_coded_condition_has_a_problem_rule_for_its_diagnosis() -> None:
    coded = {cid for cid, e in KB.vocab["conditions"].items() if e.icd10 and e.plan}
    ruled = {p.tests[0].value for r in KB.rules if r.stage == "problem"
             for p in r.patterns if p.fact == "diagnosis" and not p.negated
             for t in p.tests[:1] if t.attr == "condition"}
    assert coded <= ruled, sorted(coded - ruled)


# -- what a code does to the plan, on both engines -------------------------------------

@pytest.mark.parametrize("engine", ENGINE_PARAMS)
def test_a_coded_diagnosis_alone_makes_the_clinicians_problem(engine: str) -> None:
    p = run({"diagnoses": ["F41.1"]}, engine)
    gad = next(x for x in p.problems if x.condition == "generalized_anxiety")
    assert gad.basis == "clinician"
    assert gad.severity == "moderate"  # no score and no rating: the engine's default
    assert not [w for w in p.warnings if w.kind == "unconfirmed_screen"]


@pytest.mark.parametrize("engine", ENGINE_PARAMS)
def test_a_code_that_states_severity_rates_the_problem_but_never_holds_a_score_down(
        engine: str) -> None:
    assert next(x.severity for x in run({"diagnoses": ["F33.2"]}, engine).problems
                if x.condition == "depression") == "severe"
    # F32.0 says mild; a PHQ-9 of 18 now says severe: the more severe stands
    p = run({"diagnoses": ["F32.0"]}, engine, instruments={"phq9": [2] * 9})
    assert next(x.severity for x in p.problems if x.condition == "depression") == "severe"
    # the clinician's own rating overrides both
    p = run({"diagnoses": ["F32.2"], "severity": {"depression": "moderate"},
             "impressions": ["depression"]}, engine)
    assert next(x.severity for x in p.problems if x.condition == "depression") == "moderate"


@pytest.mark.parametrize("engine", ENGINE_PARAMS)
def test_depression_in_full_remission_is_history_until_a_score_says_otherwise(
        engine: str) -> None:
    assert "depression" not in {x.condition for x in run({"diagnoses": ["F33.42"]},
                                                          engine).problems}
    p = run({"diagnoses": ["F33.42"]}, engine, instruments={"phq9": [2] * 7 + [0, 0]})
    dep = next(x for x in p.problems if x.condition == "depression")
    assert dep.basis == "clinician"  # recurrent depression is the clinician's diagnosis


@pytest.mark.parametrize("engine", ENGINE_PARAMS)
@pytest.mark.parametrize("code", ["F31.81", "F31.2", "F20.9", "F25.1", "F30.10", "F29", "F32.3",
                                  "F34.0"])
def test_a_coded_bipolar_or_psychotic_disorder_closes_the_gp_antidepressant_route(
        engine: str, code: str) -> None:
    # the GP route, with a negative MDQ or (none given) worded to follow the MDQ
    gp = {"medication.depression.primary_care", "medication.depression.mdq_first.primary_care"}
    p = run({"diagnoses": [code], "impressions": ["depression"],
             "severity": {"depression": "severe"}}, engine)
    assert not [r for r in p.referrals if r.kind == "primary_care"
                and gp & set(r.because)]
    assert any(r.kind == "psychiatry" for r in p.referrals)  # the prescriber instead
    # without the code the same intake keeps the GP review: the code made the difference
    q = run({"impressions": ["depression"], "severity": {"depression": "severe"}}, engine)
    assert any(gp & set(r.because) for r in q.referrals)


@pytest.mark.parametrize("engine", ENGINE_PARAMS)
def test_a_conduct_disorder_code_makes_no_child_plan_for_an_adult(engine: str) -> None:
    p = run({"diagnoses": ["F91.1"]}, engine)
    assert "child_behaviour" not in {x.condition for x in p.problems}
    assert any(w.kind == "age_mismatch" and "F91.1" in w.message for w in p.warnings)


@pytest.mark.parametrize("engine", ENGINE_PARAMS)
@pytest.mark.parametrize("name", ["icd_bipolar_ii_code_severe_depression",
                                  "icd_schizophrenia_code_agoraphobia_concern",
                                  "icd_schizophrenia_code_acute_agoraphobia_deferred",
                                  "icd_unlisted_psychosis_code_severe_depression"])
def test_coded_cases_get_no_gp_medication_route(engine: str, name: str) -> None:
    data = tomllib.loads((CASES / f"{name}.toml").read_text())["intake"]
    p = recommend(intake_from_data(data, KB), None, KB, engine)
    assert not [rid for r in p.referrals for rid in r.because
                if rid.startswith("medication.") and rid.endswith(".primary_care")]
