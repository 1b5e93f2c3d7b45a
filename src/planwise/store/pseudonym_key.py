"""The database's pseudonym key (migration 11): 32 random bytes, made once, never changed.

`planwise.documents.pseudonym` keys its HMAC with it. It lives in the database so a
pseudonym stays the same when the file moves, is encrypted or restored from a backup
(`sqlcipher_export` and the backup API copy it like any row). It is never printed,
logged or exported: only the HMACs made with it leave the database.

The bytes come from the operating system's generator (`secrets`), written by a Python
step right after the migration's script, not from SQLite's `randomblob()`: SQLite seeds
its own generator from /dev/urandom on Unix but from the clock, process id and tick
counters on Windows, which is not enough for a key.

One row (`id = 1`), and triggers refuse to UPDATE or DELETE it or to insert another
(INSERT OR REPLACE deletes without firing delete triggers, so it is refused up front):
a new key would silently break the link between exports made before and after, and
`planwise verify` reports a dropped trigger or a missing key.
"""

from __future__ import annotations

import sqlite3

from planwise.errors import PlanwiseError

KEY_BYTES = 32
_WHAT = "the pseudonym key never changes"

MIGRATION_11 = f"""
CREATE TABLE pseudonym_key (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    key BLOB NOT NULL CHECK (typeof(key) = 'blob' AND length(key) = {KEY_BYTES})
);
CREATE TRIGGER pseudonym_key_no_update BEFORE UPDATE ON pseudonym_key
BEGIN SELECT RAISE(ABORT, 'planwise: {_WHAT}'); END;
CREATE TRIGGER pseudonym_key_no_delete BEFORE DELETE ON pseudonym_key
BEGIN SELECT RAISE(ABORT, 'planwise: {_WHAT}'); END;
CREATE TRIGGER pseudonym_key_no_replace BEFORE INSERT ON pseudonym_key
    WHEN EXISTS (SELECT 1 FROM pseudonym_key)
BEGIN SELECT RAISE(ABORT, 'planwise: {_WHAT} (a second key refused)'); END;
"""


def create_key(conn: sqlite3.Connection) -> None:
    """Migration 11's Python step, in its transaction: the key, once."""
    import secrets

    conn.execute("INSERT INTO pseudonym_key (id, key) VALUES (1, ?)",
                 (secrets.token_bytes(KEY_BYTES),))


def read_key(conn: sqlite3.Connection) -> bytes:
    """The key; an error naming the table (never the bytes) when it is gone."""
    row = conn.execute("SELECT key FROM pseudonym_key WHERE id = 1").fetchone()
    if row is None or not isinstance(row[0], bytes) or len(row[0]) != KEY_BYTES:
        raise PlanwiseError("the database has no pseudonym key (table pseudonym_key was "
                         "changed outside planwise); run `planwise verify`")
    return row[0]
