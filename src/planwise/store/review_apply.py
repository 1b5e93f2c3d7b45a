"""Accepting a review: what each proposed change does to the plan document.

`apply_changes(doc, changes, kb, today)` returns a new `PlanDoc` (the input is
not touched) that `plans.save_doc` accepts and `plan lint` passes when the input
did. What each kind does (docs/review.md, "What accepting does"):

- add_intervention: the catalogue intervention `item` is added under its goal
  (origin "added"; a rejected goal is brought back). When the plan has no such
  goal but has the goal's problem,
  the goal is added with the catalogue's objectives (anticipated today + their
  target weeks, linked to the new intervention). An intervention that was
  rejected at drafting is restored instead.
- change_intervention: an intervention of modality `item` for `subject` (the
  catalogue's one for that goal or condition when there is one, else a short
  description), added under the subject's goal.
- review_alliance: an intervention "review the working alliance with the
  feedback" under the subject's goal (or the plan's first goal).
- step_up_frequency / step_up_care: the treatment's sessions per week become
  int(`item`) / its level of care becomes `item` (never lowered).
- refer: a referral of kind `item`, urgency `urgency`, the change's reason;
  a referral of that kind already in the plan keeps the higher urgency, a
  rejected one is restored.
- revise_objective: objective `subject` becomes "met" (actual = today) when
  `item` is "met"; otherwise ("revise") it gets a new anticipated date (`item`
  as a date, or a number of weeks from today, else today + the review interval)
  and stays open: status "revised" would count as closed in the review facts,
  the caseload and the session form, yet the objective is still worked on.
- end_treatment: a warning "discharge_planning": review every open objective,
  plan the ending and relapse prevention.
- reassess_risk: an assessment (a structured suicide-risk assessment, or the
  ASQ screen when `item` names it) and a warning "risk_reemerging".
- request_sessions: a warning "session_limit": ask the payer for more sessions
  or plan to end within the limit.

Every item added at a review says so in its text with the rules that proposed it
("added at the review of 2027-01-10; rules ..."): the store keeps `because` for
the drafting engine's rules only, so an added item's `because` stays empty. The
next review date becomes today + the treatment's review interval.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Any

from planwise.errors import InputError
from planwise.models.review import ProposedChange, Review
from planwise.store.models import (
    AssessmentItem,
    GoalItem,
    InterventionItem,
    ObjectiveItem,
    PlanDoc,
    PlanItem,
    ProblemItem,
    ReferralItem,
    TreatmentItem,
    WarningItem,
)

if TYPE_CHECKING:
    from planwise.kb.loader import KnowledgeBase
    from planwise.store.db import Conn

__all__ = ["ALLIANCE_MODALITY", "RISK_ASSESSMENT", "accept", "apply_changes"]

ALLIANCE_MODALITY = "person_centred"          # the relationship itself is the work
RISK_ASSESSMENT = "structured_risk_assessment"  # as the intake's [risk] section records it
_URGENCY = ("routine", "soon", "urgent", "immediate")


def _live(*items: PlanItem) -> bool:
    return all(i.origin != "proposed_rejected" for i in items)


def _keys(doc: PlanDoc) -> set[str]:
    out: set[str] = set()
    for p in doc.problems:
        out.add(p.key or "")
        for g in p.goals:
            out.add(g.key or "")
            out.update(o.key or "" for o in g.objectives)
            out.update(i.key or "" for i in g.interventions)
    for group in (doc.referrals, doc.assessments, doc.warnings):
        out.update(i.key or "" for i in group)
    if doc.treatment is not None:
        out.add(doc.treatment.key or "")
    return out


def _free_key(doc: PlanDoc, base: str) -> str:
    used = _keys(doc)
    key, n = base, 2
    while key in used:
        key, n = f"{base}#{n}", n + 1
    return key


def _restore(item: PlanItem) -> None:
    """Bring back a rejected item (save_doc works out proposed_accepted or _edited)."""
    if item.origin == "proposed_rejected":
        item.origin = None
        item.rejection_reason = None


class _Applier:
    def __init__(self, doc: PlanDoc, kb: KnowledgeBase, today: dt.date) -> None:
        self.doc = doc
        self.kb = kb
        self.today = today

    # --- finding places ---------------------------------------------------------------

    def goals(self) -> list[tuple[ProblemItem, GoalItem]]:
        return [(p, g) for p in self.doc.problems for g in p.goals if _live(p, g)]

    def goal_for(self, subject: str) -> tuple[ProblemItem, GoalItem] | None:
        """The goal a change's subject points at: a goal key, an objective key, a
        condition (its first goal) or an instrument (the goal measured by it)."""
        pairs = self.goals()
        for p, g in pairs:
            if subject in (g.key, g.key and g.key.split("#")[0]):
                return p, g
        for p, g in pairs:
            if any(o.key == subject for o in g.objectives):
                return p, g
        for p, g in pairs:
            if p.condition == subject:
                return p, g
        inst = self.kb.instruments.get(subject)
        if inst is not None:
            names = [n.lower() for n in (inst.name, inst.id)]
            for p, g in pairs:
                if any(n in o.measure.lower() for o in g.objectives for n in names):
                    return p, g
        return None

    def place(self, change: ProposedChange) -> tuple[ProblemItem, GoalItem]:
        found = self.goal_for(change.subject) if change.subject else None
        if found is None:
            # The plan's first goal, a suicide-risk goal only when there is no other.
            pairs = sorted(self.goals(), key=lambda pg: pg[0].condition == "suicide_risk")
            if not pairs:
                raise InputError(f"change {change.id}: the plan has no goal to add an "
                                 "intervention to")
            found = pairs[0]
        return found

    def stamp(self, change: ProposedChange) -> str:
        return f"added at the review of {self.today}; rules {', '.join(change.because)}"

    # --- the kinds --------------------------------------------------------------------

    def add_intervention(self, change: ProposedChange) -> None:
        found = self.kb.interventions.get(change.item)
        if found is None:
            raise InputError(f"change {change.id}: {change.item!r} is not an intervention "
                             "in the knowledge base")
        entry, goal_id = found
        for p in self.doc.problems:
            for g in p.goals:
                for iv in g.interventions:
                    if iv.key == entry.id:
                        _restore(p)
                        _restore(g)
                        _restore(iv)
                        return
        target = next(((p, g) for p in self.doc.problems for g in p.goals
                       if g.key == goal_id), None)
        iv = InterventionItem(key=_free_key(self.doc, entry.id), origin="added",
                              text=f"{entry.text} ({self.stamp(change)})",
                              modality=entry.modality)
        if target is not None:  # its goal, brought back if it was rejected
            _restore(target[0])
            _restore(target[1])
            target[1].interventions.append(iv)
            return
        kgoal = self.kb.goals.get(goal_id)
        problem = next((p for p in self.doc.problems
                        if _live(p) and kgoal is not None and p.condition == kgoal.condition),
                       None)
        if kgoal is None or problem is None:
            # The catalogue's goal is for a problem the plan does not have: add the
            # intervention where the change points (or to the first goal).
            self.place(change)[1].interventions.append(iv)
            return
        objectives = [ObjectiveItem(
            key=_free_key(self.doc, o.id), origin="added", text=o.text,
            client_tasks=[o.client_action], interventions=[iv.key or ""], measure=o.measure,
            anticipated=self.today + dt.timedelta(weeks=o.target_weeks))
            for o in kgoal.objectives]
        problem.goals.append(GoalItem(key=_free_key(self.doc, goal_id), origin="added",
                                      text=kgoal.text, objectives=objectives,
                                      interventions=[iv]))

    def change_intervention(self, change: ProposedChange) -> None:
        if change.item in self.kb.interventions:
            self.add_intervention(change)
            return
        p, g = self.place(change)
        base = (g.key or "").split("#")[0]
        catalogue = [e for e, gid in self.kb.interventions.values()
                     if e.modality == change.item and gid == base]
        catalogue += [e for e, gid in self.kb.interventions.values()
                      if e.modality == change.item and gid != base
                      and (kg := self.kb.goals.get(gid)) is not None
                      and kg.condition == p.condition]
        have = {iv.key for _, gg in self.goals() for iv in gg.interventions}
        entry = next((e for e in catalogue if e.id not in have), None)
        label = self.kb.label("modalities", change.item)
        text = (entry.text if entry is not None
                else f"Change of approach: {label}, in place of what has not helped so far")
        g.interventions.append(InterventionItem(
            key=_free_key(self.doc, entry.id if entry else f"review.{base}.{change.item}"),
            origin="added", text=f"{text}. Why: {change.reason} ({self.stamp(change)})",
            modality=entry.modality if entry else change.item))

    def review_alliance(self, change: ProposedChange) -> None:
        _p, g = self.place(change)
        modality = (change.item if change.item in self.kb.vocab.get("modalities", {})
                    else ALLIANCE_MODALITY)
        g.interventions.append(InterventionItem(
            key=_free_key(self.doc, f"review.alliance.{(g.key or '').split('#')[0]}"),
            origin="added", modality=modality,
            text="Review the working alliance: go through the end-of-session feedback with "
                 "the client, ask what is not helping, and agree what to change in the "
                 f"sessions. Why: {change.reason} ({self.stamp(change)})"))

    def step_up_frequency(self, change: ProposedChange) -> None:
        t = self.treatment(change)
        try:
            n = int(change.item)
        except ValueError:
            raise InputError(f"change {change.id}: the frequency {change.item!r} is not a "
                             "whole number") from None
        _restore(t)
        t.frequency_per_week = max(t.frequency_per_week, n)

    def step_up_care(self, change: ProposedChange) -> None:
        t = self.treatment(change)
        levels = self.kb.vocab.get("levels_of_care", {})
        if levels and change.item not in levels:
            raise InputError(f"change {change.id}: {change.item!r} is not a level of care")
        _restore(t)
        if self.kb.rank("levels_of_care", change.item) >= self.kb.rank("levels_of_care",
                                                                       t.level_of_care):
            t.level_of_care = change.item

    def treatment(self, change: ProposedChange) -> TreatmentItem:
        if self.doc.treatment is None:
            raise InputError(f"change {change.id}: the plan has no treatment section")
        return self.doc.treatment

    def refer(self, change: ProposedChange) -> None:
        urgency = change.urgency if change.urgency in _URGENCY else "routine"
        for r in self.doc.referrals:
            if r.kind == change.item:
                _restore(r)
                if _URGENCY.index(urgency) > _URGENCY.index(r.urgency):
                    r.urgency = urgency  # type: ignore[assignment]
                return
        self.doc.referrals.append(ReferralItem(
            key=_free_key(self.doc, f"referral.{change.item}"), origin="added",
            kind=change.item, urgency=urgency,  # type: ignore[arg-type]
            reason=f"{change.reason} ({self.stamp(change)})"))

    def revise_objective(self, change: ProposedChange) -> None:
        target = next((o for p, g in self.goals() for o in g.objectives
                       if o.key == change.subject), None)
        if target is None:
            raise InputError(f"change {change.id}: {change.subject!r} is not an objective of "
                             "the plan")
        _restore(target)
        if change.item == "met":
            target.status = "met"
            target.actual = target.actual or self.today
            return
        # A new anticipated date; the objective stays open (or partially met): the review
        # facts, the caseload and the session form count "revised" as closed, and a
        # revised objective is still being worked on. The version's reason, the audit
        # row and `plan diff` record the revision.
        if target.status not in ("open", "partially_met"):
            target.status = "open"
        target.anticipated = self.new_date(change)

    def new_date(self, change: ProposedChange) -> dt.date:
        item = change.item.strip()
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", item):
            return dt.date.fromisoformat(item)
        if item.isdigit() and int(item) > 0:
            return self.today + dt.timedelta(weeks=int(item))
        weeks = self.doc.treatment.review_weeks if self.doc.treatment else 4
        return self.today + dt.timedelta(weeks=weeks)

    def warn(self, change: ProposedChange, kind: str, message: str) -> None:
        self.doc.warnings.append(WarningItem(
            key=_free_key(self.doc, f"review.{kind}"), origin="added", kind=kind,
            message=f"{message} Why: {change.reason} ({self.stamp(change)})"))

    def end_treatment(self, change: ProposedChange) -> None:
        self.warn(change, "discharge_planning",
                  "Plan the ending: review every open objective with the client, agree the "
                  "last sessions, write a relapse-prevention plan and tell the referrer.")

    def reassess_risk(self, change: ProposedChange) -> None:
        instrument = "asq" if change.item == "asq" else RISK_ASSESSMENT
        if not any(a.instrument == instrument and _live(a) for a in self.doc.assessments):
            self.doc.assessments.append(AssessmentItem(
                key=_free_key(self.doc, f"review.assessment.{instrument}"), origin="added",
                instrument=instrument,
                reason=f"{change.reason} ({self.stamp(change)})"))
        self.warn(change, "risk_reemerging",
                  "Suicide risk may be re-emerging: complete a structured risk assessment "
                  "today and review the safety plan with the client.")

    def request_sessions(self, change: ProposedChange) -> None:
        self.warn(change, "session_limit",
                  "Ask the payer for more sessions, or plan to end within the authorised "
                  "limit with the objectives that matter most.")


def apply_changes(doc: PlanDoc, changes: list[ProposedChange], kb: KnowledgeBase,
                  today: dt.date) -> PlanDoc:
    """The document with the accepted changes applied (a copy; `doc` is not changed)."""
    out = doc.model_copy(deep=True)
    applier = _Applier(out, kb, today)
    for change in changes:
        getattr(applier, change.kind)(change)
    if changes and out.treatment is not None:
        out.review_date = today + dt.timedelta(weeks=out.treatment.review_weeks)
    return out


def accept(c: Conn, plan_id: int, review: Review, accepted: list[str], reason: str,
           kb: KnowledgeBase, today: dt.date) -> dict[str, Any]:
    """Apply the changes `accepted` (ids from `review`) and save the plan.

    A signed (or partly signed) current version is never changed: the result is
    version N+1 with `reason`. An unsigned draft is edited in place (its version
    number stays). Unknown ids: InputError naming the first, nothing saved. The
    audit log gets a `plan.review` row with the accepted change ids (ids only).
    Returns {version, new_version, changed, accepted}.
    """
    from planwise.store import ids
    from planwise.store.plans import current_version, get_plan, load_doc_for, save_doc

    if not reason.strip():
        raise InputError("--reason is required when accepting changes (it is recorded with "
                         "the new plan version)")
    by_id = {ch.id: ch for ch in review.changes}
    wanted = list(dict.fromkeys(accepted))
    unknown = [cid for cid in wanted if cid not in by_id]
    if unknown:
        what = "not a change" if len(unknown) == 1 else "not changes"
        raise InputError(f"--accept {', '.join(unknown)}: {what} this review proposes "
                         f"({len(by_id)} proposed on {review.today}); nothing was saved")
    before = current_version(c, plan_id)
    doc = load_doc_for(c, plan_id)
    new = apply_changes(doc, [by_id[i] for i in wanted], kb, today)

    with c.within():  # the plan and the record of its review land together
        version, changed = save_doc(c, plan_id, new, reason, source="<review>")
        plan = get_plan(c, plan_id)
        c.audit("plan.review", "plan", ids.fmt("plan", plan_id), client_id=plan["client_id"],
                plan_id=plan_id,
                detail={"version": version, "accepted": wanted, "date": today.isoformat(),
                        "new_version": version != before["version"], "changed": changed})
    return {"version": version, "new_version": version != before["version"],
            "previous_state": before["state"], "changed": changed, "accepted": wanted}


def record_no_changes(c: Conn, plan_id: int, review: Review, today: dt.date) -> int:
    """Record that the plan was reviewed on `today` and stays as it is: a `plan.review` audit
    row with no accepted change (ids and numbers only). It counts as the version's last
    review (the review-due flag clears); the plan itself is not touched. Returns the
    current version number."""
    from planwise.store import ids
    from planwise.store.plans import current_version, get_plan

    with c.transaction():
        plan = get_plan(c, plan_id)
        cur = current_version(c, plan_id)
        c.audit("plan.review", "plan", ids.fmt("plan", plan_id), client_id=plan["client_id"],
                plan_id=plan_id,
                detail={"version": cur["version"], "accepted": [], "date": today.isoformat(),
                        "new_version": False, "changed": False,
                        "proposed": len(review.changes)})
    return int(cur["version"])
