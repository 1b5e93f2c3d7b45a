"""Tamper evidence: the hash chain, the guards against INSERT OR REPLACE and forged
signatures, `planwise verify`, and verify run by `backup` and the interface's start.

Every attack here is made the way issue 10 found them: a plain SQLite client on the
file (no planwise functions, foreign keys off), dropping triggers where it must.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from planwise.store import Store
from planwise.store.db import SCHEMA_VERSION, migrate
from planwise.store.integrity import CHAINED, register
from tests.test_store_helpers import EXAMPLE, Runner

OBJ = "depression.activity.monitor"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every protected table with rows: a client, an intake (with its measures), a plan
    signed by the therapist, a session with an objective, a measure and feedback."""
    from planwise.clinical.feedback import parse_answers
    from planwise.clinical.instrument_files import load_instruments
    from planwise.kb import load_knowledge
    from planwise.store import clients, plans, sessions

    path = tmp_path_factory.mktemp("tpl") / "planwise.db"
    kb = load_knowledge([])
    with Store(path).connect() as c:
        cid = clients.add_client(c, "Jo Example")
        pid = plans.draft(c, cid, str(EXAMPLE), kb, None, "reference")
        plans.sign(c, pid, "therapist", "A. Clinician")
        sessions.add_session(c, pid, "2026-12-06", [f"{OBJ}:4"], "Jo said the log helped",
                             feedback=parse_answers("heard=8,mattered=7,approach=9,overall=8"),
                             measures=[("phq9", "1,1,0,1,0,1,0,0,0")],
                             instruments=load_instruments())
    raw = sqlite3.connect(path)
    raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw.close()
    return path


@pytest.fixture()
def run(template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Runner:
    r = Runner(tmp_path, monkeypatch)
    shutil.copy(template, r.db)
    r.db.chmod(0o600)
    return r


def attacker(db: Path) -> sqlite3.Connection:
    """Another SQLite client: no planwise functions, foreign keys off (SQLite's default)."""
    return sqlite3.connect(db, isolation_level=None)


def verify(run: Runner) -> tuple[int, list[str]]:
    code, out, _err = run.invoke("verify")
    return code, out.splitlines()


def broken(run: Runner) -> list[str]:
    code, lines = verify(run)
    assert code == 1, lines
    return lines


def drop(con: sqlite3.Connection, *names: str) -> dict[str, str]:
    """Drop triggers; returns their SQL so that a careful attacker can put them back."""
    saved = {}
    for name in names:
        saved[name] = con.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND "
                                  "name = ?", [name]).fetchone()[0]
        con.execute(f"DROP TRIGGER {name}")
    return saved


def restore(con: sqlite3.Connection, saved: dict[str, str]) -> None:
    for sql in saved.values():
        con.execute(sql)


def row(con: sqlite3.Connection, table: str, where: str = "1 = 1") -> dict[str, Any]:
    con.row_factory = sqlite3.Row
    try:
        r = con.execute(f"SELECT rowid AS _rowid, * FROM {table} WHERE {where} "
                        "ORDER BY rowid LIMIT 1").fetchone()
        return dict(r)
    finally:
        con.row_factory = None


def replace(con: sqlite3.Connection, table: str, values: dict[str, Any]) -> None:
    cols = [k for k in values if k != "_rowid"]
    con.execute(f"INSERT OR REPLACE INTO {table} ({', '.join(cols)}) VALUES "
                f"({', '.join('?' for _ in cols)})", [values[k] for k in cols])


# -- a clean database ---------------------------------------------------------------------

def test_fresh_database_verifies_and_prints_the_head(run: Runner) -> None:
    code, lines = verify(run)
    assert code == 0, lines
    assert lines[0].startswith("ok: schema and triggers as planwise defines them")
    rows = sum(run.rows(f"SELECT count(*) n FROM {t}")[0]["n"] for t in CHAINED)
    assert f"{rows} records in the chain" in lines[0]
    # The fixture really covers every chained table.
    assert all(run.rows(f"SELECT count(*) n FROM {t}")[0]["n"] for t in CHAINED)
    head = run.rows("SELECT seq, hash FROM chain ORDER BY seq DESC LIMIT 1")[0]
    assert lines[1] == f"chain head: #{head['seq']} {head['hash']}" and head["seq"] == rows


def test_every_write_keeps_the_chain(run: Runner) -> None:
    run.ok("measure", "add", "C1", "gad7", "--answers", "1,1,1,1,1,1,1", "--date",
           "2026-12-06")
    f = run.db.parent / "p.toml"
    f.write_text(run.ok("plan", "export", "P1", "--format", "toml"))
    run.ok("plan", "import", "P1", str(f))
    run.ok("plan", "sign", "P1", "--role", "client", "--name", "Jo Example")
    assert verify(run)[0] == 0


