"""Encrypt, rekey and decrypt a database file: a new file, checked, then swapped in.

Every conversion is SQLCipher's `sqlcipher_export` from the database into a new
file (keyed with the new key, or plain), inside one write transaction on the
source (no writer can change it meanwhile). The new file is then checked against
the source, both read-only: `PRAGMA integrity_check`, planwise's application id,
the row count of every table, the problems `planwise verify` finds (the same
ones, usually none) and the chain head. Only then does it replace anything:

- in place (encrypt, rekey): the old file is linked aside, the new one renamed
  over it (atomic), and the old contents overwritten with zeros, synced and
  unlinked. On SSDs and copy-on-write or journaling file systems an overwrite does
  not reach every old block: docs/store.md says what that leaves.
- to another file (decrypt --to, a backup under another passphrase): the new file
  is private (0600) and never replaces an existing one.

The database must not be open elsewhere: the source is first switched out of WAL
(which needs every other connection closed), so the swap loses nothing.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from planwise.errors import InputError, PlanwiseError
from planwise.store import crypto, integrity
from planwise.store.crypto import Key
from planwise.store.db import APP_ID, busy_timeout
from planwise.store.dbfiles import move_into_place, remove_db_files
from planwise.store.locks import is_busy


class ConvertError(PlanwiseError):
    """The new file did not match the old one: nothing was replaced (exit 1)."""

    exit_code = 1


@dataclass(frozen=True)
class Checked:
    tables: dict[str, int]             # table -> rows, the same in both files
    head: tuple[int, str] | None       # the chain head, the same in both files


def _open(path: Path, key: Key | None, *, readonly: bool = False) -> sqlite3.Connection:
    if key is None and readonly:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
    else:
        conn = crypto.connect(path, key, timeout=busy_timeout(), readonly=readonly)
    integrity.register(conn)
    return conn


def _leave_wal(path: Path, key: Key | None) -> None:
    """One file, no -wal: refused while planwise (or anything) has it open."""
    conn = _open(path, key)
    try:
        conn.execute("PRAGMA busy_timeout = 0")
        mode = conn.execute("PRAGMA journal_mode = DELETE").fetchone()[0]
    except sqlite3.OperationalError as exc:
        if is_busy(exc):
            raise InputError("the database is open elsewhere (the interface, a command, "
                             "another machine): close it and try again; nothing was changed",
                             file=str(path)) from None
        raise
    finally:
        conn.close()
    if str(mode).lower() != "delete":
        raise InputError("the database is open elsewhere (the interface, a command, "
                         "another machine): close it and try again; nothing was changed",
                         file=str(path))


def export(src: Path, src_key: Key | None, dst: Path, dst_key: Key | None) -> None:
    """Write the whole database `src` into the new (absent or empty) file `dst`."""
    conn = _open(src, src_key)
    try:
        target_key = dst_key.pragma_value() if dst_key is not None else "''"
        conn.execute(f"ATTACH DATABASE ? AS target KEY {target_key}", (str(dst),))
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute("SELECT sqlcipher_export('target')")
                conn.execute(f"PRAGMA target.application_id = {APP_ID}")
                version = conn.execute("PRAGMA main.user_version").fetchone()[0]
                conn.execute(f"PRAGMA target.user_version = {int(version)}")
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        finally:
            conn.execute("DETACH DATABASE target")
    finally:
        conn.close()
    _sync(dst)


def _facts(path: Path, key: Key | None) -> tuple[list[str], dict[str, int], list[str],
                                                  tuple[int, str] | None]:
    from planwise.store.verify import verify

    conn = _open(path, key, readonly=True)
    try:
        check = [str(r[0]) for r in conn.execute("PRAGMA integrity_check")]
        if conn.execute("PRAGMA application_id").fetchone()[0] != APP_ID:
            check.append("not planwise's application_id")
        names = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        tables = {n: conn.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names}
        report = verify(conn)
        return check, tables, sorted(str(p) for p in report.problems), report.head
    finally:
        conn.close()


def check_copy(src: Path, src_key: Key | None, dst: Path, dst_key: Key | None) -> Checked:
    """The new file holds what the old one does (module docstring), else ConvertError."""
    _, want_tables, want_problems, want_head = _facts(src, src_key)
    check, tables, problems, head = _facts(dst, dst_key)
    if check != ["ok"]:
        raise ConvertError(f"the new file failed its check ({check[0]}); nothing was replaced")
    if tables != want_tables:
        diff = sorted(t for t in want_tables.keys() | tables.keys()
                      if want_tables.get(t) != tables.get(t))
        raise ConvertError(f"the new file's rows differ ({', '.join(diff)}); nothing was "
                           "replaced")
    if problems != want_problems or head != want_head:
        raise ConvertError("`planwise verify` differs between the old file and the new one; "
                           "nothing was replaced")
    return Checked(tables, head)


def _sync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    with contextlib.suppress(OSError):  # not every system syncs a folder
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


def wipe(path: Path) -> None:
    """Overwrite a file with zeros, sync it and remove it (best effort; module docstring)."""
    size = path.stat().st_size
    with open(path, "r+b", buffering=0) as fh:
        chunk = b"\0" * (1 << 20)
        left = size
        while left > 0:
            left -= fh.write(chunk[:min(left, len(chunk))])
        os.fsync(fh.fileno())
    os.unlink(path)


def _temp(near: Path, what: str) -> Path:
    tmp = near.with_name(f".{near.name}.{what}-{os.getpid()}")
    remove_db_files(tmp)
    fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    os.close(fd)
    return tmp


def in_place(path: Path, old: Key | None, new: Key | None) -> Checked:
    """Encrypt (old None), rekey (both) or decrypt (new None) the file at `path`."""
    _leave_wal(path, old)
    tmp = _temp(path, "new")
    try:
        export(path, old, tmp, new)
        checked = check_copy(path, old, tmp, new)
        aside = path.with_name(f".{path.name}.old-{os.getpid()}")
        remove_db_files(aside)
        os.link(path, aside)
        os.replace(tmp, path)
        _sync(path)
    except BaseException:
        remove_db_files(tmp)
        raise
    try:
        wipe(aside)
    except OSError as exc:
        raise ConvertError(f"converted and checked, but the old file could not be overwritten "
                           f"({exc.strerror}): remove {aside} yourself") from None
    return checked


def to_file(path: Path, key: Key | None, dest: Path, dest_key: Key | None,
            force: bool = False) -> Checked:
    """A converted copy of `path` at `dest` (0600), checked; the database is unchanged."""
    if not dest.parent.is_dir():
        raise InputError("the folder does not exist; create it first", file=str(dest.parent))
    if dest.exists() and dest.resolve() == path.resolve():
        raise InputError("is the database itself; choose another file", file=str(dest))
    if dest.exists() and not force:
        raise InputError("already exists; give --force to replace it", file=str(dest))
    tmp = _temp(dest, "partial")
    try:
        export(path, key, tmp, dest_key)
        checked = check_copy(path, key, tmp, dest_key)
        move_into_place(tmp, dest, force)
    except BaseException:
        remove_db_files(tmp)
        raise
    os.chmod(dest, 0o600)
    return checked
