"""Connection, file checks, permissions and numbered migrations.

- The file must be a SQLite database carrying planwise's `PRAGMA application_id`
  (or be empty/new); anything else is an InputError and nothing is written.
- WAL, foreign keys on, busy timeout (PLANWISE_BUSY_TIMEOUT seconds, default 10);
  the folder is created 0700, the file and its -wal/-shm 0600.
- Migrations are numbered SQL scripts (planwise.store.schema), applied on open in one
  `BEGIN IMMEDIATE` transaction and recorded in `schema_version`. A database
  that is up to date is only read on open: read-only commands never take the
  write lock, so they run while another process writes.
- A lock still held when the timeout ends is reported as busy (BusyError, exit
  75, naming the process where the system tells), never as a damaged file.
- One connection per thread: `Store.connect()` returns a new `Conn`; never share it.
- Writes go through `Conn.transaction()` (BEGIN IMMEDIATE ... COMMIT) with plain
  SQL, so they behave the same on every sqlite-utils version.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import getpass
import json
import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from planwise.errors import InputError
from planwise.paths import make_private_dir
from planwise.store import crypto, integrity, keys
from planwise.store.locks import busy_error, is_busy
from planwise.store.schema import _AFTER, MIGRATIONS, SCHEMA_VERSION

APP_ID = 0x504C4E57  # "PLNW"
SQLITE_HEADER = b"SQLite format 3\x00"



def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def default_db_path() -> Path:
    """PLANWISE_DB, else planwise.db in the user data folder."""
    override = os.environ.get("PLANWISE_DB")
    if override:
        return Path(override)
    from platformdirs import user_data_dir

    return Path(user_data_dir("planwise")) / "planwise.db"


def _not_planwise(path: Path, why: str) -> InputError:
    return InputError(f"not a planwise database ({why}); nothing was written", file=str(path))


def check_file(path: Path, *, ask: bool = True) -> bool:
    """Raise InputError unless path is absent, empty, or a planwise database. True if new.
    An encrypted file is opened with its key (store/keys.py; `ask`: may the front end
    ask for the passphrase), which is then remembered for the connections."""
    try:
        return _check_file(path, ask)
    except OSError as exc:  # a name too long, a folder without permission
        raise InputError(f"cannot open: {exc.strerror or exc.__class__.__name__}",
                         file=str(path)) from None


def _check_file(path: Path, ask: bool = True) -> bool:
    if not path.exists():
        return True
    if path.is_dir():
        raise InputError("is a folder, not a database file", file=str(path))
    try:
        with open(path, "rb") as fh:
            header = fh.read(100)
    except OSError as exc:
        raise InputError(f"cannot read: {exc.__class__.__name__}", file=str(path)) from None
    if not header:
        return True
    if not header.startswith(SQLITE_HEADER) and crypto.kind(path) == "encrypted":
        return _check_encrypted(path, ask)
    if not header.startswith(SQLITE_HEADER) or len(header) < 100:
        raise _not_planwise(path, "not a SQLite file")
    app_id = int.from_bytes(header[68:72], "big")
    if app_id == APP_ID:
        return False
    # application_id 0: only an empty SQLite database is acceptable.
    if app_id == 0:
        try:
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            try:
                n = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
            finally:
                conn.close()
        except sqlite3.DatabaseError as exc:
            if is_busy(exc):
                raise busy_error(path) from None
            raise _not_planwise(path, "unreadable SQLite file") from None
        if n == 0:
            return True
    raise _not_planwise(path, "another application's database")


def _check_encrypted(path: Path, ask: bool) -> bool:
    """An encrypted file (no SQLite header): its key, then the same checks as a plain one."""
    key = keys.key_for(path, ask=ask)
    try:
        conn = crypto.connect(path, key, timeout=busy_timeout())
        try:
            app_id = conn.execute("PRAGMA application_id").fetchone()[0]
            n = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        if is_busy(exc):
            raise busy_error(path) from None
        raise _not_planwise(path, "unreadable encrypted file") from None
    if app_id == APP_ID:
        return False
    if app_id == 0 and n == 0:
        return True
    raise _not_planwise(path, "another application's database")


def _chmod_files(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        f = Path(str(path) + suffix)
        try:
            if stat.S_IMODE(f.stat().st_mode) != 0o600:
                os.chmod(f, 0o600)
        except FileNotFoundError:
            # Absent, or removed in between: SQLite deletes -wal and -shm when another
            # process closes the last connection (seen in CI with two processes at once).
            pass


def migrate(conn: sqlite3.Connection, upto: int | None = None) -> int:
    """Apply the missing migrations (up to `upto`) in one transaction; return the version."""
    target = SCHEMA_VERSION if upto is None else upto
    integrity.register(conn)  # the chain's triggers call planwise's SQL functions
    current = _current_version(conn)
    if current is not None and current >= target:
        if current > SCHEMA_VERSION:
            raise InputError(f"the database has schema version {current}, newer than this "
                             f"planwise ({SCHEMA_VERSION}); upgrade planwise")
        return current  # up to date: only read, no write lock
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version ("
                     "version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
        current = conn.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()[0]
        if current > SCHEMA_VERSION:
            raise InputError(f"the database has schema version {current}, newer than this "
                             f"planwise ({SCHEMA_VERSION}); upgrade planwise")
        for number, script in MIGRATIONS:
            if current < number <= target:
                for statement in _split(script):
                    conn.execute(statement)
                if number in _AFTER:
                    _AFTER[number](conn)
                conn.execute("INSERT INTO schema_version (version, applied_at) VALUES (?, ?)",
                             (number, now()))
                current = number
        if conn.execute("PRAGMA application_id").fetchone()[0] != APP_ID:
            conn.execute(f"PRAGMA application_id = {APP_ID}")  # only once: opening never writes
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return int(current)


def _current_version(conn: sqlite3.Connection) -> int | None:
    """The schema version when the file is a stamped planwise database, else None (a new
    file, or one a migration must stamp). Reads only."""
    if conn.execute("PRAGMA application_id").fetchone()[0] != APP_ID:
        return None
    try:
        row = conn.execute("SELECT max(version) FROM schema_version").fetchone()
    except sqlite3.OperationalError as exc:
        if is_busy(exc):
            raise
        return None  # no such table
    return None if row[0] is None else int(row[0])


def _split(script: str) -> list[str]:
    """Split a migration into statements (triggers keep their BEGIN ... END)."""
    out: list[str] = []
    buf = ""
    for line in script.splitlines(keepends=True):
        if line.strip().startswith("--") and not buf.strip():
            continue
        buf += line
        if sqlite3.complete_statement(buf):
            if buf.strip():
                out.append(buf.strip())
            buf = ""
    if buf.strip():
        out.append(buf.strip())
    return out


def busy_timeout() -> float:
    """Seconds to wait for another writer (PLANWISE_BUSY_TIMEOUT, default 10)."""
    try:
        return max(0.0, min(float(os.environ.get("PLANWISE_BUSY_TIMEOUT", "10")), 3600.0))
    except ValueError:
        raise InputError("PLANWISE_BUSY_TIMEOUT must be a number of seconds") from None


def _raw_connect(path: Path, key: crypto.Key | None = None) -> sqlite3.Connection:
    """A connection to `path`: through SQLCipher with `key` (an encrypted file; the key
    found when the Store checked it), else the standard library's sqlite3."""
    wait = busy_timeout()
    if key is not None:
        conn = crypto.connect(path, key, timeout=wait, check=False)
    else:
        conn = sqlite3.connect(str(path), isolation_level=None, timeout=wait)
    integrity.register(conn)
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute(f"PRAGMA busy_timeout = {int(wait * 1000)}")
    return conn


