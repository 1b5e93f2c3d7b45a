"""`planwise recommend` and `explain` run with Python's cycle collector paused (a tenth of
their cold start, cli/common.py): it must come back on after them, whether the command
succeeded or refused its input, and stay off if the caller had switched it off."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from planwise.cli import cli
from planwise.cli.common import collector_paused
from planwise.errors import InputError

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "depression-alcohol.toml"


@pytest.mark.parametrize("argv", [["recommend", str(EXAMPLE), "--engine", "reference"],
                                  ["explain", str(EXAMPLE), "--engine", "reference"]])
def test_the_collector_is_on_again_after_a_short_command(argv: list[str],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from planwise.cli import common, engine_cmds

    during: list[bool] = []

    def load_kb(dirs: tuple[str, ...]) -> object:
        during.append(gc.isenabled())
        return common.load_kb(dirs)

    monkeypatch.setattr(engine_cmds, "load_kb", load_kb)
    result = CliRunner().invoke(cli, argv)
    assert result.exit_code == 0, result.output
    assert during == [False]     # paused while the command ran
    assert gc.isenabled()


def test_the_collector_is_on_again_after_refused_input(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('schema = "planwise.intake/1"\nsurprise = 1\n')
    result = CliRunner().invoke(cli, ["recommend", str(bad)])
    assert isinstance(result.exception, InputError) and "surprise" in str(result.exception)
    assert gc.isenabled()


def test_a_collector_the_caller_switched_off_stays_off() -> None:
    gc.disable()
    try:
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


# An exit handler that says whether Python's tear-down ran.
MAIN = ("import atexit\natexit.register(lambda: print('TEAR-DOWN', flush=True))\n"
        "from planwise.cli import main\nmain()")


def _run(argv: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PLANWISE_CACHE_DIR": str(tmp_path / "cache"),
           "PLANWISE_CONFIG_DIR": str(tmp_path / "config"),
           "PLANWISE_DB": str(tmp_path / "db" / "planwise.db")}
    return subprocess.run([sys.executable, "-c", MAIN, *argv], capture_output=True,
                          text=True, env=env, check=False)


def test_a_short_command_ends_at_once_with_all_its_output(tmp_path: Path) -> None:
    """The process skips Python's tear-down after a short command (exit_now_if_short):
    every byte of its output still arrives, to a pipe and to a file, with exit status 0."""

    piped = _run(["recommend", str(EXAMPLE), "--format", "json", "--engine", "reference"],
                 tmp_path)
    assert piped.returncode == 0, piped.stderr
    assert "TEAR-DOWN" not in piped.stdout        # it did end at once
    assert json.loads(piped.stdout)["problems"]   # the whole document, parsed
    out = tmp_path / "out.json"
    with out.open("w") as fh:
        done = subprocess.run([sys.executable, "-c", MAIN, "recommend", str(EXAMPLE),
                               "--format", "json", "--engine", "reference"], stdout=fh,
                              check=False)
    assert done.returncode == 0
    assert json.loads(out.read_text()) == json.loads(piped.stdout)


def test_other_commands_end_as_usual(tmp_path: Path) -> None:
    done = _run(["client", "list"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert "TEAR-DOWN" in done.stdout


def test_a_refused_short_command_still_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('schema = "planwise.intake/1"\nsurprise = 1\n')
    done = _run(["recommend", str(bad)], tmp_path)
    assert done.returncode == 2 and "surprise" in done.stderr
    assert done.stdout.strip() == "TEAR-DOWN"     # the normal exit, nothing else printed
