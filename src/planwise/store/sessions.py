"""Session notes: each session against the plan's current version, the objectives it
served with a progress rating, and the count against the payer's authorised limit.

Sessions are clinical records and append-only: the database refuses UPDATE and
DELETE of `sessions` and `session_objectives` (triggers, migration 4), and the
CLI has no command to change or delete one. Every session adds an audit row
(ids, numbers and ratings only; never the note).

Progress rating (per objective, optional): a whole number 0-10,
0 = no progress or worse, 5 = about halfway, 10 = the objective's criterion met.

A session may also carry the client's end-of-session feedback
(`planwise.store.feedback`) and measures given at the session
(`planwise.store.measures`, source 'session'); the note, its feedback and its
measures are saved in one transaction, so either all are kept or none.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from planwise.dates import check_record_date, parse_date
from planwise.errors import InputError
from planwise.store import ids
from planwise.store.db import Conn, now
from planwise.store.plans import current_version, get_plan
from planwise.text import refuse_controls

if TYPE_CHECKING:
    from planwise.clinical.instruments import Instrument

MAX_NOTE = 20000
RATING_MIN, RATING_MAX = 0, 10


@dataclass(frozen=True)
class Addressed:
    key: str
    rating: int | None


def parse_objective(text: str) -> Addressed:
    """`KEY` or `KEY:RATING` (RATING 0-10)."""
    t = text.strip()
    key, rating = t, None
    m = re.fullmatch(r"(.+):\s*([^:]*)", t)
    if m:
        key, raw = m.group(1).strip(), m.group(2).strip()
        if not re.fullmatch(r"\d+", raw) or not RATING_MIN <= int(raw) <= RATING_MAX:
            raise InputError(f"--objective {key}: the progress rating must be a whole number "
                             f"from {RATING_MIN} to {RATING_MAX}")
        rating = int(raw)
    if not key:
        raise InputError("--objective needs an objective id (like depression.activity.monitor)")
    return Addressed(key, rating)


def session_limit(c: Conn, plan: dict[str, Any]) -> int | None:
    """The payer's authorised sessions: the plan's intake's context.session_limit."""
    if plan.get("intake_id") is None:
        return None
    row = c.one("SELECT json_extract(data, '$.context.session_limit') AS n FROM intakes "
                "WHERE id = ?", [plan["intake_id"]])
    return None if row is None or row["n"] is None else int(row["n"])


def left_text(left: int) -> str:
    """Authorised sessions still to use, or how far past the limit: '4 left', '2 over'."""
    return f"{left} left" if left >= 0 else f"{-left} over"


def count_text(number: int, limit: int | None) -> str:
    if limit is None:
        return f"session {number} (no authorised limit recorded)"
    left = limit - number
    if left >= 0:
        return f"session {number} of {limit}, {left} left"
    return f"session {number} of {limit}, {-left} over the authorised limit"


def add_session(c: Conn, plan_id: int, date: str, objectives: list[str], note: str,
                unplanned: str | None = None, feedback: dict[str, int] | None = None,
                measures: list[tuple[str, Any]] | None = None,
                instruments: dict[str, Instrument] | None = None) -> dict[str, Any]:
    """Record a session, its feedback and the measures given at it, in one transaction.

    `measures` is [(instrument, answers)], answers as `Instrument.score` takes them or
    as typed (`measures.parse_answers`); each is stored for the plan's client, dated
    the session's date and linked to it. Returns {id, number, limit, version,
    measures: [add_measure results], feedback: summary dict or None}. Nothing is
    saved on error.
    """
    from planwise.store import feedback as feedback_mod
    from planwise.store import measures as measures_mod

    # A session dated ahead (2207) would block every later one: they are numbered by date.
    day = check_record_date(parse_date(date), option="--date",
                            why="a session is recorded once it has been held")
    if not note.strip():
        raise InputError("--note must not be empty")
    if len(note) > MAX_NOTE:
        raise InputError(f"--note is longer than {MAX_NOTE} characters")
    refuse_controls(note, "--note")
    refuse_controls(unplanned or "", "--unplanned")
    addressed = [parse_objective(o) for o in objectives]
    seen: set[str] = set()
    for a in addressed:
        if a.key in seen:
            raise InputError(f"--objective {a.key} is given twice")
        seen.add(a.key)
    if unplanned is not None and not unplanned.strip():
        raise InputError("--unplanned needs a reason")
    if addressed and unplanned is not None:
        raise InputError("--unplanned is for a session that addresses no objective of the plan; "
                         "drop it or the --objective options")
    if not addressed and unplanned is None:
        raise InputError("the session addresses no objective of the current plan: give "
                         "--objective ID[:RATING], or --unplanned REASON")
    given = list(measures or [])
    if given and instruments is None:
        from planwise.clinical.instrument_files import load_instruments

        instruments = load_instruments()
    with c.transaction():
        plan = get_plan(c, plan_id)
        cur = current_version(c, plan_id)
        name = ids.fmt("plan", plan_id)
        objs = {r["key"]: r for r in c.query(
            "SELECT key, origin FROM plan_items WHERE version_id = ? AND kind = 'objective'",
            [cur["id"]])}
        for a in addressed:
            row = objs.get(a.key)
            if row is None:
                raise InputError(f"--objective {a.key}: not an objective of {name} version "
                                 f"{cur['version']}")
            if row["origin"] == "proposed_rejected":
                raise InputError(f"--objective {a.key}: rejected in {name} version "
                                 f"{cur['version']}")
        first = c.one("SELECT start_date FROM plan_versions WHERE plan_id = ? AND version = 1",
                      [plan_id])
        if first and day < dt.date.fromisoformat(first["start_date"]):
            raise InputError(f"--date {day} is before the plan's start date {first['start_date']}")
        last = c.one("SELECT number, date FROM sessions WHERE plan_id = ? ORDER BY number DESC "
                     "LIMIT 1", [plan_id])
        if last and day < dt.date.fromisoformat(last["date"]):
            raise InputError(f"--date {day} is before session {last['number']} "
                             f"({last['date']}); sessions are numbered in date order")
        number = (last["number"] if last else 0) + 1
        limit = session_limit(c, plan)
        sid = c.insert("sessions", {
            "plan_id": plan_id, "version_id": cur["id"], "number": number,
            "date": day.isoformat(), "note": note.strip(),
            "unplanned_reason": unplanned.strip() if unplanned is not None else None,
            "session_limit": limit, "created_at": now()})
        for pos, a in enumerate(addressed):
            c.insert("session_objectives", {"session_id": sid, "objective_key": a.key,
                                            "rating": a.rating, "position": pos})
        c.audit("session.add", "session", ids.fmt("session", sid), client_id=plan["client_id"],
                plan_id=plan_id, detail={
                    "number": number, "version": cur["version"], "date": day.isoformat(),
                    "objectives": {a.key: a.rating for a in addressed},
                    "unplanned": unplanned is not None, "session_limit": limit})
        scored = [measures_mod.add_measure(c, plan["client_id"], inst, answers,
                                           day.isoformat(), instruments, session_id=sid)
                  for inst, answers in given]
        summary = (feedback_mod.add_feedback(c, sid, feedback)
                   if feedback is not None else None)
    return {"id": sid, "number": number, "limit": limit, "version": cur["version"],
            "measures": scored, "feedback": summary}


