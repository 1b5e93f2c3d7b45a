"""Reliability: killed writers, damaged or foreign files, and bad input on every command."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import click
import pytest

from planwise.cli import cli, main
from planwise.store import Store, clients
from tests.test_store_helpers import Runner, with_drafted_plan

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture()
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Runner:
    return with_drafted_plan(tmp_path, monkeypatch)


def _rows(con: sqlite3.Connection, table: str) -> list[tuple[object, ...]]:
    try:
        return list(con.execute(f"SELECT * FROM {table} ORDER BY rowid"))
    except sqlite3.OperationalError:  # WITHOUT ROWID: the full-text index's shadow tables
        return sorted(con.execute(f"SELECT * FROM {table}"), key=repr)


def snapshot(path: Path) -> dict[str, list[tuple[object, ...]]]:
    con = sqlite3.connect(path)
    try:
        assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert con.execute("PRAGMA foreign_key_check").fetchall() == []
        tables = [r[0] for r in con.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "ORDER BY name")]
        return {t: _rows(con, t) for t in tables}
    finally:
        con.close()


def spawn(script: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(script), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=ROOT)


# --- a process killed in the middle of a write ------------------------------------------

KILL_IN_TRANSACTION = """
import sys, time
from planwise.store import Store, clients
c = Store(sys.argv[1]).connect()
with c.transaction():
    for i in range(5000):
        cid = c.insert("clients", {"name": "Partial", "info": "{}", "created_at": "x",
                                   "updated_at": "x"})
        c.audit("client.add", "client", f"C{cid}", client_id=cid)
    c.raw.execute("UPDATE plan_versions SET risk_level = 'partial'")
    c.raw.execute("DELETE FROM plan_items")
    print("ready", flush=True)
    time.sleep(60)
"""


def test_kill_before_commit_leaves_previous_data(run: Runner) -> None:
    before = snapshot(run.db)
    p = spawn(KILL_IN_TRANSACTION, str(run.db))
    assert p.stdout is not None
    assert p.stdout.readline().strip() == "ready", p.stderr.read() if p.stderr else ""
    os.kill(p.pid, signal.SIGKILL)
    p.wait(timeout=10)
    assert p.returncode == -signal.SIGKILL
    assert snapshot(run.db) == before  # integrity ok, nothing partial, nothing lost
    # and the store keeps working
    assert run.ok("client", "add", "--name", "After") == "C2"
    assert run.ok("plan", "history", "P1").startswith("v1")


KILL_IN_LOOP = """
import sys, tomllib, tomli_w
from pathlib import Path
from planwise.store import Store, clients, plans
c = Store(sys.argv[1]).connect()
f = Path(sys.argv[2])
n = 0
while True:
    n += 1
    clients.add_client(c, f"Loop {n}")
    doc = tomllib.loads(plans.export_toml(c, 1))
    doc["problems"][0]["goals"][0]["text"] = f"Goal edit {n}"
    f.write_text(tomli_w.dumps(doc))
    plans.import_plan(c, 1, str(f))
    if n == 3:
        print("ready", flush=True)
