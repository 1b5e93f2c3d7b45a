"""The caseload view: which clients need attention today, and why.

`attention(c, today, limit=None, flag=None, kb=None)` looks at every client's
latest plan and returns one row per client with at least one flag, most urgent
first:

    {"client": "C12", "client_id": 12, "name": ..., "plan": "P7", "plan_id": 7,
     "flags": ["deteriorated", "review_due"], "reasons": {flag: "one short reason"}}

The flags and their reasons are `planwise.clinical.review_facts.attention` (definitions are
there): risk_reemerging, deteriorated, not_on_track, objectives_overdue,
session_limit_near, review_due (and remote_risk, added after them from the remote
questionnaires). Each client's flags come from a *light* Course passed to
`attention`, built from bulk queries over the whole caseload (never one query per
client):

- every client's latest plan, its current version and the ids of its last session,
  score and audit row: index seeks only, always read (issue 12: the warm caseload);
- what the flags need from the plan items, the progress ratings and the scores
  (the slow part: every plan's items, last ratings and scores, the first two from
  migration 12's tables, planwise.store.attention_facts): the treatment,
  the problems, the open objectives not yet met (how many, and the anticipated
  dates of those whose last rating is low), per instrument given more than once
  the first and the last score and every score that raised a flag, the payer's
  limit and the sessions held.

The second part does not depend on the day, only on the records, so it is kept
in `attention_cache` (one row per plan, derived data, no names and no notes),
stamped with the plan's current version and row_version and the ids of its last
session, the client's last score and the plan's last audit row (an accepted
review is one): sessions, scores and audit rows are append-only and a saved plan
changes its stamp, so a row whose stamp still matches is still true. A row is used
only when `today` is on or after its latest record (a dashboard "as of" an earlier
day is computed afresh and not kept). The table (migration 7) may be emptied at
any time and is refilled. A read-only database is served without keeping what was
computed.

The quiet window. Most of a caseload needs nothing, and with its records unchanged
a plan's flags change with the day in two ways only: an objective falls due (its
last rating low) or the review falls due. So a kept row of a plan with no flag but
review_due also carries, after its stamp, 'last quiet day|last review|review
weeks|knowledge fingerprint': on a day up to the earliest due date of its low-rated
objectives, with the same knowledge and no review due, the plan is skipped without
reading its row. Anything else goes the full way (and the window is written again
when it changed). A new flag computed here must either be covered by that argument
(read from the kept data, not changing with the day) or end the window itself.

The light Course (named tuples with the Course's attribute names, for speed)
carries two representative objectives instead of all of them
(one overdue, one open), which gives `attention_flags` the same answer as the
full Course (tested against `load_course` on fixtures). The client's name is in
the rows (the caseload is for the therapist's eyes); it is never logged.
"""

from __future__ import annotations

import bisect
import datetime as dt
import json
import sqlite3
from collections import namedtuple
from typing import TYPE_CHECKING, Any, cast

from planwise.clinical.course import Course
from planwise.errors import BusyError
from planwise.store import ids
from planwise.store.attention_data import chosen_sql, compute

if TYPE_CHECKING:
    from planwise.kb.loader import KnowledgeBase
    from planwise.store.db import Conn

__all__ = ["LABELS", "URGENCY", "attention", "render_text"]

# A remote questionnaire's answer that signalled risk (planwise.remote.requests): above
# every flag, for clients with or without a plan, until a session is held after it.
REMOTE_RISK = "remote_risk"
# Most urgent first.
URGENCY = ("risk_reemerging", "deteriorated", "not_on_track", "objectives_overdue",
           "session_limit_near", "review_due")
LABELS = {"risk_reemerging": "risk re-emerging", "deteriorated": "deteriorated",
          "not_on_track": "not on track", "objectives_overdue": "objectives overdue",
          "session_limit_near": "session limit near", "review_due": "review due",
          REMOTE_RISK: "remote risk"}
CACHE_FORMAT = 4  # part of every stamp: a new format rebuilds every row

# Attribute access as the Course's Point, Series, ObjectiveCourse and Course (what
# attention_flags reads), at a fraction of the cost of pydantic objects.
_Point = namedtuple("_Point", "date total band flags session")
_Series = namedtuple("_Series", "instrument points")
_Objective = namedtuple("_Objective", "key status target_date ratings")
_Course = namedtuple("_Course", "plan today start_date version sessions_used session_limit "
                     "frequency_per_week level_of_care review_weeks last_review risk_level "
                     "problems objectives measures")
