"""The intake: what the therapist learned at screening and assessment.

Unknown keys and wrong types are errors, never silently dropped: a typo must
not lose clinical data. Ids (concerns, conditions) are checked against the
loaded knowledge in `planwise.intake_io`, because a clinic may add its own.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StringConstraints

from planwise import dates

Id = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
Severity = Literal["mild", "moderate", "severe"]
IcdCode = Annotated[str, StringConstraints(pattern=r"^[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?$")]
ShortText = Annotated[str, StringConstraints(max_length=2000)]

INTAKE_SCHEMA = "planwise.intake/1"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class Client(_Strict):
    """Stored with the plan; the rules read only the age."""

    id: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    age: Annotated[StrictInt, Field(ge=0, le=120)] | None = None


class Screening(_Strict):
    concerns: list[Id] = []
    summary: ShortText = ""


class Risk(_Strict):
    """The clinician's structured suicide-risk assessment.

    `ideation` has no default: a section that leaves it out is no assessment
    (the risk level is `unassessed` when a screen is positive), never "no risk".
    """

    ideation: Literal["none", "passive", "active"] | None = None
    method: StrictBool = False
    intent: StrictBool = False
    plan: StrictBool = False
    behaviour: Literal["none", "past", "recent"] = "none"


class Clinician(_Strict):
    impressions: list[Id] = []
    severity: dict[Id, Severity] = {}
    diagnoses: list[IcdCode] = []


class History(_Strict):
    trauma: StrictBool = False
    withdrawal_complications: StrictBool = False
    prior_treatment: list[ShortText] = []
    medications: list[ShortText] = []


class Context(_Strict):
    session_limit: Annotated[StrictInt, Field(ge=0, le=1000)] | None = None
    employment: Literal["employed", "unemployed", "student", "unable_to_work"] | None = None
    housing: Literal["stable", "unstable"] | None = None
    client_goals: list[ShortText] = []


class Intake(_Strict):
    """One assessment of one client, as the contract `planwise.intake/1` describes it."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, defer_build=True)

    schema_: Literal["planwise.intake/1"] = Field(alias="schema")
    date: dt.date = Field(default_factory=dates.today)  # PLANWISE_TODAY honoured
    client: Client = Client()
    screening: Screening = Screening()
    # Raw answers per instrument id; their shape is checked by the instrument
    # itself (planwise.clinical.instruments), which knows its item count and ranges.
    instruments: dict[Id, Any] = {}
    risk: Risk | None = None
    clinician: Clinician = Clinician()
    history: History = History()
    context: Context = Context()
