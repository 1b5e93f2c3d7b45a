"""When the database is busy: which process holds its write lock, if this system says.

SQLite takes POSIX byte-range locks: in WAL mode the writer's lock is byte 120
of the `-shm` file (WAL_WRITE_LOCK); in rollback-journal mode the RESERVED and
PENDING locks sit at 0x40000000 and up in the database file. Linux lists every
such lock in /proc/locks with the owner's pid and the file's inode, so the
message can name the process. Elsewhere (or without /proc) it says "another
process". Best effort only: nothing here may fail the command.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from planwise.errors import BusyError

_WAL_WRITE_LOCK = 120
_PENDING_BYTE = 0x40000000


def is_busy(exc: BaseException) -> bool:
    """SQLITE_BUSY or SQLITE_LOCKED: another connection holds the lock past the timeout."""
    return isinstance(exc, sqlite3.OperationalError) and getattr(
        exc, "sqlite_errorname", "").startswith(("SQLITE_BUSY", "SQLITE_LOCKED"))


def _file_id(path: Path) -> str | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"


def holders(db: Path) -> list[int]:
    """Pids (not this one) holding a write lock that blocks writers of `db`."""
    wanted: dict[str, int] = {}
    for path, first in ((Path(f"{db}-shm"), _WAL_WRITE_LOCK), (db, _PENDING_BYTE)):
        key = _file_id(path)
        if key is not None:
            wanted[key] = first
    try:
        lines = Path("/proc/locks").read_text().splitlines()
    except OSError:
        return []
    found: list[int] = []
    for line in lines:
        parts = line.split()
        # "1: POSIX  ADVISORY  WRITE 1234 08:01:5678 120 120" (a "->" marks a waiter)
        if "->" in parts or len(parts) < 8 or parts[3] != "WRITE":
            continue
        try:
            pid, start = int(parts[4]), int(parts[6])
        except ValueError:
            continue
        lowest = wanted.get(parts[5])
        if lowest is None or start < lowest or pid == os.getpid() or pid in found:
            continue
        if lowest == _WAL_WRITE_LOCK and start != _WAL_WRITE_LOCK:
            continue  # readers' and checkpoint locks on other bytes of -shm
        found.append(pid)
    return found


def _name(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip() or "?"
    except OSError:
        return "?"


def busy_error(db: Path | str | None) -> BusyError:
    """Exit 75: what holds the database, that nothing was saved, and to try again."""
    pids = holders(Path(db)) if db else []
    who = (", ".join(f"{_name(p)} (pid {p})" for p in pids) if pids
           else "another process")
    where = f"{db}: " if db else ""
    return BusyError(f"{where}the database is busy: {who} is writing to it. Nothing was "
                     "saved; try again in a moment")
