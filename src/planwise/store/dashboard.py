"""The caseload view: which clients need attention today, and why.

`attention(c, today, limit=None, flag=None)` looks at every client's latest plan
and returns one row per client with at least one flag, most urgent first:

    {"client": "C12", "client_id": 12, "name": ..., "plan": "P7", "plan_id": 7,
     "flags": ["deteriorated", "review_due"], "reasons": {flag: "one short reason"}}

The flags are `planwise.review_facts.attention_flags` (their definitions are
there): risk_reemerging, deteriorated, not_on_track, objectives_overdue,
session_limit_near, review_due. They are computed from a *light* Course per
client built from six bulk queries over the whole caseload (never one query per
client):

1. every client's latest plan with its current version and the payer's limit;
2. the treatment (review interval) and the problems of those versions;
3. the open objectives not yet met, reduced in SQL to what the flags need: how
   many, how many overdue and the earliest overdue date (the last progress
   rating of each objective comes from the sessions);
4. sessions held per plan, and the day of each version's last accepted review;
5. the scores of the instruments the flags read (primary measures and risk
   screens), oldest first.

The light Course carries two representative objectives instead of all of them
(one overdue, one open), which gives `attention_flags` the same answer as the
full Course (tested against `load_course` on fixtures). The client's name is in
the rows (the caseload is for the therapist's eyes); it is never logged.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import namedtuple
from typing import TYPE_CHECKING, Any

from planwise.course import Course, ObjectiveCourse
from planwise.store import ids

if TYPE_CHECKING:
    from planwise.kb.loader import KnowledgeBase
    from planwise.store.db import Conn

__all__ = ["URGENCY", "attention", "render_text"]

# Most urgent first.
URGENCY = ("risk_reemerging", "deteriorated", "not_on_track", "objectives_overdue",
           "session_limit_near", "review_due")
LABELS = {"risk_reemerging": "risk re-emerging", "deteriorated": "deteriorated",
          "not_on_track": "not on track", "objectives_overdue": "objectives overdue",
          "session_limit_near": "session limit near", "review_due": "review due"}

# Attribute access as the Course's Point and Series, at a fraction of the cost.
_Point = namedtuple("_Point", "date total band flags session")
_Series = namedtuple("_Series", "instrument points")

_CURRENT = """
chosen AS (
    SELECT p.id AS plan_id, p.client_id, p.intake_id FROM plans p
    WHERE p.id = (SELECT max(x.id) FROM plans x WHERE x.client_id = p.client_id)),
