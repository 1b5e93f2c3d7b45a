"""pydantic models of the knowledge files: vocabulary, rules, goals.

These describe the TOML as written. Rule conditions (`when`) and conclusions
(`then`) are parsed further in `planwise.kb.patterns`, where they are checked
against the fact vocabulary of `planwise.facts`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from planwise.facts import ALL_STAGES

Id = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$")]
DottedId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")]
Text = Annotated[str, StringConstraints(min_length=1)]
Stage = Literal[ALL_STAGES]  # type: ignore[valid-type]
Icd10Prefix = Annotated[str, StringConstraints(
    pattern=r"^[A-Z][0-9](?:[0-9A-Z](?:\.[0-9A-Z]{1,4})?)?$")]


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class VocabEntry(_Entry):
    id: Id
    label: Text
    rank: int = 0
    # Conditions only: False for problems the engine derives (suicide_risk),
    # which an intake may not name as a concern or impression.
    intake: bool = True
    # Conditions only: counts as serious mental illness (IPS, community teams).
    smi: bool = False
    # Conditions only: False for conditions planwise recognises but has no plan
    # rules for (eating disorders, OCD, ...): refer, never improvise a plan.
    plan: bool = True
    # Conditions only: ICD-10-CM code prefixes that name it in clinician.diagnoses
    # (the longest prefix wins): a category ("F0", "F32") or a dotted subcategory
    # ("F40.1", "F31.81"), so that one category can be split between conditions.
    icd10: list[Icd10Prefix] = []
    note: str = ""


class Vocabulary(_Entry):
    conditions: list[VocabEntry] = []
    concerns: list[VocabEntry] = []
    modalities: list[VocabEntry] = []
    referral_kinds: list[VocabEntry] = []
    urgencies: list[VocabEntry] = []
    levels_of_care: list[VocabEntry] = []
    warning_kinds: list[VocabEntry] = []
    severities: list[VocabEntry] = []


class RuleEntry(_Entry):
    id: DottedId
    stage: Stage
    source: Text
    says: Text
    when: list[dict[str, Any]] = Field(min_length=1)
    then: list[dict[str, Any]] = Field(min_length=1)
    enabled: bool = True


class ObjectiveEntry(_Entry):
    id: DottedId
    text: Text
    client_action: Text
    measure: Text
    target_weeks: Annotated[int, Field(ge=1, le=156)]


class InterventionEntry(_Entry):
    id: DottedId
    text: Text
    modality: Id


Phase = Literal["stabilise", "treat", "maintain"]


class GoalEntry(_Entry):
    id: DottedId
    condition: Id
    text: Text
    source: Text
    # stabilise: safety, crisis, withdrawal, stabilisation skills; treat: the core
    # work; maintain: relapse prevention and ending well. Goals are listed in
    # phase order within a problem.
    phase: Phase = "treat"
    objectives: list[ObjectiveEntry] = []
    interventions: list[InterventionEntry] = []
    enabled: bool = True


class OverrideEntry(_Entry):
    """A clinic's explicit, reasoned change to safety-critical knowledge."""

    # A rule id, a goal id, or "instrument:<id>".
    id: Annotated[str, StringConstraints(pattern=r"^(instrument:)?[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")]
    reason: Annotated[str, StringConstraints(min_length=10, max_length=500)]


class SafetyCritical(_Entry):
    """What a clinic folder may not disable, replace or weaken without an override.
    Entries are ids or shell-style patterns (`risk.level.*`)."""

    rules: list[str] = []
    goals: list[str] = []
    instruments: list[str] = []


class KnowledgeFile(_Entry):
    about: str = ""
    rules: list[RuleEntry] = []
    goals: list[GoalEntry] = []
    # The review (knowledge/review/measures.toml): condition -> the instrument
    # that is its primary measure, and instrument -> the flags that signal risk.
    primary_measures: dict[Id, Id] = {}
    risk_flags: dict[Id, list[Id]] = {}
    # knowledge/safety.toml: what is safety-critical. A clinic file: its overrides.
    safety_critical: SafetyCritical | None = None
    overrides: list[OverrideEntry] = []