def test_verify_refuses_a_missing_or_foreign_file(run: Runner, tmp_path: Path) -> None:
    assert "nothing to verify" in run.fails("verify", "--db", str(tmp_path / "none.db"),
                                            db=False)
    assert not (tmp_path / "none.db").exists()
    other = tmp_path / "other.db"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()
    assert "not a planwise database" in run.fails("verify", "--db", str(other), db=False)


# -- INSERT OR REPLACE, per protected table --------------------------------------------------

# table, a row to rewrite (WHERE), the column changed, its new value, the triggers an
# attacker must drop before REPLACE goes through, how verify names the record.
REPLACE_CASES = [
    ("intakes", "1 = 1", "date", "2026-01-01", ["intakes_no_replace", "intakes_chain"],
     "intakes 1: does not match"),
    ("measures", "1 = 1", "total", 0, ["measures_no_replace", "measures_chain"],
     "measures 1: does not match"),
    ("sessions", "1 = 1", "note", "rewritten", ["sessions_no_replace", "sessions_chain"],
     "sessions 1: does not match"),
    # no integer primary key: REPLACE deletes rowid 1 and adds a new rowid
    ("session_objectives", "1 = 1", "rating", 10,
     ["session_objectives_no_replace", "session_objectives_chain"],
     "session_objectives 1: deleted"),
    ("session_feedback", "1 = 1", "mean", 10.0,
     ["session_feedback_no_replace", "session_feedback_chain"],
     "session_feedback 1: does not match"),
    ("signatures", "1 = 1", "name", "Mallory",
     ["signatures_no_replace", "signatures_chain"], "signatures 1: does not match"),
    ("audit", "1 = 1", "detail", "{\"forged\": 1}", ["audit_no_replace", "audit_chain"],
     "audit 1: does not match"),
    # the signed version's risk level, one of its items, its plan's supervisor requirement
    ("plan_versions", "id = 1", "risk_level", "none", ["plan_versions_no_replace"],
     "plan_versions 1: changed after it was signed"),
    ("plan_items", "version_id = 1 AND kind = 'referral'", "data", "{}",
     ["plan_items_no_replace", "items_signed_no_insert"],
     "plan_versions 1: changed after it was signed"),
    ("plans", "id = 1", "requires_supervisor", 1, ["plans_no_replace"],
     "plan_versions 1: changed after it was signed"),
]


@pytest.mark.parametrize("table, where, column, value, triggers, named", REPLACE_CASES,
                         ids=[c[0] for c in REPLACE_CASES])
def test_insert_or_replace_is_refused_then_caught(run: Runner, table: str, where: str,
                                                  column: str, value: Any,
                                                  triggers: list[str], named: str) -> None:
    con = attacker(run.db)
    old = row(con, table, where)
    new = {**old, column: value}
    # With planwise's own functions (an attacker with planwise installed), the guard refuses.
    armed = attacker(run.db)
    register(armed)
    with pytest.raises(sqlite3.DatabaseError,
                       match="INSERT OR REPLACE refused|immutable|no such function"):
        replace(armed, table, new)
    armed.close()
    assert row(con, table, where) == old
    assert verify(run)[0] == 0
    # Dropping the triggers lets it through; verify names the triggers and the record.
    saved = drop(con, *triggers)
    replace(con, table, new)
    assert row(con, table, where)[column] == value
    lines = broken(run)
    for name in triggers:
        assert f"trigger {name}: missing (dropped?)" in lines
    assert any(ln.startswith(named) for ln in lines), lines
    # Put back with their exact SQL, the triggers pass; the record is still named.
    restore(con, saved)
    lines = broken(run)
    assert not any(ln.startswith("trigger") for ln in lines), lines
    assert any(ln.startswith(named) for ln in lines), lines
    con.close()


def test_replace_of_a_client_is_refused_then_caught(run: Runner) -> None:
    con = attacker(run.db)
    old = row(con, "clients")
    with pytest.raises(sqlite3.DatabaseError, match="INSERT OR REPLACE refused"):
        replace(con, "clients", {**old, "name": "Someone Else"})
    drop(con, "clients_no_replace")
    replace(con, "clients", {**old, "name": "Someone Else"})
    assert "trigger clients_no_replace: missing (dropped?)" in broken(run)


# -- UPDATE and DELETE behind dropped triggers, per chained table --------------------------

