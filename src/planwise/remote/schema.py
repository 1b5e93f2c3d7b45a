"""Migration 10: remote questionnaire requests and what their responses brought.

`remote_requests` is one row per packet issued; `used_at` is set once, by the import
that stores its response (a trigger refuses any other change). `remote_responses` is
append-only, one row per imported response: the completion day, the feedback answers
(which have no session to belong to) and whether an answer signalled risk; its measures
are in `measures` with source 'remote' and the import's audit row names them and the
request, in the hash chain.

`measures.source` gains 'remote': a CHECK that only becomes looser changes nothing on
disk, so it is rewritten in place (SQLite's documented writable_schema procedure,
https://sqlite.org/lang_altertable.html#otheralter) rather than by copying a chained,
append-only table.
"""

from __future__ import annotations

import sqlite3

MIGRATION_10 = """
-- Remote questionnaires (planwise.remote; docs/remote.md).
CREATE TABLE remote_requests (
    id TEXT PRIMARY KEY CHECK (id GLOB 'r-[0-9a-f]*' AND length(id) = 18),
    client_id INTEGER NOT NULL REFERENCES clients (id),
    instruments TEXT NOT NULL,                 -- JSON list of instrument ids
    feedback INTEGER NOT NULL CHECK (feedback IN (0, 1)),
    issued TEXT NOT NULL,
    expires TEXT NOT NULL,
    key_id TEXT NOT NULL,                      -- the practice key it is sealed to
    used_at TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX remote_requests_client ON remote_requests (client_id, expires);
CREATE TRIGGER remote_requests_once BEFORE UPDATE ON remote_requests
    WHEN OLD.used_at IS NOT NULL OR NEW.used_at IS NULL OR NEW.id IS NOT OLD.id
      OR NEW.client_id IS NOT OLD.client_id OR NEW.instruments IS NOT OLD.instruments
      OR NEW.feedback IS NOT OLD.feedback OR NEW.issued IS NOT OLD.issued
      OR NEW.expires IS NOT OLD.expires OR NEW.key_id IS NOT OLD.key_id
      OR NEW.created_at IS NOT OLD.created_at
BEGIN SELECT RAISE(ABORT, 'planwise: a request is only ever marked used, once'); END;
CREATE TRIGGER remote_requests_no_delete BEFORE DELETE ON remote_requests
BEGIN SELECT RAISE(ABORT, 'planwise: requests are kept'); END;
CREATE TABLE remote_responses (
    request_id TEXT PRIMARY KEY REFERENCES remote_requests (id),
    client_id INTEGER NOT NULL REFERENCES clients (id),
    completed TEXT NOT NULL,
    feedback TEXT,                             -- JSON object item -> 0..10, or NULL
    risk INTEGER NOT NULL CHECK (risk IN (0, 1)),
    created_at TEXT NOT NULL
);
CREATE INDEX remote_responses_risk ON remote_responses (client_id, risk, completed);
CREATE TRIGGER remote_responses_no_update BEFORE UPDATE ON remote_responses
BEGIN SELECT RAISE(ABORT, 'planwise: remote responses are append-only'); END;
CREATE TRIGGER remote_responses_no_delete BEFORE DELETE ON remote_responses
BEGIN SELECT RAISE(ABORT, 'planwise: remote responses are append-only'); END;
"""

_OLD_CHECK = "CHECK (source IN ('intake', 'measure', 'session'))"
_NEW_CHECK = "CHECK (source IN ('intake', 'measure', 'session', 'remote'))"


def allow_remote_source(conn: sqlite3.Connection) -> None:
    """measures.source may be 'remote' (inside the migration's transaction)."""
    version = conn.execute("PRAGMA schema_version").fetchone()[0]
    conn.execute("PRAGMA writable_schema = ON")
    try:
        n = conn.execute("UPDATE sqlite_master SET sql = replace(sql, ?, ?) WHERE "
                         "type = 'table' AND name = 'measures'",
                         (_OLD_CHECK, _NEW_CHECK)).rowcount
        if n != 1:
            raise RuntimeError("migration 10: the measures table is not as migration 6 "
                               "made it")
        conn.execute(f"PRAGMA schema_version = {int(version) + 1}")
    finally:
        conn.execute("PRAGMA writable_schema = OFF")
