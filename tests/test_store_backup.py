"""`planwise backup DEST`: online copy while in use, verified, private, never clobbering."""

from __future__ import annotations

import sqlite3
import stat
import threading
from pathlib import Path

import pytest

from planwise.store import Store, backup, clients
from tests.test_store_helpers import Runner, with_drafted_plan


@pytest.fixture()
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Runner:
    return with_drafted_plan(tmp_path, monkeypatch)


def _rows(con: sqlite3.Connection, table: str) -> list[tuple[object, ...]]:
    try:
        return list(con.execute(f"SELECT * FROM {table} ORDER BY rowid"))
    except sqlite3.OperationalError:  # WITHOUT ROWID: the full-text index's shadow tables
        return sorted(con.execute(f"SELECT * FROM {table}"), key=repr)


def dump(path: Path) -> dict[str, list[tuple[object, ...]]]:
    con = sqlite3.connect(path)
    try:
        tables = [r[0] for r in con.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "ORDER BY name")]
        return {t: _rows(con, t) for t in tables}
    finally:
        con.close()


def test_backup_copy_is_a_private_planwise_store(run: Runner, tmp_path: Path) -> None:
    dest = tmp_path / "backups" / "copy.db"
    dest.parent.mkdir()
    before = dump(run.db)
    out = run.ok("backup", str(dest))
    assert str(dest) in out and "integrity ok" in out
    assert "1 clients, 1 plans, 1 plan versions" in out
    assert f"{dest.stat().st_size} bytes" in out
    assert stat.S_IMODE(dest.stat().st_mode) == 0o600
    assert [p.name for p in dest.parent.iterdir()] == ["copy.db"]  # no leftovers
    copy = dump(dest)
    assert copy == before  # the backup's own audit row is written after the copy
    # It opens as a planwise store and the CLI can read it.
    with Store(dest).connect() as c:
        assert [r["name"] for r in clients.list_clients(c)] == ["Jo Example"]
    assert run.ok("plan", "--db", str(dest), "history", "P1", db=False).startswith("v1")
    assert run.rows("SELECT action FROM audit ORDER BY id DESC LIMIT 1")[0]["action"] == \
        "store.backup"


def test_backup_to_a_folder_gets_a_dated_name(run: Runner, tmp_path: Path) -> None:
    folder = tmp_path / "bk"
    folder.mkdir()
    run.ok("backup", str(folder))
    (made,) = folder.iterdir()
    assert made.name.startswith("planwise-") and made.suffix == ".db"


def test_backup_while_another_connection_writes(run: Runner, tmp_path: Path) -> None:
    store = Store(run.db)
    with store.connect() as c, c.transaction():
        c.raw.executemany("INSERT INTO clients (name, info, created_at, updated_at) "
                          "VALUES (?, '{}', 'x', 'x')",
                          [(f"Bulk {i} " + "x" * 200,) for i in range(20000)])
    stop = threading.Event()
    written: list[int] = []

    def writer() -> None:
        with store.connect() as w:
            while not stop.is_set():
                written.append(clients.add_client(w, "Writer"))

    t = threading.Thread(target=writer)
    t.start()
    try:
        copies = []
        for n in range(3):
            dest = tmp_path / f"live{n}.db"
            run.ok("backup", str(dest))
            copies.append(dest)
    finally:
        stop.set()
        t.join(timeout=30)
    assert written, "the writer never ran"
    for dest in copies:
        problems, counts = backup.verify(dest)
        assert problems == [] and counts["clients"] >= 20001
        # a consistent snapshot: every client row has its audit row, nothing half-written
        con = sqlite3.connect(dest)
        writers = con.execute("SELECT count(*) FROM clients WHERE name = 'Writer'").fetchone()[0]
        audited = con.execute("SELECT count(*) FROM audit a JOIN clients c ON "
                              "a.record_id = 'C' || c.id WHERE a.action = 'client.add' "
                              "AND c.name = 'Writer'").fetchone()[0]
        con.close()
        assert writers == audited
    final = dump(run.db)["clients"]
    assert len(final) == 20001 + len(written)


def test_refuses_to_overwrite_unless_forced(run: Runner, tmp_path: Path) -> None:
    dest = tmp_path / "exists.db"
    dest.write_bytes(b"precious")
    err = run.fails("backup", str(dest))
    assert "already exists" in err and "--force" in err
    assert dest.read_bytes() == b"precious"
    run.ok("backup", str(dest), "--force")
    assert backup.verify(dest)[0] == []
    assert stat.S_IMODE(dest.stat().st_mode) == 0o600


def test_missing_folder_and_missing_database(run: Runner, tmp_path: Path) -> None:
    err = run.fails("backup", str(tmp_path / "no" / "such" / "copy.db"))
    assert "does not exist" in err
    assert not (tmp_path / "no").exists()
    err = run.fails("backup", "--db", str(tmp_path / "absent.db"), str(tmp_path / "c.db"),
                    db=False)
    assert "no planwise database" in err
    assert not (tmp_path / "absent.db").exists() and not (tmp_path / "c.db").exists()
    foreign = tmp_path / "foreign.db"
    con = sqlite3.connect(foreign)
    con.execute("CREATE TABLE t (x)")
    con.close()
    err = run.fails("backup", "--db", str(foreign), str(tmp_path / "c.db"), db=False)
    assert "not a planwise database" in err and not (tmp_path / "c.db").exists()
    assert "live database" in run.fails("backup", str(run.db), "--force")


def test_failed_verification_removes_the_copy(run: Runner, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    real_copy = backup._copy

    def bad_copy(source: sqlite3.Connection, target: Path) -> None:
        real_copy(source, target)
        with open(target, "r+b") as fh:  # damage a page in the middle of the file
            fh.seek(4096 * 3)
            fh.write(b"\xff" * 4096)

    monkeypatch.setattr(backup, "_copy", bad_copy)
    dest = tmp_path / "bad.db"
    code, _out, err = run.invoke("backup", str(dest))
    assert code == 1 and "failed its check" in err and "removed" in err, err
    assert list(tmp_path.glob("*bad.db*")) == []
    # with --force an existing backup is kept when the new copy is bad
    dest.write_bytes(b"older backup")
    code, _out, err = run.invoke("backup", str(dest), "--force")
    assert code == 1 and dest.read_bytes() == b"older backup"
    assert [p.name for p in tmp_path.glob("*bad.db*")] == ["bad.db"]


def test_help_has_example_and_no_store_import() -> None:
    import subprocess
    import sys

    from click.testing import CliRunner

    from planwise.cli.backup_cmd import backup_cmd

    result = CliRunner().invoke(backup_cmd, ["--help"])
    assert result.exit_code == 0 and "Example" in result.output
    assert "planwise backup " in result.output
    code = ("import sys; from planwise.cli import cli; from click.testing import CliRunner; "
            "CliRunner().invoke(cli, ['backup', '--help']); "
            "print(sorted(m for m in sys.modules if m.startswith(('sqlite_utils', "
            "'planwise.store'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
