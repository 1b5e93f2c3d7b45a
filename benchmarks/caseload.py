"""A synthetic caseload shaped like a real one, for the store, progress and growth benchmarks.

    from caseload import TODAY, cached
    path = cached(10_000)     # built once, kept in the temporary folder by size

The shape (every share below is drawn per client with a fixed seed; the figures a
build prints and docs/performance.md give the counts):

- Clients: 90% are in treatment with one plan; 10% have an intake and no plan yet
  (referred, waiting). Names from 24 first and 26 last names, so searches find
  groups of them.
- Plans: the engine's draft of the example intake (examples/depression-alcohol.toml:
  3 problems, 11 goals, 24 objectives due 1 to 12 weeks after the start, review
  every 6 weeks), started 1 to 20 weeks before TODAY, its dates moved to the start.
  Version 1 is signed at the start. A review is held every 6 weeks; 97% of plans had
  every review due (1.5% missed the latest one); 90% of reviews revise the plan: a
  new version, signed, except that a quarter of the latest revisions are still drafts.
  About 2.1 versions a plan: 19,190 versions for 10,000 clients.
- Payer's session limit (the intake's): 20 sessions for 55%, 30 for 15%, 12 for 5%,
  none for 25%; 85% of those within 3 sessions of it were extended (30, or none).
- Sessions: weekly from a week after the start up to TODAY, 12% of weeks missed. Each
  rates the objectives falling due (up to 8 a session, the earliest first): 0-10, at 5
  or more once due or due within a week (an objective rated 7 or more is not rated
  again). For 1.5% of plans
  one objective is stuck (rated 1-4 after its date); every session has the end-of-session
  feedback.
- Scores: the intake's PHQ-9, AUDIT and ASQ (PHQ-9 baseline 11 to 22), and a PHQ-9 at
  every second session: improving for 95.3% of clients (1 to 2 points a week, to a
  floor of 2 to 5), flat for 3%, worse for 1%, and for 0.7% improving with item 9
  positive at the latest score.
- The audit log as the commands leave it: client.add, plan.draft, plan.sign,
  plan.version, plan.review (version and date) and session.add rows.

With these shares about 7% of clients are flagged on TODAY (not on track, overdue
objectives, a missed review, the session limit near, deteriorated, risk); the build
is checked by the benchmarks, which print the counts by flag.

Rows are inserted in bulk with SQL (executemany, a few large transactions), through
the schema's triggers: the hash chain is the one the commands would write.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import random
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "depression-alcohol.toml"
TODAY = dt.date(2027, 6, 1)
BUILD = 1  # the generator's own version: a new one builds new cached files
FIRST = ["Alex", "Sam", "Jo", "Kim", "Lee", "Noor", "Ravi", "Mia", "Tom", "Ana", "Ola", "Ben",
         "Ada", "Eli", "Ivy", "Max", "Zoe", "Yan", "Lea", "Omar", "Priya", "Hana", "Ken", "Lu"]
LAST = ["Smith", "Jones", "Okafor", "Nguyen", "Garcia", "Kowalski", "Haddad", "Silva", "Brown",
        "Tanaka", "Muller", "Rossi", "Dubois", "Novak", "Larsen", "Ahmed", "Kaur", "Petrov",
        "Walsh", "Costa", "Ibrahim", "Schmidt", "Moreau", "Yilmaz", "Fischer", "Hughes"]
ITEM_COLS = ("kind", "key", "parent_key", "position", "origin", "rejection_reason",
             "proposed", "data", "because")
REVIEW_WEEKS = 6
LIMITS = ([20] * 55) + ([30] * 15) + ([12] * 5) + ([None] * 25)  # type: ignore[list-item]
# Plans per transaction: the builder's memory stays flat at 100,000 clients.
CHUNK = 2_000


@functools.cache
def band(total: int) -> str:
    from planwise.clinical.instrument_files import load_instruments

    return load_instruments()["phq9"].band_for(total).name


def stamp(day: dt.date) -> str:
    return f"{day.isoformat()}T09:00:00+00:00"


def template(path: Path) -> dict[str, Any]:
    """One real client, intake and engine draft (reference engine): the rows every plan
    copies."""
    from planwise.kb.loader import load_knowledge
    from planwise.store import Store, clients, plans

    kb = load_knowledge([])
    with Store(path).connect() as c:
        cid = clients.add_client(c, "Template Client")
        pid = plans.draft(c, cid, str(EXAMPLE), kb, None, "reference")
        intake = c.one("SELECT * FROM intakes WHERE client_id = ?", [cid])
        version = c.one("SELECT * FROM plan_versions WHERE plan_id = ?", [pid])
        items = c.query("SELECT * FROM plan_items WHERE version_id = ? ORDER BY position",
                        [version["id"]])  # type: ignore[index]
        info = c.one("SELECT info FROM clients WHERE id = ?", [cid])
    return {"intake": intake, "version": version, "items": items, "info": info,
            "objectives": [i["key"] for i in items if i["kind"] == "objective"]}


class Items:
    """The template's item rows with every objective's date moved to a plan's start."""

    def __init__(self, items: list[dict[str, Any]], start: dt.date) -> None:
        self.items = items
        self.start = start
        self.by_start: dict[dt.date, tuple[list[tuple[Any, ...]], list[tuple[str, dt.date]]]] = {}

    def at(self, start: dt.date) -> tuple[list[tuple[Any, ...]], list[tuple[str, dt.date]]]:
        """(item rows without the version id, [(objective key, due date)] by due date)."""
        got = self.by_start.get(start)
        if got is not None:
            return got
        days = dt.timedelta(days=(start - self.start).days)
        rows, dues = [], []
        for it in self.items:
            row = dict(it)
            if it["kind"] == "objective":
                for col in ("data", "proposed"):
                    d = json.loads(it[col])
                    if d.get("anticipated"):
                        d["anticipated"] = (dt.date.fromisoformat(d["anticipated"])
                                            + days).isoformat()
                    row[col] = json.dumps(d, sort_keys=True)
                due = json.loads(row["data"]).get("anticipated")
                if due:
                    dues.append((it["key"], dt.date.fromisoformat(due)))
            rows.append(tuple(row[c] for c in ITEM_COLS))
        got = (rows, sorted(dues, key=lambda kd: (kd[1], kd[0])))
        self.by_start[start] = got
        return got