cur AS (
    SELECT ch.plan_id, ch.client_id, ch.intake_id, pv.id AS vid, pv.version, pv.start_date,
           pv.risk_level, pv.created_at
    FROM chosen ch JOIN plan_versions pv ON pv.plan_id = ch.plan_id
    WHERE pv.version = (SELECT max(y.version) FROM plan_versions y
                        WHERE y.plan_id = ch.plan_id))"""


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _plans(c: Conn) -> list[tuple[Any, ...]]:
    return c.raw.execute(f"""
        WITH {_CURRENT}
        SELECT cur.plan_id, cur.client_id, cl.name, cur.vid, cur.version, cur.start_date,
               cur.risk_level, cur.created_at,
               json_extract(i.data, '$.context.session_limit')
        FROM cur JOIN clients cl ON cl.id = cur.client_id
        LEFT JOIN intakes i ON i.id = cur.intake_id
        ORDER BY cur.client_id""").fetchall()


def _treatment_and_problems(c: Conn) -> tuple[dict[int, tuple[int, int, str]],
                                              dict[int, dict[str, str]]]:
    treatment: dict[int, tuple[int, int, str]] = {}
    problems: dict[int, dict[str, str]] = {}
    for plan_id, kind, weeks, freq, level, condition, severity in c.raw.execute(f"""
            WITH {_CURRENT}
            SELECT cur.plan_id, it.kind, json_extract(it.data, '$.review_weeks'),
                   json_extract(it.data, '$.frequency_per_week'),
                   json_extract(it.data, '$.level_of_care'),
                   json_extract(it.data, '$.condition'), json_extract(it.data, '$.severity')
            FROM cur JOIN plan_items it ON it.version_id = cur.vid
            WHERE it.kind IN ('treatment', 'problem') AND it.origin <> 'proposed_rejected'
            ORDER BY it.position"""):
        if kind == "treatment":
            treatment[plan_id] = (int(weeks), int(freq), str(level))
        else:
            problems.setdefault(plan_id, {}).setdefault(condition, severity)
    return treatment, problems


def _objectives(c: Conn, day: str) -> dict[int, tuple[int, int, str | None]]:
    """plan id -> (open objectives not met, overdue ones, the earliest overdue date)."""
    from planwise.review_facts import MET_RATING, OPEN_STATUSES, OVERDUE_RATING_BELOW

    marks = ", ".join("?" for _ in OPEN_STATUSES)
    rows = c.raw.execute(f"""
        WITH {_CURRENT},
        last AS (
            SELECT s.plan_id, so.objective_key AS key, so.rating, max(s.number) AS n
            FROM session_objectives so JOIN sessions s ON s.id = so.session_id
            WHERE so.rating IS NOT NULL AND s.date <= ?
            GROUP BY s.plan_id, so.objective_key),
        obj AS (
            SELECT cur.plan_id, json_extract(o.data, '$.anticipated') AS due,
                   coalesce(l.rating, -1) AS rating
            FROM cur
            JOIN plan_items o ON o.version_id = cur.vid AND o.kind = 'objective'
                 AND o.origin <> 'proposed_rejected'
            JOIN plan_items g ON g.version_id = cur.vid AND g.key = o.parent_key
                 AND g.origin <> 'proposed_rejected'
            JOIN plan_items pr ON pr.version_id = cur.vid AND pr.key = g.parent_key
                 AND pr.origin <> 'proposed_rejected'
            LEFT JOIN last l ON l.plan_id = cur.plan_id AND l.key = o.key
            WHERE json_extract(o.data, '$.status') IN ({marks}))
        SELECT plan_id, count(*),
               sum(due IS NOT NULL AND due < ? AND rating < ?),
               min(CASE WHEN due < ? AND rating < ? THEN due END)
        FROM obj WHERE rating < ? GROUP BY plan_id""",
        [day, *OPEN_STATUSES, day, OVERDUE_RATING_BELOW, day, OVERDUE_RATING_BELOW,
         MET_RATING]).fetchall()
    return {r[0]: (int(r[1]), int(r[2] or 0), r[3]) for r in rows}


def _reviews(c: Conn) -> dict[tuple[int, int], str]:
    """(plan id, version) -> the day of its last accepted review (store.course.last_review)."""
    return {(r[0], int(r[1])): r[2] for r in c.raw.execute(
        "SELECT plan_id, json_extract(detail, '$.version') AS v, "
        "max(json_extract(detail, '$.date')) FROM audit WHERE action = 'plan.review' "
        "GROUP BY plan_id, v").fetchall() if r[1] is not None and r[2]}


def _sessions(c: Conn, day: str) -> dict[int, int]:
    return dict(c.raw.execute("SELECT plan_id, count(*) FROM sessions WHERE date <= ? "
                              "GROUP BY plan_id", [day]).fetchall())


def _measures(c: Conn, day: str, instruments: set[str]) -> dict[int, list[_Series]]:
    out: dict[int, list[_Series]] = {}
    if not instruments:
        return out
    marks = ", ".join("?" for _ in instruments)
    date = dt.date.fromisoformat
    client = None
    series: _Series | None = None
    for cid, inst, when, total, flags, number in c.raw.execute(f"""
            WITH chosen AS (
                SELECT p.id AS plan_id, p.client_id FROM plans p
                WHERE p.id = (SELECT max(x.id) FROM plans x WHERE x.client_id = p.client_id))
            SELECT m.client_id, m.instrument, m.date, m.total, m.flags,
                   CASE WHEN s.plan_id = ch.plan_id THEN s.number END
            FROM measures m JOIN chosen ch ON ch.client_id = m.client_id
            LEFT JOIN sessions s ON s.id = m.session_id
            WHERE m.date <= ? AND m.instrument IN ({marks})
            ORDER BY m.client_id, m.instrument, m.date, m.id""",
            [day, *sorted(instruments)]):
        if cid != client or series is None or series.instrument != inst:
            series = _Series(inst, [])
            out.setdefault(cid, []).append(series)
            client = cid
        series.points.append(_Point(date(when), total, "",
                                    () if flags == "[]" else tuple(json.loads(flags)), number))
    return out


def _reasons(course: Course, flags: list[str], kb: KnowledgeBase,
             objectives: tuple[int, int, str | None]) -> dict[str, str]:
    from planwise.review_facts import change_class

    out: dict[str, str] = {}
    primary = {kb.primary_measures.get(cond) for cond in course.problems}
    for s in course.measures:
        inst = kb.instruments.get(s.instrument)
        if inst is None or len(s.points) < 2:
            continue
        first, last = s.points[0], s.points[-1]
        if inst.id in primary:
            cls = change_class(inst, first.total, last.total)
            if cls == "reliably_deteriorated" and "deteriorated" in flags:
                out.setdefault("deteriorated", f"{inst.name} {first.total} -> {last.total} "
                                               "since the baseline, reliably worse")
            elif cls == "no_reliable_change" and "not_on_track" in flags:
                done = (last.session or course.sessions_used) - (first.session or 0)
                out.setdefault("not_on_track", f"{inst.name} {first.total} -> {last.total} "
                                               f"after {_plural(done, 'session')}, no "
                                               "reliable change")
        risky = kb.risk_flags.get(inst.id)
        if risky and "risk_reemerging" in flags and "risk_reemerging" not in out:
            hit = next((p for p in reversed(s.points[1:]) if not risky.isdisjoint(p.flags)),
                       None)
            if hit is not None:
                names = ", ".join(sorted(risky & set(hit.flags))).replace("_", " ")
                out["risk_reemerging"] = f"{inst.name} raised {names} on {hit.date}"
    open_n, overdue_n, first_due = objectives
    if "objectives_overdue" in flags:
        out["objectives_overdue"] = (f"{_plural(overdue_n, 'objective')} overdue, the "
                                     f"earliest due {first_due}")
    if "session_limit_near" in flags:
        left = (course.session_limit or 0) - course.sessions_used
        out["session_limit_near"] = (f"{left} of {course.session_limit} sessions left with "
                                     f"{_plural(open_n, 'objective')} open")
    if "review_due" in flags:
        since = course.last_review or course.start_date
        what = "last review" if course.last_review else "start"
        weeks = (course.today - since).days // 7
        out["review_due"] = (f"{_plural(weeks, 'week')} since the {what} ({since}); review "
                             f"every {course.review_weeks} weeks")
    return {f: out.get(f, LABELS[f]) for f in flags}


def _last_review(reviewed: str | None, created: str, version: int) -> dt.date | None:
    if reviewed:
        return dt.date.fromisoformat(reviewed)
    return dt.date.fromisoformat(created[:10]) if version > 1 else None


def attention(c: Conn, today: dt.date, limit: int | None = None, flag: str | None = None,
              kb: KnowledgeBase | None = None) -> list[dict[str, Any]]:
    """Clients needing attention on `today`, most urgent first (see the module doc)."""
    from planwise.review_facts import attention_flags

    if kb is None:
        from planwise.kb.loader import load_knowledge

        kb = load_knowledge([])
    day = today.isoformat()
    plans = _plans(c)
    treatment, problems = _treatment_and_problems(c)
    objectives = _objectives(c, day)
    sessions = _sessions(c, day)
    reviews = _reviews(c)
    wanted = {i for i in kb.primary_measures.values() if i} | set(kb.risk_flags)
    measures = _measures(c, day, wanted)
    construct = Course.model_construct
    out: list[dict[str, Any]] = []
    for plan_id, client_id, name, _vid, version, start, risk, created, lim in plans:
        weeks, freq, level = treatment.get(plan_id, (12, 1, "outpatient"))
        objs = objectives.get(plan_id, (0, 0, None))
        light: list[ObjectiveCourse] = []
        if objs[1]:  # one overdue objective stands for all of them
            light.append(ObjectiveCourse.model_construct(
                key="overdue", status="open", ratings=[],
                target_date=dt.date.fromisoformat(objs[2] or day)))
        if objs[0] > objs[1]:  # one open objective, not overdue
            light.append(ObjectiveCourse.model_construct(key="open", status="open",
                                                         ratings=[], target_date=None))
        course = construct(
            plan=ids.fmt("plan", plan_id), today=today,
            start_date=dt.date.fromisoformat(start), version=version,
            sessions_used=sessions.get(plan_id, 0),
            session_limit=None if lim is None else int(lim), frequency_per_week=freq,
            level_of_care=level, review_weeks=weeks,
            last_review=_last_review(reviews.get((plan_id, version)), created, version),
            risk_level=risk, problems=problems.get(plan_id, {}), modalities=[], referrals=[],
            objectives=light, measures=measures.get(client_id, []), feedback=[])
        flags = attention_flags(course, kb)
        if not flags or (flag is not None and flag not in flags):
            continue
        out.append({"client": ids.fmt("client", client_id), "client_id": client_id,
                    "name": name, "plan": ids.fmt("plan", plan_id), "plan_id": plan_id,
                    "flags": flags, "reasons": _reasons(course, flags, kb, objs)})
    out.sort(key=lambda r: (min(URGENCY.index(f) for f in r["flags"]), -len(r["flags"]),
                            r["client_id"]))
    return out if limit is None else out[:limit]


def render_text(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "no clients need attention"
    lines = []
    for r in rows:
        lines.append(f"{r['client']}\t{r['plan']}\t{r['name']}\t"
                     + ", ".join(LABELS[f] for f in r["flags"]))
        for f in r["flags"]:
            lines.append(f"\t{LABELS[f]}: {r['reasons'][f]}")
    n = len(rows)
    lines.append(f"{_plural(n, 'client')} need{'s' if n == 1 else ''} attention")
    return "\n".join(lines)
