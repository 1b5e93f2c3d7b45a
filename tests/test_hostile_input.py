"""Hostile and careless input (issue 10, items 1 and 7): each example of the issue that
exited 0 in silence or 1 ("internal error") is an input error now (exit 2, a short
message, nothing saved), and the files planwise makes stay private."""

from __future__ import annotations

import json
import os
import pickle
import re
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from planwise.errors import InputError
from tests.main_helpers import EXAMPLE, ROOT, TODAY, Main, example_data

LONG = "a" * 5000


@pytest.fixture()
def pw(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
       capsys: pytest.CaptureFixture[str]) -> Main:
    return Main(tmp_path, monkeypatch, capsys)


def write(path: Path, text: str | bytes) -> str:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return str(path)


def high_risk() -> dict[str, object]:
    data = example_data()
    data["risk"] = {"ideation": "active", "method": True, "intent": True, "plan": True,
                    "behaviour": "none"}
    return data


# --- keys given twice --------------------------------------------------------------------

def test_json_risk_given_twice_is_refused_naming_the_key(pw: Main) -> None:
    # Before: the second "risk" replaced the high-risk assessment: risk none, exit 0.
    text = json.dumps(high_risk())[:-1] + ', "risk": {"ideation": "none"}}'
    assert json.loads(text)["risk"] == {"ideation": "none"}  # what a plain parser keeps
    path = write(pw.tmp / "dup.json", text)
    code, out, err = pw.run("recommend", path, "--format", "json")
    assert code == 2 and out == ""
    assert "dup.json: risk: given twice" in err


def test_json_key_twice_inside_a_section_names_its_path(pw: Main) -> None:
    text = json.dumps(high_risk()).replace('"ideation": "active"',
                                           '"ideation": "active", "ideation": "none"')
    err = pw.fails("recommend", "-", stdin=text.encode())
    assert "<stdin>: risk.ideation: given twice" in err


def test_the_same_intake_without_the_repeat_is_high_risk(pw: Main) -> None:
    # The control for the two tests above: the first risk section alone is high.
    path = write(pw.tmp / "one.json", json.dumps(high_risk()))
    assert json.loads(pw.ok("recommend", path, "--format", "json"))["risk"]["level"] == "high"


@pytest.mark.parametrize("extra, named", [
    ('\n[risk]\nideation = "none"\n', "the table [risk] is declared twice"),
    ('\n[client]\nage = 40\n', "the table [client] is declared twice"),
])
def test_toml_table_declared_twice_is_refused_naming_it(pw: Main, extra: str,
                                                        named: str) -> None:
    path = write(pw.tmp / "dup.toml", EXAMPLE.read_text() + extra)
    assert named in pw.fails("recommend", path)


def test_toml_key_given_twice_names_the_key(pw: Main) -> None:
    text = EXAMPLE.read_text().replace('ideation = "active"',
                                       'ideation = "active"\nideation = "none"')
    path = write(pw.tmp / "dupkey.toml", text)
    err = pw.fails("recommend", path)
    assert re.search(r"dupkey\.toml:\d+: invalid TOML: the key 'ideation' is given twice", err)


# --- size, depth, numbers, encoding ---------------------------------------------------------

def test_a_3_mb_toml_intake_is_refused_by_size_quickly(pw: Main) -> None:
    text = EXAMPLE.read_text().replace(
        'summary = "Low mood since losing job; drinking more"',
        'summary = "' + "A" * 3_000_000 + '"')
    path = write(pw.tmp / "big.toml", text)
    t0 = time.perf_counter()
    err = pw.fails("recommend", path)
    assert time.perf_counter() - t0 < 2.0  # parsing it took 5 s before
    assert "larger than 1 MB" in err and len(err) < 300


def test_a_long_summary_is_not_echoed_whole(pw: Main) -> None:
    # Under the size limit, over the field's: the message quotes an excerpt only.
    data = example_data()
    data["screening"]["summary"] = "S" * 900_000
    path = write(pw.tmp / "long.json", json.dumps(data))
    err = pw.fails("recommend", path)
    assert "screening.summary" in err and "900,000 characters" in err
    assert len(err) < 400


def test_a_2_mb_summary_on_stdin_is_refused_in_one_short_line(pw: Main) -> None:
    data = example_data()
    data["screening"]["summary"] = "S" * 2_000_000
    err = pw.fails("recommend", "-", stdin=json.dumps(data).encode())
    assert "larger than 1 MB" in err and len(err) < 300


