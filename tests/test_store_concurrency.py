"""Optimistic concurrency on drafts: two edits of the same export, no update lost."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from planwise.errors import InputError
from planwise.store import Store, plans
from tests.test_store_helpers import Runner, with_drafted_plan

PLANWISE = Path(sys.executable).with_name("planwise")


@pytest.fixture()
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Runner:
    return with_drafted_plan(tmp_path, monkeypatch)


def two_edits(run: Runner, tmp_path: Path) -> tuple[Path, Path]:
    """Export P1 twice and make a different edit in each copy."""
    text = run.ok("plan", "export", "P1", "--format", "toml")
    a: dict[str, Any] = tomllib.loads(text)
    b: dict[str, Any] = tomllib.loads(text)
    assert a["row_version"] == 1
    a["problems"][0]["goals"][0]["text"] = "Edit from A"
    b["problems"][0]["goals"][0]["objectives"][0]["measure"] = "Edit from B: PHQ-9 under 10"
    fa, fb = tmp_path / "a.toml", tmp_path / "b.toml"
    fa.write_text(tomli_w.dumps(a))
    fb.write_text(tomli_w.dumps(b))
    return fa, fb


def goal_text(run: Runner) -> str:
    text = run.ok("plan", "export", "P1", "--format", "toml")
    return str(tomllib.loads(text)["problems"][0]["goals"][0]["text"])


def test_second_import_refused_in_process(run: Runner, tmp_path: Path) -> None:
    fa, fb = two_edits(run, tmp_path)
    assert run.ok("plan", "import", "P1", str(fa)) == "P1 version 1 saved"
    before = run.rows("SELECT * FROM plan_items"), run.rows("SELECT * FROM plan_versions")
    err = run.fails("plan", "import", "P1", str(fb))
    assert "P1" in err and "changed since this file was exported" in err, err
    assert "export it again" in err
    assert (run.rows("SELECT * FROM plan_items"), run.rows("SELECT * FROM plan_versions")) \
        == before
    assert goal_text(run) == "Edit from A"
    assert run.rows("SELECT row_version FROM plan_versions")[0]["row_version"] == 2
    # The loser re-exports, redoes the edit, and it goes through on top of A's.
    doc = tomllib.loads(run.ok("plan", "export", "P1", "--format", "toml"))
    assert doc["row_version"] == 2
    doc["problems"][0]["goals"][0]["objectives"][0]["measure"] = "Edit from B: PHQ-9 under 10"
    fb.write_text(tomli_w.dumps(doc))
    run.ok("plan", "import", "P1", str(fb))
    final = tomllib.loads(run.ok("plan", "export", "P1", "--format", "toml"))
    assert final["problems"][0]["goals"][0]["text"] == "Edit from A"
    assert final["problems"][0]["goals"][0]["objectives"][0]["measure"].startswith("Edit from B")
    assert final["row_version"] == 3


def test_file_without_row_version_refused(run: Runner, tmp_path: Path) -> None:
    doc = tomllib.loads(run.ok("plan", "export", "P1", "--format", "toml"))
    del doc["row_version"]
    doc["problems"][0]["goals"][0]["text"] = "x"
    f = tmp_path / "p.toml"
    f.write_text(tomli_w.dumps(doc))
    assert "row_version" in run.fails("plan", "import", "P1", str(f))


def test_unchanged_import_does_not_bump(run: Runner, tmp_path: Path) -> None:
    fa, fb = two_edits(run, tmp_path)
    f = tmp_path / "same.toml"
    f.write_text(run.ok("plan", "export", "P1", "--format", "toml"))
    assert run.ok("plan", "import", "P1", str(f)).endswith("unchanged")
    assert run.ok("plan", "import", "P1", str(fa)).endswith("saved")


def test_store_api_two_connections(run: Runner, tmp_path: Path) -> None:
    """Two connections (as two threads or processes would have) racing through the API."""
    fa, fb = two_edits(run, tmp_path)
    store = Store(run.db)
    with store.connect() as c1, store.connect() as c2:
        assert plans.import_plan(c1, 1, str(fa)) == (1, True)
        with pytest.raises(InputError, match="changed since this file was exported"):
            plans.import_plan(c2, 1, str(fb))
        assert not c2.raw.in_transaction
    assert goal_text(run) == "Edit from A"


def test_two_processes_no_update_lost(run: Runner, tmp_path: Path) -> None:
    """Two real `planwise plan import` processes started together: exactly one wins."""
    fa, fb = two_edits(run, tmp_path)
    env = {**os.environ, "PLANWISE_DB": str(run.db)}
    procs = [subprocess.Popen([str(PLANWISE), "plan", "import", "P1", str(f)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for f in (fa, fb)]
    results = [(p.wait(timeout=60), p.stdout.read(), p.stderr.read())  # type: ignore[union-attr]
               for p in procs]
    codes = sorted(r[0] for r in results)
    assert codes == [0, 2], results
    loser = next(r for r in results if r[0] == 2)
    assert "P1 version 1 changed since this file was exported" in loser[2], loser
    assert "Traceback" not in loser[2]
    winner = 0 if results[0][0] == 0 else 1
    final = tomllib.loads(run.ok("plan", "export", "P1", "--format", "toml"))
    goal = final["problems"][0]["goals"][0]
    if winner == 0:
        assert goal["text"] == "Edit from A"
        assert not goal["objectives"][0]["measure"].startswith("Edit from B")
    else:
        assert goal["text"] != "Edit from A"
        assert goal["objectives"][0]["measure"].startswith("Edit from B")
    assert final["row_version"] == 2
    edits = run.rows("SELECT count(*) n FROM audit WHERE action = 'plan.edit'")[0]["n"]
    assert edits == 1
