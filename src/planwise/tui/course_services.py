"""The session notes', scores' and reviews' calls of `Services` (tui/services.py),
safe to call from workers like the rest."""

from __future__ import annotations

from typing import Any

from planwise.dates import today
from planwise.tui.draft_services import DraftServices


class CourseServices(DraftServices):
    def session_view(self, plan_id: int) -> dict[str, Any]:
        """The current version's open objectives, the session count and limit, a draft."""
        from planwise.store import sessions
        from planwise.store.drafts import load_draft
        from planwise.store.plans import current_version, get_plan, load_doc_for
        from planwise.tui.widgets.plan_model import open_objectives

        c = self.conn()
        plan = get_plan(c, plan_id)
        cur = current_version(c, plan_id)
        doc = load_doc_for(c, plan_id, cur["version"])
        last = c.one("SELECT number, date FROM sessions WHERE plan_id = ? ORDER BY number DESC "
                     "LIMIT 1", [plan_id])
        return {"version": cur["version"], "client_id": plan["client_id"],
                "objectives": [(o.key, o.text) for o in open_objectives(doc)],
                "used": last["number"] if last else 0, "last_date": last["date"] if last else None,
                "limit": sessions.session_limit(c, plan),
                "draft": load_draft(c, "session", f"P{plan_id}")}

    def session_add(self, plan_id: int, date: str, objectives: list[str], note: str,
                    unplanned: str | None, feedback: dict[str, int] | None = None,
                    measures: list[tuple[str, Any]] | None = None) -> dict[str, Any]:
        """Store the session with its feedback and the measures given at it, in one call
        (one transaction); the result names each measure's total, band and change."""
        from planwise.store.sessions import add_session

        extra: dict[str, Any] = {}
        if feedback:
            extra["feedback"] = feedback
        if measures:
            extra["measures"] = measures
            extra["instruments"] = self.kb.instruments
        out = add_session(self.conn(), plan_id, date, objectives, note, unplanned, **extra)
        self.drop_draft("session", f"P{plan_id}")
        return out

    def scores(self, client_id: int) -> dict[str, list[dict[str, Any]]]:
        """Per instrument the client's totals in date order, each later one with its change
        since the first (planwise.store.measures.series)."""
        from planwise.store.measures import series

        return series(self.conn(), client_id, self.kb.instruments)

    def review_view(self, plan_id: int) -> dict[str, Any]:
        """The plan's course today, the review rules' proposed changes and the timeline;
        `objectives`: every objective's text by its key (the screen names them so)."""
        from planwise.clinical.timeline import timeline
        from planwise.rules import review
        from planwise.store.course import load_course
        from planwise.store.plans import current_version, get_plan, load_doc_for

        c = self.conn()
        course = load_course(c, plan_id, today())
        cur = current_version(c, plan_id)
        doc = load_doc_for(c, plan_id, cur["version"])
        texts = {o.key: o.text for p in doc.problems for g in p.goals for o in g.objectives
                 if o.key}
        return {"course": course, "review": review(course, self.kb), "timeline": timeline(course),
                "state": cur["state"], "client_id": get_plan(c, plan_id)["client_id"],
                "objectives": texts}

    def review_accept(self, plan_id: int, review: Any, accepted: list[str],
                      reason: str) -> dict[str, Any]:
        """Apply the accepted changes to the plan document and save it (a signed version:
        the next version, with the reason); {version, new_version, changed, accepted}."""
        from planwise.store.review_apply import accept

        return accept(self.conn(), plan_id, review, accepted, reason, self.kb, today())

    def review_no_changes(self, plan_id: int, review: Any) -> int:
        """Record a review that keeps the plan as it is; the current version number."""
        from planwise.store.review_apply import record_no_changes

        return record_no_changes(self.conn(), plan_id, review, today())

