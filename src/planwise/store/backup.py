"""Online backup of the live database, verified before it is kept.

- SQLite's online backup API (`sqlite3.Connection.backup`) copies a consistent
  snapshot while other connections keep writing (WAL: readers do not block
  writers), so a backup never needs planwise to be closed.
- The copy is written to a private temporary file (0600) next to DEST, checked
  (`PRAGMA integrity_check` is `ok`, planwise's application_id, a schema
  version), and only then renamed onto DEST. A copy that fails the check is
  removed and an existing DEST is left as it was.
- DEST's folder must exist; an existing DEST is replaced only with `force`.
- The copy's records are then checked like `planwise verify` (the hash chain, the
  triggers, the schema). The copy is kept either way (it is faithful to the live
  database); the problems are returned for the command to report (exit 1).
- An encrypted database's copy is encrypted with the same key (the backup API copies
  its pages as they are); `backup_key` encrypts the copy under another passphrase
  (or a plain database's copy), through `sqlcipher_export` (store/convert.py).
  `check_backup` opens a backup read-only and checks it the same way.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from planwise.errors import InputError, PlanwiseError
from planwise.store import crypto, keys
from planwise.store.crypto import Key
from planwise.store.db import APP_ID, Store, check_file
from planwise.store.dbfiles import move_into_place, remove_db_files
from planwise.store.verify import Report
from planwise.store.verify import verify as verify_records


class BackupError(PlanwiseError):
    """The copy failed its verification (not the user's input): exit 1."""

    exit_code = 1


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size: int
    schema_version: int
    clients: int
    plans: int
    versions: int
    problems: tuple[str, ...] = ()        # `planwise verify` on the copy: broken records
    head: tuple[int, str] | None = None   # the copy's chain head
    kind: str = crypto.KIND_LABEL["plain"]


def resolve_dest(dest: str | Path, force: bool = False) -> Path:
    """The file to write: DEST, or a dated name inside DEST when it is a folder."""
    path = Path(dest)
    if path.is_dir():
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        path = path / f"planwise-{stamp}.db"
    if not path.parent.is_dir():
        raise InputError("the backup's folder does not exist; create it first",
                         file=str(path.parent))
    if path.exists() and not force:
        raise InputError("already exists; give --force to replace it", file=str(path))
    return path


def _copy(source: sqlite3.Connection, target: Path, key: Key | None = None) -> None:
    """The online backup proper: every page of `source` into the (empty) file `target`
    (an encrypted source's pages, encrypted, under the same `key`)."""
    dst = (crypto.connect(target, key, check=False) if key is not None
           else sqlite3.connect(str(target)))
    try:
        source.backup(dst)
        # The copy is one self-contained file: no -wal next to it.
        dst.execute("PRAGMA journal_mode = DELETE")
    finally:
        dst.close()


def _open_ro(path: Path, key: Key | None) -> sqlite3.Connection:
    if key is not None:
        return crypto.connect(path, key, readonly=True)
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)


def verify(path: Path, key: Key | None = None) -> tuple[list[str], dict[str, int]]:
    """(problems, counts) of a copy, read-only. No problems means a good planwise store."""
    problems: list[str] = []
    counts: dict[str, int] = {}
    try:
        con = _open_ro(path, key)
    except crypto.WrongKey:
        return ["the key does not open the copy"], counts
    except sqlite3.Error as exc:
        return [f"cannot open the copy ({exc.__class__.__name__})"], counts
    try:
        rows = [r[0] for r in con.execute("PRAGMA integrity_check")]
        if rows != ["ok"]:
            problems.append("integrity_check: " + "; ".join(str(r) for r in rows[:3]))
        app_id = con.execute("PRAGMA application_id").fetchone()[0]
        if app_id != APP_ID:
            problems.append(f"application_id is {app_id:#x}, not planwise's {APP_ID:#x}")
        if not problems:
            import sqlite_utils

            copy = sqlite_utils.Database(con)
            counts["schema_version"] = con.execute(
                "SELECT coalesce(max(version), 0) FROM schema_version").fetchone()[0]
            for name, table in (("clients", "clients"), ("plans", "plans"),
                                ("versions", "plan_versions")):
                counts[name] = copy[table].count
    except sqlite3.Error as exc:
        problems.append(f"{exc.__class__.__name__}: {exc}")
    finally:
        con.close()
    return problems, counts