@pytest.mark.parametrize("depth", [40, 100_000])
def test_deeply_nested_json_is_an_input_error(pw: Main, depth: int) -> None:
    text = json.dumps(example_data())[:-1] + ', "x": ' + "[" * depth + "]" * depth + "}"
    assert "nested deeper than 32 levels" in pw.fails("recommend", write(pw.tmp / "d.json",
                                                                          text))


def test_deeply_nested_toml_is_an_input_error(pw: Main) -> None:
    text = EXAMPLE.read_text() + "\n[extra]\nx = " + "[" * 5000 + "]" * 5000 + "\n"
    assert "nested deeper than 32 levels" in pw.fails("recommend",
                                                     write(pw.tmp / "d.toml", text))


def test_integers_over_4300_digits_are_input_errors(pw: Main) -> None:
    digits = "9" * 5000
    text = json.dumps(example_data()).replace('"session_limit": 12',
                                              f'"session_limit": {digits}')
    assert "a number of 5,000 digits" in pw.fails("recommend",
                                                  write(pw.tmp / "n.json", text))
    toml = EXAMPLE.read_text().replace("session_limit = 12", f"session_limit = {digits}")
    assert "a number too long" in pw.fails("recommend", write(pw.tmp / "n.toml", toml))


@pytest.mark.parametrize("word", ["NaN", "Infinity", "-Infinity"])
def test_json_constants_that_are_not_numbers_are_refused(pw: Main, word: str) -> None:
    text = json.dumps(example_data()).replace('"session_limit": 12',
                                              f'"session_limit": {word}')
    assert "is not a number JSON allows" in pw.fails("recommend",
                                                     write(pw.tmp / "c.json", text))


def test_invalid_utf8_in_an_intake_names_the_byte_and_line(pw: Main) -> None:
    raw = EXAMPLE.read_bytes().replace(b"Low mood", b"Low \xff\xfe mood")
    err = pw.fails("recommend", write(pw.tmp / "bad.toml", raw))
    assert re.search(r"bad\.toml:\d+: not valid UTF-8 \(byte \d+\)", err)


def test_invalid_utf8_in_a_note_is_an_input_error(pw: Main) -> None:
    # Bytes that are not UTF-8 reach Python as lone surrogates (exit 1 from SQLite before).
    pw.with_plan()
    before = pw.counts()
    note = b"Low \xff mood".decode("utf-8", "surrogateescape")
    err = pw.fails("session", "add", "P1", "--date", "2026-12-06", "--unplanned", "x",
                   "--note", note)
    assert "argument 9 is not valid UTF-8" in err
    assert pw.counts() == before


# --- ids, numbers and names on the command line ---------------------------------------

@pytest.mark.parametrize("argv", [
    ("plan", "export", "P" + "1" * 30),
    ("client", "show", "C" + "9" * 30),
    ("session", "list", "P" + "9" * 19),
    ("plan", "export", "P1", "--version", "9" * 30),
    ("plan", "lint", "P1", "--version", "9" * 30),
    ("plan", "diff", "P1", "1", "9" * 30),
    ("plan", "diff", "P1", "1", "²"),
])
def test_ids_and_versions_too_large_for_sqlite_are_input_errors(pw: Main,
                                                                argv: tuple[str, ...]) -> None:
    pw.with_plan()
    code, out, err = pw.run(*argv)
    assert code == 2, err
    assert "internal error" not in err


def test_a_client_name_over_200_characters_is_refused_without_echoing_it(pw: Main) -> None:
    name = "Verylongname " * 20
    err = pw.fails("client", "add", "--name", name)
    assert "longer than 200 characters" in err and "Verylongname" not in err
    assert pw.count("clients") == 0


def test_the_store_refuses_a_long_name_without_quoting_it(tmp_path: Path) -> None:
    from planwise.store import Store
    from planwise.store.clients import add_client

    with Store(tmp_path / "p.db").connect() as c, pytest.raises(InputError) as exc:
        add_client(c, "Secretname" * 30)
    assert "Secretname" not in str(exc.value) and "200 characters" in str(exc.value)


