"""The fact vocabulary that rules read and write.

Every fact is a flat record: a `fact` type plus typed attributes, and every
attribute is always present (missing ones get the default below). That keeps
the two engines in agreement: a test on an absent attribute is never left to
an engine's own reading of "missing". No attribute is named `id` or `sid`,
which durable-rules reserves.

Base facts come from the intake and the profile; derived facts are written by
rules (`then`) or by the engine's resolution steps between stages.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Scalar = str | int | float | bool


@dataclass(frozen=True)
class Attr:
    type: type
    default: Any
    doc: str = ""


def _a(t: type, default: Any, doc: str = "") -> Attr:
    return Attr(t, default, doc)


# type -> attribute -> Attr.  Lists are allowed only where no rule tests them.
FACT_TYPES: dict[str, dict[str, Attr]] = {
    # -- base facts, from the intake and the profile ----------------------
    "case": {
        "age": _a(int, -1, "client age in years; -1 when not given"),
        "minor": _a(bool, False, "age given and under 18"),
        "older_adult": _a(bool, False, "age given and 65 or over"),
        "risk_assessed": _a(bool, False, "the intake has a complete [risk] section (ideation "
                            "answered); an incomplete one is no assessment"),
        "risk_section": _a(bool, False, "the intake has a [risk] section, complete or not"),
        "profile": _a(bool, False, "a therapist profile was given"),
        "supervised": _a(bool, False, "the profile names a supervisor (trainee)"),
        "session_limit": _a(int, -1, "sessions authorised by the payer; -1 when none"),
        "employment": _a(str, "unknown", "employed | unemployed | student | unable_to_work"),
        "housing": _a(str, "unknown", "stable | unstable"),
        "trauma": _a(bool, False, "history of trauma"),
        "withdrawal_complications": _a(bool, False, "past withdrawal seizures or DTs"),
    },
    "concern": {"name": _a(str, "", "a screening concern (condition or broad concern id)")},
    "impression": {"condition": _a(str, "", "a condition the clinician confirms")},
    "diagnosis": {
        "code": _a(str, "", "an ICD-10-CM code from clinician.diagnoses"),
        "condition": _a(str, "", "the condition its prefix names (vocabulary icd10); '' if none"),
    },
    "clinician_severity": {
        "condition": _a(str, ""),
        "severity": _a(str, "", "mild | moderate | severe"),
    },
    "score": {
        "instrument": _a(str, ""),
        "total": _a(int, 0),
        "band": _a(str, ""),
    },
    "flag": {"instrument": _a(str, ""), "name": _a(str, "")},
    "risk_answers": {
        "ideation": _a(str, "none", "none | passive | active; 'unknown' when the section "
                       "leaves it out (then the section is no assessment)"),
        "method": _a(bool, False),
        "intent": _a(bool, False),
        "plan": _a(bool, False),
        "behaviour": _a(str, "none"),
    },
    "competency": {"condition": _a(str, "", "a condition in the therapist's competencies")},
    "trained": {"modality": _a(str, "", "a modality the therapist is trained in")},
    # -- stage severity -----------------------------------------------------
    "risk_level": {"level": _a(str, "", "none | low | moderate | high | unassessed")},
    "severity": {
        "condition": _a(str, ""),
        "severity": _a(str, ""),
        "by": _a(str, "instrument", "instrument | clinician"),
    },
    # -- after severity: the resolved risk level -----------------------------
    "risk": {"level": _a(str, "none")},
    # -- stage problem -------------------------------------------------------
    "problem_found": {"condition": _a(str, "")},
    # -- after problem: one resolved problem per condition -------------------
    "problem": {
        "condition": _a(str, ""),
        "severity": _a(str, ""),
        "basis": _a(str, "clinician", "clinician | screen_and_concern | screen_only "
                    "(engine.problem.basis)"),
    },
    # -- stages plan and integrate -------------------------------------------
    "goal": {
        "goal": _a(str, "", "a goal id from the catalogue"),
        "condition": _a(str, "", "the problem it sits under; default: the goal's own"),
        "first": _a(bool, False, "order it before the problem's other goals"),
    },
    "treatment_option": {
        "condition": _a(str, ""),
        "sessions_min": _a(int, 0),
        "sessions_max": _a(int, 0),
        "frequency_per_week": _a(int, 1),
        "level_of_care": _a(str, "outpatient"),
        "review_weeks": _a(int, 12),
        "modalities": _a(list, [], "primary modalities, in order"),
    },
    "referral": {
        "kind": _a(str, ""),
        "urgency": _a(str, "routine"),
        "reason": _a(str, ""),
    },
    "assessment": {"instrument": _a(str, ""), "reason": _a(str, "")},
    "warning": {"kind": _a(str, ""), "message": _a(str, ""), "subject": _a(str, "")},
    "priority": {
        "condition": _a(str, "", "a problem addressed before the rest"),
        "rank": _a(int, 1, "1 first; problems with no priority fact come after every ranked one"),
        "reason": _a(str, "", "why it comes first, in plain words"),
    },
    "defer": {
        "modality": _a(str, "", "goals with an intervention of this modality wait"),
        "until": _a(str, "", "when they may start, in plain words"),
        "condition": _a(str, "", "only the goals of this problem wait; '' for every problem"),
    },
    # -- after plan and integrate: the catalogue expanded --------------------
    "intervention": {
        "item": _a(str, "", "intervention id"),
        "modality": _a(str, ""),
        "goal": _a(str, ""),
        "condition": _a(str, ""),
    },
    "objective": {
        "item": _a(str, "", "objective id"),
        "goal": _a(str, ""),
        "condition": _a(str, ""),
    },
    # -- after integrate: the one treatment block ------------------------------
    "treatment": {
        "sessions_min": _a(int, 0),
        "sessions_max": _a(int, 0),
        "frequency_per_week": _a(int, 1),
        "level_of_care": _a(str, "outpatient"),
        "review_weeks": _a(int, 12),
    },
    # -- review: progress facts built from a plan's course (planwise.clinical.review_facts) --
    "course": {
        "sessions_used": _a(int, 0, "sessions held so far"),
        "session_limit": _a(int, -1, "sessions authorised by the payer; -1 when none"),
        "sessions_left": _a(int, -1, "authorised sessions not yet used (0 or more); -1: no limit"),
        "weeks_in": _a(int, 0, "whole weeks since the plan started"),
        "weeks_since_review": _a(int, 0, "whole weeks since the last review (or the start)"),
        "sessions_since_review": _a(int, 0, "sessions held after the last review (all of "
                                    "them when there has been none)"),
        "review_weeks": _a(int, 12, "the plan's review interval in weeks"),
        "review_due": _a(bool, False, "weeks_since_review >= review_weeks"),
        "frequency_per_week": _a(int, 1),
        "level_of_care": _a(str, "outpatient"),
        "version": _a(int, 1, "the plan version under review"),
        "risk_level": _a(str, "none", "the plan's risk level"),
        "open_objectives": _a(int, 0, "objectives still open or partially met"),
        "session_limit_near": _a(bool, False, "SESSION_LIMIT_NEAR or fewer authorised "
                                              "sessions left (planwise.clinical.review_facts)"),
        "risk_low_weeks": _a(int, 0, "whole weeks the plan's risk level has been none or low "
                             "with no risk flag on any total since (plan risk history, "
                             "measures); 0 when the level now is above low or unassessed"),
        "safety_open": _a(bool, False, "a safety objective (objective_progress.safety) is not "
                          "met yet: open, partially met or not met"),
    },
    "measure": {
        "instrument": _a(str, ""),
        "name": _a(str, "", "the instrument's name as printed (PHQ-9), for reasons"),
        "condition": _a(str, "", "the plan problem this is the primary measure of; '' if none"),
        "primary": _a(bool, False, "the primary measure of one of the plan's problems"),
        "baseline": _a(int, 0, "the first total"),
        "latest": _a(int, 0, "the most recent total"),
        "improvement": _a(int, 0, "points better than the baseline (negative: worse)"),
        "change_class": _a(str, "baseline_only",
                           "reliably_improved | no_reliable_change | reliably_deteriorated | "
                           "not_classified | baseline_only (given once)"),
        "recovered": _a(str, "unknown", "yes | no | unknown"),
        "response": _a(str, "unknown", "yes | no | unknown"),
        "remission": _a(str, "unknown", "yes | no | unknown"),
        "sessions": _a(int, 0, "sessions between the baseline and the latest total"),
        "not_on_track": _a(bool, False, "no reliable change after NOT_ON_TRACK_SESSIONS "
                                         "sessions or more (planwise.clinical.review_facts)"),
        "weeks": _a(int, 0, "whole weeks between the baseline and the latest total"),
        "points": _a(int, 1, "totals recorded, the baseline included"),
        "risk_flag": _a(bool, False, "the latest total raised a risk flag"),
        "baseline_risk_flag": _a(bool, False, "the baseline raised a risk flag"),
        "remission_streak": _a(int, 0, "the latest totals in a row in remission, the baseline "
                               "included (0: the latest is not); -1 when the instrument "
                               "defines no remission"),
        "remission_held": _a(bool, False, "remission_streak >= 2: the last two totals both in "
                             "remission"),
    },
    "feedback": {
        "sessions": _a(int, 0, "sessions with feedback"),
        "latest_mean": _a(float, 0.0, "mean answer (0-10) at the latest session"),
        "lowest": _a(int, 10, "lowest answer at the latest session"),
        "low": _a(bool, False, "an answer at the latest session below the form's low mark"),
        "falling": _a(bool, False, "the latest mean fell by the form's falling mark or more"),
        "sessions_low": _a(int, 0, "sessions with a low answer, all told"),
    },
    "objective_progress": {
        "item": _a(str, "", "the objective's key in the plan"),
        "goal": _a(str, ""),
        "condition": _a(str, ""),
        "status": _a(str, "open"),
        "open": _a(bool, True, "status open or partially met"),
        "met": _a(bool, False, "status met, or the last progress rating 10"),
        "overdue": _a(bool, False, "open, target date passed, last rating under 5"),
        "weeks_overdue": _a(int, 0, "whole weeks past the target date (0 when not past)"),
        "overdue_by": _a(str, "", "how long past the target date, in words ('' when not)"),
        "last_rating": _a(int, -1, "the last progress rating 0-10; -1 when none"),
        "ratings": _a(int, 0, "progress ratings recorded"),
        "safety": _a(bool, False, "an objective of the suicide-risk problem or of a "
                     "suicide_risk goal (a safety objective)"),
        "safety_open": _a(bool, False, "a safety objective not met yet: open, partially met "
                          "or not met (course.safety_open: any of them)"),
    },
    "goal_progress": {
        "goal": _a(str, ""),
        "condition": _a(str, ""),
        "objectives": _a(int, 0),
        "met": _a(int, 0, "objectives met"),
        "all_met": _a(bool, False, "every objective of the goal met"),
    },
    "risk_signal": {
        "source": _a(str, "", "the instrument that raised it"),
        "name": _a(str, "", "the instrument's name as printed, for reasons"),
        "flag": _a(str, "", "the flag's name"),
        "session": _a(int, -1, "the session it was given at; -1 when not known"),
        "reemerged": _a(bool, False, "the baseline raised no risk flag on that instrument, "
                        "or the plan's risk level is none or low"),
    },
    "modality": {"name": _a(str, "", "a modality of the plan's interventions")},
    "referral_made": {"kind": _a(str, "", "a referral already in the plan")},
    # -- review stage output ------------------------------------------------
    "change": {
        "kind": _a(str, "", "a ProposedChange kind (planwise.models.review)"),
        "subject": _a(str, "", "objective key, goal, condition or instrument"),
        "item": _a(str, "", "modality, referral kind, level of care, frequency, ..."),
        "urgency": _a(str, "", "refer and reassess_risk: routine | soon | urgent | immediate"),
        "reason": _a(str, ""),
    },
}

BASE_TYPES = frozenset(
    {"case", "concern", "impression", "diagnosis", "clinician_severity", "score", "flag",
     "risk_answers", "competency", "trained"}
)

# The stages, in order, with what the engine itself derives after each one
# (beyond what rules assert). A rule may negate only facts that are complete
# before its stage starts: base facts and the output of earlier stages.
STAGES: tuple[str, ...] = ("severity", "problem", "plan", "integrate", "warn")
RESOLVED_AFTER: dict[str, frozenset[str]] = {
    "severity": frozenset({"risk"}),
    "problem": frozenset({"problem"}),
    "plan": frozenset({"intervention", "objective"}),
    "integrate": frozenset({"intervention", "objective", "treatment"}),
    "warn": frozenset(),
    "review": frozenset(),
}

# The review runs on its own (planwise.rules.review), never during a proposal:
# its base facts are the progress facts of a plan's course, and `change` is its
# only output. A proposal never runs it; a review runs nothing else.
REVIEW_STAGES: tuple[str, ...] = ("review",)
REVIEW_BASE_TYPES = frozenset(
    {"course", "problem", "measure", "feedback", "objective_progress", "goal_progress",
     "risk_signal", "modality", "referral_made"}
)
ALL_STAGES: tuple[str, ...] = STAGES + REVIEW_STAGES


def make_fact(fact_type: str, **attrs: Any) -> dict[str, Any]:
    """A complete fact of that type: defaults filled in, unknown attributes refused."""
    schema = FACT_TYPES[fact_type]
    unknown = set(attrs) - set(schema)
    if unknown:
        raise KeyError(f"fact {fact_type} has no attribute {sorted(unknown)[0]}")
    fact: dict[str, Any] = {"fact": fact_type}
    for name, attr in schema.items():
        value = attrs.get(name, attr.default)
        fact[name] = list(value) if isinstance(value, list) else value
    return fact


def fact_key(fact: dict[str, Any]) -> tuple[Any, ...]:
    """Identity of a fact by content (two rules deriving the same fact share it)."""
    return tuple(
        (k, tuple(v) if isinstance(v, list) else v)
        for k, v in sorted(fact.items())
        if k not in ("n", "sid")
    )
