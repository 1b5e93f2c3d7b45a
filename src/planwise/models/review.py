"""The review: plan changes the review rules propose from a plan's course so far.

Each change carries the rules that proposed it (`because`) and the progress
facts they matched (`facts`, described in words), like the drafting proposal.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from planwise.models.proposal import Because, TraceEntry

REVIEW_SCHEMA: Literal["planwise.review/1"] = "planwise.review/1"

# What a change does to the plan when it is accepted (see docs/review.md):
#   review_alliance     add an intervention: talk about the alliance and the feedback
#   change_intervention add an intervention of another modality (`item`) for `subject`
#   add_intervention    add the catalogue intervention `item` (its goal's objectives stay)
#   step_up_frequency   sessions per week become int(`item`)
#   step_up_care        level of care becomes `item`
#   refer               add a referral of kind `item`, urgency `urgency`
#   revise_objective    objective `subject` is marked met or revised, with a new target
#   end_treatment       plan for ending: every open objective reviewed, discharge planned
#   reassess_risk       a structured suicide-risk assessment now; safety plan reviewed
#   request_sessions    ask the payer for more sessions (or plan to end within the limit)
ChangeKind = Literal[
    "review_alliance", "change_intervention", "add_intervention", "step_up_frequency",
    "step_up_care", "refer", "revise_objective", "end_treatment", "reassess_risk",
    "request_sessions",
]


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)


class ProposedChange(_Out):
    id: str                   # stable within a review: kind:subject:item
    kind: ChangeKind
    subject: str = ""         # an objective key, goal id, condition or instrument
    item: str = ""            # intervention id, modality, referral kind, level, frequency
    urgency: str = ""         # refer only: routine | soon | urgent | immediate
    reason: str               # the rule's words, filled in
    because: Because          # rule ids
    facts: list[str] = []     # the progress facts the rules matched, in words


class Review(_Out):
    schema_: Literal["planwise.review/1"] = Field(REVIEW_SCHEMA, alias="schema")
    plan: str
    today: dt.date
    facts: list[str] = []     # every progress fact, in words
    changes: list[ProposedChange] = []
    trace: list[TraceEntry] = []
