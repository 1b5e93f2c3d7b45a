"""Global options, the config file and the order that settles each setting (issue 11,
"Configuration"): `planwise --db X client list` used the default database, `--db` sat on
the group for some commands and on the command for others, and the interface could not
use a clinic's knowledge folder.

Every command runs through `planwise.cli.main` (the exit codes and messages a user sees).
A database given the wrong way would be noticed: PLANWISE_DB names a file that is not a
planwise database, so a command that ignored `--db` fails.
"""

from __future__ import annotations

import contextlib
import io
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest

from planwise.cli import cli, global_options, main

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "depression-alcohol.toml"
TRAINEE = ROOT / "examples" / "profile-trainee.toml"
TODAY = "2026-12-01"

# A clinic's folder that replaces one shipped rule (its source names the clinic).
CLINIC_RULE = '''
[[rules]]
id = "depression.treatment.severe"
stage = "plan"
source = "Our clinic: a longer course"
says = "More severe depression: 24 to 30 sessions here."
when = [{ fact = "problem", condition = "depression", severity = "severe" }]
then = [{ fact = "treatment_option", condition = "depression", sessions_min = 24, \
sessions_max = 30, frequency_per_week = 1, level_of_care = "outpatient", review_weeks = 8, \
modalities = ["cbt"] }]
'''


@pytest.fixture(autouse=True)
def _settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private config folder, no settings from the environment, and a PLANWISE_DB that
    is not a database: a command that falls back to it fails."""
    cfg = tmp_path / "config"
    cfg.mkdir()
    monkeypatch.setenv("PLANWISE_CONFIG_DIR", str(cfg))
    for var in ("PLANWISE_PROFILE", "PLANWISE_KNOWLEDGE", "PLANWISE_THEME", "PLANWISE_CONFIG",
                "PLANWISE_DEBUG"):
        monkeypatch.delenv(var, raising=False)
    decoy = tmp_path / "not-a-database.db"
    decoy.write_text("not a database\n")
    monkeypatch.setenv("PLANWISE_DB", str(decoy))
    monkeypatch.setenv("PLANWISE_TODAY", TODAY)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))  # the default, if reached
    return cfg


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in argv])
    out, err = capsys.readouterr()
    code = exc.value.code
    return (0 if code is None else int(code)), out, err


def ok(argv: list[Any], capsys: pytest.CaptureFixture[str]) -> str:
    code, out, err = run(argv, capsys)
    assert code == 0, f"{argv}: exit {code}: {err}"
    return out


def refused(argv: list[Any], capsys: pytest.CaptureFixture[str]) -> str:
    code, out, err = run(argv, capsys)
    assert code == 2, f"{argv}: exit {code}: {out}{err}"
    assert "Traceback" not in err and err.count("\n") == 1, err
    return err


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A database with client C1 (Jo Example), intake I1 and plan P1 (made once)."""
    folder = tmp_path_factory.mktemp("template")
    db = folder / "caseload.db"
    mp = pytest.MonkeyPatch()
    mp.setenv("PLANWISE_CONFIG_DIR", str(folder))
    mp.setenv("PLANWISE_TODAY", TODAY)
    mp.delenv("PLANWISE_PROFILE", raising=False)
    try:
        for argv in (["client", "add", "--name", "Jo Example"],
                     ["client", "intake", "C1", str(EXAMPLE)],
                     ["plan", "draft", "C1", "I1"]):
            with pytest.raises(SystemExit) as exc:
                main(["--db", str(db), *argv])
            assert exc.value.code in (0, None)
        yield db
    finally:
        mp.undo()


