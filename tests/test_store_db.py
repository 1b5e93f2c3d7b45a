"""The store's file handling, permissions, migrations and connections."""

from __future__ import annotations

import sqlite3
import stat
import threading
from pathlib import Path
from typing import Any

import pytest

from planwise.errors import InputError
from planwise.store import APP_ID, SCHEMA_VERSION, Store, default_db_path
from planwise.store.db import MIGRATIONS, migrate


def mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def test_new_database_is_private_and_migrated(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "planwise.db"
    store = Store(path)
    with store.connect() as c:
        with c.transaction():
            c.audit("test", "none", "0")
        assert c.one("PRAGMA journal_mode")["journal_mode"] == "wal"
        assert c.one("PRAGMA foreign_keys")["foreign_keys"] == 1
        assert c.one("PRAGMA application_id")["application_id"] == APP_ID
        assert c.one("SELECT max(version) v FROM schema_version")["v"] == SCHEMA_VERSION
        assert mode(tmp_path / "a") == 0o700
        assert mode(tmp_path / "a" / "b") == 0o700
        for suffix in ("", "-wal", "-shm"):
            f = Path(str(path) + suffix)
            assert f.exists() and mode(f) == 0o600, suffix


def test_reopen_is_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "p.db"
    Store(path)
    Store(path)
    with Store(path).connect() as c:
        assert [r["version"] for r in c.query("SELECT version FROM schema_version")] == \
            [n for n, _ in MIGRATIONS]


def test_migrates_from_version_1(tmp_path: Path) -> None:
    path = tmp_path / "v1.db"
    raw = sqlite3.connect(path, isolation_level=None)
    assert migrate(raw, upto=1) == 1
    raw.execute("INSERT INTO clients (name, created_at, updated_at) VALUES ('X', 't', 't')")
    assert "plans" not in {r[0] for r in raw.execute("SELECT name FROM sqlite_master")}
    raw.close()
    with Store(path).connect() as c:
        assert c.one("SELECT max(version) v FROM schema_version")["v"] == SCHEMA_VERSION
        assert c.one("SELECT count(*) n FROM clients")["n"] == 1
        assert "plans" in c.db.table_names()


def test_newer_schema_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    Store(path)
    raw = sqlite3.connect(path, isolation_level=None)
    raw.execute("INSERT INTO schema_version VALUES (999, 't')")
    raw.close()
    with pytest.raises(InputError, match="newer"):
        Store(path)


def test_not_sqlite_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_bytes(b"hello, this is not a database" * 10)
    before = path.read_bytes()
    with pytest.raises(InputError, match="not a planwise database"):
        Store(path)
    assert path.read_bytes() == before
    assert not Path(str(path) + "-wal").exists()


def test_foreign_sqlite_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    raw = sqlite3.connect(path)
    raw.execute("CREATE TABLE things (x)")
    raw.commit()
    raw.close()
    before = path.read_bytes()
    with pytest.raises(InputError, match="not a planwise database"):
        Store(path)
    assert path.read_bytes() == before
    raw = sqlite3.connect(path)
    raw.execute("PRAGMA application_id = 1234")
    raw.commit()
    raw.close()
    with pytest.raises(InputError, match="not a planwise database"):
        Store(path)


def test_empty_file_becomes_database(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    path.touch()
    Store(path)
    assert path.read_bytes().startswith(b"SQLite format 3")


def test_default_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PLANWISE_DB", str(tmp_path / "env.db"))
    assert default_db_path() == tmp_path / "env.db"
    monkeypatch.delenv("PLANWISE_DB")
    assert default_db_path().name == "planwise.db"
    assert "planwise" in str(default_db_path().parent)


def test_connection_per_thread(tmp_path: Path) -> None:
    store = Store(tmp_path / "t.db")
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            with store.connect() as c:
                for _ in range(10):
                    with c.transaction():
                        c.audit("thread", "test", str(i))
        except BaseException as exc:  # pragma: no cover
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with store.connect() as c:
        assert c.one("SELECT count(*) n FROM audit")["n"] == 40


def test_transaction_rolls_back(tmp_path: Path) -> None:
    store = Store(tmp_path / "r.db")
    with store.connect() as c:
        with pytest.raises(RuntimeError):
            with c.transaction():
                c.audit("x", "y", "1")
                raise RuntimeError
        assert c.one("SELECT count(*) n FROM audit")["n"] == 0


def test_audit_is_append_only(tmp_path: Path) -> None:
    store = Store(tmp_path / "a.db")
    with store.connect() as c:
        with c.transaction():
            c.audit("x", "y", "1")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            c.raw.execute("UPDATE audit SET who = 'mallory'")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            c.raw.execute("DELETE FROM audit")
        assert c.one("SELECT who FROM audit")["who"] != "mallory"


def test_private_modes_survive_a_file_removed_by_another_process(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite deletes -wal and -shm when another process closes the last connection: a file
    that vanishes between looking and chmod is not an error (it failed a CI run once)."""
    import os

    from planwise.store import db as dbmod

    main, shm = tmp_path / "p.db", tmp_path / "p.db-shm"
    for f in (main, shm):
        f.write_bytes(b"")
        f.chmod(0o644)
    real_chmod = os.chmod

    def vanishing(path: Any, mode: int) -> None:
        if str(path).endswith("-shm"):
            shm.unlink()
            raise FileNotFoundError(2, "No such file or directory", str(path))
        real_chmod(path, mode)

    monkeypatch.setattr(dbmod.os, "chmod", vanishing)
    dbmod._chmod_files(main)
    assert stat.S_IMODE(main.stat().st_mode) == 0o600 and not shm.exists()
