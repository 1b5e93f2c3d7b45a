"""Shared helpers for the store tests: a CliRunner with --db in tmp_path."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from planwise.errors import PlanwiseError

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "depression-alcohol.toml"


class Runner:
    def __init__(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.db = tmp_path / "planwise.db"
        monkeypatch.delenv("PLANWISE_DB", raising=False)
        monkeypatch.setenv("PLANWISE_DB", str(tmp_path / "must-not-be-used.db"))
        self.runner = CliRunner()

    def invoke(self, *args: str, db: bool = True) -> tuple[int, str, str]:
        from planwise.cli import cli

        argv = list(args)
        if db:
            argv.insert(1, "--db")
            argv.insert(2, str(self.db))
        result = self.runner.invoke(cli, argv)
        exc = result.exception
        if isinstance(exc, PlanwiseError):
            return exc.exit_code, result.stdout, str(exc)
        if exc is not None and not isinstance(exc, SystemExit):
            raise exc
        return result.exit_code, result.stdout, getattr(result, "stderr", "")

    def ok(self, *args: str, db: bool = True) -> str:
        code, out, err = self.invoke(*args, db=db)
        assert code == 0, f"{args}: exit {code}: {err} {out}"
        return out.rstrip("\n")

    def fails(self, *args: str, db: bool = True) -> str:
        code, out, err = self.invoke(*args, db=db)
        assert code == 2, f"{args}: exit {code}: {err} {out}"
        return err

    def rows(self, sql: str, params: Any = ()) -> list[dict[str, Any]]:
        con = sqlite3.connect(self.db)
        con.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in con.execute(sql, params)]
        finally:
            con.close()


def with_drafted_plan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Runner:
    """A fresh database with client C1, its intake I1 (the example: session limit 12)
    and plan P1 drafted from it: the starting point of most store tests."""
    r = Runner(tmp_path, monkeypatch)
    r.ok("client", "add", "--name", "Jo Example")
    r.ok("client", "intake", "C1", str(EXAMPLE))
    r.ok("plan", "draft", "C1", "I1", "--engine", "reference")
    return r
