"""Pydantic models of stored records and of the editable TOML documents."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Text = Annotated[str, StringConstraints(min_length=1, max_length=4000)]
MAX_NAME = 200
Name = Annotated[str, StringConstraints(min_length=1, max_length=MAX_NAME,
                                        strip_whitespace=True)]

CLIENT_SCHEMA = "planwise.client/1"
PLAN_SCHEMA = "planwise.plan/1"

Origin = Literal["proposed_accepted", "proposed_edited", "proposed_rejected", "added"]
Basis = Literal["clinician", "screen_and_concern", "screen_only"]
Phase = Literal["stabilise", "treat", "maintain"]
ObjectiveStatus = Literal["open", "met", "partially_met", "not_met", "revised", "discontinued"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)


# --- clients: the guide's "current information" ---------------------------------

class Contact(_Model):
    phone: str | None = None
    email: str | None = None
    address: str | None = None
    preferred: str | None = None


class EmergencyContact(_Model):
    name: Name
    relationship: str | None = None
    phone: str | None = None


class CareProvider(_Model):
    name: Name
    role: str | None = None              # GP, psychiatrist, case manager, ...
    organisation: str | None = None
    phone: str | None = None


class PastDiagnosis(_Model):
    description: Text
    code: str | None = None              # ICD-10-CM where known
    when: str | None = None


class PastTreatment(_Model):
    description: Text
    provider: str | None = None
    when: str | None = None
    outcome: str | None = None


class SignificantEvent(_Model):
    """The running overview of trauma and significant events (top of every plan)."""

    text: Text
    date: dt.date | None = None
    recorded: dt.date | None = None


class ClientInfo(_Model):
    """Everything editable about a client (the `client export` TOML, minus the header)."""

    name: Name
    date_of_birth: dt.date | None = None
    pronouns: str | None = None
    # A factory, not an instance: an instance here builds the validator at import time
    # (every interface start paid for it; issue 12).
    contact: Contact = Field(default_factory=Contact)
    emergency_contacts: list[EmergencyContact] = []
    care_providers: list[CareProvider] = []
    past_diagnoses: list[PastDiagnosis] = []
    past_treatment: list[PastTreatment] = []
    significant_events: list[SignificantEvent] = []
    notes: str | None = None


class ClientDoc(ClientInfo):
    schema_: Literal["planwise.client/1"] = Field("planwise.client/1", alias="schema")
    id: str

    model_config = ConfigDict(extra="forbid", populate_by_name=True, defer_build=True)


# --- plans ------------------------------------------------------------------------

class PlanItem(_Model):
    key: str | None = None               # stable within a plan; omit for a new item
    origin: Origin | None = None         # computed on import, except proposed_rejected
    rejection_reason: str | None = None  # required when origin = "proposed_rejected"
    because: list[str] = []              # the engine's rules (read-only)


class ObjectiveItem(PlanItem):
    text: Text
    client_tasks: list[Text] = Field(min_length=1)
    interventions: list[str] = []        # keys of the goal's interventions
    measure: Text
    anticipated: dt.date | None = None
    actual: dt.date | None = None
    status: ObjectiveStatus = "open"


class InterventionItem(PlanItem):
    text: Text
    modality: str


class Deferral(_Model):
    """A goal that waits: when it may start, and the engine's rules that hold it back."""

    until: Text
    because: list[str] = []


class GoalItem(PlanItem):
    text: Text
    # From the proposal's whole-plan reasoning; absent in plans drafted before it. Declared
    # before the objectives so the TOML export shows the deferral with the goal's text.
    phase: Phase | None = None
    deferred: Deferral | None = None
    objectives: list[ObjectiveItem] = []
    interventions: list[InterventionItem] = []


class ProblemItem(PlanItem):
    condition: str
    severity: Literal["mild", "moderate", "severe"]
    goals: list[GoalItem] = []
    # From the proposal's whole-plan reasoning; absent in plans drafted before it.
    basis: Basis | None = None
    priority: int | None = Field(default=None, ge=1)
    # The clinician's decision on a screen_only problem: true once confirmed (lint refuses
    # to sign a screen_only problem that is neither confirmed nor rejected).
    confirmed: bool | None = None
    # ICD-10-CM (from the intake's coded diagnoses, or typed): checked against the code
    # table on import (planwise.icd); payer-facing exports carry it (docs/documents.md).
    code: str | None = None


class TreatmentItem(PlanItem):
    modalities: list[str]
    sessions_min: int = Field(ge=0)
    sessions_max: int = Field(ge=0)
    frequency_per_week: int = Field(ge=0)
    level_of_care: str
    review_weeks: int = Field(ge=1)


class ReferralItem(PlanItem):
    kind: str
    urgency: Literal["routine", "soon", "urgent", "immediate"]
    reason: Text


class AssessmentItem(PlanItem):
    instrument: str
    reason: Text


class WarningItem(PlanItem):
    kind: str
    message: Text


class PlanDoc(_Model):
    """A plan version as the therapist edits it (`plan export --format toml`)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, defer_build=True)

    schema_: Literal["planwise.plan/1"] = Field("planwise.plan/1", alias="schema")
    plan: str
    client: str
    version: int = Field(ge=1)
    # The version's row_version when exported (optimistic check on import; see docs/store.md).
    row_version: int | None = Field(default=None, ge=1)
    start_date: dt.date
    review_date: dt.date | None = None
    risk_level: str
    problems: list[ProblemItem] = []
    treatment: TreatmentItem | None = None
    referrals: list[ReferralItem] = []
    assessments: list[AssessmentItem] = []
    warnings: list[WarningItem] = []
