"""The clinical supervisor's review of the knowledge (docs/clinical-review.md, section 5):
what the case fixtures' expect tables cannot say, on both engines.

Course lengths that match their own words, one PDSS objective for panic with
agoraphobia, referral wording for a young person and before an MDQ, no adult
service named in a young person's goals, trauma work not gated on weeks of
controlled use, and a goal to attend every withdrawal referral.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from planwise.intake_io import intake_from_data
from planwise.kb import load_knowledge
from planwise.models.profile import Profile
from planwise.models.proposal import Proposal
from planwise.rules import durable_available, recommend

ENGINE_PARAMS = ["reference"] + (["durable"] if durable_available() else [])
CASES = Path(__file__).parent / "fixtures" / "cases"
KB = load_knowledge()


def fixture(name: str) -> tuple[dict[str, Any], Profile | None]:
    data = tomllib.loads((CASES / f"{name}.toml").read_text())
    profile = Profile.model_validate(data["profile"]) if "profile" in data else None
    return data["intake"], profile


def run(name: str, engine: str = "reference") -> Proposal:
    intake, profile = fixture(name)
    return recommend(intake_from_data(intake, KB), profile, KB, engine)


def texts(p: Proposal, condition: str | None = None) -> str:
    """Every goal, objective and intervention text of the plan (or of one problem)."""
    out = []
    for prob in p.problems:
        if condition and prob.condition != condition:
            continue
        for g in prob.goals:
            out.append(g.text)
            out += [f"{o.text} {o.client_action} {o.measure}" for o in g.objectives]
            out += [i.text for i in g.interventions]
    return "\n".join(out)


# -- item 1: a course's length in weeks (sessions / frequency) says what its words say ---

# Words in a course rule's `says` and the weeks they allow (a year of therapy is 46 to 52
# weeks, allowing for breaks).
LENGTH_WORDS = {
    "about a year": (46, 52),
    "for one to one and a half years": (46, 78),
    "for one to two years": (46, 104),
    "for 6 to 9 months": (26, 40),
}


def _courses() -> list[tuple[str, str, dict[str, Any]]]:
    return [(r.id, r.entry.says, c.values) for r in KB.rules for c in r.conclusions
            if c.fact == "treatment_option"]


def test_course_lengths_in_weeks_match_the_words_of_their_rule() -> None:
    checked = []
    for rid, says, option in _courses():
        frequency = option.get("frequency_per_week", 1)
        weeks = (option["sessions_min"] / frequency, option["sessions_max"] / frequency)
        for words, (low, high) in LENGTH_WORDS.items():
            if words in says:
                checked.append(rid)
                assert low <= weeks[0] <= weeks[1] <= high, (rid, words, weeks)
        if "up to a year" in says:
            checked.append(rid)
            assert weeks[1] <= 52, (rid, weeks)
    # the courses the review named are among those checked
    assert {"borderline_pd.treatment.mild", "borderline_pd.treatment.moderate",
            "borderline_pd.treatment.severe", "narcissistic_pd.treatment.mild",
            "narcissistic_pd.treatment.moderate",
            "narcissistic_pd.treatment.severe"} <= set(checked)


def test_a_year_of_dbt_counts_weekly_individual_sessions() -> None:
    options = {rid: o for rid, _s, o in _courses()}
    for rid in ("borderline_pd.treatment.moderate", "borderline_pd.treatment.severe"):
        assert options[rid]["frequency_per_week"] == 1, rid
        assert options[rid]["sessions_min"] >= 46, rid


# -- item 2: a dependent young person's drinking ------------------------------------------

@pytest.mark.parametrize("engine", ENGINE_PARAMS)
def test_a_dependent_16_year_old_is_routed_to_the_young_peoples_service(engine: str) -> None:
    p = run("review_fix_age_16_dependent_drinking", engine)
    assert not [r for r in p.referrals if r.kind == "primary_care"]
    camhs = next(r for r in p.referrals if r.kind == "child_adolescent_services")
    assert "alcohol_use.treatment.severe.minor" in camhs.because
    assert "medication review" in camhs.reason and "young people's" in camhs.reason
    assert p.treatment is not None
    assert p.treatment.because == ["alcohol_use.treatment.severe.minor"]
    assert "GP" not in texts(p, "alcohol_use").replace("the GP, or under 18", "")


# -- item 3: no adult team in a young person's engagement goal ----------------------------

@pytest.mark.parametrize("engine", ENGINE_PARAMS)
def test_a_young_persons_schizophrenia_goals_name_no_assertive_team(engine: str) -> None:
    p = run("review_fix_age_15_schizophrenia_engagement", engine)
    assert "assertive" not in texts(p).lower()
    assert "early intervention" in texts(p, "schizophrenia")


# -- item 4: medication routing before the diagnosis is confirmed -------------------------

@pytest.mark.parametrize("engine", ENGINE_PARAMS)
def test_severe_depression_without_an_mdq_asks_for_it_before_the_gp(engine: str) -> None:
    p = run("review_fix_severe_depression_mdq_first", engine)
    gp = next(r for r in p.referrals if r.kind == "primary_care")
    assert gp.because == ["medication.depression.mdq_first.primary_care"]
    assert "once the MDQ" in gp.reason and "psychiatry" in gp.reason
    mdq = next(a for a in p.assessments if a.instrument == "mdq")
    assert "before any medication review" in mdq.reason


@pytest.mark.parametrize("engine", ENGINE_PARAMS)
def test_a_screen_only_problem_gets_no_medication_route(engine: str) -> None:
    p = run("review_fix_screen_only_no_medication_review", engine)
    routes = [rid for r in p.referrals for rid in r.because if rid.startswith("medication.")]
    assert routes == []
    waits = [w for w in p.warnings if w.because == ["positive_screen.medication_waits"]]
    assert {w.message.split(" while ")[0] for w in waits} == {
        "No medication review is proposed for depression",
        "No medication review is proposed for generalized_anxiety"}


# -- items 5 and 6: the integrated goal and collaborative care follow the routing ---------

def test_the_integrated_mood_goal_has_no_medication_liaison_of_its_own() -> None:
    goal = KB.goals["integrated.mood_substance"]
    assert not [i for i in goal.interventions if i.modality == "medication_support"]
    assert "medication" not in " ".join(i.text for i in goal.interventions).lower()


@pytest.mark.parametrize("engine", ENGINE_PARAMS)
def test_a_young_persons_medication_liaison_names_no_gp(engine: str) -> None:
    p = run("review_fix_mood_substance_routing_minor", engine)
    assert not re.search(r"\bGP\b|psychiatrist\b(?! decides)", texts(p, "depression")
                         .replace("child and adolescent psychiatrist", ""))
    assert "child and adolescent" in texts(p, "depression")
    kinds = {r.kind for r in p.referrals}
    assert "psychiatry" not in kinds
    assert not [r for r in p.referrals if r.kind == "primary_care" and any(
        rid.startswith("medication.") for rid in r.because)]


@pytest.mark.parametrize("engine", ENGINE_PARAMS)
def test_an_open_bipolar_question_keeps_the_liaison_with_psychiatry(engine: str) -> None:
    p = run("review_fix_mood_substance_bipolar_question", engine)
    assert not [rid for r in p.referrals for rid in r.because
                if rid.startswith("medication.") and rid.endswith(".primary_care")]
    psych = next(r for r in p.referrals if r.kind == "psychiatry")
    assert "medication.psychiatry.concern" in psych.because


# -- item 7: trauma work is not gated on weeks of controlled use ---------------------------

def test_the_trauma_and_substance_goal_sets_no_gate_on_trauma_work() -> None:
    goal = KB.goals["integrated.trauma_substance"]
    steady = next(o for o in goal.objectives if o.id == "integrated.trauma_substance.steady")
    words = f"{steady.text} {steady.client_action} {steady.measure}".lower()
    assert "before" not in words and "alongside" in words


# -- item 9: one PDSS objective -------------------------------------------------------------

@pytest.mark.parametrize("engine", ENGINE_PARAMS)
def test_panic_with_agoraphobia_tracks_the_pdss_once(engine: str) -> None:
    p = run("review_fix_panic_agoraphobia_one_pdss", engine)
    pdss = [o.id for prob in p.problems for g in prob.goals for o in g.objectives
            if "PDSS" in f"{o.text} {o.client_action} {o.measure}"]
    assert pdss == ["panic.symptoms.pdss"]
    symptoms = [g for prob in p.problems for g in prob.goals if g.id == "panic.symptoms"]
    assert len(symptoms) == 1
    assert {"panic.goals.core", "agoraphobia.goals.core"} <= set(symptoms[0].because)


# -- item 10: a withdrawal referral always comes with a goal to attend it ------------------

def test_every_case_with_a_withdrawal_referral_has_a_goal_to_attend_it() -> None:
    """Over the whole case library: an alcohol problem with a withdrawal-management
    referral has alcohol_use.specialist_care; a drug problem with past withdrawal seizures
    has drug_use.specialist_care."""
    seen = 0
    for path in sorted(CASES.glob("*.toml")):
        p = run(path.stem)
        if not any(r.kind == "withdrawal_management" for r in p.referrals):
            continue
        problems = {x.condition for x in p.problems}
        goals = {g.id for x in p.problems for g in x.goals}
        if "alcohol_use" in problems:
            seen += 1
            assert "alcohol_use.specialist_care" in goals, path.stem
        intake = tomllib.loads(path.read_text())["intake"]
        if "drug_use" in problems and intake.get("history", {}).get("withdrawal_complications"):
            seen += 1
            assert "drug_use.specialist_care" in goals, path.stem
    assert seen >= 10


# -- item 12: gambling asked about with the problems NICE NG248 names ----------------------

@pytest.mark.parametrize("engine", ENGINE_PARAMS)
def test_depression_brings_the_pgsi_with_its_reason(engine: str) -> None:
    p = run("review_fix_gambling_asked_with_depression", engine)
    pgsi = next(a for a in p.assessments if a.instrument == "pgsi")
    assert pgsi.because == ["screen.gambling.ask"] and "NG248" in pgsi.reason
