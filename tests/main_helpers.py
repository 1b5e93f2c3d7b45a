"""Running `planwise` in-process through `main()` (its error handling, escaping and exit
codes), with a private database and a fixed today. Shared by the hostile-input, the
terminal-escaping and the fuzz tests."""

from __future__ import annotations

import io
import json
import sqlite3
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from planwise.cli import main

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "depression-alcohol.toml"
TODAY = "2027-01-15"  # after the examples' 2026-11-29 and the sessions the tests add


def example_data() -> dict[str, Any]:
    """The example intake as JSON-ready data (dates as text)."""
    return json.loads(json.dumps(tomllib.loads(EXAMPLE.read_text()), default=str))


class Main:
    def __init__(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                 capsys: pytest.CaptureFixture[str]) -> None:
        self.tmp = tmp_path
        self.db = tmp_path / "planwise.db"
        self.capsys = capsys
        self.monkeypatch = monkeypatch
        monkeypatch.setenv("PLANWISE_DB", str(self.db))
        monkeypatch.setenv("PLANWISE_TODAY", TODAY)
        monkeypatch.setenv("PLANWISE_PROFILE", str(tmp_path / "no-profile.toml"))
        monkeypatch.delenv("PLANWISE_DEBUG", raising=False)

    def run(self, *argv: str, stdin: bytes | None = None) -> tuple[int, str, str]:
        self.capsys.readouterr()
        if stdin is not None:
            wrapper = io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8")
            self.monkeypatch.setattr(sys, "stdin", wrapper)
        with pytest.raises(SystemExit) as exc:
            main(list(argv))
        out, err = self.capsys.readouterr()
        code = exc.value.code
        assert "Traceback" not in out + err
        return (0 if code is None else int(code)), out, err

    def ok(self, *argv: str) -> str:
        code, out, err = self.run(*argv)
        assert code == 0, f"{argv[:4]}: exit {code}: {err[:500]}"
        return out

    def fails(self, *argv: str, code: int = 2, stdin: bytes | None = None) -> str:
        got, out, err = self.run(*argv, stdin=stdin)
        assert got == code, f"{[a[:40] for a in argv]}: exit {got}: {err[:500]}"
        assert err.startswith("planwise: error: ") or "Error:" in err, err[:500]
        return err

    def count(self, table: str) -> int:
        if not self.db.exists():
            return 0
        con = sqlite3.connect(self.db)
        try:
            return int(con.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
        finally:
            con.close()

    def counts(self) -> dict[str, int]:
        return {t: self.count(t) for t in ("clients", "intakes", "measures", "plans",
                                           "plan_versions", "plan_items", "sessions",
                                           "audit")}

    def with_plan(self) -> None:
        """C1 'Jo Example', intake I1 (the example) and plan P1 drafted from it."""
        self.ok("client", "add", "--name", "Jo Example")
        self.ok("client", "intake", "C1", str(EXAMPLE))
        self.ok("plan", "draft", "C1", "I1", "--engine", "reference")