CHANGES = {"intakes": "date = '2026-01-01'", "measures": "total = 0",
           "sessions": "note = 'rewritten'", "session_objectives": "rating = 10",
           "session_feedback": "mean = 10", "signatures": "name = 'Mallory'",
           "audit": "who = 'mallory'"}


@pytest.mark.parametrize("table", list(CHAINED))
def test_update_and_delete_behind_dropped_triggers_are_caught(run: Runner, table: str) -> None:
    con = attacker(run.db)
    with pytest.raises(sqlite3.DatabaseError):
        con.execute(f"UPDATE {table} SET {CHANGES[table]}")
    with pytest.raises(sqlite3.DatabaseError):
        con.execute(f"DELETE FROM {table}")
    saved = drop(con, f"{table}_no_update", f"{table}_no_delete")
    rowid = con.execute(f"SELECT min(rowid) FROM {table}").fetchone()[0]
    con.execute(f"UPDATE {table} SET {CHANGES[table]} WHERE rowid = ?", [rowid])
    restore(con, saved)
    assert f"{table} {rowid}: does not match" in " ".join(broken(run))
    saved = drop(con, *saved)
    con.execute(f"DELETE FROM {table} WHERE rowid = ?", [rowid])
    restore(con, saved)
    assert any(ln.startswith(f"{table} {rowid}: deleted (chain entry #")
               for ln in broken(run))


def test_a_row_added_by_another_client_is_refused_then_caught(run: Runner) -> None:
    con = attacker(run.db)
    insert = ("INSERT INTO audit (at, who, action, record_type, record_id, detail) "
              "VALUES ('2026-12-01T00:00:00+00:00', 'x', 'plan.sign', 'plan', 'P1', '{}')")
    with pytest.raises(sqlite3.OperationalError, match="no such function: planwise_digest"):
        con.execute(insert)
    drop(con, "audit_chain")
    con.execute(insert)
    new = con.execute("SELECT max(id) FROM audit").fetchone()[0]
    lines = broken(run)
    assert f"audit {new}: not in the chain (written outside planwise)" in lines
    assert "trigger audit_chain: missing (dropped?)" in lines


# -- signatures -------------------------------------------------------------------------------

def test_forged_signatures_are_refused(run: Runner) -> None:
    con = attacker(run.db)
    register(con)  # even with planwise's functions
    with pytest.raises(sqlite3.DatabaseError, match="INSERT OR REPLACE refused"):
        con.execute("INSERT OR REPLACE INTO signatures (version_id, role, name, signed_at) "
                    "VALUES (1, 'therapist', 'Mallory', '2026-12-01T00:00:00+00:00')")
    with pytest.raises(sqlite3.DatabaseError, match="only the current version"):
        con.execute("INSERT INTO signatures (version_id, role, name, signed_at) "
                    "VALUES (99, 'client', 'Mallory', '2026-12-01T00:00:00+00:00')")
    # A revision makes version 2: version 1 can no longer be signed.
    f = run.db.parent / "p.toml"
    text = run.ok("plan", "export", "P1", "--format", "toml")
    f.write_text(re.sub(r"^review_date = .*$", "review_date = 2027-02-01", text, flags=re.M))
    assert run.ok("plan", "import", "P1", str(f), "--reason", "client asked") == \
        "P1 version 2 saved"
    with pytest.raises(sqlite3.DatabaseError, match="only the current version"):
        con.execute("INSERT INTO signatures (version_id, role, name, signed_at) "
                    "VALUES (1, 'client', 'Mallory', '2026-12-01T00:00:00+00:00')")
    assert verify(run)[0] == 0
    # Behind a dropped trigger the forged signature is caught.
    plain = attacker(run.db)
    drop(plain, "signatures_chain", "signatures_current_only")
    plain.execute("INSERT INTO signatures (version_id, role, name, signed_at) "
                  "VALUES (1, 'client', 'Mallory', '2026-12-01T00:00:00+00:00')")
    sig = plain.execute("SELECT max(id) FROM signatures").fetchone()[0]
    assert f"signatures {sig}: not in the chain (written outside planwise)" in broken(run)


# -- intakes and clients used by a plan ---------------------------------------------------------

