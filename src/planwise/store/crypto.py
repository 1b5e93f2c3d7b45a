"""Encryption at rest: SQLCipher connections behind the store's connection factory.

- A key is 32 raw bytes derived from the passphrase exactly as SQLCipher 4 does
  (PBKDF2-HMAC-SHA512, 256,000 iterations, the file's 16-byte salt), once per start;
  every connection is then keyed with the raw key (`PRAGMA key = "x'<key><salt>'"`),
  so a thread's connection does not pay the derivation again (about 0.25 s), the
  passphrase never reaches SQL (hex only: nothing to quote, nothing to inject), and
  the standard `sqlcipher` shell still opens the file with the passphrase itself.
- `sqlcipher3` is imported here only, and only for an encrypted database: a plain
  database uses the standard library's sqlite3.
- sqlcipher3's exceptions are its own classes. The store catches sqlite3's
  (busy, damaged, integrity), so `CipherConnection` and its cursors raise the
  sqlite3 class of the same name, with `sqlite_errorcode`/`sqlite_errorname` kept.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NoReturn

KDF_ITER = 256_000      # SQLCipher 4's default (cipher_compatibility 4)
KEY_BYTES = 32
SALT_BYTES = 16
SQLITE_HEADER = b"SQLite format 3\x00"
KIND_LABEL = {"encrypted": "encrypted (SQLCipher)", "plain": "plain SQLite"}

Kind = Literal["absent", "empty", "plain", "encrypted", "other"]


@dataclass(frozen=True)
class Key:
    raw: bytes
    salt: bytes

    def __repr__(self) -> str:  # never printed by accident (tracebacks, logs)
        return "Key(...)"

    def pragma_value(self) -> str:
        return f"\"x'{self.raw.hex()}{self.salt.hex()}'\""


class WrongKey(Exception):
    """The key does not open the file (a wrong passphrase, or not a database)."""


def derive(passphrase: str, salt: bytes) -> Key:
    raw = hashlib.pbkdf2_hmac("sha512", passphrase.encode("utf-8"), salt, KDF_ITER, KEY_BYTES)
    return Key(raw, salt)


def new_key(passphrase: str) -> Key:
    """A key for a new file: a fresh random salt."""
    return derive(passphrase, os.urandom(SALT_BYTES))


def file_salt(path: Path) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(SALT_BYTES)


def kind(path: Path) -> Kind:
    """What the file is by its first bytes. "encrypted" means "not a SQLite header, and
    sized like SQLCipher's pages": only a key can tell it from random bytes."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return "absent"
    if size == 0:
        return "empty"
    with open(path, "rb") as fh:
        header = fh.read(len(SQLITE_HEADER))
    if header == SQLITE_HEADER:
        return "plain"
    return "encrypted" if size % 512 == 0 else "other"


def _dbapi() -> Any:
    from sqlcipher3 import dbapi2

    if not getattr(dbapi2, "_planwise_quiet", False):
        # A wrong key makes SQLCipher log "hmac check failed" to stderr; the message
        # planwise gives is enough (and the log would land in the middle of the screen).
        quiet = dbapi2.connect(":memory:")
        try:
            quiet.execute("PRAGMA cipher_log_level = NONE")
        finally:
            quiet.close()
        dbapi2._planwise_quiet = True
    return dbapi2


def load() -> None:
    """Import sqlcipher3 now (a front end that must choose the thread that imports)."""
    _dbapi()


def connect(path: Path | str, key: Key | None, *, timeout: float = 5.0,
            readonly: bool = False, check: bool = True) -> sqlite3.Connection:
    """A SQLCipher connection keyed with `key` (None: a plain file through SQLCipher, for
    the conversions). `check`: read the schema now, so a wrong key fails here (WrongKey)
    rather than on the first query."""
    dbapi2 = _dbapi()
    target = f"file:{path}?mode=ro" if readonly else str(path)
    try:
        conn = dbapi2.connect(target, isolation_level=None, timeout=timeout, uri=readonly)
    except dbapi2.Error as exc:
        _raise_as_sqlite3(exc)
    if key is not None:
        conn.execute(f"PRAGMA key = {key.pragma_value()}")  # must be the first statement
    if check:
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except dbapi2.DatabaseError as exc:
            conn.close()
            if getattr(exc, "sqlite_errorname", "") == "SQLITE_NOTADB":
                raise WrongKey() from None
            _raise_as_sqlite3(exc)
    wrapped: Any = CipherConnection(conn)
    return wrapped  # type: ignore[no-any-return]