_RANK = {f: n for n, f in enumerate(URGENCY)}

def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


# --- always read (cheap) ---------------------------------------------------------------

# One row per client's latest plan: its current version, the last session, score and audit
# ids (with the version's row_version, the stamp of what is kept) and the kept row's stamp
# column (the stamp, then the quiet window after a '|') and until, if any.
_Plan = namedtuple("_Plan", "plan_id client_id vid row_version version start risk created "
                   "last_session last_score last_audit kept kept_until")


def _plans(c: Conn) -> list[_Plan]:
    # Index seeks only (the audit's max id per plan is one); no JSON is read.
    return [_Plan(*r) for r in c.raw.execute(f"""
        WITH {chosen_sql(False)}
        SELECT cur.plan_id, cur.client_id, cur.vid, cur.row_version, cur.version,
               cur.start_date, cur.risk_level, cur.created_at,
               coalesce((SELECT max(s.id) FROM sessions s WHERE s.plan_id = cur.plan_id), 0),
               coalesce((SELECT max(m.id) FROM measures m WHERE m.client_id = cur.client_id),
                        0),
               coalesce((SELECT max(a.id) FROM audit a WHERE a.plan_id = cur.plan_id), 0),
               ac.stamp, ac.until
        FROM cur LEFT JOIN attention_cache ac ON ac.plan_id = cur.plan_id
        ORDER BY cur.client_id""")]


def _names(c: Conn, client_ids: list[int]) -> dict[int, str]:
    return dict(c.raw.execute("SELECT id, name FROM clients WHERE id IN "
                              "(SELECT value FROM json_each(?))", [json.dumps(client_ids)]))


def _reviews(c: Conn, only: list[int] | None) -> dict[tuple[int, int], str]:
    """(plan id, version) -> the day of its last accepted review (store.course.last_review);
    with `only`, for those plans."""
    where = "" if only is None else " AND plan_id IN (SELECT value FROM json_each(?))"
    return {(r[0], int(r[1])): r[2] for r in c.raw.execute(
        "SELECT plan_id, json_extract(detail, '$.version') AS v, "
        "max(json_extract(detail, '$.date')) FROM audit WHERE action = 'plan.review'"
        f"{where} GROUP BY plan_id, v", [] if only is None else [json.dumps(only)]).fetchall()
        if r[1] is not None and r[2]}


def _format() -> str:
    """The definitions the kept rows depend on: part of every stamp."""
    from planwise.clinical.review_facts import (
        MET_RATING,
        NOT_ON_TRACK_SESSIONS,
        OPEN_STATUSES,
        OVERDUE_RATING_BELOW,
        SESSION_LIMIT_NEAR,
    )

    return (f"{CACHE_FORMAT}:{MET_RATING}:{OVERDUE_RATING_BELOW}:{'+'.join(OPEN_STATUSES)}:"
            f"{NOT_ON_TRACK_SESSIONS}:{SESSION_LIMIT_NEAR}")


def _stamp(fmt: str, p: _Plan) -> str:
    # Every accepted review is an audit row of the plan: its last audit id covers them.
    return f"{fmt}.{p.vid}.{p.row_version}.{p.last_session}.{p.last_score}.{p.last_audit}"


def _last_review(p: _Plan, reviews: dict[tuple[int, int], str]) -> str:
    """The day the review interval counts from besides the start ('': none):
    store.course.last_review."""
    reviewed = reviews.get((p.plan_id, p.version))
    if reviewed:
        return reviewed
    return p.created[:10] if p.version > 1 else ""