def trajectory(rng: random.Random, baseline: int, weeks: list[int]) -> tuple[list[int], int]:
    """PHQ-9 totals at the given weeks after the start, and the index of a score with
    item 9 positive (-1: none)."""
    kind = rng.choices(["improving", "flat", "worse", "risk"], [95.3, 3, 1, 0.7])[0]
    rate, floor = rng.uniform(1.0, 2.0), rng.randint(2, 5)
    out = []
    for w in weeks:
        if kind in ("improving", "risk"):
            t = max(floor, baseline - round(w * rate) + rng.randint(-1, 1))
        elif kind == "flat":
            t = baseline + rng.choice([-2, -1, 0, 0, 1, 2])
        else:
            t = baseline + round(w * rng.uniform(0.8, 1.2))
        out.append(max(0, min(27, t)))
    return out, (len(out) - 1 if kind == "risk" and out else -1)


def plan_rows(rng: random.Random, cid: int, pid: int, start: dt.date, items: Items,
              ids: dict[str, int]) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of one plan's course (versions with their items and signatures, sessions,
    ratings, feedback, scores, reviews, audit), ids given from `ids`' counters."""
    out: dict[str, list[tuple[Any, ...]]] = {k: [] for k in (
        "versions", "signatures", "sessions", "ratings", "feedback", "measures", "audit")}
    rows, dues = items.at(start)
    # Reviews every 6 weeks; the latest one missed for 3% of plans.
    reviews = [start + dt.timedelta(weeks=REVIEW_WEEKS * k) for k in range(1, 40)
               if start + dt.timedelta(weeks=REVIEW_WEEKS * k) <= TODAY]
    if reviews and rng.random() < 0.015:
        reviews.pop()
    versions = [(1, start, "")]  # (number, created, reason)
    held = []
    for day in reviews:
        if rng.random() < 0.9:
            versions.append((len(versions) + 1, day, "revised at the review"))
        held.append((versions[-1][0], day))
    draft_last = len(versions) > 1 and rng.random() < 0.25
    vids = []
    for number, created, reason in versions:
        ids["version"] += 1
        vid = ids["version"]
        vids.append((vid, created))
        out["versions"].append((vid, pid, number, start.isoformat(),
                                (created + dt.timedelta(weeks=REVIEW_WEEKS)).isoformat(),
                                "low", reason or None, stamp(created), rows))
        if not (draft_last and number == len(versions)):
            out["signatures"].append((vid, number, stamp(created)))
        audit_what = "plan.draft" if number == 1 else "plan.version"
        out["audit"].append((stamp(created), audit_what, pid, cid,
                             json.dumps({"version": number})))
    for number, day in held:
        out["audit"].append((stamp(day), "plan.review", pid, cid,
                             json.dumps({"version": number, "date": day.isoformat(),
                                         "accepted": [], "changed": False})))

    # Weekly sessions, some weeks missed; ratings of the objectives falling due.
    stuck = None
    if rng.random() < 0.015:
        past = [k for k, due in dues if due < TODAY - dt.timedelta(weeks=1)]
        stuck = rng.choice(past) if past else None
    done: set[str] = set()
    last: dict[str, int] = {}
    session_weeks = []
    number = 0
    week = 1
    while start + dt.timedelta(weeks=week) <= TODAY:
        if rng.random() >= 0.12:
            day = start + dt.timedelta(weeks=week)
            number += 1
            ids["session"] += 1
            sid = ids["session"]
            vid = max(v for v, created in vids if created <= day)
            out["sessions"].append((sid, pid, vid, number, day.isoformat(),
                                    f"Session {number}: reviewed the week, practised the "
                                    "skill, set homework.", stamp(day)))
            # Those due and not yet rated 5 first, then those falling due within 2 weeks.
            soon = [(last.get(k, -1) >= 5 or due > day, due, k) for k, due in dues
                    if k not in done and due <= day + dt.timedelta(weeks=2)]
            for pos, (_later, due, key) in enumerate(sorted(soon)[:8]):
                if key == stuck:
                    rating = rng.randint(1, 4)
                elif due <= day:
                    rating = rng.randint(5, 10)
                elif due <= day + dt.timedelta(weeks=1):
                    rating = rng.randint(5, 8)  # on track, due by the next session
                else:
                    rating = rng.randint(2, 6)
                if rating >= 7:
                    done.add(key)
                last[key] = rating
                out["ratings"].append((sid, key, rating, pos))
            answers = {k: rng.randint(6, 10) for k in ("heard", "mattered", "approach",
                                                       "overall")}
            out["feedback"].append((sid, json.dumps(answers), sum(answers.values()) / 4,
                                    min(answers.values()), stamp(day)))
            out["audit"].append((stamp(day), "session.add", pid, cid,
                                 json.dumps({"number": number})))
            session_weeks.append((sid, week, day))
        week += 1
    baseline = 16 + rng.randint(-5, 6)
    scored = session_weeks[1::2]
    totals, risky = trajectory(rng, baseline, [w for _sid, w, _d in scored])
    out["measures"].append((cid, "phq9", start.isoformat(), baseline, band(baseline),
                            '["item9_positive"]', "intake", None, stamp(start)))
    for k, ((sid, _w, day), total) in enumerate(zip(scored, totals, strict=True)):
        flags = '["item9_positive"]' if k == risky else "[]"
        out["measures"].append((cid, "phq9", day.isoformat(), total, band(total), flags,
                                "session", sid, stamp(day)))
    return out


