"""Progress benchmark: the caseload dashboard over 10,000 clients with 100,000 scores.

    .venv/bin/python benchmarks/progress.py [--clients N] [--rebuild] [--runs K]

Builds (once; the file is cached in the temporary folder and reused while the
schema and the size match) a caseload where every client has one plan drafted
from the example intake (its objectives' dates moved to the client's own start
date), 5 to 12 weekly sessions with progress ratings and feedback, and 10 PHQ-9
totals: the intake's baseline and 9 later ones, most given at a session. The
trajectories are realistic mixes: improving, flat, deteriorating, noisy inside
the reliable-change band, and a few with item 9 turning positive. All rows are
inserted in bulk with SQL.

Then times, through the store's own API:

- dashboard: `store.dashboard.attention(conn, today)` over every client
  (median of --runs runs, after one warm-up run);
- review: `store.course.load_course` + `rules.review` (reference engine) for
  one client.

Target: dashboard <= 1 s. No asserts: figures only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "depression-alcohol.toml"
TODAY = dt.date(2027, 6, 1)
STAMP = "2026-11-29T09:00:00+00:00"
FIRST = ["Alex", "Sam", "Jo", "Kim", "Lee", "Noor", "Ravi", "Mia", "Tom", "Ana", "Ola", "Ben"]
LAST = ["Smith", "Jones", "Okafor", "Nguyen", "Garcia", "Kowalski", "Haddad", "Silva", "Brown"]
FOLLOW_UPS = 9  # + the intake's baseline = 10 scores per client
BUILD = 2       # the build's own version: a new one builds a new cached file


@functools.cache
def band(total: int) -> str:
    """The PHQ-9 band of a total, from the instrument's own file."""
    from planwise.instruments import load_instruments

    return load_instruments()["phq9"].band_for(total).name


def trajectory(rng: random.Random, baseline: int, n: int) -> list[int]:
    """n totals after `baseline`: improving, flat, deteriorating or noisy."""
    kind = rng.choices(["improving", "flat", "deteriorating", "noisy"], [45, 25, 10, 20])[0]
    out = []
    for k in range(1, n + 1):
        if kind == "improving":
            t = baseline - round(k * rng.uniform(0.6, 1.4))
        elif kind == "flat":
            t = baseline + rng.choice([-1, 0, 0, 1])
        elif kind == "deteriorating":
            t = baseline + round(k * rng.uniform(0.4, 1.0))
        else:
            t = baseline + rng.randint(-4, 4)
        out.append(max(0, min(27, t)))
    return out