def test_intakes_and_clients_of_a_plan_are_protected(run: Runner) -> None:
    con = attacker(run.db)
    for sql, message in [
        ("DELETE FROM clients", "client with records"),
        ("UPDATE clients SET id = 7", "ids never change"),
        ("UPDATE intakes SET date = '2026-01-01'", "append-only"),
        ("DELETE FROM intakes", "append-only"),
        ("UPDATE plans SET id = 7", "ids never change"),
        ("UPDATE plan_versions SET version = 3", "ids never change|immutable"),
        ("UPDATE OR REPLACE plan_items SET id = 1 WHERE id = 2", "ids never change|immutable"),
    ]:
        with pytest.raises(sqlite3.DatabaseError, match=message):
            con.execute(sql)
    assert verify(run)[0] == 0


# -- the chain itself and the schema --------------------------------------------------------

def test_the_chain_cannot_be_cut_or_rewritten_unnoticed(run: Runner) -> None:
    con = attacker(run.db)
    for sql in ("DELETE FROM chain", "UPDATE chain SET hash = 'x'"):
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            con.execute(sql)
    saved = drop(con, "chain_no_delete")
    last = con.execute("SELECT max(seq) FROM chain").fetchone()[0]
    con.execute("DELETE FROM chain WHERE seq = ?", [last])
    restore(con, saved)
    lines = broken(run)
    assert f"chain: entries after #{last - 1} are missing (the end of the chain was cut)" \
        in lines


def test_a_middle_entry_removed_is_named(run: Runner) -> None:
    con = attacker(run.db)
    saved = drop(con, "chain_no_delete")
    tbl, row_id = con.execute("SELECT tbl, row_id FROM chain WHERE seq = 3").fetchone()
    after = con.execute("SELECT tbl, row_id FROM chain WHERE seq = 4").fetchone()
    con.execute("DELETE FROM chain WHERE seq = 3")
    restore(con, saved)
    lines = broken(run)
    assert "chain: entries are missing between #1 and #" in " ".join(lines)
    assert f"{tbl} {row_id}: not in the chain (written outside planwise)" in lines
    assert any(ln.startswith(f"{after[0]} {after[1]}: does not match its chain entry #4")
               for ln in lines)


def test_a_rewritten_chain_shows_in_the_head(run: Runner) -> None:
    """The limit, tested: someone who rewrites a record and recomputes the whole chain with
    planwise's own code passes verify; only the head kept elsewhere shows it."""
    from planwise.store.integrity import chain_existing

    head = verify(run)[1][1]
    con = attacker(run.db)
    saved = drop(con, "sessions_no_update", "chain_no_delete")
    con.execute("UPDATE sessions SET note = 'rewritten'")
    con.execute("DELETE FROM chain")
    con.execute("DELETE FROM sqlite_sequence WHERE name = 'chain'")
    restore(con, saved)
    chain_existing(con)
    code, lines = verify(run)
    assert code == 0 and lines[1] != head


def test_an_added_or_altered_trigger_is_reported(run: Runner) -> None:
    con = attacker(run.db)
    con.execute("CREATE TRIGGER lower_risk AFTER INSERT ON plan_versions BEGIN "
                "UPDATE plan_versions SET risk_level = 'none' WHERE id = NEW.id; END")
    saved = drop(con, "sessions_no_delete")
    con.execute(saved["sessions_no_delete"].replace("BEGIN", "WHEN 0 BEGIN"))
    con.execute("CREATE TABLE notes_copy (x)")
    lines = broken(run)
    assert "trigger lower_risk: not part of planwise's schema (added by someone else?)" in lines
    assert "trigger sessions_no_delete: differs from planwise's definition" in lines
    assert "table notes_copy: not part of planwise's schema (added by someone else?)" in lines


def test_verify_never_prints_record_content(run: Runner) -> None:
    con = attacker(run.db)
    drop(con, "sessions_no_update", "signatures_no_update")
    con.execute("UPDATE sessions SET note = note || ' (edited)'")
    con.execute("UPDATE signatures SET name = 'Jo Example'")
    code, out, err = run.invoke("verify")
    assert code == 1
    for secret in ("Jo", "log helped", "Clinician", "edited"):
        assert secret not in out + err


# -- databases from before the chain --------------------------------------------------------