def opens(path: Path, key: Key) -> bool:
    try:
        connect(path, key, readonly=True).close()
    except WrongKey:
        return False
    return True


# -- exceptions as sqlite3's ---------------------------------------------------------------

def _raise_as_sqlite3(exc: BaseException) -> NoReturn:
    cls = getattr(sqlite3, type(exc).__name__, None)
    if not (isinstance(cls, type) and issubclass(cls, sqlite3.Error)):
        cls = sqlite3.DatabaseError
    new: Any = cls(*exc.args)
    new.sqlite_errorcode = getattr(exc, "sqlite_errorcode", None)
    new.sqlite_errorname = getattr(exc, "sqlite_errorname", None)
    raise new from None


def _mapped(fn: Callable[..., Any]) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except sqlite3.Error:
            raise
        except Exception as exc:
            if type(exc).__module__.startswith("sqlcipher3"):
                _raise_as_sqlite3(exc)
            raise
    return call


class CipherCursor:
    def __init__(self, cur: Any) -> None:
        self._cur = cur

    def execute(self, *args: Any) -> CipherCursor:
        _mapped(self._cur.execute)(*args)
        return self

    def executemany(self, *args: Any) -> CipherCursor:
        _mapped(self._cur.executemany)(*args)
        return self

    def fetchone(self) -> Any:
        return _mapped(self._cur.fetchone)()

    def fetchall(self) -> list[Any]:
        return _mapped(self._cur.fetchall)()  # type: ignore[no-any-return]

    def fetchmany(self, *args: Any) -> list[Any]:
        return _mapped(self._cur.fetchmany)(*args)  # type: ignore[no-any-return]

    def __iter__(self) -> Iterator[Any]:
        return self

    def __next__(self) -> Any:
        return _mapped(self._cur.__next__)()

    def __getattr__(self, name: str) -> Any:  # description, lastrowid, rowcount, close
        return getattr(self._cur, name)


class CipherConnection:
    """A sqlcipher3 connection that raises sqlite3's exceptions (module docstring)."""

    is_encrypted = True

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    @property
    def inner(self) -> Any:
        return self._conn

    def execute(self, *args: Any) -> CipherCursor:
        return CipherCursor(_mapped(self._conn.execute)(*args))

    def executemany(self, *args: Any) -> CipherCursor:
        return CipherCursor(_mapped(self._conn.executemany)(*args))

    def executescript(self, script: str) -> CipherCursor:
        return CipherCursor(_mapped(self._conn.executescript)(script))

    def cursor(self, *args: Any) -> CipherCursor:
        return CipherCursor(self._conn.cursor(*args))

    def commit(self) -> None:
        _mapped(self._conn.commit)()

    def rollback(self) -> None:
        _mapped(self._conn.rollback)()

    def backup(self, target: Any, **kwargs: Any) -> None:
        _mapped(self._conn.backup)(getattr(target, "inner", target), **kwargs)

    def __enter__(self) -> CipherConnection:
        self._conn.__enter__()
        return self

    def __exit__(self, *exc: Any) -> Any:
        return _mapped(self._conn.__exit__)(*exc)

    def __getattr__(self, name: str) -> Any:  # close, in_transaction, create_function, ...
        return getattr(self._conn, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "_conn":
            object.__setattr__(self, name, value)
        else:  # row_factory, isolation_level, text_factory
            setattr(self._conn, name, value)


def is_encrypted(conn: Any) -> bool:
    return bool(getattr(conn, "is_encrypted", False))