def template(path: Path) -> dict[str, Any]:
    """One real client, intake and engine draft: the rows every plan copies (the store
    benchmark's own template)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from store import template as store_template  # benchmarks/store.py

    return store_template(path)


def shifted(items: list[dict[str, Any]], days: int) -> list[dict[str, Any]]:
    """The template's items with every objective's anticipated date moved by `days`."""
    out = []
    for it in items:
        if it["kind"] == "objective":
            it = dict(it)
            for col in ("data", "proposed"):
                d = json.loads(it[col])
                if d.get("anticipated"):
                    d["anticipated"] = (dt.date.fromisoformat(d["anticipated"])
                                        + dt.timedelta(days=days)).isoformat()
                it[col] = json.dumps(d, sort_keys=True)
        out.append(it)
    return out


def build(path: Path, n_clients: int, rng: random.Random) -> None:
    from planwise.store.integrity import register

    tpl = template(path)
    raw = sqlite3.connect(str(path), isolation_level=None)
    register(raw)  # the chain's triggers call planwise's SQL functions
    raw.execute("PRAGMA foreign_keys = ON")
    t0 = time.perf_counter()
    raw.execute("BEGIN IMMEDIATE")
    base = raw.execute("SELECT coalesce(max(id), 0) FROM clients").fetchone()[0]
    raw.executemany("INSERT INTO clients (name, info, created_at, updated_at) VALUES (?,?,?,?)",
                    [(f"{rng.choice(FIRST)} {rng.choice(LAST)}", "{}", STAMP, STAMP)
                     for _ in range(n_clients)])
    cids = list(range(base + 1, base + 1 + n_clients))
    it = tpl["intake"]
    tpl_start = dt.date.fromisoformat(tpl["version"]["start_date"])
    starts = {cid: TODAY - dt.timedelta(weeks=rng.randint(4, 30)) for cid in cids}
    raw.executemany("INSERT INTO intakes (client_id, date, data, scores, created_at) "
                    "VALUES (?,?,?,?,?)",
                    [(cid, starts[cid].isoformat(), it["data"], it["scores"], STAMP)
                     for cid in cids])
    intake_of = dict(raw.execute("SELECT client_id, id FROM intakes WHERE client_id > ?",
                                 [base]).fetchall())
    raw.executemany("INSERT INTO plans (client_id, intake_id, requires_supervisor, created_at) "
                    "VALUES (?,?,0,?)", [(cid, intake_of[cid], STAMP) for cid in cids])
    plan_of = dict(raw.execute("SELECT client_id, id FROM plans WHERE client_id > ?",
                               [base]).fetchall())
    v = tpl["version"]
    raw.executemany("INSERT INTO plan_versions (plan_id, version, start_date, review_date, "
                    "risk_level, created_at) VALUES (?,1,?,?,?,?)",
                    [(plan_of[cid], starts[cid].isoformat(),
                      (starts[cid] + dt.timedelta(weeks=6)).isoformat(), v["risk_level"], STAMP)
                     for cid in cids])
    version_of = dict(raw.execute("SELECT plan_id, id FROM plan_versions WHERE plan_id IN "
                                  "(SELECT id FROM plans WHERE client_id > ?)",
                                  [base]).fetchall())
    cols = ("kind", "key", "parent_key", "position", "origin", "rejection_reason", "proposed",
            "data", "because")
    by_shift: dict[int, list[dict[str, Any]]] = {}
    rows = []
    for cid in cids:
        days = (starts[cid] - tpl_start).days
        items = by_shift.get(days) or by_shift.setdefault(days, shifted(tpl["items"], days))
        vid = version_of[plan_of[cid]]
        rows += [(vid, *(i[col] for col in cols)) for i in items]
    raw.executemany(f"INSERT INTO plan_items (version_id, {', '.join(cols)}) "
                    f"VALUES (?, {', '.join('?' for _ in cols)})", rows)
    raw.execute("COMMIT")
    print(f"  {n_clients} clients, intakes, plans, {len(rows)} plan items: "
          f"{time.perf_counter() - t0:.1f} s")

    t0 = time.perf_counter()
    raw.execute("BEGIN IMMEDIATE")
    objectives = tpl["objectives"]
    baseline_total = json.loads(it["scores"])
    phq9 = next(s for s in baseline_total if s["instrument"] == "phq9")
    n_sessions = 0
    measure_rows = []
    feedback_rows = []
    next_sid = raw.execute("SELECT coalesce(max(id), 0) + 1 FROM sessions").fetchone()[0]
    session_rows = []
    rating_rows = []
    for cid in cids:
        pid, start = plan_of[cid], starts[cid]
        weeks = (TODAY - start).days // 7
        count = max(1, min(rng.randint(5, 12), weeks))
        dates = [start + dt.timedelta(weeks=k) for k in range(1, count + 1)]
        sids = []
        for n, day in enumerate(dates, 1):
            sid = next_sid
            next_sid += 1
            sids.append(sid)
            session_rows.append((sid, pid, version_of[pid], n, day.isoformat(),
                                 f"Session {n}: reviewed the week, practised the skill.", 12,
                                 STAMP))
            for pos, key in enumerate(rng.sample(objectives, 2)):
                rating_rows.append((sid, key, min(10, rng.randint(0, 4) + n // 2), pos))
            answers = {k: rng.randint(5, 10) for k in ("heard", "mattered", "approach",
                                                       "overall")}
            feedback_rows.append((sid, json.dumps(answers), sum(answers.values()) / 4,
                                  min(answers.values()), STAMP))
        n_sessions += count
        baseline = phq9["total"] + rng.randint(-4, 6)
        measure_rows.append((cid, "phq9", start.isoformat(), baseline, band(baseline), "[]",
                             "intake", intake_of[cid], None))
        totals = trajectory(rng, baseline, FOLLOW_UPS)
        risky_at = FOLLOW_UPS - 1 if rng.random() < 0.04 else -1
        for k, total in enumerate(totals):
            if k < count:
                day, sid, source = dates[k], sids[k], "session"
            else:  # more scores than sessions: given between sessions, up to today
                day = min(TODAY, dates[-1] + dt.timedelta(days=k - count + 1))
                sid, source = None, "measure"
            flags = '["item9_positive"]' if k == risky_at else "[]"
            measure_rows.append((cid, "phq9", day.isoformat(), total, band(total), flags,
                                 source, None, sid))
    raw.executemany("INSERT INTO sessions (id, plan_id, version_id, number, date, note, "
                    "session_limit, created_at) VALUES (?,?,?,?,?,?,?,?)", session_rows)
    raw.executemany("INSERT INTO session_objectives (session_id, objective_key, rating, "
                    "position) VALUES (?,?,?,?)", rating_rows)
    raw.executemany("INSERT INTO session_feedback (session_id, answers, mean, lowest, "
                    "created_at) VALUES (?,?,?,?,?)", feedback_rows)
    raw.executemany("INSERT INTO measures (client_id, instrument, date, total, band, flags, "
                    "source, intake_id, session_id, created_at) VALUES (?,?,?,?,?,?,?,?,?,"
                    f"'{STAMP}')", measure_rows)
    # The audit log as the commands would leave it (the dashboard reads accepted reviews
    # from it): a row per plan, session and later score.
    audit: list[tuple[Any, ...]] = [
        (STAMP, "bench", "plan.draft", "plan", f"P{plan_of[cid]}", cid, plan_of[cid],
         '{"version": 1}') for cid in cids]
    audit += [(STAMP, "bench", "session.add", "session", f"S{r[0]}", None, r[1],
               f'{{"number": {r[3]}}}') for r in session_rows]
    audit += [(STAMP, "bench", "measure.add", "measure", "M0", r[0], None, '{"total": 1}')
              for r in measure_rows if r[6] != "intake"]
    raw.executemany("INSERT INTO audit (at, who, action, record_type, record_id, client_id, "
                    "plan_id, detail) VALUES (?,?,?,?,?,?,?,?)", audit)
    raw.execute("COMMIT")
    print(f"  {n_sessions} sessions, {len(rating_rows)} ratings, {len(measure_rows)} scores, "
          f"{len(audit)} audit rows: "
          f"{time.perf_counter() - t0:.1f} s")
    raw.execute("ANALYZE")
    raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw.close()


def cached(n_clients: int, rebuild: bool) -> Path:
    from planwise.store import SCHEMA_VERSION

    name = f"planwise-bench-progress-{n_clients}-s{SCHEMA_VERSION}-b{BUILD}.db"
    path = Path(tempfile.gettempdir()) / name
    if path.exists() and not rebuild:
        con = sqlite3.connect(str(path))
        try:
            ok = con.execute("SELECT count(*) FROM clients").fetchone()[0] == n_clients + 1
        except sqlite3.Error:
            ok = False
        finally:
            con.close()
        if ok:
            print(f"reusing {path}")
            return path
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    print(f"building {n_clients} clients with {n_clients * (FOLLOW_UPS + 1)} scores in {path}")
    t0 = time.perf_counter()
    build(path, n_clients, random.Random(6))
    print(f"built in {time.perf_counter() - t0:.1f} s, {path.stat().st_size / 1e6:.0f} MB")
    return path


def measure(path: Path, runs: int) -> None:
    from planwise.kb.loader import load_knowledge
    from planwise.rules import review
    from planwise.store import Store
    from planwise.store.course import load_course
    from planwise.store.dashboard import attention

    kb = load_knowledge([])
    c = Store(path).connect()
    counts = c.one("SELECT (SELECT count(*) FROM clients) AS clients, "
                   "(SELECT count(*) FROM measures) AS scores, "
                   "(SELECT count(*) FROM sessions) AS sessions")
    print(f"caseload: {counts}")
    t = time.perf_counter()
    rows: list[dict[str, Any]] = attention(c, TODAY, kb=kb)
    first = time.perf_counter() - t
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        rows = attention(c, TODAY, kb=kb)
        times.append(time.perf_counter() - t)
    med = statistics.median(times)
    print(f"dashboard        first {first * 1000:7.0f} ms   median {med * 1000:7.0f} ms   "
          f"max {max(times) * 1000:7.0f} ms   n={runs}  (target <= 1000 ms: "
          f"{'met' if med <= 1.0 else 'NOT met'})")
    by_flag: dict[str, int] = {}
    for r in rows:
        for f in r["flags"]:
            by_flag[f] = by_flag.get(f, 0) + 1
    print(f"{'':16} {len(rows)} clients need attention; by flag: "
          + ", ".join(f"{k} {v}" for k, v in sorted(by_flag.items())))

    plan_id = rows[0]["plan_id"] if rows else 1
    review(load_course(c, plan_id, TODAY), kb, "reference")  # warm the engine
    loads, reviews = [], []
    for _ in range(max(runs, 5)):
        t = time.perf_counter()
        course = load_course(c, plan_id, TODAY)
        t2 = time.perf_counter()
        rv = review(course, kb, "reference")
        loads.append((t2 - t) * 1000)
        reviews.append((time.perf_counter() - t2) * 1000)
    print(f"load_course      median {statistics.median(loads):7.1f} ms")
    print(f"review           median {statistics.median(reviews):7.1f} ms "
          f"(reference engine, {len(rv.changes)} changes proposed)")
    c.close()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--clients", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--rebuild", action="store_true", help="Build the database again.")
    args = ap.parse_args(argv)
    measure(cached(args.clients, args.rebuild), args.runs)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "src"))
    main()