def build(path: Path, n_clients: int, seed: int = 12) -> None:
    from planwise.store.integrity import register

    rng = random.Random(seed)
    tpl = template(path)
    raw = sqlite3.connect(str(path), isolation_level=None)
    register(raw)  # the chain's triggers call planwise's SQL functions
    raw.execute("PRAGMA foreign_keys = ON")
    raw.execute("PRAGMA cache_size = -200000")
    it = tpl["intake"]
    intake_data = json.loads(it["data"])
    info = json.loads(tpl["info"]["info"])
    items = Items(tpl["items"], dt.date.fromisoformat(tpl["version"]["start_date"]))
    scores = {s["instrument"]: s for s in json.loads(it["scores"])}
    data_for: dict[Any, str] = {}
    for limit in set(LIMITS):
        d = json.loads(it["data"])
        d.setdefault("context", {})["session_limit"] = limit
        if limit is None:
            del d["context"]["session_limit"]
        data_for[limit] = json.dumps(d, sort_keys=True)
    del intake_data
    ids = {k: raw.execute(f"SELECT coalesce(max(id), 0) FROM {t}").fetchone()[0]
           for k, t in (("client", "clients"), ("intake", "intakes"), ("plan", "plans"),
                        ("version", "plan_versions"), ("session", "sessions"))}
    counts: dict[str, int] = {}
    t0 = time.perf_counter()
    for first in range(0, n_clients, CHUNK):
        raw.execute("BEGIN IMMEDIATE")
        chunk = [_client(rng, tpl, info, items, scores, data_for, ids)
                 for _ in range(first, min(n_clients, first + CHUNK))]
        _insert(raw, chunk, counts)
        raw.execute("COMMIT")
        done = min(n_clients, first + CHUNK)
        if done % 20_000 == 0 or done == n_clients:
            print(f"  {done} clients: {time.perf_counter() - t0:.0f} s", flush=True)
    print("  " + ", ".join(f"{v} {k}" for k, v in counts.items()))
    raw.execute("ANALYZE")
    raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw.close()