class Store:
    """A checked, migrated planwise database file. Cheap to keep; connect per thread."""

    def __init__(self, path: str | Path | None = None, *, ask: bool = True) -> None:
        if str(path) == ":memory:":
            # sqlite3 would open a database in memory and the check below create an empty
            # file called ':memory:' (one was committed once): planwise keeps records in a
            # file, opened again by every thread, which an in-memory database is not.
            raise InputError("planwise keeps its records in a file: ':memory:' is not a "
                             "database path (use a file in a temporary folder)")
        self.path = Path(path) if path is not None else default_db_path()
        new = check_file(self.path, ask=ask)
        if new:
            keys.key_for_new(self.path)  # encrypted when a passphrase was chosen (keys.py)
        # The Store keeps its own key (None: plain): its connections never depend on the
        # process's cache, and a plain file is never opened with a key cached for its name.
        self.key = (keys.cached(self.path) if new or crypto.kind(self.path) == "encrypted"
                    else None)
        make_private_dir(self.path.parent)
        if not self.path.exists():
            fd = os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600)
            os.close(fd)
        _chmod_files(self.path)
        conn = _raw_connect(self.path, self.key)
        try:
            try:
                if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                    conn.execute("PRAGMA journal_mode = WAL")  # once: switching locks the file
                migrate(conn)
            except sqlite3.DatabaseError as exc:
                if is_busy(exc):
                    raise busy_error(self.path) from None
                raise _not_planwise(self.path, f"damaged or unreadable: {exc}") from None
        finally:
            conn.close()
        _chmod_files(self.path)

    @property
    def encrypted(self) -> bool:
        return self.key is not None

    @property
    def kind(self) -> str:
        """What `planwise verify` and the interface say: "encrypted (SQLCipher)" or
        "plain SQLite"."""
        return crypto.KIND_LABEL["encrypted" if self.encrypted else "plain"]

    def connect(self) -> Conn:
        """A new connection for the calling thread. Do not pass it to another thread."""
        conn = Conn(_raw_connect(self.path, self.key))
        _chmod_files(self.path)
        return conn