def list_sessions(c: Conn, plan_id: int) -> list[dict[str, Any]]:
    get_plan(c, plan_id)
    rows = c.query("SELECT s.*, pv.version FROM sessions s JOIN plan_versions pv ON "
                   "pv.id = s.version_id WHERE s.plan_id = ? ORDER BY s.number", [plan_id])
    from planwise.store.feedback import for_plan

    feedback = {f["session_id"]: f for f in for_plan(c, plan_id)}
    # One query per table for the whole plan, grouped here (not one per session).
    objectives: dict[int, list[dict[str, Any]]] = {}
    for o in c.query("SELECT so.session_id, so.objective_key AS key, so.rating FROM "
                     "session_objectives so JOIN sessions s ON s.id = so.session_id "
                     "WHERE s.plan_id = ? ORDER BY so.session_id, so.position", [plan_id]):
        objectives.setdefault(o.pop("session_id"), []).append(o)
    given: dict[int, list[dict[str, Any]]] = {}
    for m in c.query("SELECT m.session_id, m.id, m.instrument, m.total, m.band, m.flags FROM "
                     "measures m JOIN sessions s ON s.id = m.session_id WHERE s.plan_id = ? "
                     "ORDER BY m.id", [plan_id]):
        given.setdefault(m["session_id"], []).append(
            {"id": m["id"], "instrument": m["instrument"], "total": m["total"],
             "band": m["band"], "flags": json.loads(m["flags"] or "[]")})
    for r in rows:
        r["objectives"] = objectives.get(r["id"], [])
        r["measures"] = given.get(r["id"], [])
        f = feedback.get(r["id"])
        r["feedback"] = None if f is None else {
            k: f[k] for k in ("answers", "mean", "lowest", "low", "falling")}
    return rows


def as_json(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"id": ids.fmt("session", r["id"]), "number": r["number"], "date": r["date"],
             "version": r["version"], "objectives": r["objectives"], "note": r["note"],
             "unplanned_reason": r["unplanned_reason"], "session_limit": r["session_limit"],
             "feedback": r.get("feedback"),
             "measures": [{**m, "id": ids.fmt("measure", m["id"])}
                          for m in r.get("measures") or []],
             "created_at": r["created_at"]} for r in rows]


def render_text(rows: list[dict[str, Any]]) -> str:
    lines = []
    for r in rows:
        lines.append(f"{ids.fmt('session', r['id'])}\t{r['date']}\tv{r['version']}\t"
                     f"{count_text(r['number'], r['session_limit'])}")
        for o in r["objectives"]:
            rating = "not rated" if o["rating"] is None else f"{o['rating']}/10"
            lines.append(f"\t{o['key']}: {rating}")
        if r["unplanned_reason"]:
            lines.append(f"\tunplanned: {r['unplanned_reason']}")
        for m in r.get("measures") or []:
            flags = f", flags: {', '.join(m['flags'])}" if m["flags"] else ""
            lines.append(f"\t{ids.fmt('measure', m['id'])} {m['instrument']}: {m['total']} "
                         f"({m['band']}{flags})")
        if r.get("feedback"):
            from planwise.store.feedback import render_line

            lines.append("\tfeedback: " + render_line(r["feedback"]))
        lines.append("\tnote: " + r["note"].replace("\n", "\n\t      "))
    return "\n".join(lines)

