"""What the caseload's flags need from a plan's items, ratings and scores, in bulk.

The slow part of planwise.store.dashboard (its module doc says how it is kept):
per plan, the treatment, the problems, the open objectives not yet met (how many,
and the anticipated dates of those whose last rating is low), per instrument given
more than once the first and the last score and every score that raised a flag,
the payer's limit, the sessions held up to the day and the day of the latest
record. A few queries over the whole caseload (or the plans named), never one per
client. The items' fields and each objective's last rating are read from migration
12's derived tables (planwise.store.attention_facts), not from the items' JSON or
every rating; the intake's payer limit is the only JSON read here.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from planwise.store.db import Conn

__all__ = ["chosen_sql", "compute"]


def chosen_sql(only: bool) -> str:
    """SQL CTEs `chosen` (each client's latest plan) and `cur` (its current version);
    with `only`, restricted to the plan ids in the JSON list parameter :only."""
    extra = " AND p.id IN (SELECT value FROM json_each(:only))" if only else ""
    return f"""
chosen AS (
    SELECT p.id AS plan_id, p.client_id, p.intake_id FROM plans p
    WHERE p.id = (SELECT max(x.id) FROM plans x WHERE x.client_id = p.client_id){extra}),
cur AS (
    SELECT ch.plan_id, ch.client_id, ch.intake_id, pv.id AS vid, pv.version, pv.start_date,
           pv.risk_level, pv.created_at, pv.row_version
    FROM chosen ch JOIN plan_versions pv ON pv.plan_id = ch.plan_id
    WHERE pv.version = (SELECT max(y.version) FROM plan_versions y
                        WHERE y.plan_id = ch.plan_id))"""


def _items(c: Conn, only: list[int] | None, out: dict[int, dict[str, Any]]) -> None:
    params: dict[str, Any] = {"only": json.dumps(only)}
    for plan_id, kind, weeks, freq, level, condition, severity in c.raw.execute(f"""
            WITH {chosen_sql(only is not None)}
            SELECT cur.plan_id, f.kind, f.review_weeks, f.frequency_per_week,
                   f.level_of_care, f.condition, f.severity
            FROM cur JOIN plan_item_facts f ON f.version_id = cur.vid
            WHERE f.kind IN ('treatment', 'problem') AND f.live
            ORDER BY cur.plan_id, f.position""", params):
        d = out.setdefault(plan_id, {})
        if kind == "treatment":
            d["treatment"] = [int(weeks), int(freq), str(level)]
        else:
            d.setdefault("problems", {}).setdefault(condition, severity)


# Each objective's last rating up to the day. Kept: `last_ratings` (migration 12), true
# up to any day on or after its session's date. Grouped: from every rating, for a day
# before some of them (a caseload as of an earlier day).
_KEPT_RATINGS = "last AS (SELECT plan_id, key, rating FROM last_ratings)"
_GROUPED_RATINGS = """last AS (
    SELECT s.plan_id, so.objective_key AS key, so.rating, max(s.number) AS n
    FROM session_objectives so JOIN sessions s ON s.id = so.session_id
    WHERE so.rating IS NOT NULL AND s.date <= :day
      AND s.plan_id IN (SELECT plan_id FROM chosen)
    GROUP BY s.plan_id, so.objective_key)"""


def _objectives(c: Conn, day: str, only: list[int] | None,
                out: dict[int, dict[str, Any]]) -> None:
    """Per plan: open objectives not met, and the anticipated dates of those whose last
    progress rating (up to `day`) is under the overdue threshold."""
    later = {r[0] for r in c.raw.execute(
        "SELECT DISTINCT plan_id FROM last_ratings WHERE date > ?", [day])}
    if only is not None:
        later &= set(only)
    _open_objectives(c, day, only, _KEPT_RATINGS, out)
    if later:  # rated after the day: their last rating up to it is an earlier one
        for plan_id in later:
            out.get(plan_id, {}).pop("open", None)
            out.get(plan_id, {}).pop("dues", None)
        _open_objectives(c, day, sorted(later), _GROUPED_RATINGS, out)


def _open_objectives(c: Conn, day: str, only: list[int] | None, ratings: str,
                     out: dict[int, dict[str, Any]]) -> None:
    from planwise.clinical.review_facts import MET_RATING, OPEN_STATUSES, OVERDUE_RATING_BELOW

    params: dict[str, Any] = {"only": json.dumps(only), "day": day, "met": MET_RATING,
                              "below": OVERDUE_RATING_BELOW}
    # The statuses are the code's own words: a literal list is faster than json_each here.
    statuses = ", ".join(f"'{status}'" for status in OPEN_STATUSES)
    for plan_id, n, dues in c.raw.execute(f"""
        WITH {chosen_sql(only is not None)}, {ratings},
        obj AS (
            SELECT cur.plan_id, o.due, coalesce(l.rating, -1) AS rating
            FROM cur
            JOIN plan_item_facts o ON o.version_id = cur.vid AND o.kind = 'objective'
                 AND o.live
            JOIN plan_item_facts g ON g.version_id = cur.vid AND g.key = o.parent_key
                 AND g.live
            JOIN plan_item_facts pr ON pr.version_id = cur.vid AND pr.key = g.parent_key
                 AND pr.live
            LEFT JOIN last l ON l.plan_id = cur.plan_id AND l.key = o.key
            WHERE o.status IN ({statuses}))
        SELECT plan_id, count(*),
               group_concat(CASE WHEN rating < :below AND due IS NOT NULL THEN due END)
        FROM obj WHERE rating < :met GROUP BY plan_id""", params):
        d = out.setdefault(plan_id, {})
        d["open"] = int(n)
        d["dues"] = ",".join(sorted(dues.split(","))) if dues else ""


def _measures(c: Conn, day: str, only: list[int] | None,
              out: dict[int, dict[str, Any]]) -> None:
    """Per plan, per instrument (oldest first): the first and the last score and every
    score that raised a flag, as [date, total, flags, session number in this plan]."""
    params: dict[str, Any] = {"only": json.dumps(only), "day": day}
    rows = c.raw.execute(f"""
        WITH {chosen_sql(only is not None)}
        SELECT ch.plan_id, m.instrument, m.date, m.total, m.flags,
               CASE WHEN s.plan_id = ch.plan_id THEN s.number END
        FROM measures m JOIN chosen ch ON ch.client_id = m.client_id
        LEFT JOIN sessions s ON s.id = m.session_id
        WHERE m.date <= :day
        ORDER BY m.client_id, m.instrument, m.date, m.id""", params)
    key: tuple[int, str] | None = None
    points: list[list[Any]] = []
    last: list[Any] | None = None

    def close() -> None:
        # A series of one score (a baseline) tells the flags nothing: not kept. A new
        # score changes the plan's stamp, so the series is read again then.
        if key is not None and last is not None and last is not points[0]:
            if last is not points[-1]:
                points.append(last)
            out.setdefault(key[0], {}).setdefault("series", []).append([key[1], points])

    for plan_id, inst, when, total, flags, number in rows:
        if (plan_id, inst) != key:
            close()
            key, points = (plan_id, inst), []
            last = [when, total, [] if flags == "[]" else json.loads(flags), number]
            points.append(last)
            continue
        last = [when, total, [] if flags == "[]" else json.loads(flags), number]
        if last[2]:
            points.append(last)
    close()


def _course(c: Conn, day: str, only: list[int] | None,
            out: dict[int, dict[str, Any]]) -> None:
    """Per plan: the payer's limit (the intake's; an intake never changes), the sessions
    held up to `day` and the day of its latest record (session or score)."""
    params: dict[str, Any] = {"only": json.dumps(only), "day": day}
    for plan_id, lim, used, last_s, last_m in c.raw.execute(f"""
            WITH {chosen_sql(only is not None)}
            SELECT cur.plan_id, json_extract(i.data, '$.context.session_limit'),
                   (SELECT count(*) FROM sessions s WHERE s.plan_id = cur.plan_id
                    AND s.date <= :day),
                   (SELECT max(s.date) FROM sessions s WHERE s.plan_id = cur.plan_id),
                   (SELECT max(m.date) FROM measures m WHERE m.client_id = cur.client_id)
            FROM cur LEFT JOIN intakes i ON i.id = cur.intake_id""", params):
        d = out.setdefault(plan_id, {})
        d["limit"] = None if lim is None else int(lim)
        d["used"] = int(used)
        d["until"] = max(last_s or "", last_m or "")


def compute(c: Conn, day: str, only: list[int] | None) -> dict[int, dict[str, Any]]:
    out: dict[int, dict[str, Any]] = {}
    # The groupings of every rating and score build temporary B-trees of tens of MB at
    # 10,000 clients: in memory rather than in temporary files (the objectives' query
    # took about 10% less with the machine's I/O busy; no change on a calmer one). The
    # connection's own setting is given back.
    before = c.raw.execute("PRAGMA temp_store").fetchone()[0]
    c.raw.execute("PRAGMA temp_store = MEMORY")
    try:
        _course(c, day, only, out)
        _items(c, only, out)
        _objectives(c, day, only, out)
        _measures(c, day, only, out)
    finally:
        c.raw.execute(f"PRAGMA temp_store = {int(before)}")
    return out
