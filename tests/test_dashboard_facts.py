"""Migration 12 (planwise.store.attention_facts): the plan items' facts and each objective's
last rating, kept out of the JSON for the caseload, are filled for an existing database,
kept in step with every save, edit, revision, signature and session, as protected as the
records they come from, and give the dashboard the same answers as the records."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from planwise.clinical.review_facts import attention_flags
from planwise.kb import load_knowledge
from planwise.store import Store
from planwise.store.attention_data import _GROUPED_RATINGS, _open_objectives, compute
from planwise.store.attention_facts import COLUMNS, KINDS
from planwise.store.course import load_course
from planwise.store.dashboard import attention
from planwise.store.db import SCHEMA_VERSION, migrate
from planwise.store.verify import _objects, verify
from tests.test_store_helpers import EXAMPLE

OBJ = "depression.activity.monitor"
# Migration 12's objects: dropping them (and its schema_version row) gives the database
# as schema 11 left it (checked against a database built up to 11).
OBJECTS_12 = ("plan_item_facts", "last_ratings")


def expected_facts(con: sqlite3.Connection) -> list[tuple[Any, ...]]:
    """The facts as the items' JSON says them, read in Python (not with SQLite's JSON)."""
    paths = {"status": ("objective", "status"), "due": ("objective", "anticipated"),
             "condition": ("problem", "condition"), "severity": ("problem", "severity"),
             "review_weeks": ("treatment", "review_weeks"),
             "frequency_per_week": ("treatment", "frequency_per_week"),
             "level_of_care": ("treatment", "level_of_care")}
    out = []
    for vid, key, kind, parent, pos, origin, data in con.execute(
            "SELECT version_id, key, kind, parent_key, position, origin, data FROM plan_items "
            f"WHERE kind IN ({', '.join('?' for _ in KINDS)}) ORDER BY version_id, key", KINDS):
        d = json.loads(data)
        facts = [d.get(path) if kind == wanted else None
                 for wanted, path in (paths[col] for col in COLUMNS[6:])]
        out.append((vid, key, kind, parent, pos, int(origin != "proposed_rejected"), *facts))
    return out


def kept_facts(con: sqlite3.Connection) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in con.execute(
        f"SELECT {', '.join(COLUMNS)} FROM plan_item_facts ORDER BY version_id, key")]


def expected_last(con: sqlite3.Connection) -> list[tuple[Any, ...]]:
    """Per plan and objective, the rating of the highest-numbered session that rated it."""
    best: dict[tuple[int, str], tuple[int, str, int]] = {}
    for plan_id, number, date, key, rating in con.execute(
            "SELECT s.plan_id, s.number, s.date, so.objective_key, so.rating FROM sessions s "
            "JOIN session_objectives so ON so.session_id = s.id WHERE so.rating IS NOT NULL"):
        if (plan_id, key) not in best or best[plan_id, key][0] < number:
            best[plan_id, key] = (number, date, rating)
    return sorted((p, k, *v) for (p, k), v in best.items())


def kept_last(con: sqlite3.Connection) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in con.execute(
        "SELECT plan_id, key, number, date, rating FROM last_ratings ORDER BY plan_id, key")]


def in_step(path: Path) -> None:
    con = sqlite3.connect(path)
    try:
        assert kept_facts(con) == expected_facts(con)
        assert kept_last(con) == expected_last(con)
    finally:
        con.close()


def edit(c: Any, plan_id: int, reason: str | None = None, **change: Any) -> None:
    """Save the plan's current version with its first objective changed (and, with
    reject_goal, its second goal rejected)."""
    from planwise.store.plan_read import load_doc_for
    from planwise.store.plans import save_doc

    doc = load_doc_for(c, plan_id)
    objective = doc.problems[0].goals[0].objectives[0]
    for name in ("status", "anticipated"):
        if name in change:
            setattr(objective, name, change[name])
    if change.get("reject_goal"):
        goal = doc.problems[0].goals[1]
        goal.origin, goal.rejection_reason = "proposed_rejected", "not now"
    save_doc(c, plan_id, doc, reason)


@pytest.fixture(scope="module")
def caseload(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three clients: P1 signed then revised, with rated sessions on several days; P2 a
    draft edited (an objective met, a goal rejected); P3 signed, never rated."""
    from planwise.store import clients, plans, sessions

    path = tmp_path_factory.mktemp("facts") / "planwise.db"
    kb = load_knowledge([])
    with pytest.MonkeyPatch.context() as mp, Store(path).connect() as c:
        mp.setenv("PLANWISE_TODAY", "2027-06-01")  # the sessions are held by then
        ids = [clients.add_client(c, f"Client {n}") for n in (1, 2, 3)]
        p1, p2, p3 = (plans.draft(c, cid, str(EXAMPLE), kb, None, "reference") for cid in ids)
        in_step(path)
        plans.sign(c, p1, "therapist", "A. Clinician", force=True)
        plans.sign(c, p3, "therapist", "A. Clinician", force=True)
        sessions.add_session(c, p1, "2026-12-06", [f"{OBJ}:3"], "n")
        sessions.add_session(c, p1, "2026-12-13", [f"{OBJ}:6"], "n")
        sessions.add_session(c, p1, "2026-12-20", [OBJ], "n")  # addressed, not rated
        in_step(path)
        edit(c, p1, "review: first objective met", status="met")
        sessions.add_session(c, p1, "2027-01-10", [f"{OBJ}:2"], "n")
        edit(c, p2, status="partially_met", anticipated=dt.date(2027, 1, 3))
        edit(c, p2, reject_goal=True)
        in_step(path)
    return path


