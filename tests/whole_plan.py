"""Whole-plan reasoning for tests, today: an intake and a small clinic knowledge folder
that make the engine produce a screen-only problem and deferred goals, and a Proposal
built by hand with every new field (basis, priority, phase, deferred, new warnings).

The clinic rules stand in for the shipped screen and risk rules while those are being
written; the tests assert only what these rules make (the unique `until` text below),
so they keep passing when the shipped rules add more.
"""

from __future__ import annotations

from pathlib import Path

from planwise.models.proposal import (
    Deferred,
    Goal,
    Intervention,
    Objective,
    Problem,
    Proposal,
    Referral,
    RiskResult,
    Score,
    Sessions,
    Treatment,
    Warning,
)

UNTIL = "the safety plan is written and suicide risk is reviewed"

INTAKE = """\
# Fictional: worry named as the concern; an AUDIT of 16 that nothing names; high risk.
schema = "planwise.intake/1"
date = 2026-11-18

[client]
id = "WP-1"
age = 30

[screening]
concerns = ["anxiety"]

[instruments]
gad7 = [2, 2, 2, 2, 2, 2, 2]
audit = [3, 3, 2, 2, 1, 0, 1, 2, 0, 2]

[risk]
ideation = "active"
method = true
intent = true
plan = true
behaviour = "recent"
"""

# For the shipped knowledge alone: PTSD confirmed with high risk (trauma processing and
# exposure wait), an AUDIT of 16 nothing names (a screen-only problem to confirm).
HIGH_RISK_PTSD = """\
schema = "planwise.intake/1"
date = 2026-11-18

[client]
id = "WP-2"
age = 35

[screening]
concerns = ["trauma"]

[instruments]
pcl5 = [3, 3, 2, 3, 3, 2, 3, 1, 2, 2, 2, 3, 2, 2, 3, 2, 1, 3, 2, 3]
audit = [3, 3, 2, 2, 1, 0, 1, 2, 0, 2]

[risk]
ideation = "active"
method = true
intent = true
plan = true
behaviour = "recent"

[clinician]
impressions = ["ptsd"]
"""

CLINIC_RULES = f"""\
[[rules]]
id = "clinic.alcohol.screen_only"
stage = "problem"
source = "WHO AUDIT manual (Babor et al. 2001): 8 or more marks hazardous drinking"
says = "The AUDIT is 8 or more and nothing names drinking: a problem for the clinician to confirm."
when = [{{ fact = "score", instrument = "audit", total = {{ gte = 8 }} }}]
then = [{{ fact = "problem_found", condition = "alcohol_use" }}]

[[rules]]
id = "clinic.defer.cbt"
stage = "plan"
source = "NICE NG225 (2022): safety comes before the rest of the work while risk is high"
says = "While suicide risk is high, CBT work waits until the safety plan is in place."
when = [{{ fact = "risk", level = "high" }}]
then = [{{ fact = "defer", modality = "cbt", until = "{UNTIL}" }}]
"""


def write_case(folder: Path) -> tuple[Path, Path]:
    """(intake file, clinic knowledge folder) under `folder`."""
    intake = folder / "whole-plan.toml"
    intake.write_text(INTAKE)
    clinic = folder / "clinic"
    (clinic / "crosscutting").mkdir(parents=True, exist_ok=True)
    (clinic / "crosscutting" / "whole_plan_test.toml").write_text(CLINIC_RULES)
    return intake, clinic


def _goal(gid: str, text: str, phase: str, deferred: Deferred | None = None,
          modality: str = "cbt") -> Goal:
    because = [f"{gid.split('.')[0]}.goals"]
    return Goal(
        id=gid, text=text, because=because, phase=phase,  # type: ignore[arg-type]
        deferred=deferred,
        objectives=[Objective(id=f"{gid}.o1", text=f"First step of: {text}",
                              client_action="Write down three examples each week",
                              measure="3 examples a week for 4 weeks", target_weeks=4,
                              because=because)],
        interventions=[Intervention(id=f"{gid}.i1", text=f"Lead the work on: {text}",
                                    modality=modality, because=because)])


def proposal() -> Proposal:
    """Three problems in priority order: the clinician's suicide risk (a stabilise goal),
    a screen-and-concern PTSD whose processing goal is deferred, a screen-only
    depression (to confirm); the new warning and referral kinds."""
    wait = Deferred(until="suicide risk is no longer high", because=["risk.defer.trauma"])
    return Proposal(
        schema="planwise.proposal/1",
        scores=[Score(instrument="pcl5", total=47, band="provisional_ptsd"),
                Score(instrument="phq9", total=16, band="moderately_severe")],
        risk=RiskResult(level="high", because=["risk.level.high.plan"]),
        problems=[
            Problem(condition="suicide_risk", severity="severe", because=["risk.problem"],
                    basis="clinician", priority=1,
                    goals=[_goal("suicide_risk.safety_plan", "Keep the client safe",
                                 "stabilise", modality="safety_planning")]),
            Problem(condition="ptsd", severity="moderate", because=["ptsd.problem.screen"],
                    basis="screen_and_concern", priority=2,
                    goals=[_goal("ptsd.stabilise", "Manage flashbacks", "stabilise",
                                 modality="psychoeducation"),
                           _goal("ptsd.process", "Process the trauma memory", "treat", wait,
                                 modality="trauma_focused"),
                           _goal("ptsd.relapse", "Keep the gains", "maintain",
                                 modality="relapse_prevention")]),
            Problem(condition="depression", severity="moderate",
                    because=["depression.problem.screen_only", "engine.problem.basis"],
                    basis="screen_only", priority=3,
                    goals=[_goal("depression.activity", "Increase activities", "treat",
                                 modality="behavioural_activation")]),
        ],
        treatment=Treatment(modalities=["safety_planning", "trauma_focused"],
                            sessions=Sessions(min=12, max=16), frequency_per_week=1,
                            level_of_care="outpatient", review_weeks=4,
                            because=["engine.treatment.sequence"]),
        referrals=[Referral(kind="child_adolescent_services", urgency="soon",
                            reason="a 15-year-old: child and adolescent services",
                            because=["age.minor.camhs"])],
        assessments=[],
        warnings=[
            Warning(kind="unconfirmed_screen",
                    message="PHQ-9 of 16 with no concern or impression naming depression: "
                            "confirm or reject", because=["screen.unconfirmed.phq9"]),
            Warning(kind="risk_conflict", message="PHQ-9 item 9 is 2 but ideation is none",
                    because=["risk.conflict.item9"]),
            Warning(kind="course_overload", message="9 objectives for 6 sessions",
                    because=["engine.course.capacity"]),
        ],
        trace=[],
    )
