"""End-of-session feedback in the store: one row per session (`session_feedback`,
migration 6), append-only like the session note it belongs to.

The form is planwise's own (knowledge/feedback.toml, `planwise.clinical.feedback`):
every item answered 0-10. A low answer, or a mean falling from the previous
session's, is a signal to review the alliance (`planwise.clinical.feedback.summarise`).
Audit rows (`feedback.add`) hold ids and numbers only.
"""

from __future__ import annotations

import json
from typing import Any

from planwise.errors import InputError
from planwise.store import ids
from planwise.store.db import Conn, now


def _previous(c: Conn, plan_id: int, number: int) -> dict[str, int] | None:
    """The answers of the latest earlier session of the plan that has feedback."""
    row = c.one("SELECT f.answers FROM session_feedback f JOIN sessions s ON "
                "s.id = f.session_id WHERE s.plan_id = ? AND s.number < ? "
                "ORDER BY s.number DESC LIMIT 1", [plan_id, number])
    return json.loads(row["answers"]) if row else None


def add_feedback(c: Conn, session_id: int, answers: dict[str, int]) -> dict[str, Any]:
    """Store a session's feedback; returns {session_id, session, answers, mean, lowest,
    low, falling}. Works inside the caller's transaction (a session note being saved) or
    opens its own. A session has at most one feedback row."""
    from planwise.clinical.feedback import check_answers, load_form, summarise

    form = load_form()
    answers = check_answers(dict(answers), form)
    with c.within():
        s = c.one("SELECT s.id, s.number, s.plan_id, p.client_id FROM sessions s JOIN plans p "
                  "ON p.id = s.plan_id WHERE s.id = ?", [session_id])
        name = ids.fmt("session", session_id)
        if s is None:
            raise InputError(f"no session {name}")
        if c.one("SELECT 1 AS x FROM session_feedback WHERE session_id = ?", [session_id]):
            raise InputError(f"{name} already has feedback; feedback cannot be changed")
        summary = summarise(answers, _previous(c, s["plan_id"], s["number"]), form)
        c.insert("session_feedback", {
            "session_id": session_id, "answers": json.dumps(answers), "mean": summary.mean,
            "lowest": summary.lowest, "created_at": now()})
        c.audit("feedback.add", "session", name, client_id=s["client_id"],
                plan_id=s["plan_id"], detail={
                    "number": s["number"], "answers": answers, "mean": summary.mean,
                    "lowest": summary.lowest, "low": summary.low, "falling": summary.falling})
    return {"session_id": session_id, "session": s["number"], "answers": answers,
            "mean": summary.mean, "lowest": summary.lowest, "low": summary.low,
            "falling": summary.falling}


def for_plan(c: Conn, plan_id: int) -> list[dict[str, Any]]:
    """The plan's feedback in session order: [{session (number), session_id, date, answers,
    mean, lowest, low, falling}], low/falling judged against the previous feedback."""
    from planwise.clinical.feedback import load_form, summarise
    from planwise.store.plans import get_plan

    get_plan(c, plan_id)
    form = load_form()
    out: list[dict[str, Any]] = []
    previous: dict[str, int] | None = None
    for r in c.query("SELECT s.id, s.number, s.date, f.answers, f.mean, f.lowest FROM "
                     "session_feedback f JOIN sessions s ON s.id = f.session_id "
                     "WHERE s.plan_id = ? ORDER BY s.number", [plan_id]):
        answers = json.loads(r["answers"])
        summary = summarise(answers, previous, form)
        out.append({"session": r["number"], "session_id": r["id"], "date": r["date"],
                    "answers": answers, "mean": r["mean"], "lowest": r["lowest"],
                    "low": summary.low, "falling": summary.falling})
        previous = answers
    return out


def render_line(f: dict[str, Any]) -> str:
    """`heard 8, mattered 7, approach 9, overall 8 (mean 8, lowest 7)` plus any signal."""
    items = ", ".join(f"{k} {v}" for k, v in f["answers"].items())
    signals = [w for w, on in (("LOW: an answer below the form's threshold", f["low"]),
                               ("FALLING since the previous session", f["falling"])) if on]
    text = f"{items} (mean {f['mean']:g}, lowest {f['lowest']})"
    return text + ("; " + "; ".join(signals) + ": review the alliance" if signals else "")
