"""From the proposal review's decisions to a plan document: rejections (with reasons),
edits and additions applied to a freshly drafted document, in place. Covers the tree
(problems, goals, objectives, interventions) and the side panel (the treatment block,
referrals, assessments). Pure Python: no Textual, no SQLite."""

from __future__ import annotations

import datetime as dt
from typing import Any

from planwise.store.models import (
    AssessmentItem,
    GoalItem,
    InterventionItem,
    ObjectiveItem,
    PlanDoc,
    ProblemItem,
    ReferralItem,
    TreatmentItem,
)
from planwise.tui.widgets.proposal_model import KINDS, Review


def _set_fields(item: Any, edit: dict[str, Any], doc: PlanDoc) -> None:
    start = doc.start_date
    for name, value in edit.items():
        if name == "client_action":
            item.client_tasks = [value]
        elif name == "target_weeks":
            item.anticipated = start + dt.timedelta(weeks=int(value))
        else:
            setattr(item, name, value)
            if isinstance(item, TreatmentItem) and name == "review_weeks":
                doc.review_date = start + dt.timedelta(weeks=int(value))


def apply_to_doc(doc: PlanDoc, review: Review) -> list[str]:
    """Apply rejections (with reasons), edits and additions to a freshly drafted plan
    document, in place. Rejecting a problem or a goal rejects what hangs under it
    (unless already rejected). Returns notes on anything that could not be applied."""
    notes: list[str] = []
    start = doc.start_date

    def reject_tree(item: Any, reason: str, what: str) -> None:
        children = item.goals if isinstance(item, ProblemItem) else \
            [*item.objectives, *item.interventions] if isinstance(item, GoalItem) else []
        for child in children:
            if child.origin != "proposed_rejected" and child.origin != "added":
                child.origin = "proposed_rejected"
                child.rejection_reason = f"rejected with its {what}: {reason}"
            reject_tree(child, reason, what)

    def apply(item: Any) -> None:
        key = item.key or ""
        d = review.decisions.get(key, {})
        _set_fields(item, d.get("edit") or {}, doc)
        if d.get("reject"):
            item.origin = "proposed_rejected"
            item.rejection_reason = d["reject"]
        else:
            item.origin = None          # computed by save_doc: accepted or edited
            item.rejection_reason = None
        if isinstance(item, ProblemItem):
            # Only a screen-only problem is confirmed: a confirmation kept from before a
            # what-if that gave the problem another basis has nothing left to confirm.
            item.confirmed = True if (d.get("confirm") and not d.get("reject")
                                      and item.basis == "screen_only") else None

    goals: dict[str, GoalItem] = {}
    problems = {p.key: p for p in doc.problems}
    for p in doc.problems:
        apply(p)
        for g in p.goals:
            goals[g.key or ""] = g
            apply(g)
            for o in g.objectives:
                apply(o)
            for i in g.interventions:
                apply(i)
    for p in doc.problems:
        if p.origin == "proposed_rejected":
            reject_tree(p, p.rejection_reason or "", "problem")
        for g in p.goals:
            if g.origin == "proposed_rejected" and p.origin != "proposed_rejected":
                reject_tree(g, g.rejection_reason or "", "goal")
    for side in [*([doc.treatment] if doc.treatment else []), *doc.referrals,
                 *doc.assessments]:
        apply(side)

    def live(x: Any) -> bool:
        return x is not None and x.origin != "proposed_rejected"

    # Added goals first, so objectives and interventions can hang under them.
    ordered = sorted((it for it in review.added if it.kind in KINDS),
                     key=lambda it: KINDS.index(it.kind))
    for it in ordered:
        f = it.fields
        if it.kind == "goal":
            prob = problems.get(it.parent)
            if not live(prob):
                notes.append(f"{it.key}: its problem is rejected or no longer proposed")
                continue
            g = GoalItem(key=it.key, text=f["text"], objectives=[], interventions=[],
                         origin="added")
            prob.goals.append(g)  # type: ignore[union-attr]
            goals[it.key] = g
    for it in ordered:
        if it.kind not in ("objective", "intervention"):
            continue
        goal = goals.get(it.parent or "")
        if not live(goal):
            notes.append(f"{it.key}: its goal is rejected or no longer proposed")
            continue
        assert goal is not None
        f = it.fields
        if it.kind == "intervention":
            added = InterventionItem(key=it.key, text=f["text"],
                                     modality=f.get("modality") or "other", origin="added")
            goal.interventions.append(added)
            # It serves the goal's objectives: each is linked to it (the R of SMART).
            for o in goal.objectives:
                if it.key not in o.interventions:
                    o.interventions.append(it.key)
    for it in ordered:
        goal = goals.get(it.parent or "")
        if it.kind != "objective" or not live(goal):
            continue
        assert goal is not None
        f = it.fields
        goal.objectives.append(ObjectiveItem(
            key=it.key, text=f["text"], client_tasks=[f["client_action"]], measure=f["measure"],
            anticipated=start + dt.timedelta(weeks=int(f["target_weeks"])),
            interventions=[i.key for i in goal.interventions if i.key and live(i)],
            origin="added"))
    for it in review.added:
        f = it.fields
        if it.kind == "referral":
            doc.referrals.append(ReferralItem(key=it.key, kind=f["kind"], urgency=f["urgency"],
                                              reason=f["reason"], origin="added"))
        elif it.kind == "assessment":
            doc.assessments.append(AssessmentItem(key=it.key, instrument=f["instrument"],
                                                  reason=f["reason"], origin="added"))
    return notes
