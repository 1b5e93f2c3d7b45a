"""The plan editor's decisions on a plan's interventions, treatment block, referrals and
assessments: find one by key, reject it with a reason, accept it again, change its
fields, add one. Pure functions over a PlanDoc (no Textual); the store computes
origins on save (accepted, edited), except proposed_rejected and added, set here.

An item you added and then reject is taken out (the store keeps rejections only for
what the engine proposed). An intervention you add serves its goal: each of the goal's
objectives is linked to it (the R of SMART).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from planwise.store.models import (
    AssessmentItem,
    GoalItem,
    InterventionItem,
    PlanDoc,
    PlanItem,
    ReferralItem,
    TreatmentItem,
)

# The kinds decided here, and the tree's header nodes they hang under.
DECIDED = ("intervention", "treatment", "referral", "assessment")
REFERRALS, ASSESSMENTS, NO_TREATMENT = "@referrals", "@assessments", "@treatment"


def find(doc: PlanDoc, key: str) -> tuple[str, PlanItem, GoalItem | None] | None:
    """(kind, item, its goal for an intervention) of the item with this key."""
    for p in doc.problems:
        for g in p.goals:
            for i in g.interventions:
                if i.key == key:
                    return "intervention", i, g
    if doc.treatment is not None and doc.treatment.key == key:
        return "treatment", doc.treatment, None
    for r in doc.referrals:
        if r.key == key:
            return "referral", r, None
    for a in doc.assessments:
        if a.key == key:
            return "assessment", a, None
    return None


def goal_of(doc: PlanDoc, key: str) -> GoalItem | None:
    """The goal with this key, or the goal an objective or intervention is under."""
    for p in doc.problems:
        for g in p.goals:
            if g.key == key or any(x.key == key for x in [*g.objectives, *g.interventions]):
                return g
    return None


def _keys(doc: PlanDoc) -> set[str]:
    out = {x.key for p in doc.problems for g in p.goals
           for x in [g, *g.objectives, *g.interventions]} | {p.key for p in doc.problems}
    out |= {x.key for x in [*doc.referrals, *doc.assessments, *doc.warnings]}
    if doc.treatment is not None:
        out.add(doc.treatment.key)
    return {k for k in out if k}


def new_key(doc: PlanDoc, kind: str) -> str:
    used = _keys(doc)
    n = 1
    while f"added.{kind}.{n}" in used:
        n += 1
    return f"added.{kind}.{n}"


def reject(doc: PlanDoc, key: str, reason: str) -> str:
    """Reject the item (with the reason), or take it out when you added it. Returns
    'rejected' or 'removed'."""
    found = find(doc, key)
    assert found is not None
    kind, item, goal = found
    if item.origin == "added":
        remove(doc, key)
        return "removed"
    item.origin, item.rejection_reason = "proposed_rejected", reason.strip()
    return "rejected"


def accept(doc: PlanDoc, key: str) -> bool:
    """Take back a rejection; False when the item was not rejected."""
    found = find(doc, key)
    assert found is not None
    item = found[1]
    if item.origin != "proposed_rejected":
        return False
    item.origin, item.rejection_reason = None, None   # the store computes accepted / edited
    return True


def remove(doc: PlanDoc, key: str) -> None:
    for p in doc.problems:
        for g in p.goals:
            if any(i.key == key for i in g.interventions):
                g.interventions = [i for i in g.interventions if i.key != key]
                for o in g.objectives:
                    o.interventions = [k for k in o.interventions if k != key]
    if doc.treatment is not None and doc.treatment.key == key:
        doc.treatment = None
    doc.referrals = [r for r in doc.referrals if r.key != key]
    doc.assessments = [a for a in doc.assessments if a.key != key]


def values(kind: str, item: PlanItem) -> dict[str, Any]:
    """The item's editable fields, as the dialog shows them."""
    return item.model_dump(mode="json", exclude={"key", "origin", "rejection_reason",
                                                 "because"})


def edit(doc: PlanDoc, key: str, changes: dict[str, Any]) -> bool:
    """Change the item's fields; False when nothing changed."""
    found = find(doc, key)
    assert found is not None
    kind, item, _goal = found
    changed = {k: v for k, v in changes.items() if getattr(item, k) != v}
    for name, value in changed.items():
        setattr(item, name, value)
    if isinstance(item, TreatmentItem) and "review_weeks" in changed:
        doc.review_date = doc.start_date + dt.timedelta(weeks=int(changed["review_weeks"]))
    return bool(changed)


def add(doc: PlanDoc, kind: str, fields: dict[str, Any], goal_key: str | None = None) -> str:
    """Add an intervention (under the goal), a referral, an assessment or the treatment
    block (when there is none). Returns the new item's key."""
    key = new_key(doc, kind)
    if kind == "intervention":
        goal = goal_of(doc, goal_key or "")
        assert goal is not None
        goal.interventions.append(InterventionItem(key=key, origin="added", **fields))
        for o in goal.objectives:
            o.interventions.append(key)
    elif kind == "referral":
        doc.referrals.append(ReferralItem(key=key, origin="added", **fields))
    elif kind == "assessment":
        doc.assessments.append(AssessmentItem(key=key, origin="added", **fields))
    else:
        assert doc.treatment is None
        doc.treatment = TreatmentItem(key=key, origin="added", **fields)
        doc.review_date = doc.start_date + dt.timedelta(weeks=int(fields["review_weeks"]))
    return key