def _quiet(p: _Plan, quiet: str, day: dt.date, fingerprint: str) -> bool:
    """True when the kept row (its stamp matching) says the plan needs nothing on `day`:
    the day is inside its quiet window, with the same knowledge, and no review is due."""
    if not quiet:
        return False
    through, last_review, weeks, kb_print = quiet.split("|")
    if not (p.kept_until <= day.isoformat() <= through) or kb_print != fingerprint:
        return False
    since = dt.date.fromisoformat(last_review or p.start)
    return max((day - since).days // 7, 0) < int(weeks)


def _keep(c: Conn, rows: list[tuple[int, str, str, dict[str, Any]]]) -> None:
    """Keep computed rows (plan id, stamp, until, data), unless the database is read-only
    or busy: the caseload is a read and never waits for the lock."""
    if not rows:
        return
    try:
        with c.transaction(wait=False):
            c.raw.executemany(
                "INSERT OR REPLACE INTO attention_cache (plan_id, stamp, until, data) "
                "VALUES (?, ?, ?, ?)",
                [(p, stamp, until, json.dumps(d, separators=(",", ":")))
                 for p, stamp, until, d in rows])
    except (sqlite3.OperationalError, BusyError):
        pass  # read-only or busy: served without keeping it


# --- the flags ---------------------------------------------------------------------------

def _dues(d: dict[str, Any]) -> list[str]:
    text: str = d.get("dues", "")
    return text.split(",") if text else []


def _light_course(p: _Plan, d: dict[str, Any], today: dt.date, last_review: str,
                  wanted: set[str]) -> Course:
    """A stand-in for the plan's Course with what attention_flags reads (`wanted`: the
    instruments it looks at; a series of one score tells it nothing)."""
    weeks, freq, level = d.get("treatment", (12, 1, "outpatient"))
    day = today.isoformat()
    dues = _dues(d)
    overdue = bisect.bisect_left(dues, day)
    light: list[_Objective] = []
    if overdue:  # one overdue objective stands for all of them
        light.append(_Objective("overdue", "open", dt.date.fromisoformat(dues[0]), []))
    if d.get("open", 0) > overdue:  # one open objective, not overdue
        light.append(_Objective("open", "open", None, []))
    date = dt.date.fromisoformat
    measures = [_Series(inst, [_Point(date(q[0]), q[1], "", q[2], q[3]) for q in pts])
                for inst, pts in d.get("series", []) if len(pts) > 1 and inst in wanted]
    return cast(Course, _Course(
        p.plan_id, today, date(p.start), p.version, d.get("used", 0), d.get("limit"), freq,
        level, weeks, date(last_review) if last_review else None, p.risk,
        d.get("problems", {}), light, measures))


def _quiet_window(d: dict[str, Any], last_review: str, reasons: dict[str, str],
                  fingerprint: str) -> str | None:
    """The kept row's quiet window (module doc) when the plan has no flag on `day` but
    perhaps review_due: 'last quiet day|review assumed|review weeks|knowledge'. With the
    records unchanged (day on or after the latest), only an objective falling due or a
    review falling due can raise a flag later; the review is checked on every read."""
    if set(reasons) - {"review_due"}:
        return None
    dues = _dues(d)
    weeks = d.get("treatment", (12,))[0]
    return f"{dues[0] if dues else '9999-12-31'}|{last_review}|{weeks}|{fingerprint}"


def _exact_counts(reasons: dict[str, str], course: Course, open_n: int,
                  dues: list[str]) -> None:
    """The light course carries two representative objectives: the counts in the reasons
    that depend on all of them come from the cached data instead."""
    overdue = bisect.bisect_left(dues, course.today.isoformat())
    if "objectives_overdue" in reasons and overdue:
        reasons["objectives_overdue"] = (f"{_plural(overdue, 'objective')} overdue, the "
                                         f"earliest due {dues[0]}")
    if "session_limit_near" in reasons:
        left = (course.session_limit or 0) - course.sessions_used
        reasons["session_limit_near"] = (f"{left} of {course.session_limit} sessions left "
                                         f"with {_plural(open_n, 'objective')} open")


def attention(c: Conn, today: dt.date, limit: int | None = None, flag: str | None = None,
              kb: KnowledgeBase | None = None) -> list[dict[str, Any]]:
    """Clients needing attention on `today`, most urgent first (see the module doc)."""
    if kb is None:
        from planwise.kb.loader import load_knowledge

        kb = load_knowledge([])
    day = today.isoformat()
    fmt = _format()
    plans = _plans(c)
    fingerprint = kb.fingerprint
    kept: list[_Plan] = []      # the kept row is true: read it
    todo: list[_Plan] = []      # computed now
    quiet_of: dict[int, str] = {}
    for p in plans:
        stamp, _bar, quiet = (p.kept or "").partition("|")
        if stamp == _stamp(fmt, p) and p.kept_until <= day:
            if not _quiet(p, quiet, today, fingerprint):
                kept.append(p)
                quiet_of[p.plan_id] = quiet
        else:
            todo.append(p)
    rest = kept + todo
    reviews = _reviews(c, None if len(rest) == len(plans) else [p.plan_id for p in rest])
    slow: dict[int, dict[str, Any]] = {}
    if kept:
        slow.update((r[0], json.loads(r[1])) for r in c.raw.execute(
            "SELECT plan_id, data FROM attention_cache WHERE plan_id IN "
            "(SELECT value FROM json_each(?))", [json.dumps([p.plan_id for p in kept])]))
    if todo:
        slow.update(compute(c, day, None if len(todo) == len(plans)
                             else [p.plan_id for p in todo]))
    wanted = {i for i in kb.primary_measures.values() if i} | set(kb.risk_flags)
    keep: list[tuple[int, str, str, dict[str, Any]]] = []
    found: list[tuple[_Plan, dict[str, str]]] = []
    computed = {p.plan_id for p in todo}
    for p in sorted(rest, key=lambda p: p.client_id):
        d = slow.get(p.plan_id, {})
        last_review = _last_review(p, reviews)
        reasons = _reasons(p, d, today, last_review, wanted, kb)
        new = p.plan_id in computed
        # A row computed now is kept when no record is later than the day (an earlier day's
        # caseload is not kept); a kept row whose quiet window is out of date gets a new one.
        if not new or d.get("until", "") <= day:
            quiet = _quiet_window(d, last_review, reasons, fingerprint) or ""
            if new or quiet != quiet_of.get(p.plan_id):
                stamp = _stamp(fmt, p) + (f"|{quiet}" if quiet else "")
                keep.append((p.plan_id, stamp, d.get("until", ""), d))
        if reasons and (flag is None or flag in reasons):
            found.append((p, reasons))
    _keep(c, keep)
    names = _names(c, [p.client_id for p, _r in found])
    out: list[dict[str, Any]] = [
        {"client": ids.fmt("client", p.client_id), "client_id": p.client_id,
         "name": names.get(p.client_id, ""), "plan": ids.fmt("plan", p.plan_id),
         "plan_id": p.plan_id, "flags": list(reasons), "reasons": reasons}
        for p, reasons in found]
    if flag in (None, REMOTE_RISK):
        _remote_risk(c, out, flag)
    # attention lists the flags most urgent first (its ATTENTION_FLAGS = URGENCY).
    out.sort(key=lambda r: (_RANK.get(r["flags"][0], -1), -len(r["flags"]), r["client_id"]))
    return out if limit is None else out[:limit]


def _reasons(p: _Plan, d: dict[str, Any], today: dt.date, last_review: str,
             wanted: set[str], kb: KnowledgeBase) -> dict[str, str]:
    """The plan's flags and reasons on `today` (review_facts.attention on the light
    course, with the counts the light course cannot give from the kept data)."""
    from planwise.clinical.review_facts import attention

    course = _light_course(p, d, today, last_review, wanted)
    reasons = attention(course, kb)
    if reasons:
        _exact_counts(reasons, course, d.get("open", 0), _dues(d))
    return reasons


def _remote_risk(c: Conn, out: list[dict[str, Any]], flag: str | None) -> None:
    from planwise.remote.requests import RISK_REASON, risk_clients

    try:
        risky = risk_clients(c)
    except sqlite3.OperationalError:  # a database older than migration 10, read-only
        return
    if flag == REMOTE_RISK:
        out.clear()
    rows = {r["client_id"]: r for r in out}
    for cid, hit in risky.items():
        row = rows.get(cid)
        if row is None:
            row = {"client": ids.fmt("client", cid), "client_id": cid, "name": hit["name"],
                   "plan": None, "plan_id": None, "flags": [], "reasons": {}}
            out.append(row)
        row["flags"].insert(0, REMOTE_RISK)
        row["reasons"][REMOTE_RISK] = f"{RISK_REASON} ({hit['request']}, completed " \
                                      f"{hit['completed']})"


def render_text(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "no clients need attention"
    lines = []
    for r in rows:
        lines.append(f"{r['client']}\t{r['plan'] or '-'}\t{r['name']}\t"
                     + ", ".join(LABELS[f] for f in r["flags"]))
        for f in r["flags"]:
            lines.append(f"\t{LABELS[f]}: {r['reasons'][f]}")
    n = len(rows)
    lines.append(f"{_plural(n, 'client')} need{'s' if n == 1 else ''} attention")
    return "\n".join(lines)