@pytest.fixture()
def db(caseload: Path, tmp_path: Path) -> Path:
    path = tmp_path / "planwise.db"
    shutil.copy(caseload, path)
    return path


def test_facts_follow_every_save_revision_and_session(db: Path) -> None:
    in_step(db)  # checked after each step by the fixture too
    con = sqlite3.connect(db)
    facts = {(r[0], r[1]): r for r in kept_facts(con)}
    # P1: version 1 (signed) keeps the open objective, version 2 has it met.
    v1, v2 = (r[0] for r in con.execute(
        "SELECT id FROM plan_versions WHERE plan_id = 1 ORDER BY version"))
    first = con.execute("SELECT key FROM plan_items WHERE version_id = ? AND kind = "
                        "'objective' ORDER BY position", [v1]).fetchone()[0]
    assert facts[v1, first][6] == "open" and facts[v2, first][6] == "met"
    # P2's draft: edited in place (one version), the second goal rejected.
    (vid,) = con.execute("SELECT id FROM plan_versions WHERE plan_id = 2").fetchone()
    goals = [r for r in kept_facts(con) if r[0] == vid and r[2] == "goal"]
    assert [g[5] for g in sorted(goals, key=lambda g: g[4])][:2] == [1, 0]
    assert any(r[7] == "2027-01-03" for r in kept_facts(con) if r[0] == vid)
    # Every kind the dashboard reads is there; the others are not copied.
    assert {r[2] for r in kept_facts(con)} == set(KINDS)
    # P1's last rating of the objective: session 4's 2, not the unrated session 3.
    assert con.execute("SELECT number, date, rating FROM last_ratings WHERE plan_id = 1 AND "
                       "key = ?", [OBJ]).fetchone() == (4, "2027-01-10", 2)
    con.close()


def test_deleted_and_replaced_items_leave_no_stale_facts(db: Path) -> None:
    con = sqlite3.connect(db, isolation_level=None)
    (vid,) = con.execute("SELECT id FROM plan_versions WHERE plan_id = 2").fetchone()
    con.execute("DELETE FROM plan_items WHERE version_id = ? AND kind = 'intervention'", [vid])
    key = con.execute("SELECT key FROM plan_items WHERE version_id = ? AND kind = 'objective'",
                      [vid]).fetchone()[0]
    con.execute("DELETE FROM plan_items WHERE version_id = ? AND key = ?", [vid, key])
    # An INSERT OR REPLACE (a draft's row) deletes the old row without its delete trigger.
    row = con.execute("SELECT id, kind, key, parent_key, position, origin, proposed, data, "
                      "because FROM plan_items WHERE version_id = ? AND kind = 'problem'",
                      [vid]).fetchone()
    data = json.dumps({**json.loads(row[7]), "severity": "severe"})
    con.execute("INSERT OR REPLACE INTO plan_items (id, version_id, kind, key, parent_key, "
                "position, origin, proposed, data, because) VALUES (?, ?, ?, ?, ?, ?, ?, ?, "
                "?, ?)", [row[0], vid, *row[1:7], data, row[8]])
    # An item turned into another kind (not read by the dashboard) loses its facts.
    con.execute("UPDATE plan_items SET kind = 'warning' WHERE version_id = ? AND kind = "
                "'treatment'", [vid])
    con.close()
    in_step(db)
    con = sqlite3.connect(db)
    assert ("severe",) in con.execute("SELECT severity FROM plan_item_facts WHERE "
                                      "version_id = ? AND kind = 'problem'", [vid]).fetchall()
    assert not con.execute("SELECT 1 FROM plan_item_facts WHERE version_id = ? AND kind = "
                           "'treatment'", [vid]).fetchall()
    con.close()