"""


@pytest.mark.parametrize("delay", [0.05, 0.23, 0.41])
def test_kill_during_a_write_loop_is_consistent(run: Runner, tmp_path: Path,
                                                delay: float) -> None:
    p = spawn(KILL_IN_LOOP, str(run.db), str(tmp_path / "loop.toml"))
    assert p.stdout is not None
    assert p.stdout.readline().strip() == "ready", p.stderr.read() if p.stderr else ""
    time.sleep(delay)
    os.kill(p.pid, signal.SIGKILL)
    p.wait(timeout=10)
    data = snapshot(run.db)  # integrity_check and foreign keys ok
    rows = run.rows("SELECT c.id, (SELECT count(*) FROM audit a WHERE a.action = 'client.add' "
                    "AND a.record_id = 'C' || c.id) n FROM clients c")
    assert len(rows) >= 4 and all(r["n"] == 1 for r in rows)  # each row with its audit row
    edits = run.rows("SELECT count(*) n FROM audit WHERE action = 'plan.edit'")[0]["n"]
    version = run.rows("SELECT row_version FROM plan_versions WHERE plan_id = 1")[0]
    assert version["row_version"] == 1 + edits  # the bump and its audit row commit together
    # killed between its two transactions at most: one client ahead of the edits
    assert edits >= 3 and len(data["clients"]) - 1 in (edits, edits + 1)
    # the plan is whole: it exports and re-imports unchanged
    f = tmp_path / "after.toml"
    f.write_text(run.ok("plan", "export", "P1"))
    assert run.ok("plan", "import", "P1", str(f)).endswith("unchanged")
    assert f"Goal edit {edits}" in f.read_text()


# --- damaged or foreign files --------------------------------------------------------

def _planwise_bytes(run: Runner) -> bytes:
    con = sqlite3.connect(run.db)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    return run.db.read_bytes()


def _foreign(path: Path) -> None:
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    con.execute("INSERT INTO notes (body) VALUES ('someone else''s data')")
    con.commit()
    con.close()


BAD_FILES = {
    "random bytes": lambda run, p: p.write_bytes(os.urandom(20000)),
    "text file": lambda run, p: p.write_text("name,phone\nJo,123\n" * 50),
    "truncated planwise db": lambda run, p: p.write_bytes(_planwise_bytes(run)[:12288]),
    "planwise header only": lambda run, p: p.write_bytes(_planwise_bytes(run)[:100]),
    "another app's database": lambda run, p: _foreign(p),
}
COMMANDS = [
    ["client", "list"],
    ["client", "add", "--name", "New"],
    ["client", "show", "C1"],
    ["plan", "history", "P1"],
    ["plan", "export", "P1"],
    ["backup", "{tmp}/copy.db"],
]


@pytest.mark.parametrize("kind", list(BAD_FILES))
def test_damaged_or_foreign_file_refused_untouched(run: Runner, tmp_path: Path, kind: str,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.db"
    BAD_FILES[kind](run, bad)
    original = bad.read_bytes()
    for argv in COMMANDS:
        argv = [a.format(tmp=tmp_path) for a in argv]
        code = call(argv[:1] + ["--db", str(bad)] + argv[1:])
        err = capsys.readouterr().err
        assert code == 2, (kind, argv, err)
        assert "not a planwise database" in err and str(bad) in err, (kind, argv, err)
        assert "Traceback" not in err and "internal error" not in err
        assert bad.read_bytes() == original, (kind, argv)
        assert sorted(p.name for p in tmp_path.glob("bad.db*")) == ["bad.db"], (kind, argv)
        assert not (tmp_path / "copy.db").exists()


def test_corrupt_page_found_by_a_command(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    """Damage inside the clients table: reads and writes that meet it exit 2, nothing saved."""
    good = tmp_path / "good.db"
    with Store(good).connect() as c:
        clients.add_client(c, "Jo Example")
    con = sqlite3.connect(good)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    root = con.execute("SELECT rootpage FROM sqlite_master WHERE name = 'clients'").fetchone()[0]
    size = con.execute("PRAGMA page_size").fetchone()[0]
    con.close()
    data = bytearray(good.read_bytes())
    data[(root - 1) * size:root * size] = b"\xa5" * size
    bad = tmp_path / "bad.db"
    bad.write_bytes(bytes(data))
    for argv in (["client", "list"], ["client", "add", "--name", "New"],
                 ["backup", str(tmp_path / "copy.db")]):
        code = call(argv[:1] + ["--db", str(bad)] + argv[1:])
        err = capsys.readouterr().err
        assert code in (1, 2) and "Traceback" not in err and "internal error" not in err, (argv, err)
        if argv[0] == "backup":
            assert code == 1 and "failed its check" in err
        else:
            assert code == 2 and "damaged" in err, err
        assert bad.read_bytes() == bytes(data), argv
    assert not (tmp_path / "copy.db").exists()


# --- bad input on every store command --------------------------------------------------

def call(argv: list[str]) -> int:
    try:
        main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


MISSING_IDS = {"client": "C999", "plan": "P999", "intake": "I999"}


def _value(param: click.Parameter, tmp_path: Path) -> str:
    name = (param.name or "").lower()
    if name in MISSING_IDS:
        return MISSING_IDS[name]
    if isinstance(param.type, click.Choice):
        return str(param.type.choices[0])
    if name in ("file", "intake_file", "path") or "file" in name:
        return str(tmp_path / "missing.toml")
    if name == "dest":
        return str(tmp_path / "missing-folder" / "copy.db")
    if "date" in name:
        return "2026-01-05"
    if isinstance(param.type, click.types.IntParamType) or name.startswith("v"):
        return "1"
    return "x"


def store_commands() -> list[tuple[list[str], click.Command]]:
    out: list[tuple[list[str], click.Command]] = []
    for top in ("client", "plan", "backup", "session", "audit"):
        cmd = cli.commands.get(top)
        if cmd is None:
            continue
        if isinstance(cmd, click.Group):
            out += [([top, name], sub) for name, sub in sorted(cmd.commands.items())]
        else:
            out.append(([top], cmd))
    return out


def argv_for(path: list[str], cmd: click.Command, db: Path, tmp_path: Path) -> list[str]:
    argv = [path[0], "--db", str(db), *path[1:]]
    for param in cmd.params:
        if isinstance(param, click.Argument):
            argv.append(_value(param, tmp_path))
        elif isinstance(param, click.Option) and param.required:
            argv += [param.opts[0], _value(param, tmp_path)]
    return argv


def test_walk_has_the_commands() -> None:
    names = {" ".join(p) for p, _ in store_commands()}
    assert {"client add", "client show", "plan import", "plan sign", "backup"} <= names


def _takes_id_or_file(cmd: click.Command) -> bool:
    return any(isinstance(p, click.Argument) or (isinstance(p, click.Option)
               and p.required and p.name in ("file",)) for p in cmd.params)


# Commands that take no id or file (`client add --name`, `client list`) have no
# unknown id to give; their bad input is covered in their own tests.
@pytest.mark.parametrize("path, cmd", [(p, c) for p, c in store_commands()
                                       if _takes_id_or_file(c)],
                         ids=lambda v: " ".join(v) if isinstance(v, list) else "")
def test_every_command_bad_input_exits_2(run: Runner, tmp_path: Path, path: list[str],
                                         cmd: click.Command,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    """Unknown ids, missing files, a missing folder: exit 2 and one clear line."""
    before = snapshot(run.db)
    argv = argv_for(path, cmd, run.db, tmp_path)
    code = call(argv)
    err = capsys.readouterr().err
    assert code == 2, (argv, err)
    assert err.strip() and "Traceback" not in err and "internal error" not in err, err
    assert snapshot(run.db) == before


@pytest.mark.parametrize("argv, message", [
    (["client", "show", "Jo Example"], "not a client id"),
    (["client", "add", "--name", "  "], "must not be empty"),
    (["client", "intake", "C1", "{tmp}/missing.toml"], "missing.toml"),
    (["client", "edit", "C1", "--file", "{tmp}/missing.toml"], "missing.toml"),
    (["plan", "draft", "C1", "{tmp}/missing.toml"], "missing.toml"),
    (["plan", "draft", "C1", "I999"], "no intake I999"),
    (["plan", "import", "P1", "{tmp}/missing.toml"], "missing.toml"),
    (["plan", "export", "P1", "--version", "9"], "no version 9"),
    (["plan", "export", "P1", "--version", "two"], "two"),
    (["plan", "sign", "P1", "--role", "boss", "--name", "X"], "boss"),
    (["plan", "sign", "P1", "--role", "therapist", "--name", " "], "must not be empty"),
    (["plan", "history", "C1"], "not a plan id"),
    (["backup", "{tmp}/no/such/folder/x.db"], "does not exist"),
])
def test_bad_values_exit_2(run: Runner, tmp_path: Path, argv: list[str], message: str,
                           capsys: pytest.CaptureFixture[str]) -> None:
    argv = [a.format(tmp=tmp_path) for a in argv]
    before = snapshot(run.db)
    code = call(argv[:1] + ["--db", str(run.db)] + argv[1:])
    err = capsys.readouterr().err
    assert code == 2 and message in err, (argv, code, err)
    assert "Traceback" not in err and "internal error" not in err
    assert "Jo Example" not in err
    assert snapshot(run.db) == before


def test_bad_dates_exit_2(run: Runner, capsys: pytest.CaptureFixture[str]) -> None:
    session = cli.commands.get("session")
    if not isinstance(session, click.Group) or "add" not in session.commands:
        pytest.skip("no `planwise session add` yet")
    for date in ("2026-13-45", "yesterday", ""):
        code = call(["session", "--db", str(run.db), "add", "P1",
                     "--date", date, "--note", "n", "--unplanned", "x"])
        err = capsys.readouterr().err
        assert code == 2 and "Traceback" not in err and "internal error" not in err, err


def test_opening_for_reading_writes_nothing(tmp_path: Path) -> None:
    """Opening a good database for reading leaves the file byte-identical."""
    path = tmp_path / "p.db"
    Store(path)
    con = sqlite3.connect(path)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    before = path.read_bytes()
    with Store(path).connect() as c:
        c.query("SELECT * FROM clients")
    assert path.read_bytes() == before