@pytest.mark.parametrize("argv", [
    ("recommend", f"{LONG}.toml"),
    ("client", "--db", f"{LONG}.db", "list"),
    ("client", "edit", "C1", "--file", f"{LONG}.toml"),
    ("plan", "export", "P1", "--output", f"{LONG}.md"),
])
def test_a_5000_character_file_name_is_an_input_error_shown_short(pw: Main,
                                                                  argv: tuple[str, ...]) -> None:
    pw.with_plan()
    err = pw.fails(*argv)
    assert len(err) < 400 and "..." in err


def test_an_internal_error_shows_one_line_without_the_input(
        pw: Main, monkeypatch: pytest.MonkeyPatch) -> None:
    # The backstop: pydantic's later lines quote the input (a name, once).
    from pydantic import BaseModel, constr

    class M(BaseModel):
        name: constr(max_length=3)  # type: ignore[valid-type]

    def boom(*_: object) -> None:
        M(name="Secretname")

    monkeypatch.setattr("planwise.store.clients.list_clients", boom)
    code, _, err = pw.run("client", "list")
    assert code == 1 and "internal error: ValidationError" in err
    assert "Secretname" not in err


# --- dates ----------------------------------------------------------------------------------

AFTER = re.compile(r"\d{4}-\d\d-\d\d is after today \(" + TODAY + r"\)")
BEFORE = re.compile(r"\d{4}-\d\d-\d\d is before 1900-01-01")


def test_an_intake_dated_9999_is_refused_before_anything_is_saved(pw: Main) -> None:
    # Before: `plan draft` exited 1 after saving the intake, its measures and an audit row.
    pw.ok("client", "add", "--name", "Jo Example")
    data = example_data()
    data["date"] = "9999-12-31"
    before = pw.counts()
    err = pw.fails("plan", "draft", "C1", write(pw.tmp / "future.json", json.dumps(data)))
    assert "date: " in err and AFTER.search(err)
    assert pw.counts() == before


@pytest.mark.parametrize("day, pattern", [("9999-12-31", AFTER), ("0001-01-01", BEFORE)])
def test_every_record_date_has_the_same_range_and_message(pw: Main, day: str,
                                                          pattern: re.Pattern[str]) -> None:
    pw.with_plan()
    data = example_data()
    data["date"] = day
    intake = write(pw.tmp / "i.json", json.dumps(data))
    before = pw.counts()
    for argv in (("recommend", intake),
                 ("client", "intake", "C1", intake),
                 ("session", "add", "P1", "--date", day, "--unplanned", "x", "--note", "y"),
                 ("measure", "add", "C1", "phq9", "--answers", "1,1,1,1,1,1,1,1,1",
                  "--date", day),
                 ("review", "P1", "--no-changes", "--date", day)):
        err = pw.fails(*argv)
        assert pattern.search(err), (argv[:2], err)
    assert pw.counts() == before


def test_a_session_dated_2207_no_longer_blocks_later_ones(pw: Main) -> None:
    pw.with_plan()
    pw.fails("session", "add", "P1", "--date", "2207-01-01", "--unplanned", "x",
             "--note", "y")
    out = pw.ok("session", "add", "P1", "--date", "2026-12-06", "--unplanned", "x",
                "--note", "y")
    assert out.startswith("S1: session 1 of 12")


@pytest.mark.parametrize("argv", [
    ("timeline", "P1", "--date", "9999-12-31"),
    ("dashboard", "--date", "0001-01-01"),
    ("review", "P1", "--date", "9999-12-31"),
])
def test_a_day_to_look_from_is_kept_within_a_century(pw: Main, argv: tuple[str, ...]) -> None:
    pw.with_plan()
    assert "is out of range" in pw.fails(*argv)  # timeline overflowed: exit 1


# --- busy database ----------------------------------------------------------------------------

HOLD = """
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("BEGIN IMMEDIATE")
c.execute("INSERT INTO drafts (kind, key, payload, updated_at) VALUES ('client', 'x', '{}', 'n')")
print("locked", flush=True)
time.sleep(30)
"""


