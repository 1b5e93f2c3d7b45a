"""A database file and its companions (-journal, -wal, -shm) as one thing: removed together,
and a finished copy put in place without ever replacing a file that appeared meanwhile
(unless asked to). Used by backups and by encrypt/rekey/decrypt."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from planwise.errors import InputError

COMPANIONS = ("", "-journal", "-wal", "-shm")


def remove_db_files(path: Path) -> None:
    for suffix in COMPANIONS:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(str(path) + suffix)


def move_into_place(tmp: Path, dest: Path, force: bool) -> None:
    """`tmp` becomes `dest`: replacing it with `force`, else only if it is still absent
    (a hard link fails on an existing name, where a rename would replace it)."""
    if force:
        os.replace(tmp, dest)
        return
    try:
        os.link(tmp, dest)
    except FileExistsError:
        raise InputError("already exists; give --force to replace it", file=str(dest)) from None
    os.unlink(tmp)