def _client(rng: random.Random, tpl: dict[str, Any], info: dict[str, Any], items: Items,
            scores: dict[str, Any], data_for: dict[Any, str], ids: dict[str, int]
            ) -> dict[str, Any]:
    ids["client"] += 1
    cid = ids["client"]
    start = TODAY - dt.timedelta(days=rng.randint(7, 140))
    info = dict(info, contact={"phone": f"+44 7700 {cid:06d}",
                               "email": f"client{cid}@example.org"}, notes=f"Client {cid}")
    limit = rng.choice(LIMITS)
    weeks = (TODAY - start).days // 7
    if limit is not None and limit - weeks <= 3 and rng.random() < 0.85:
        limit = 30 if weeks + 3 < 30 else None  # the payer extended it
    ids["intake"] += 1
    client = {"client": (cid, f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                         json.dumps(info, sort_keys=True), stamp(start)),
              "intake": (ids["intake"], cid, start.isoformat(), data_for[limit],
                         tpl["intake"]["scores"], stamp(start)),
              "limit": limit, "plan": None}
    measures = [(cid, inst, start.isoformat(), s["total"], s["band"], json.dumps(s["flags"]),
                 "intake", None, stamp(start)) for inst, s in scores.items()
                if inst != "phq9"]
    if rng.random() < 0.9:
        ids["plan"] += 1
        course = plan_rows(rng, cid, ids["plan"], start, items, ids)
        course["measures"] = [(*course["measures"][0][:7], ids["intake"],
                               *course["measures"][0][8:]), *course["measures"][1:]]
        course["measures"] += [(*m[:7], ids["intake"], m[8]) for m in measures]
        client["plan"] = (ids["plan"], course)
    else:
        phq = scores["phq9"]
        client["measures"] = [(cid, "phq9", start.isoformat(), phq["total"], phq["band"],
                               json.dumps(phq["flags"]), "intake", ids["intake"],
                               stamp(start))] + [(*m[:7], ids["intake"], m[8])
                                                 for m in measures]
    return client


def _insert(raw: sqlite3.Connection, chunk: list[dict[str, Any]], counts: dict[str, int]
            ) -> None:
    def add(name: str, n: int) -> None:
        counts[name] = counts.get(name, 0) + n

    raw.executemany("INSERT INTO clients (id, name, info, created_at, updated_at) "
                    "VALUES (?,?,?,?,?)", [(*c["client"], c["client"][3]) for c in chunk])
    raw.executemany("INSERT INTO intakes (id, client_id, date, data, scores, created_at) "
                    "VALUES (?,?,?,?,?,?)", [c["intake"] for c in chunk])
    add("clients", len(chunk))
    planned = [c for c in chunk if c["plan"]]
    raw.executemany("INSERT INTO plans (id, client_id, intake_id, requires_supervisor, "
                    "created_at) VALUES (?,?,?,0,?)",
                    [(c["plan"][0], c["client"][0], c["intake"][0], c["client"][3])
                     for c in planned])
    add("plans", len(planned))
    audit: list[tuple[Any, ...]] = [
        (c["client"][3], "bench", "client.add", "client", f"C{c['client'][0]}",
         c["client"][0], None, "{}") for c in chunk]
    # Version by version number: a signature goes on a version while it is the current one.
    courses = [c["plan"][1] for c in planned]
    depth = max((len(k["versions"]) for k in courses), default=0)
    for number in range(1, depth + 1):
        vs = [v for k in courses for v in k["versions"] if v[2] == number]
        raw.executemany("INSERT INTO plan_versions (id, plan_id, version, start_date, "
                        "review_date, risk_level, reason, created_at) VALUES (?,?,?,?,?,?,?,?)",
                        [v[:8] for v in vs])
        raw.executemany(f"INSERT INTO plan_items (version_id, {', '.join(ITEM_COLS)}) "
                        f"VALUES (?, {', '.join('?' for _ in ITEM_COLS)})",
                        ((v[0], *row) for v in vs for row in v[8]))
        signed = [s for k in courses for s in k["signatures"] if s[1] == number]
        raw.executemany("INSERT INTO signatures (version_id, role, name, signed_at) "
                        "VALUES (?, 'therapist', 'A. Clinician', ?)",
                        [(s[0], s[2]) for s in signed])
        add("plan versions", len(vs))
        add("signed versions", len(signed))
    sessions = [s for k in courses for s in k["sessions"]]
    raw.executemany("INSERT INTO sessions (id, plan_id, version_id, number, date, note, "
                    "session_limit, created_at) VALUES (?,?,?,?,?,?,?,?)",
                    [(*s[:6], c["limit"], s[6]) for c in planned
                     for s in c["plan"][1]["sessions"]])
    raw.executemany("INSERT INTO session_objectives (session_id, objective_key, rating, "
                    "position) VALUES (?,?,?,?)", _all(courses, "ratings"))
    raw.executemany("INSERT INTO session_feedback (session_id, answers, mean, lowest, "
                    "created_at) VALUES (?,?,?,?,?)", _all(courses, "feedback"))
    measures = list(_all(courses, "measures")) + [m for c in chunk for m in c.get("measures", [])]
    raw.executemany("INSERT INTO measures (client_id, instrument, date, total, band, flags, "
                    "source, intake_id, session_id, created_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
                    [(*m[:7], m[7] if m[6] == "intake" else None,
                      m[7] if m[6] == "session" else None, m[8]) for m in measures])
    for c in planned:
        pid, course = c["plan"]
        for at, action, _pid, cid, detail in course["audit"]:
            audit.append((at, "bench", action, "plan" if action.startswith("plan") else
                          "session", f"P{pid}", cid, pid, detail))
    audit.sort(key=lambda r: r[0])
    raw.executemany("INSERT INTO audit (at, who, action, record_type, record_id, client_id, "
                    "plan_id, detail) VALUES (?,?,?,?,?,?,?,?)", audit)
    add("sessions", len(sessions))
    add("ratings", sum(len(k["ratings"]) for k in courses))
    add("scores", len(measures))
    add("audit rows", len(audit))