def test_a_busy_database_says_busy_and_reads_still_run(pw: Main,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    # Before: a writer holding the lock made every command say "not a planwise database
    # (damaged)", read-only ones included (they took the write lock on open).
    pw.with_plan()
    monkeypatch.setenv("PLANWISE_BUSY_TIMEOUT", "0.3")
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(pw.db)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        before = pw.counts()
        for argv in (("client", "list"), ("plan", "history", "P1"), ("session", "list", "P1"),
                     ("dashboard",), ("timeline", "P1"), ("plan", "export", "P1")):
            pw.ok(*argv)
        err = pw.fails("client", "add", "--name", "Al", code=75)
        assert "the database is busy" in err and "try again" in err
        assert "damaged" not in err
        if Path("/proc/locks").exists():
            assert f"(pid {holder.pid})" in err
        err = pw.fails("session", "add", "P1", "--date", "2026-12-06", "--unplanned", "x",
                       "--note", "y", code=75)
        assert "busy" in err
    finally:
        holder.kill()
        holder.wait()
    assert pw.counts() == before


def test_opening_an_up_to_date_database_takes_no_write_lock(tmp_path: Path) -> None:
    from planwise.store import Store

    Store(tmp_path / "p.db")
    other = sqlite3.connect(tmp_path / "p.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        t0 = time.perf_counter()
        with Store(tmp_path / "p.db").connect() as c:
            assert c.query("SELECT count(*) AS n FROM clients") == [{"n": 0}]
        assert time.perf_counter() - t0 < 5  # it waited the full 10 s before
    finally:
        other.execute("ROLLBACK")
        other.close()


# --- files ----------------------------------------------------------------------------------

def test_output_refuses_a_symlink_unless_forced(pw: Main) -> None:
    pw.with_plan()
    target = pw.tmp / "someone-elses.txt"
    target.write_text("keep me")
    link = pw.tmp / "p1.md"
    link.symlink_to(target)
    err = pw.fails("plan", "export", "P1", "--format", "markdown", "--output", str(link))
    assert "symbolic link" in err and "--force" in err
    assert target.read_text() == "keep me"
    pw.ok("plan", "export", "P1", "--format", "markdown", "--output", str(link), "--force")
    assert target.read_text().startswith("# Treatment plan P1")


def test_folders_planwise_creates_are_0700_whatever_the_umask(tmp_path: Path) -> None:
    from planwise.kb import cache
    from planwise.kb.loader import _build, _stamp
    from planwise.store import Store

    old = os.umask(0)
    try:
        Store(tmp_path / "data" / "deep" / "p.db")
        folder = tmp_path / "home" / ".cache" / "planwise"
        os.environ["PLANWISE_CACHE_DIR"] = str(folder)
        try:
            cache.write(_stamp(()), _build(()))
        finally:
            os.environ["PLANWISE_CACHE_DIR"] = str(tmp_path / "unused")
    finally:
        os.umask(old)
    for d in (tmp_path / "data", tmp_path / "data" / "deep", tmp_path / "home",
              tmp_path / "home" / ".cache", folder):
        assert stat.S_IMODE(d.stat().st_mode) == 0o700, d
    assert stat.S_IMODE((tmp_path / "data" / "deep" / "p.db").stat().st_mode) == 0o600
    assert [stat.S_IMODE(f.stat().st_mode) for f in folder.iterdir()] == [0o600]


class _Boom:
    """A pickle payload that runs a shell command when loaded."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, ...]:
        return (os.system, (f"touch {self.marker}",))


@pytest.fixture()
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    from planwise.kb.loader import _load

    folder = tmp_path / "cache"
    monkeypatch.setenv("PLANWISE_CACHE_DIR", str(folder))
    monkeypatch.delenv("PLANWISE_NO_CACHE", raising=False)
    _load.cache_clear()
    yield folder
    _load.cache_clear()


def _cache_file(folder: Path) -> Path:
    from planwise.kb import load_knowledge

    load_knowledge()
    (path,) = folder.glob("knowledge-*.pickle")
    return path


def test_a_cache_that_would_run_code_is_not_loaded(cache_dir: Path, tmp_path: Path) -> None:
    from planwise.kb import load_knowledge
    from planwise.kb.loader import _load

    path = _cache_file(cache_dir)
    marker = tmp_path / "ran"
    path.write_bytes(pickle.dumps(_Boom(marker)))
    os.chmod(path, 0o600)
    _load.cache_clear()
    kb = load_knowledge()
    assert not marker.exists() and len(kb.rules) > 50


@pytest.mark.parametrize("spoil", ["file mode", "folder mode", "symlink"])
def test_a_cache_others_could_have_written_is_ignored(cache_dir: Path, tmp_path: Path,
                                                      spoil: str) -> None:
    from planwise.kb import cache
    from planwise.kb.loader import _stamp

    path = _cache_file(cache_dir)
    assert cache.read(_stamp(())) is not None  # the control: a private cache is used
    if spoil == "file mode":
        os.chmod(path, 0o644)
    elif spoil == "folder mode":
        os.chmod(cache_dir, 0o777)
    else:
        moved = tmp_path / "elsewhere.pickle"
        path.rename(moved)
        path.symlink_to(moved)
    assert cache.read(_stamp(())) is None


# --- the demo's folder ------------------------------------------------------------------------

DEMO_CHILD = """
import signal, sys, time
# As from a terminal, whatever the test runner's own dispositions (under nohup, SIGHUP
# is ignored, and a child inherits that).
signal.signal(signal.SIGHUP, signal.SIG_DFL)
signal.signal(signal.SIGTERM, signal.SIG_DFL)
from planwise.tui.demo import make_folder
folder = make_folder()
(folder / "demo.db").write_text("x")
print(folder, flush=True)
time.sleep(30)
"""


@pytest.mark.parametrize("signum", [signal.SIGHUP, signal.SIGTERM])
def test_the_demo_folder_is_removed_on_a_signal(signum: int) -> None:
    # Before: the folder stayed (on quit too) though the README says it is deleted.
    child = subprocess.Popen([sys.executable, "-c", DEMO_CHILD], stdout=subprocess.PIPE,
                             text=True, cwd=ROOT)
    assert child.stdout is not None
    folder = Path(child.stdout.readline().strip())
    assert folder.is_dir()
    child.send_signal(signum)
    assert child.wait(timeout=20) == -signum  # still ended by the signal
    assert not folder.exists()


def test_a_demo_started_under_nohup_keeps_ignoring_hangups() -> None:
    """An ignored SIGHUP (nohup) stays ignored: the demo and its folder stay, and the
    folder goes when the process ends (here by SIGTERM)."""
    child = subprocess.Popen([sys.executable, "-c", DEMO_CHILD.replace(
        "signal.signal(signal.SIGHUP, signal.SIG_DFL)",
        "signal.signal(signal.SIGHUP, signal.SIG_IGN)")], stdout=subprocess.PIPE, text=True,
        cwd=ROOT)
    assert child.stdout is not None
    folder = Path(child.stdout.readline().strip())
    child.send_signal(signal.SIGHUP)
    with pytest.raises(subprocess.TimeoutExpired):
        child.wait(timeout=1)          # still running
    assert (folder / "demo.db").is_file()
    child.send_signal(signal.SIGTERM)
    assert child.wait(timeout=20) == -signal.SIGTERM
    assert not folder.exists()


def test_the_demo_folder_is_removed_on_quit_and_on_error(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from planwise.tui import demo
    from planwise.tui.services import Services

    made: list[Path] = []
    real = demo.make_folder

    def track() -> Path:
        made.append(real())
        return made[-1]

    monkeypatch.setattr(demo, "make_folder", track)
    monkeypatch.setattr(demo, "seed", lambda services: None)
    services = Services.open(None, demo=True)
    assert made[-1].is_dir() and services.db_path.parent == made[-1]
    services.close()
    assert not made[-1].exists()

    def fail(services: Services) -> None:
        raise RuntimeError("seeding failed")

    monkeypatch.setattr(demo, "seed", fail)
    with pytest.raises(RuntimeError):
        Services.open(None, demo=True)
    assert len(made) == 2 and not made[-1].exists()


# --- ':memory:' -------------------------------------------------------------------------------

def test_memory_is_not_a_database_path_and_no_file_is_made(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch,
                                                          ) -> None:
    # Store(":memory:") created an empty file called ':memory:' in the working folder (one
    # was committed at the root of the repository).
    from planwise.store import Store

    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError, match="':memory:' is not a database path"):
        Store(":memory:")
    assert not (tmp_path / ":memory:").exists()


def test_no_memory_file_in_the_repository() -> None:
    tracked = subprocess.run(["git", "ls-files", "--", ":(literal):memory:"], cwd=ROOT,
                             capture_output=True, text=True)
    if tracked.returncode == 0:  # a git checkout
        assert tracked.stdout.strip() == ""
    assert not (ROOT / ":memory:").exists()
