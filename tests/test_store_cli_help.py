"""Every store command has --help with an example, and --help stays free of the store."""

from __future__ import annotations

import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from planwise.cli.client_cmds import client_group
from planwise.cli.db_cmds import db_group
from planwise.cli.keys_cmd import keys_group
from planwise.cli.measure_cmds import measure_group
from planwise.cli.plan_cmds import audit_cmd, plan_group
from planwise.cli.review_cmds import dashboard_cmd, review_cmd, timeline_cmd
from planwise.cli.search_cmd import search_cmd
from planwise.cli.session_cmds import session_group


def commands() -> list[tuple[list[str], click.Command]]:
    out: list[tuple[list[str], click.Command]] = [
        (["audit"], audit_cmd), (["review"], review_cmd), (["timeline"], timeline_cmd),
        (["dashboard"], dashboard_cmd), (["search"], search_cmd)]
    for group in (client_group, plan_group, session_group, measure_group, db_group,
                  keys_group):
        out.append(([group.name or ""], group))
        for name, cmd in group.commands.items():
            out.append(([group.name or "", name], cmd))
    return out


@pytest.mark.parametrize("path, cmd", commands(), ids=lambda v: " ".join(v)
                         if isinstance(v, list) else "")
def test_help_has_example(path: list[str], cmd: click.Command) -> None:
    result = CliRunner().invoke(cmd, ["--help"])
    assert result.exit_code == 0
    assert "Example" in result.output, path
    assert "planwise " + " ".join(path) in result.output.replace("  ", " "), path


def test_help_does_not_import_store() -> None:
    code = ("import sys; from planwise.cli import cli; "
            "from click.testing import CliRunner; CliRunner().invoke(cli, ['plan', '--help']); "
            "CliRunner().invoke(cli, ['client', '--help']); "
            "CliRunner().invoke(cli, ['session', '--help']); "
            "CliRunner().invoke(cli, ['session', 'add', '--help']); "
            "CliRunner().invoke(cli, ['measure', 'add', '--help']); "
            "CliRunner().invoke(cli, ['measure', 'list', '--help']); "
            "CliRunner().invoke(cli, ['search', '--help']); "
            "CliRunner().invoke(cli, ['db', 'encrypt', '--help']); "
            "print(sorted(m for m in sys.modules if m.startswith(('sqlite_utils', "
            "'planwise.store', 'textual', 'durable'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_top_level_audit_and_session_registered() -> None:
    from planwise.cli import cli

    assert cli.commands["audit"] is audit_cmd
    assert cli.commands["session"] is session_group
    assert cli.commands["measure"] is measure_group
    assert {"add", "list"} <= set(measure_group.commands)
    for name, cmd in (("review", review_cmd), ("timeline", timeline_cmd),
                      ("dashboard", dashboard_cmd)):
        assert cli.commands[name] is cmd