class Conn:
    """One thread's connection: rows as dicts for reads, explicit transactions for writes.

    `db` is the same connection wrapped by sqlite-utils, for introspection and
    ad-hoc work (backup counts, tests, benchmarks). It is created on first use:
    importing sqlite-utils costs about 0.2 s (its plugin machinery), which the
    terminal interface's cold start cannot afford, so the hot paths use plain
    sqlite3 with a dict row factory.
    """

    def __init__(self, raw: sqlite3.Connection) -> None:
        self.raw = raw
        self.who = _login()
        self._db: Any = None

    @property
    def db(self) -> Any:
        if self._db is None:
            import sqlite_utils

            self._db = sqlite_utils.Database(self.raw)
        return self._db

    def close(self) -> None:
        self.raw.close()

    def __enter__(self) -> Conn:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def transaction(self, *, wait: bool = True) -> Iterator[Conn]:
        """BEGIN IMMEDIATE ... COMMIT; rolled back on any error (nothing half-saved).
        Busy past the timeout: BusyError. `wait=False`: BusyError at once (for a cache that
        a read-only command may skip)."""
        if self.raw.in_transaction:
            raise RuntimeError("nested planwise transaction")
        try:
            if not wait:
                self.raw.execute("PRAGMA busy_timeout = 0")
            try:
                self.raw.execute("BEGIN IMMEDIATE")
            finally:
                if not wait:
                    self.raw.execute(f"PRAGMA busy_timeout = {int(busy_timeout() * 1000)}")
        except sqlite3.OperationalError as exc:
            if is_busy(exc):
                raise busy_error(self._file()) from None
            raise
        try:
            yield self
        except BaseException as exc:
            if self.raw.in_transaction:
                self.raw.execute("ROLLBACK")
            if _damaged(exc):
                raise damaged_error(self.raw) from None
            if is_busy(exc):
                raise busy_error(self._file()) from None
            raise
        else:
            try:
                self.raw.execute("COMMIT")
            except sqlite3.OperationalError as exc:
                if not is_busy(exc):
                    raise
                if self.raw.in_transaction:
                    self.raw.execute("ROLLBACK")
                raise busy_error(self._file()) from None

    def _file(self) -> str | None:
        try:
            return str(self.raw.execute("PRAGMA database_list").fetchone()[2]) or None
        except sqlite3.Error:
            return None

    @contextlib.contextmanager
    def within(self) -> Iterator[Conn]:
        """The caller's transaction when one is open, else a new one: a write that is also a
        step of a larger one (a session's measures, an accepted review's plan and audit row)
        commits or rolls back with it."""
        if self.raw.in_transaction:
            yield self
        else:
            with self.transaction():
                yield self

    def query(self, sql: str, params: Any = ()) -> list[dict[str, Any]]:
        try:
            cur = self.raw.execute(sql, params)
            names = [d[0] for d in cur.description or ()]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
        except sqlite3.DatabaseError as exc:
            if _damaged(exc):
                raise damaged_error(self.raw) from None
            if is_busy(exc):
                raise busy_error(self._file()) from None
            raise

    def one(self, sql: str, params: Any = ()) -> dict[str, Any] | None:
        rows = self.query(sql, params)
        return rows[0] if rows else None

    def insert(self, table: str, row: dict[str, Any]) -> int:
        cols = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        cur = self.raw.execute(f"INSERT INTO {table} ({cols}) VALUES ({marks})", list(row.values()))
        assert cur.lastrowid is not None
        return int(cur.lastrowid)

    def audit(self, action: str, record_type: str, record_id: str, *,
              client_id: int | None = None, plan_id: int | None = None,
              detail: dict[str, Any] | None = None) -> None:
        """Append one audit row (inside the caller's transaction). Ids only, never names."""
        self.insert("audit", {
            "at": now(), "who": self.who, "action": action, "record_type": record_type,
            "record_id": record_id, "client_id": client_id, "plan_id": plan_id,
            "detail": json.dumps(detail or {}, sort_keys=True, default=str),
        })


def _damaged(exc: BaseException) -> bool:
    """A corrupt page met while running a command (SQLITE_CORRUPT / SQLITE_NOTADB)."""
    return isinstance(exc, sqlite3.DatabaseError) and getattr(
        exc, "sqlite_errorname", "") in ("SQLITE_CORRUPT", "SQLITE_NOTADB")


def damaged_error(raw: sqlite3.Connection) -> InputError:
    """Exit 2: the file is damaged; the command's transaction was rolled back."""
    try:
        name = raw.execute("PRAGMA database_list").fetchone()[2]
    except sqlite3.Error:
        name = None
    return InputError("the database file is damaged (a corrupt page); nothing was saved. "
                      "Restore it from a backup (`planwise backup` checks a copy)", file=name)


def _login() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name (containers without passwd entries)
        return f"uid:{os.getuid()}" if hasattr(os, "getuid") else "unknown"
