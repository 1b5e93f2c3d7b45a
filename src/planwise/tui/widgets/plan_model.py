"""What the plan editor, the session note and the client editor work on (no widgets here).

Pure functions over a PlanDoc: finding an objective by key, replacing it,
SMART lint per objective (planwise.store.lint.lint_doc), the status cycle.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from planwise.clinical.review_facts import OPEN_STATUSES
from planwise.store.lint import Finding, lint_doc
from planwise.store.models import ClientInfo, GoalItem, ObjectiveItem, PlanDoc, ProblemItem

STATUSES = ("open", "met", "partially_met", "not_met", "revised", "discontinued")
STATE_SHOWN = {"draft": "draft", "partly_signed": "partly signed", "signed": "signed"}


@dataclass
class PlanView:
    """One plan's current version with everything the editor shows about it."""

    plan_id: int
    client_id: int
    doc: PlanDoc
    version: int
    state: str                        # draft | partly_signed | signed
    row_version: int
    reason: str | None
    requires_supervisor: bool
    supervisor: str | None
    signatures: list[dict[str, Any]]
    info: ClientInfo
    sessions_used: int
    session_limit: int | None
    min_weeks: dict[str, int]
    instruments: list[str]
    therapist: str | None = None
    intake_id: int | None = None      # the intake the plan was drafted from (Why)
    draft: dict[str, Any] | None = None
    lint: list[Finding] = field(default_factory=list)


def status_label(status: str) -> str:
    return status.replace("_", " ")


def next_status(status: str) -> str:
    return STATUSES[(STATUSES.index(status) + 1) % len(STATUSES)] if status in STATUSES \
        else STATUSES[0]


def when_text(iso: str) -> str:
    """A stored UTC timestamp as local 'YYYY-MM-DD HH:MM'."""
    try:
        return dt.datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return iso


def objectives(doc: PlanDoc) -> list[tuple[ProblemItem, GoalItem, ObjectiveItem]]:
    return [(p, g, o) for p in doc.problems for g in p.goals for o in g.objectives]


def find_objective(doc: PlanDoc, key: str
                   ) -> tuple[ProblemItem, GoalItem, ObjectiveItem] | None:
    for p, g, o in objectives(doc):
        if o.key == key:
            return p, g, o
    return None


def replace_objective(doc: PlanDoc, new: ObjectiveItem) -> bool:
    for p in doc.problems:
        for g in p.goals:
            for i, o in enumerate(g.objectives):
                if o.key == new.key:
                    g.objectives[i] = new
                    return True
    return False


def is_rejected(*items: Any) -> bool:
    return any(getattr(i, "origin", None) == "proposed_rejected" for i in items)


def findings_by_key(doc: PlanDoc, min_weeks: dict[str, int], instruments: list[str]
                    ) -> dict[str, list[Finding]]:
    out: dict[str, list[Finding]] = {}
    for f in lint_doc(doc, min_weeks, instruments):
        out.setdefault(f.objective, []).append(f)
    return out


def lint_one(doc: PlanDoc, problem: ProblemItem, goal: GoalItem, candidate: ObjectiveItem,
             min_weeks: dict[str, int], instruments: list[str]) -> list[Finding]:
    """SMART findings of one (possibly half-typed) objective in its place in the plan."""
    g = goal.model_copy(update={"objectives": [candidate]})
    p = problem.model_copy(update={"goals": [g]})
    small = doc.model_copy(update={"problems": [p]})
    found = lint_doc(small, min_weeks, instruments)
    if not candidate.client_tasks:
        found.insert(0, Finding(candidate.key or "?", "S", "no client task"))
    return found


def open_objectives(doc: PlanDoc) -> list[ObjectiveItem]:
    """Objectives a session can still work on: not rejected, not closed."""
    return [o for p, g, o in objectives(doc)
            if not is_rejected(p, g, o) and o.status in OPEN_STATUSES]


def problem_of(doc: PlanDoc, key: str) -> ProblemItem | None:
    """The problem with this key, or the problem a goal or objective with this key is under."""
    for p in doc.problems:
        if p.key == key or any(g.key == key or any(o.key == key for o in g.objectives)
                               for g in p.goals):
            return p
    return None


def why_target(doc: PlanDoc, key: str) -> tuple[str, list[str], dict[str, str]]:
    """(title, the rules that proposed it, context for the Why screen) of an item."""
    because: list[str] = []
    title = key
    ctx: dict[str, str] = {}
    for w in doc.warnings:
        if w.key == key:
            because, title = w.because, f"warning {w.kind}"
            ctx = {"kind": "warning", "id": w.kind}
    for p in doc.problems:
        if p.key == key:
            because, title = p.because, f"{p.condition} ({p.severity})"
            ctx = {"kind": "problem", "condition": p.condition}
        for g in p.goals:
            if g.key == key:
                held = g.deferred.because if g.deferred is not None else []
                because = [*g.because, *(r for r in held if r not in g.because)]
                title = g.text
                ctx = {"kind": "goal", "condition": p.condition, "goal": g.key or ""}
            for o in g.objectives:
                if o.key == key:
                    because, title = o.because, o.text
                    ctx = {"kind": "objective", "condition": p.condition, "goal": g.key or ""}
            for i in g.interventions:
                if i.key == key:
                    because, title = i.because, i.text
                    ctx = {"kind": "intervention", "condition": p.condition,
                           "goal": g.key or ""}
    t = doc.treatment
    if t is not None and t.key == key:
        because, title, ctx = t.because, "the treatment block", {"kind": "treatment"}
    for r in doc.referrals:
        if r.key == key:
            because, title = r.because, f"referral to {r.kind.replace('_', ' ')}"
            ctx = {"kind": "referral", "id": r.kind}
    for a in doc.assessments:
        if a.key == key:
            because, title = a.because, f"give the {a.instrument}"
            ctx = {"kind": "assessment", "id": a.instrument}
    return title, because, ctx
