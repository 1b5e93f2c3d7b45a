"""The therapist's profile: competencies and trained modalities (the scope check)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from planwise.models.intake import Id


class Therapist(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    name: str
    credentials: str = ""
    competencies: list[Id] = []
    modalities: list[Id] = []
    # Present for trainees: their plans need a supervisor's co-signature.
    supervisor: str | None = None


class Profile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    therapist: Therapist
