"""A plan's course so far, read from the store: the `Course` the review reads.

`load_course(c, plan_id, today)` gathers, for the plan's current version:

- the objectives that are not rejected (nor under a rejected goal or problem),
  each with its anticipated date, status and the progress ratings the sessions
  gave it, in session order;
- the treatment (sessions per week, level of care, review interval), the
  problems with their severity, the modalities of the interventions, the kinds
  of referral already in the plan, the risk level;
- `last_review`: the day of the last accepted review of this version (the
  review's --date, from its audit row), else the version's date when the
  version is a revision (N > 1);
- the sessions held up to `today` and the payer's authorised limit;
- every score the client has up to `today`, per instrument, oldest first (the
  intake's scores are the baseline), with the session number when a score was
  given at a session of this plan;
- the end-of-session feedback of this plan's sessions.

Nothing is written. Records dated after `today` are left out, so a review can be
replayed as of an earlier day (`planwise review P1 --date 2027-01-10`).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from planwise.clinical.course import (
    Course,
    FeedbackEntry,
    ObjectiveCourse,
    Point,
    RiskEntry,
    Series,
)
from planwise.store.db import Conn
from planwise.store.models import PlanDoc
from planwise.store.plans import doc_from_rows, plan_and_version, version_rows
from planwise.store.sessions import session_limit

__all__ = ["course_from_doc", "last_review", "load_course", "version_date"]


def version_date(created_at: str) -> dt.date:
    """The calendar date of a stored timestamp (ISO 8601, UTC)."""
    return dt.date.fromisoformat(created_at[:10])


def _live(item: Any) -> bool:
    return getattr(item, "origin", None) != "proposed_rejected"


def course_from_doc(doc: PlanDoc, today: dt.date, *, last_review: dt.date | None = None,
                    sessions_used: int = 0, session_limit: int | None = None,
                    ratings: dict[str, list[int]] | None = None,
                    measures: list[Series] | None = None,
                    feedback: list[FeedbackEntry] | None = None) -> Course:
    """The Course of a plan document plus what the store knows besides the document."""
    ratings = ratings or {}
    problems: dict[str, str] = {}
    modalities: list[str] = []
    objectives: list[ObjectiveCourse] = []
    for p in doc.problems:
        if not _live(p):
            continue
        problems.setdefault(p.condition, p.severity)
        for g in p.goals:
            if not _live(g):
                continue
            for iv in g.interventions:
                if _live(iv) and iv.modality not in modalities:
                    modalities.append(iv.modality)
            for o in g.objectives:
                if not _live(o) or o.key is None:
                    continue
                objectives.append(ObjectiveCourse(
                    key=o.key, goal=g.key or "", condition=p.condition,
                    target_date=o.anticipated, status=o.status,
                    ratings=ratings.get(o.key, [])))
    t = doc.treatment if doc.treatment is not None and _live(doc.treatment) else None
    extra: dict[str, Any] = {}
    if t is not None:
        extra = {"frequency_per_week": t.frequency_per_week, "level_of_care": t.level_of_care,
                 "review_weeks": t.review_weeks}
    return Course(
        plan=doc.plan, today=today, start_date=doc.start_date, version=doc.version,
        sessions_used=sessions_used, session_limit=session_limit,
        last_review=last_review, risk_level=doc.risk_level, problems=problems,
        modalities=modalities,
        referrals=list(dict.fromkeys(r.kind for r in doc.referrals if _live(r))),
        objectives=objectives, measures=measures or [], feedback=feedback or [], **extra)


def last_review(c: Conn, plan_id: int, version: dict[str, Any]) -> dt.date | None:
    """The day of the last accepted review of this version (`planwise review --accept`,
    its --date), else the version's date when it is a revision (N > 1), else None."""
    row = c.one("SELECT max(json_extract(detail, '$.date')) AS day FROM audit WHERE "
                "plan_id = ? AND action = 'plan.review' AND "
                "json_extract(detail, '$.version') = ?", [plan_id, version["version"]])
    if row is not None and row["day"]:
        return dt.date.fromisoformat(row["day"])
    return version_date(version["created_at"]) if version["version"] > 1 else None


def load_course(c: Conn, plan_id: int, today: dt.date) -> Course:
    """The course of plan `plan_id` as of `today` (see the module's docstring)."""
    plan, v = plan_and_version(c, plan_id)
    doc = doc_from_rows(plan, v, version_rows(c, v["id"]))
    day = today.isoformat()
    sessions = c.query("SELECT id, number, date FROM sessions WHERE plan_id = ? AND date <= ? "
                       "ORDER BY number", [plan_id, day])
    ratings: dict[str, list[int]] = {}
    for r in c.query("SELECT so.objective_key AS key, so.rating FROM session_objectives so "
                     "JOIN sessions s ON s.id = so.session_id WHERE s.plan_id = ? AND "
                     "s.date <= ? AND so.rating IS NOT NULL ORDER BY s.number, so.position",
                     [plan_id, day]):
        ratings.setdefault(r["key"], []).append(int(r["rating"]))
    series: dict[str, list[Point]] = {}
    for m in c.query("SELECT m.instrument, m.date, m.total, m.band, m.flags, "
                     "CASE WHEN s.plan_id = ? THEN s.number END AS number FROM measures m "
                     "LEFT JOIN sessions s ON s.id = m.session_id WHERE m.client_id = ? AND "
                     "m.date <= ? ORDER BY m.instrument, m.date, m.id",
                     [plan_id, plan["client_id"], day]):
        series.setdefault(m["instrument"], []).append(Point(
            date=dt.date.fromisoformat(m["date"]), total=int(m["total"]), band=m["band"] or "",
            flags=list(json.loads(m["flags"] or "[]")), session=m["number"]))
    feedback = [FeedbackEntry(session=int(r["number"]), answers=json.loads(r["answers"]))
                for r in c.query("SELECT s.number, f.answers FROM session_feedback f JOIN "
                                 "sessions s ON s.id = f.session_id WHERE s.plan_id = ? AND "
                                 "s.date <= ? ORDER BY s.number", [plan_id, day])]
    reviewed = last_review(c, plan_id, v)
    since = None
    if reviewed is not None:
        # A session on the review's own day came before the review.
        since = sum(1 for s in sessions if s["date"] > reviewed.isoformat())
    course = course_from_doc(
        doc, today, last_review=reviewed,
        sessions_used=len(sessions), session_limit=session_limit(c, plan), ratings=ratings,
        measures=[Series(instrument=k, points=pts) for k, pts in series.items()],
        feedback=feedback)
    course.sessions_since_review = since
    course.risk_history = _risk_history(c, plan_id, v)
    return course


def _risk_history(c: Conn, plan_id: int, current: dict[str, Any]) -> list[RiskEntry]:
    """The plan's risk level by version up to the one under review: version 1 from the
    plan's start, each revision from the day it was made (when its level took effect)."""
    history = []
    for row in c.query("SELECT version, start_date, created_at, risk_level FROM plan_versions "
                       "WHERE plan_id = ? AND version <= ? ORDER BY version",
                       [plan_id, current["version"]]):
        day = row["start_date"] if row["version"] == 1 else row["created_at"][:10]
        history.append(RiskEntry(date=dt.date.fromisoformat(day), level=row["risk_level"]))
    return history
