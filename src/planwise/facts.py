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
        "risk_assessed": _a(bool, False, "the intake has a [risk] section"),
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
        "ideation": _a(str, "none"),
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
    "problem": {"condition": _a(str, ""), "severity": _a(str, "")},
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
}

BASE_TYPES = frozenset(
    {"case", "concern", "impression", "clinician_severity", "score", "flag", "risk_answers",
     "competency", "trained"}
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
}


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
