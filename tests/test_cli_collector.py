"""`planwise recommend` and `explain` run with Python's cycle collector paused (a tenth of
their cold start, cli/common.py): it must come back on after them, whether the command
succeeded or refused its input, and stay off if the caller had switched it off."""

from __future__ import annotations

import gc
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