def test_a_signed_versions_facts_and_the_last_ratings_cannot_be_changed(db: Path) -> None:
    con = sqlite3.connect(db, isolation_level=None)  # another client: no planwise functions
    (signed,) = con.execute("SELECT id FROM plan_versions WHERE plan_id = 3").fetchone()
    for sql in ("UPDATE plan_item_facts SET status = 'met' WHERE version_id = ?",
                "DELETE FROM plan_item_facts WHERE version_id = ?",
                "INSERT INTO plan_item_facts (version_id, key, kind, position, live) "
                "VALUES (?, 'x', 'objective', 99, 1)",
                "INSERT OR REPLACE INTO plan_item_facts (version_id, key, kind, position, live)"
                " SELECT version_id, key, kind, position, 0 FROM plan_item_facts WHERE "
                "version_id = ?"):
        with pytest.raises(sqlite3.DatabaseError, match="signed plan version is immutable"):
            con.execute(sql, [signed])
    for sql in ("DELETE FROM last_ratings",
                "UPDATE last_ratings SET rating = 10",
                "UPDATE last_ratings SET number = number - 1",
                "UPDATE last_ratings SET key = 'other'"):
        with pytest.raises(sqlite3.DatabaseError, match="ratings are append-only"):
            con.execute(sql)
    con.close()
    in_step(db)


def down_to_11(path: Path) -> None:
    """The database as schema 11 had it: migration 12's objects and its row gone."""
    con = sqlite3.connect(path, isolation_level=None)
    for table in OBJECTS_12:
        con.execute(f"DROP TABLE {table}")  # its indexes go with it
    for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND "
                               "(name LIKE 'plan_item_facts%' OR name LIKE 'last_ratings%')"
                               ).fetchall():
        con.execute(f"DROP TRIGGER {name}")
    con.execute("DELETE FROM schema_version WHERE version = 12")
    at_11 = sqlite3.connect(":memory:", isolation_level=None)
    migrate(at_11, upto=11)
    assert _objects(con) == _objects(at_11)  # exactly what schema 11 makes
    con.close()


def test_a_schema_11_database_with_signed_plans_is_migrated_and_verifies(db: Path) -> None:
    before = sqlite3.connect(db)
    facts, last = kept_facts(before), kept_last(before)
    before.close()
    kb = load_knowledge([])
    with Store(db).connect() as c:
        rows = attention(c, dt.date(2027, 1, 12), kb=kb)
    down_to_11(db)
    assert SCHEMA_VERSION == 12
    with Store(db).connect() as c:
        assert c.one("SELECT max(version) v FROM schema_version")["v"] == 12  # type: ignore
        report = verify(c.raw)
        assert report.ok, report.problems
        assert report.entries > 0
        c.raw.execute("DELETE FROM attention_cache")
        assert attention(c, dt.date(2027, 1, 12), kb=kb) == rows
    con = sqlite3.connect(db)
    # The migration fills what the triggers would have written, row for row.
    assert kept_facts(con) == facts and facts
    assert kept_last(con) == last and last
    con.close()
    # And keeps every guarantee: a signed version's items, and now its facts, stay fixed.
    con = sqlite3.connect(db, isolation_level=None)
    for table in ("plan_items", "plan_item_facts"):
        with pytest.raises(sqlite3.DatabaseError, match="immutable"):
            con.execute(f"DELETE FROM {table} WHERE version_id = (SELECT id FROM "
                        "plan_versions WHERE plan_id = 3)")
    con.close()


def test_a_dropped_trigger_of_migration_12_is_reported(db: Path) -> None:
    con = sqlite3.connect(db, isolation_level=None)
    con.execute("DROP TRIGGER plan_item_facts_on_update")
    con.close()
    with Store(db).connect() as c:
        problems = [str(p) for p in verify(c.raw).problems]
    assert "trigger plan_item_facts_on_update: missing (dropped?)" in problems


@pytest.mark.parametrize("day", ["2026-12-06", "2026-12-10", "2026-12-13", "2026-12-31",
                                 "2027-01-10", "2027-03-01"])
def test_the_kept_last_ratings_give_what_every_rating_gives(db: Path, day: str) -> None:
    # Before, on and after each rated session: a day before a plan's last rating reads
    # that plan's ratings themselves.
    with Store(db).connect() as c:
        got = compute(c, day, None)
        grouped: dict[int, dict[str, Any]] = {}
        _open_objectives(c, day, None, _GROUPED_RATINGS, grouped)
        for plan_id in got.keys() | grouped.keys():
            assert ({k: got.get(plan_id, {}).get(k) for k in ("open", "dues")}
                    == {k: grouped.get(plan_id, {}).get(k) for k in ("open", "dues")}), plan_id
        assert compute(c, day, [1]).get(1) == got.get(1)
        # And the flags agree with each client's full course.
        when = dt.date.fromisoformat(day)
        kb = load_knowledge([])
        c.raw.execute("DELETE FROM attention_cache")
        flags = {r["plan_id"]: r["flags"] for r in attention(c, when, kb=kb)}
        for plan_id in (1, 2, 3):
            assert flags.get(plan_id, []) == attention_flags(load_course(c, plan_id, when), kb)