@pytest.fixture()
def db(template: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "caseload.db"
    shutil.copy(template, copy)
    return copy


@pytest.fixture(scope="module")
def issued(template: Path, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[tuple[Path, dict[str, Path]]]:
    """The template with a questionnaire request issued on it, and C1's information and P1
    as TOML and a response to that request, made once (a third of this file's time when
    made for each test, 158 times): each test gets copies (`files`)."""
    folder = tmp_path_factory.mktemp("issued")
    db = folder / "caseload.db"
    shutil.copy(template, db)
    mp = pytest.MonkeyPatch()
    mp.setenv("PLANWISE_CONFIG_DIR", str(folder))
    mp.setenv("PLANWISE_TODAY", TODAY)
    mp.delenv("PLANWISE_PROFILE", raising=False)
    try:
        client = folder / "c1.toml"
        client.write_text(_out(["--db", db, "client", "export", "C1"]))
        plan = folder / "p1.toml"
        plan.write_text(_out(["--db", db, "plan", "export", "P1"]))
        yield db, {"client": client, "plan": plan, "response": _remote_response(db, folder)}
    finally:
        mp.undo()


def _out(argv: list[Any]) -> str:
    """What a command that must succeed prints (capsys is the test's alone)."""
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), pytest.raises(SystemExit) as exc:
        main([str(a) for a in argv])
    assert exc.value.code in (0, None), argv
    return buf.getvalue()


@pytest.fixture()
def files(db: Path, issued: tuple[Path, dict[str, Path]], tmp_path: Path) -> dict[str, Path]:
    """C1's information and P1 as TOML, to edit and import, and a response to a request
    issued on `db` (which becomes a copy of the database they were made on)."""
    source, made = issued
    shutil.copy(source, db)
    out = {}
    for key, path in made.items():
        out[key] = tmp_path / path.name
        shutil.copy(path, out[key])
    return out


def _remote_response(db: Path, folder: Path) -> Path:
    """A response to a request issued on `db`, sealed as the page would (docs/remote.md)."""
    from tests.remote_helpers import packet_json, payload, sealed

    packet = folder / "issued.html"
    _out(["--db", db, "measure", "request", "C1", "phq9", "--output", packet])
    req = packet_json(packet.read_text(encoding="utf-8"))
    response = folder / "response.txt"
    response.write_text(sealed(req, payload(req, completed=TODAY)), encoding="utf-8")
    return response


def commands() -> list[tuple[str, click.Command, frozenset[str]]]:
    """Every command below `planwise`, with the settings it uses."""
    found = []

    def walk(cmd: click.Command, parents: tuple[click.Command, ...], path: str) -> None:
        if isinstance(cmd, click.Group):
            for name, sub in cmd.commands.items():
                walk(sub, (*parents, cmd) if path else (), f"{path} {name}".strip())
        else:
            found.append((path, cmd, global_options.used_by(cmd, parents)))

    walk(cli, (), "")
    return found


COMMANDS = commands()
USES = {path: used for path, _, used in COMMANDS}


def args(path: str, files: dict[str, Path], tmp_path: Path) -> list[Any]:
    """Arguments that make each command do its work on the template database."""
    table: dict[str, list[Any]] = {
        "demo": [], "config": [],
        "recommend": [EXAMPLE], "explain": [EXAMPLE], "schema": ["intake"],
        "knowledge check": [], "knowledge list": [], "knowledge show": ["phq9"],
        "client add": ["--name", "Sam Example"], "client list": [], "client show": ["C1"],
        "client export": ["C1"], "client edit": ["C1", "--file", files["client"]],
        "client intake": ["C1", EXAMPLE],
        "plan draft": ["C1", "I1"], "plan export": ["P1"], "plan lint": ["P1"],
        "plan diff": ["P1", "1", "1"], "plan import": ["P1", files["plan"]],
        "plan sign": ["P1", "--role", "client", "--name", "Jo Example"],
        "plan history": ["P1"], "plan audit": ["P1"], "audit": ["P1"],
        "session add": ["P1", "--date", TODAY, "--objective", "depression.activity.monitor:4",
                        "--note", "Reviewed the activity log",
                        "--measure", "phq9=1,1,0,1,0,1,0,0,0"],
        "session list": ["P1"],
        "measure add": ["C1", "phq9", "--answers", "1,1,0,1,0,1,0,0,0", "--date", TODAY],
        "measure list": ["C1"], "measure export": ["--records", "sessions"],
        "measure request": ["C1", "phq9", "--output", tmp_path / "packet.html"],
        "measure import": [files["response"]], "keys show": [], "keys rotate": [],
        "review": ["P1"], "timeline": ["P1"], "dashboard": [],
        "backup": [tmp_path / "backup.db"], "verify": [], "search": ["activity"],
        "db encrypt": ["--passphrase-file", _passphrase(tmp_path, "first")],
        "db rekey": ["--new-passphrase-file", _passphrase(tmp_path, "second")],
        "db decrypt": ["--to", tmp_path / "handover.db", "--yes"],
    }
    return table[path]


def _passphrase(tmp_path: Path, name: str) -> Path:
    """A passphrase file (0600), for `planwise db` (docs/store.md, Encryption at rest)."""
    path = tmp_path / f"{name}.pass"
    path.write_text(f"{name} passphrase, long enough\n")
    path.chmod(0o600)
    return path


def test_every_command_has_arguments_here(files: dict[str, Path], tmp_path: Path) -> None:
    """A new command must say here how it runs, so the tests below cover it."""
    for path, _, _ in COMMANDS:
        args(path, files, tmp_path)


def test_the_commands_use_what_they_should() -> None:
    uses_db = {p for p, u in USES.items() if "db" in u}
    assert uses_db == {p for p in USES if p.split()[0] in (
        "client", "plan", "session", "measure", "review", "timeline", "dashboard", "audit",
        "backup", "verify", "config", "keys", "db", "search")}
    assert {p for p, u in USES.items() if "profile" in u} == {
        "demo", "config", "recommend", "explain", "plan draft"}
    assert {p for p, u in USES.items() if "knowledge" in u} == {
        "demo", "config", "recommend", "explain", "knowledge check", "knowledge list",
        "knowledge show", "client intake", "plan draft", "plan import", "session add",
        "measure add", "measure request", "measure import", "review", "dashboard"}
    assert {p for p, u in USES.items() if "theme" in u} == {"demo", "config"}


# -- --db: one place, honoured by every command ---------------------------------------------

DB_COMMANDS = [p for p, u in USES.items() if "db" in u]


@pytest.mark.parametrize("path", DB_COMMANDS)
def test_every_command_honours_the_top_level_db(path: str, db: Path, files: dict[str, Path],
                                                tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """`planwise --db X <command>` works on X (before, every one used the default)."""
    if path in ("db rekey", "db decrypt"):  # they need an encrypted database
        first = _passphrase(tmp_path, "first")
        ok(["--db", db, "db", "encrypt", "--passphrase-file", first], capsys)
        monkeypatch.setenv("PLANWISE_PASSPHRASE_FILE", str(first))
    out = ok(["--db", db, *path.split(), *args(path, files, tmp_path)], capsys)
    expected = {"client add": "C2", "client list": "Jo Example", "client show": "Jo Example",
                "client intake": "I2", "plan draft": "P2", "config": str(db),
                "session add": "S1", "plan history": "v1", "verify": "chain head"}
    if path in expected:
        assert expected[path] in out


@pytest.mark.parametrize("argv", [
    ["client", "--db", "{db}", "list"],
    ["plan", "--db", "{db}", "history", "P1"],
    ["session", "--db", "{db}", "list", "P1"],
    ["measure", "--db", "{db}", "list", "C1"],
    ["review", "P1", "--db", "{db}"],
    ["timeline", "P1", "--db", "{db}"],
    ["dashboard", "--db", "{db}"],
    ["audit", "P1", "--db", "{db}"],
    ["verify", "--db", "{db}"],
], ids=lambda a: " ".join(x for x in a if x != "{db}"))
def test_the_older_places_for_db_still_work(argv: list[str], db: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    ok([str(db) if a == "{db}" else a for a in argv], capsys)


def test_db_given_twice_with_two_paths_is_refused(db: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    other = tmp_path / "other.db"
    err = refused(["--db", other, "client", "--db", db, "list"], capsys)
    assert "--db" in err and "given twice" in err
    err = refused(["--db", other, "review", "P1", "--db", db], capsys)
    assert "--db" in err
    assert not other.exists()
    # The same file in both places is no conflict.
    assert "Jo Example" in ok(["--db", db, "client", "--db", db, "list"], capsys)


def test_db_order_command_line_then_environment_then_config_then_default(
        db: Path, tmp_path: Path, _settings: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("PLANWISE_DB")
    out = ok(["config"], capsys)
    assert str(tmp_path / "data" / "planwise" / "planwise.db") in out and "the default" in out
    (_settings / "config.toml").write_text(f'database = "{db}"\n')
    assert "Jo Example" in ok(["client", "list"], capsys)
    assert f"database   {db}  (config file, line 1)" in ok(["config"], capsys)
    env_db = tmp_path / "env.db"
    monkeypatch.setenv("PLANWISE_DB", str(env_db))
    assert "Jo Example" not in ok(["client", "list"], capsys)
    assert f"{env_db}  (PLANWISE_DB)" in ok(["config"], capsys)
    assert "Jo Example" in ok(["--db", db, "client", "list"], capsys)
    assert f"{db}  (--db)" in ok(["--db", db, "config"], capsys)


# -- options a command cannot use are refused, by name ------------------------------------

REFUSALS = [(path, name) for path, used in USES.items()
            for name in global_options.GLOBAL_NAMES if name not in used]


@pytest.mark.parametrize("path, name", REFUSALS, ids=[f"{p}--{n}" for p, n in REFUSALS])
def test_a_global_option_a_command_cannot_use_is_refused(path: str, name: str,
                                                         files: dict[str, Path],
                                                         tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]
                                                         ) -> None:
    value = {"db": tmp_path / "x.db", "profile": TRAINEE, "knowledge": tmp_path,
             "theme": "ansi"}[name]
    err = refused([f"--{name}", value, *path.split(), *args(path, files, tmp_path)], capsys)
    assert f"--{name}" in err and f"`planwise {path}` does not use" in err
    assert not (tmp_path / "x.db").exists()


def test_the_demo_refuses_a_database(capsys: pytest.CaptureFixture[str],
                                     tmp_path: Path) -> None:
    err = refused(["--db", tmp_path / "x.db", "demo"], capsys)
    assert "temporary database" in err


# -- --profile ----------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["recommend", "explain"])
def test_the_top_level_profile_reaches_the_engine(path: str,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """The trainee's profile lists no alcohol competency: the scope warning says so."""
    without = ok([path, EXAMPLE], capsys)
    with_profile = ok(["--profile", TRAINEE, path, EXAMPLE], capsys)
    assert "outside" not in without.lower() or "competencies" not in without
    assert "competencies" in with_profile


def test_the_top_level_profile_reaches_plan_draft(db: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert ok(["--db", db, "--profile", TRAINEE, "plan", "draft", "C1", "I1"], capsys) \
        .strip() == "P2"
    exported = ok(["--db", db, "plan", "export", "P2", "--format", "json"], capsys)
    assert "out_of_scope" in exported


def test_profile_given_twice_with_two_files_is_refused(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]
                                                       ) -> None:
    other = tmp_path / "other.toml"
    other.write_text(TRAINEE.read_text())
    err = refused(["--profile", other, "recommend", EXAMPLE, "--profile", TRAINEE], capsys)
    assert "--profile" in err and "given twice" in err


def test_profile_from_the_config_file(_settings: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    (_settings / "config.toml").write_text(f'profile = "{TRAINEE}"\n')
    assert "competencies" in ok(["recommend", EXAMPLE], capsys)
    (_settings / "config.toml").write_text('\n\nprofile = "missing.toml"\n')
    err = refused(["recommend", EXAMPLE], capsys)
    assert f"{_settings / 'config.toml'}:3: profile: profile not found" in err


# -- --knowledge --------------------------------------------------------------------------

@pytest.fixture()
def clinic(tmp_path: Path) -> Path:
    folder = tmp_path / "clinic"
    folder.mkdir()
    (folder / "longer.toml").write_text(CLINIC_RULE)
    return folder


@pytest.fixture()
def broken(tmp_path: Path) -> Path:
    """A clinic folder with a broken instrument file: a command that reads the clinic's
    knowledge (or its instruments) fails naming it."""
    folder = tmp_path / "broken"
    (folder / "instruments").mkdir(parents=True)
    (folder / "instruments" / "ours.toml").write_text('id = "ours"\nname = \n')
    return folder


def test_the_top_level_knowledge_reaches_the_engine(clinic: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert "Our clinic" not in ok(["explain", EXAMPLE], capsys)
    assert "Our clinic" in ok(["--knowledge", clinic, "explain", EXAMPLE], capsys)
    assert "Our clinic" in ok(["--knowledge", clinic, "knowledge", "show",
                               "depression.treatment.severe"], capsys)
    assert "replaced: depression.treatment.severe" in ok(
        ["--knowledge", clinic, "knowledge", "check"], capsys)


KNOWLEDGE_COMMANDS = [p for p, u in USES.items() if "knowledge" in u
                      and p not in ("demo", "config")]


@pytest.mark.parametrize("path", KNOWLEDGE_COMMANDS)
def test_every_command_reads_the_top_level_knowledge(path: str, db: Path, broken: Path,
                                                     files: dict[str, Path], tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]
                                                     ) -> None:
    argv = [*path.split(), *args(path, files, tmp_path)]
    err = refused(["--db", db, "--knowledge", broken, *argv], capsys) \
        if "db" in USES[path] else refused(["--knowledge", broken, *argv], capsys)
    assert str(broken / "instruments" / "ours.toml") in err


def test_top_level_and_command_knowledge_folders_add_up(clinic: Path, broken: Path,
                                                        capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    err = refused(["--knowledge", clinic, "recommend", EXAMPLE, "--knowledge", broken], capsys)
    assert "ours.toml" in err


def test_knowledge_from_the_environment_and_the_config_file(
        clinic: Path, _settings: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    (_settings / "config.toml").write_text('knowledge = [\n  "../clinic",\n]\n')
    # A relative folder is relative to the config file's folder.
    assert "Our clinic" in ok(["explain", EXAMPLE], capsys)
    out = ok(["config"], capsys)
    assert f"shipped + {clinic}  (config file, line 1)" in out
    # The command line replaces the config file's folders.
    elsewhere = clinic.parent / "empty"
    elsewhere.mkdir()
    assert "Our clinic" not in ok(["--knowledge", elsewhere, "explain", EXAMPLE], capsys)
    monkeypatch.setenv("PLANWISE_KNOWLEDGE", str(elsewhere))
    assert "Our clinic" not in ok(["explain", EXAMPLE], capsys)
    (_settings / "config.toml").write_text('knowledge = [\n  "../clinic",\n  "../nowhere",\n]\n')
    monkeypatch.delenv("PLANWISE_KNOWLEDGE")
    err = refused(["explain", EXAMPLE], capsys)
    assert f"{_settings / 'config.toml'}:3: knowledge[1]: knowledge folder not found" in err


# -- the interface: database, profile, clinic knowledge and theme --------------------------

@pytest.fixture()
def opened(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """What `planwise` and `planwise demo` would open the interface with."""
    calls: list[dict[str, Any]] = []

    def fake_run(db_path: Path | None = None, **kwargs: Any) -> None:
        calls.append({"db": db_path, **kwargs})

    import planwise.tui

    monkeypatch.setattr(planwise.tui, "run", fake_run)
    return calls


def test_the_interface_gets_every_top_level_option(opened: list[dict[str, Any]], db: Path,
                                                   clinic: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    ok(["--db", db, "--profile", TRAINEE, "--knowledge", clinic, "--theme", "ansi"], capsys)
    (call,) = opened
    assert call["db"] == db and call["profile_path"] == str(TRAINEE)
    assert call["knowledge_dirs"] == (str(clinic),)
    assert call["theme"].value == "ansi" and call["theme"].origin.field == "--theme"


def test_the_interface_reads_the_config_file(opened: list[dict[str, Any]], db: Path,
                                             clinic: Path, _settings: Path,
                                             monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("PLANWISE_DB")
    (_settings / "config.toml").write_text(
        f'database = "{db}"\nprofile = "{TRAINEE}"\nknowledge = ["{clinic}"]\ntheme = "nord"\n')
    ok([], capsys)
    ok(["demo"], capsys)
    interface, demo = opened
    assert interface["db"] == db and interface["profile_path"] == str(TRAINEE)
    assert interface["knowledge_dirs"] == (str(clinic),)
    assert interface["theme"].value == "nord" and interface["theme"].origin.line == 4
    assert demo["db"] is None and demo["demo"] is True
    assert demo["knowledge_dirs"] == (str(clinic),) and demo["profile_path"] == str(TRAINEE)


def test_the_interface_uses_the_clinic_knowledge(db: Path, clinic: Path) -> None:
    """What `planwise --knowledge DIR` hands on is what the interface's engine reads."""
    from planwise.tui.services import Services

    services = Services.open(db, knowledge_dirs=(str(clinic),))
    try:
        assert ("depression.treatment.severe", str(clinic / "longer.toml")) in \
            services.kb.replaced
    finally:
        services.close()


def test_a_bad_theme_in_the_config_file_names_the_file_and_line(_settings: Path) -> None:
    from planwise.config import Settings
    from planwise.errors import InputError
    from planwise.tui.colours import checked_theme

    (_settings / "config.toml").write_text('# mine\ntheme = "neon"\n')
    chosen = Settings().theme_choice()
    assert chosen is not None
    with pytest.raises(InputError) as exc:
        checked_theme(chosen, ["textual-dark", "ansi-dark", "nord"])
    assert str(exc.value).startswith(f"{_settings / 'config.toml'}:2: theme: 'neon' is not a "
                                     "theme: use ansi, or one of")


# -- the config file: checked, every problem named by file, key and line ------------------

@pytest.mark.parametrize("text, where, message", [
    ('databse = "x.db"\n', "config.toml:1: databse", "unknown setting"),
    ('theme = "ansi"\n[database]\npath = "x"\n', "config.toml:2: database", "valid string"),
    ('[clinic]\nknowledge = []\n', "config.toml:1: clinic", "unknown setting"),
    ('\ndatabase = 3\n', "config.toml:2: database", "valid string"),
    ('knowledge = "clinic"\n', "config.toml:1: knowledge", "valid list"),
    ('profile = ""\n', "config.toml:1: profile", "at least 1 character"),
    ('theme = "ansi"\ntheme = "nord"\n', "config.toml:2", "theme"),
    ('database = "x.db\n', "config.toml:1", "invalid TOML"),
    ('database = "a\\u001bb.db"\n', "config.toml:1: database", "control character"),
])
def test_a_bad_config_file_exits_2_naming_file_key_and_line(
        text: str, where: str, message: str, _settings: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    (_settings / "config.toml").write_text(text)
    for argv in (["client", "list"], ["schema", "intake"], ["config"]):
        err = refused(argv, capsys)
        assert f"{_settings}/{where}" in err and message in err, err


def test_a_named_config_file_must_exist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = refused(["--config", tmp_path / "none.toml", "client", "list"], capsys)
    assert "none.toml" in err and "not found" in err
    named = tmp_path / "elsewhere.toml"
    named.write_text(f'database = "{db}"\n')
    monkeypatch.delenv("PLANWISE_DB")
    assert "Jo Example" in ok(["--config", named, "client", "list"], capsys)
    monkeypatch.setenv("PLANWISE_CONFIG", str(named))
    assert "Jo Example" in ok(["client", "list"], capsys)


@pytest.mark.parametrize("argv", [["--help"], ["client", "--help"], ["client", "list", "--help"],
                                  ["plan", "draft", "--help"], ["review", "--help"],
                                  ["--db", "x.db", "session", "add", "--help"]])
def test_help_reads_no_config_file(argv: list[str], _settings: Path,
                                   monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("PLANWISE_DB")
    (_settings / "config.toml").write_text("broken =\n")
    assert "Example" in ok(argv, capsys)


def test_help_names_the_global_options(capsys: pytest.CaptureFixture[str]) -> None:
    out = ok(["--help"], capsys)
    for option in ("--db PATH", "--profile PATH", "--knowledge DIR", "--theme NAME",
                   "--config FILE"):
        assert option in out


def test_help_stays_fast(tmp_path: Path) -> None:
    """No config file is read, so pydantic is not even imported, for a command's --help."""
    import subprocess
    import sys

    code = ("import sys; from planwise.cli import main\n"
            "try:\n    main(['--db', 'x.db', 'client', 'list', '--help'])\n"
            "except SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.startswith(('pydantic', 'textual', "
            "'planwise.store'))))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, cwd=tmp_path)
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout + done.stderr


def test_a_bad_theme_stops_the_interface_before_any_database(
        tmp_path: Path, _settings: Path, capsys: pytest.CaptureFixture[str]) -> None:
    new = tmp_path / "new.db"
    err = refused(["--db", new, "--theme", "neon"], capsys)
    assert "--theme='neon' is not a theme: use ansi, or one of" in err
    (_settings / "config.toml").write_text('theme = "neon"\n')
    err = refused(["--db", new], capsys)
    assert f"{_settings / 'config.toml'}:1: theme: 'neon' is not a theme" in err
    assert not new.exists()