def test_an_existing_database_is_chained_on_migration(tmp_path: Path) -> None:
    path = tmp_path / "v7.db"
    raw = sqlite3.connect(path, isolation_level=None)
    assert migrate(raw, upto=7) == 7
    raw.executescript("""
        INSERT INTO clients (name, created_at, updated_at) VALUES ('X', 't', 't');
        INSERT INTO intakes (client_id, date, data, scores, created_at)
            VALUES (1, '2026-01-01', '{}', '[]', 't');
        INSERT INTO plans (client_id, intake_id, created_at) VALUES (1, 1, 't');
        INSERT INTO plan_versions (plan_id, version, start_date, risk_level, created_at)
            VALUES (1, 1, '2026-01-01', 'high', 't');
        INSERT INTO plan_items (version_id, kind, key, position, origin, data)
            VALUES (1, 'warning', 'w', 0, 'added', '{}');
        INSERT INTO signatures (version_id, role, name, signed_at) VALUES (1, 'therapist', 'T', 't');
        INSERT INTO sessions (plan_id, version_id, number, date, note, created_at)
            VALUES (1, 1, 1, '2026-01-02', 'n', 't');
        INSERT INTO measures (client_id, instrument, date, total, band, source, created_at)
            VALUES (1, 'phq9', '2026-01-01', 12, 'moderate', 'measure', 't');
        INSERT INTO audit (at, who, action, record_type, record_id) VALUES ('t', 'w', 'a', 'r', '1');
    """)
    raw.close()
    with Store(path).connect() as c:
        from planwise.store.verify import verify as run_verify

        assert c.one("SELECT max(version) v FROM schema_version")["v"] == SCHEMA_VERSION
        report = run_verify(c.raw)
        assert report.ok, report.problems
        assert report.entries == 5  # the intake, measure, session, signature and audit row
        assert c.one("SELECT count(*) n FROM chain WHERE tbl = 'signatures' AND "
                     "signed IS NOT NULL")["n"] == 1
    con = attacker(path)
    drop(con, "versions_signed_no_update")
    con.execute("UPDATE plan_versions SET risk_level = 'low'")
    with Store(path).connect() as c:
        from planwise.store.verify import verify as run_verify

        assert [str(p) for p in run_verify(c.raw).problems] == [
            "trigger versions_signed_no_update: missing (dropped?)",
            "plan_versions 1: changed after it was signed (signature 1)"]


# -- backup, audit, export and the interface --------------------------------------------------

def test_backup_runs_verify(run: Runner, tmp_path: Path) -> None:
    out = run.ok("backup", str(tmp_path / "good.db"))
    assert out.splitlines()[-1].startswith("chain head: #")
    con = attacker(run.db)
    drop(con, "measures_no_update")
    con.execute("UPDATE measures SET total = 0 WHERE id = 1")
    code, out, err = run.invoke("backup", str(tmp_path / "bad.db"))
    assert code == 1 and "measures 1: does not match its chain entry" in out
    assert "trigger measures_no_update: missing (dropped?)" in out
    assert "the backup was written" in err and (tmp_path / "bad.db").exists()
    detail = run.rows("SELECT detail FROM audit WHERE action = 'store.backup' "
                      "ORDER BY id DESC LIMIT 1")[0]["detail"]
    assert '"verify_problems": 2' in detail


def test_audit_and_export_print_the_chain_head(run: Runner) -> None:
    from click.testing import CliRunner

    from planwise.cli import cli

    head = verify(run)[1][1]
    audit = run.ok("audit", "P1").splitlines()
    # the audit command reads; its own output ends with the head before it
    assert audit[-1] == head
    result = CliRunner().invoke(cli, ["plan", "--db", str(run.db), "export", "P1",
                                      "--format", "markdown"])
    assert result.exit_code == 0
    assert head in result.stderr and head not in result.stdout


def test_the_interface_warns_at_start(run: Runner) -> None:
    from planwise.kb import load_knowledge
    from planwise.tui.app import PlanwiseApp
    from planwise.tui.services import Services

    def notes(db: Path) -> list[Any]:
        services = Services(Store(db), load_knowledge(), None)

        async def go() -> list[Any]:
            app = PlanwiseApp(services, blink=False)
            async with app.run_test(size=(80, 24)) as pilot:
                for _ in range(3):
                    await app.workers.wait_for_complete()
                    await pilot.pause()
                return [n for n in app._notifications
                        if n.title == "Records changed outside planwise"]

        try:
            return asyncio.run(go())
        finally:
            services.close()

    assert notes(run.db) == []
    con = attacker(run.db)
    drop(con, "audit_no_delete")
    con.execute("DELETE FROM audit WHERE id = 2")
    (note,) = notes(run.db)
    assert note.severity == "error"
    assert "audit 2: deleted" in note.message and "trigger audit_no_delete" in note.message


def test_the_digest_keeps_types_and_boundaries_apart() -> None:
    from planwise.store.integrity import canonical, digest

    values = [(1,), ("1",), (1.0,), (None,), (b"1",), ("",), ()]
    assert len({canonical(v) for v in values}) == len(values)
    assert digest("ab", "c") != digest("a", "bc") != digest("abc")
    assert digest("é", 2) == digest("é", 2) and len(digest()) == 64
