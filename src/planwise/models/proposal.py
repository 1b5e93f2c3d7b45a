"""The proposal: the engine's draft plan, every item with the rules behind it."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

PROPOSAL_SCHEMA = "planwise.proposal/1"

Because = Annotated[list[str], Field(min_length=1)]
RiskLevel = Literal["none", "low", "moderate", "high", "unassessed"]


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)


class Score(_Out):
    instrument: str
    total: int
    band: str
    flags: list[str] = []


class RiskResult(_Out):
    level: RiskLevel
    because: Because


class Objective(_Out):
    id: str
    text: str
    client_action: str
    measure: str
    target_weeks: int
    because: Because


class Intervention(_Out):
    id: str
    text: str
    modality: str
    because: Because


class Deferred(_Out):
    """A goal that waits: when it may start, and the rules that hold it back."""

    until: str
    because: Because


class Goal(_Out):
    id: str
    text: str
    because: Because
    objectives: list[Objective]
    interventions: list[Intervention]
    # Absent in proposals written before whole-plan reasoning; they still read.
    phase: Literal["stabilise", "treat", "maintain"] | None = None
    deferred: Deferred | None = None


Basis = Literal["clinician", "screen_and_concern", "screen_only"]


class Problem(_Out):
    condition: str
    severity: Literal["mild", "moderate", "severe"]
    because: Because
    goals: list[Goal]
    basis: Basis | None = None
    priority: int | None = None


class Sessions(_Out):
    min: int
    max: int


class Treatment(_Out):
    modalities: list[str]
    sessions: Sessions
    frequency_per_week: int
    level_of_care: str
    review_weeks: int
    because: Because


class Referral(_Out):
    kind: str
    urgency: Literal["routine", "soon", "urgent", "immediate"]
    reason: str
    because: Because


class Assessment(_Out):
    instrument: str
    reason: str
    because: Because


class Warning(_Out):
    kind: str
    message: str
    because: Because


class TraceEntry(_Out):
    rule: str
    matched: list[str]
    derived: list[str]


class Proposal(_Out):
    schema_: Literal["planwise.proposal/1"] = Field("planwise.proposal/1", alias="schema")
    scores: list[Score]
    risk: RiskResult
    problems: list[Problem]
    treatment: Treatment | None
    referrals: list[Referral]
    assessments: list[Assessment]
    warnings: list[Warning]
    trace: list[TraceEntry]

    model_config = ConfigDict(extra="forbid", populate_by_name=True, defer_build=True)