def _all(courses: list[dict[str, list[tuple[Any, ...]]]], name: str) -> Iterator[tuple[Any, ...]]:
    for k in courses:
        yield from k[name]


def cached(n_clients: int, rebuild: bool = False) -> Path:
    """The caseload of `n_clients` (built when missing), in the temporary folder, named by
    size, schema and this generator's BUILD."""
    from planwise.store import SCHEMA_VERSION

    name = f"planwise-bench-caseload-{n_clients}-s{SCHEMA_VERSION}-b{BUILD}.db"
    path = Path(tempfile.gettempdir()) / name
    if not path.exists() and not rebuild:
        _migrate_older(path, n_clients, SCHEMA_VERSION)
    if path.exists() and not rebuild:
        con = sqlite3.connect(str(path))
        try:
            ok = con.execute("SELECT count(*) FROM clients").fetchone()[0] == n_clients + 1
        except sqlite3.Error:
            ok = False
        finally:
            con.close()
        if ok:
            # Named by this schema, but perhaps left behind by a migration cut short: opening
            # it through the store migrates what is missing (nothing when up to date).
            from planwise.store import Store

            Store(path).connect().close()
            print(f"reusing {path}")
            return path
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    print(f"building a caseload of {n_clients} clients in {path}", flush=True)
    t0 = time.perf_counter()
    partial = path.with_suffix(".building")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{partial}{suffix}").unlink(missing_ok=True)
    build(partial, n_clients)
    shutil.move(str(partial), str(path))
    print(f"built in {time.perf_counter() - t0:.0f} s, {path.stat().st_size / 1e6:.0f} MB",
          flush=True)
    return path


def _migrate_older(path: Path, n_clients: int, schema: int) -> None:
    """A caseload built under an older schema becomes this one's: the store migrates it
    on open (a new migration need not cost a rebuild of 100,000 clients)."""
    from planwise.store import Store

    for version in range(schema - 1, 0, -1):
        older = path.with_name(f"planwise-bench-caseload-{n_clients}-s{version}-b{BUILD}.db")
        if older.exists() and not Path(f"{older}-wal").exists():
            print(f"migrating {older.name} from schema {version} to {schema}", flush=True)
            shutil.move(str(older), str(path))
            Store(path).connect().close()
            return


def copy_of(path: Path, folder: Path) -> Path:
    """A working copy, for benchmarks that write (the cached caseload stays as built)."""
    out = folder / path.name
    shutil.copyfile(path, out)
    return out


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "src"))
    for size in sys.argv[1:] or ["10000"]:
        cached(int(size), rebuild=True)
