"""benchmarks/caseload.py's cached files: one kept under an older schema is migrated through
the store's own migrations (never used stale), and its derived tables are those the
triggers write on a file built under the current schema."""

from __future__ import annotations

import sqlite3
import sys
import tempfile
from pathlib import Path

import pytest

from planwise.store import Store
from planwise.store.db import SCHEMA_VERSION
from planwise.store.verify import verify
from tests.test_dashboard_facts import down_to_11, in_step, kept_facts, kept_last

ROOT = Path(__file__).parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
import caseload  # noqa: E402

N = 12  # clients: enough for every shape's rows, built in a second or two


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("built") / "caseload.db"
    caseload.build(path, N)
    return path


def name(schema: int) -> str:
    return f"planwise-bench-caseload-{N}-s{schema}-b{caseload.BUILD}.db"


def schema_of(path: Path) -> int:
    con = sqlite3.connect(path)
    try:
        return int(con.execute("SELECT max(version) FROM schema_version").fetchone()[0])
    finally:
        con.close()


@pytest.fixture()
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


def test_a_file_of_the_older_schema_is_migrated_not_used_stale(built: Path, folder: Path,
                                                               capsys: pytest.CaptureFixture
                                                               [str]) -> None:
    import shutil

    old = folder / name(SCHEMA_VERSION - 1)
    shutil.copy(built, old)
    down_to_11(old)
    assert schema_of(old) == 11 and SCHEMA_VERSION == 12
    path = caseload.cached(N)
    assert path == folder / name(SCHEMA_VERSION) and not old.exists()
    assert "migrating" in capsys.readouterr().out  # not built again
    assert schema_of(path) == SCHEMA_VERSION
    in_step(path)
    built_con, con = sqlite3.connect(built), sqlite3.connect(path)
    try:
        # Filled by the migration exactly as the triggers filled the file built at 12.
        assert kept_facts(con) == kept_facts(built_con) and kept_facts(con)
        assert kept_last(con) == kept_last(built_con) and kept_last(con)
    finally:
        built_con.close()
        con.close()
    with Store(path).connect() as c:
        report = verify(c.raw)
        assert report.ok, report.problems


def test_a_file_named_current_but_left_at_the_older_schema_is_migrated(
        built: Path, folder: Path) -> None:
    import shutil

    path = folder / name(SCHEMA_VERSION)
    shutil.copy(built, path)
    down_to_11(path)  # as a migration cut short would leave it
    assert caseload.cached(N) == path
    assert schema_of(path) == SCHEMA_VERSION
    in_step(path)