def backup(db: str | Path | None, dest: str | Path, force: bool = False,
           backup_key: Key | None = None) -> BackupResult:
    """Copy the live database `db` to `dest` with the online backup API and verify it
    (`backup_key`: encrypted under that key instead, module docstring)."""
    target = resolve_dest(dest, force)
    store_path = Path(db) if db is not None else None
    if store_path is None:
        from planwise.store.db import default_db_path

        store_path = default_db_path()
    if not store_path.is_file():
        raise InputError("no planwise database here (nothing to back up)", file=str(store_path))
    check_file(store_path)
    if target.exists() and target.resolve() == store_path.resolve():
        raise InputError("is the live database itself; choose another file", file=str(target))
    store = Store(store_path)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.partial")
    remove_db_files(tmp)
    fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    os.close(fd)
    live_key = store.key
    copy_key = backup_key or live_key
    try:
        if backup_key is not None:
            from planwise.store.convert import export

            export(store_path, live_key, tmp, backup_key)
        else:
            with store.connect() as conn:
                if live_key is None:
                    _copy(conn.raw, tmp)
                else:
                    _copy(conn.raw, tmp, live_key)
        os.chmod(tmp, 0o600)
        problems, counts = verify(tmp, copy_key)
        if problems:
            raise BackupError(f"the backup failed its check ({problems[0]}); the copy was "
                              f"removed and {target} was not written")
        report = _verify_records(tmp, copy_key)
        move_into_place(tmp, target, force)  # never replaces a file that appeared meanwhile
    except BaseException:
        remove_db_files(tmp)
        raise
    os.chmod(target, 0o600)
    with store.connect() as conn, conn.transaction():
        conn.audit("store.backup", "store", "backup",
                   detail={"clients": counts["clients"], "plans": counts["plans"],
                           "versions": counts["versions"],
                           "verify_problems": len(report.problems),
                           "chain_head": report.head[0] if report.head else None,
                           "encrypted": copy_key is not None})
    return BackupResult(path=target, size=target.stat().st_size,
                        schema_version=counts["schema_version"], clients=counts["clients"],
                        plans=counts["plans"], versions=counts["versions"],
                        problems=tuple(str(p) for p in report.problems), head=report.head,
                        kind=crypto.KIND_LABEL["plain" if copy_key is None else "encrypted"])


def _verify_records(path: Path, key: Key | None = None) -> Report:
    """`planwise verify` on the copy, read-only."""
    con = _open_ro(path, key)
    try:
        return verify_records(con)
    finally:
        con.close()


def check_backup(path: Path, key: Key | None = None) -> BackupResult:
    """`planwise backup --verify FILE`: a backup opened read-only and checked like a new
    one (integrity, application id, counts, `planwise verify`). An encrypted one needs
    `key`, else its passphrase from keys.py; the file is never written."""
    if not path.is_file():
        raise InputError("no backup here", file=str(path))
    encrypted = crypto.kind(path) == "encrypted"
    if encrypted and key is None:
        key = keys.key_for(path)
    elif not encrypted:
        key = None
    problems, counts = verify(path, key)
    if problems:
        raise BackupError(f"{path}: the backup failed its check ({problems[0]})")
    report = _verify_records(path, key)
    return BackupResult(path=path, size=path.stat().st_size,
                        schema_version=counts["schema_version"], clients=counts["clients"],
                        plans=counts["plans"], versions=counts["versions"],
                        problems=tuple(str(p) for p in report.problems), head=report.head,
                        kind=crypto.KIND_LABEL["encrypted" if encrypted else "plain"])
