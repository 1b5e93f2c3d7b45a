"""The schema: planwise's numbered migrations, oldest first, and the Python step some of
them run in the same transaction. planwise.store.db applies them (`migrate`); each is
recorded in `schema_version`. A migration, once released, never changes: a change to the
schema is a new number."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

from planwise.remote import schema as remote_schema
from planwise.store import integrity, pseudonym_key
from planwise.store.attention_facts import migration_12
from planwise.store.fts import migration_9

_LOCKED = """(
    EXISTS (SELECT 1 FROM signatures s WHERE s.version_id = {v} AND s.role = 'therapist')
    AND (
        (SELECT p.requires_supervisor FROM plans p JOIN plan_versions pv ON pv.plan_id = p.id
         WHERE pv.id = {v}) = 0
        OR EXISTS (SELECT 1 FROM signatures s WHERE s.version_id = {v} AND s.role = 'supervisor')
    )
)"""


def locked(version_expr: str) -> str:
    """SQL: true when the plan version is signed by the therapist (and supervisor if required)."""
    return _LOCKED.format(v=version_expr)


MIGRATIONS: list[tuple[int, str]] = [
    (1, """
CREATE TABLE clients (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL CHECK (length(name) > 0),
    info TEXT NOT NULL DEFAULT '{}',          -- JSON: planwise.store.models.ClientInfo minus name
    row_version INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX clients_name ON clients (name COLLATE NOCASE);

CREATE TABLE intakes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    client_id INTEGER NOT NULL REFERENCES clients (id),
    date TEXT NOT NULL,                        -- the intake's assessment date
    data TEXT NOT NULL,                        -- the validated intake (JSON)
    scores TEXT NOT NULL,                      -- JSON list of ScoreResult
    created_at TEXT NOT NULL
);
CREATE INDEX intakes_client ON intakes (client_id, date);

CREATE TABLE audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    who TEXT NOT NULL,
    action TEXT NOT NULL,
    record_type TEXT NOT NULL,
    record_id TEXT NOT NULL,
    client_id INTEGER,
    plan_id INTEGER,
    detail TEXT NOT NULL DEFAULT '{}'          -- JSON; ids only, never names
);
CREATE INDEX audit_plan ON audit (plan_id, id);
CREATE INDEX audit_client ON audit (client_id, id);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'planwise: the audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'planwise: the audit log is append-only'); END;
"""),
    (2, f"""
CREATE TABLE plans (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    client_id INTEGER NOT NULL REFERENCES clients (id),
    intake_id INTEGER REFERENCES intakes (id),
    requires_supervisor INTEGER NOT NULL DEFAULT 0 CHECK (requires_supervisor IN (0, 1)),
    supervisor TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX plans_client ON plans (client_id);

CREATE TABLE plan_versions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    plan_id INTEGER NOT NULL REFERENCES plans (id),
    version INTEGER NOT NULL CHECK (version >= 1),
    start_date TEXT NOT NULL,
    review_date TEXT,
    risk_level TEXT NOT NULL,
    reason TEXT,                               -- why this version exists (N > 1)
    row_version INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    UNIQUE (plan_id, version)
);

CREATE TABLE plan_items (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    version_id INTEGER NOT NULL REFERENCES plan_versions (id),
    kind TEXT NOT NULL CHECK (kind IN ('problem', 'goal', 'objective', 'intervention',
        'treatment', 'referral', 'assessment', 'warning')),
    key TEXT NOT NULL,
    parent_key TEXT,
    position INTEGER NOT NULL,
    origin TEXT NOT NULL CHECK (origin IN ('proposed_accepted', 'proposed_edited',
        'proposed_rejected', 'added')),
    rejection_reason TEXT,
    proposed TEXT,                             -- JSON: the engine's item, NULL when added
    data TEXT NOT NULL,                        -- JSON: the item as the plan has it
    because TEXT NOT NULL DEFAULT '[]',
    UNIQUE (version_id, key),
    CHECK (origin <> 'proposed_rejected' OR length(coalesce(rejection_reason, '')) > 0),
    CHECK ((origin = 'added') = (proposed IS NULL))
);
CREATE INDEX plan_items_version ON plan_items (version_id, position);

CREATE TABLE signatures (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    version_id INTEGER NOT NULL REFERENCES plan_versions (id),
    role TEXT NOT NULL CHECK (role IN ('therapist', 'client', 'supervisor')),
    name TEXT NOT NULL CHECK (length(name) > 0),
    signed_at TEXT NOT NULL,
    UNIQUE (version_id, role)
);

-- A version signed by the therapist (and the supervisor when required) is immutable.
CREATE TRIGGER plans_fixed BEFORE UPDATE OF client_id, intake_id, requires_supervisor,
    supervisor ON plans
BEGIN SELECT RAISE(ABORT, 'planwise: a plan''s client and supervisor requirement are fixed'); END;
CREATE TRIGGER plans_no_delete BEFORE DELETE ON plans
    WHEN EXISTS (SELECT 1 FROM plan_versions pv WHERE pv.plan_id = OLD.id AND {locked('pv.id')})
BEGIN SELECT RAISE(ABORT, 'planwise: a signed plan cannot be deleted'); END;
CREATE TRIGGER versions_signed_no_update BEFORE UPDATE ON plan_versions
    WHEN {locked('OLD.id')}
BEGIN SELECT RAISE(ABORT, 'planwise: a signed plan version is immutable'); END;
CREATE TRIGGER versions_signed_no_delete BEFORE DELETE ON plan_versions
    WHEN {locked('OLD.id')}
BEGIN SELECT RAISE(ABORT, 'planwise: a signed plan version is immutable'); END;
CREATE TRIGGER items_signed_no_insert BEFORE INSERT ON plan_items
    WHEN {locked('NEW.version_id')}
BEGIN SELECT RAISE(ABORT, 'planwise: a signed plan version is immutable'); END;
CREATE TRIGGER items_signed_no_update BEFORE UPDATE ON plan_items
    WHEN {locked('OLD.version_id')} OR {locked('NEW.version_id')}
BEGIN SELECT RAISE(ABORT, 'planwise: a signed plan version is immutable'); END;
CREATE TRIGGER items_signed_no_delete BEFORE DELETE ON plan_items
    WHEN {locked('OLD.version_id')}
BEGIN SELECT RAISE(ABORT, 'planwise: a signed plan version is immutable'); END;
CREATE TRIGGER signatures_no_update BEFORE UPDATE ON signatures
BEGIN SELECT RAISE(ABORT, 'planwise: signatures cannot be changed'); END;
CREATE TRIGGER signatures_no_delete BEFORE DELETE ON signatures
    WHEN {locked('OLD.version_id')}
BEGIN SELECT RAISE(ABORT, 'planwise: a signed plan version is immutable'); END;

CREATE VIEW plan_version_state AS
SELECT pv.id AS version_id, pv.plan_id, pv.version,
       CASE WHEN {locked('pv.id')} THEN 'signed'
            WHEN EXISTS (SELECT 1 FROM signatures s WHERE s.version_id = pv.id)
                THEN 'partly_signed'
            ELSE 'draft' END AS state
FROM plan_versions pv;
"""),
    (3, """
-- A signature given although `plan lint` reported problems (`plan sign --force`).
ALTER TABLE signatures ADD COLUMN forced INTEGER NOT NULL DEFAULT 0 CHECK (forced IN (0, 1));
"""),
    (4, """
-- Session notes: append-only clinical records (triggers refuse UPDATE and DELETE).
CREATE TABLE sessions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    plan_id INTEGER NOT NULL REFERENCES plans (id),
    version_id INTEGER NOT NULL REFERENCES plan_versions (id),  -- the plan's current version
    number INTEGER NOT NULL CHECK (number >= 1),               -- 1, 2, ... per plan
    date TEXT NOT NULL,
    note TEXT NOT NULL CHECK (length(note) > 0),
    unplanned_reason TEXT,                                     -- set when no objective addressed
    session_limit INTEGER,                                     -- the payer's limit at the time
    created_at TEXT NOT NULL,
    UNIQUE (plan_id, number)
);
CREATE INDEX sessions_plan ON sessions (plan_id, number);
CREATE TABLE session_objectives (
    session_id INTEGER NOT NULL REFERENCES sessions (id),
    objective_key TEXT NOT NULL,                               -- a plan_items key (objective)
    rating INTEGER CHECK (rating IS NULL OR rating BETWEEN 0 AND 10),
    position INTEGER NOT NULL,
    PRIMARY KEY (session_id, objective_key)
);
CREATE TRIGGER sessions_no_update BEFORE UPDATE ON sessions
BEGIN SELECT RAISE(ABORT, 'planwise: session notes are append-only'); END;
CREATE TRIGGER sessions_no_delete BEFORE DELETE ON sessions
BEGIN SELECT RAISE(ABORT, 'planwise: session notes are append-only'); END;
CREATE TRIGGER session_objectives_no_update BEFORE UPDATE ON session_objectives
BEGIN SELECT RAISE(ABORT, 'planwise: session notes are append-only'); END;
CREATE TRIGGER session_objectives_no_delete BEFORE DELETE ON session_objectives
BEGIN SELECT RAISE(ABORT, 'planwise: session notes are append-only'); END;
"""),
    (5, """
-- Work in progress in the interface (an intake being filled in, proposal
-- decisions, plan edits, a session note being written), saved as it is made so
-- that a dropped connection loses nothing. Not clinical records: replaced on
-- every save and deleted when the work is saved for real or discarded.
CREATE TABLE drafts (
    kind TEXT NOT NULL CHECK (kind IN ('intake', 'proposal', 'plan', 'session', 'client')),
    key TEXT NOT NULL,
    client_id INTEGER REFERENCES clients (id),
    payload TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (kind, key)
);
"""),
    (6, """
-- Repeated measures: every score a client has, over time. An intake's scores are
-- copied in when the intake is stored (source 'intake'); later ones come from
-- `planwise measure add` or from a session note (source 'measure' or 'session').
-- Clinical records: append-only, like session notes.
CREATE TABLE measures (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    client_id INTEGER NOT NULL REFERENCES clients (id),
    instrument TEXT NOT NULL,
    date TEXT NOT NULL,
    total INTEGER NOT NULL,
    band TEXT NOT NULL,
    flags TEXT NOT NULL DEFAULT '[]',          -- JSON list of flag names (critical items)
    answers TEXT,                              -- JSON list of raw answers, when known
    source TEXT NOT NULL CHECK (source IN ('intake', 'measure', 'session')),
    intake_id INTEGER REFERENCES intakes (id),
    session_id INTEGER REFERENCES sessions (id),
    created_at TEXT NOT NULL
);
CREATE INDEX measures_client ON measures (client_id, instrument, date, id);
CREATE TRIGGER measures_no_update BEFORE UPDATE ON measures
BEGIN SELECT RAISE(ABORT, 'planwise: measures are append-only'); END;
CREATE TRIGGER measures_no_delete BEFORE DELETE ON measures
BEGIN SELECT RAISE(ABORT, 'planwise: measures are append-only'); END;
INSERT INTO measures (client_id, instrument, date, total, band, flags, answers, source,
                      intake_id, created_at)
SELECT i.client_id, json_extract(s.value, '$.instrument'), i.date,
       json_extract(s.value, '$.total'), json_extract(s.value, '$.band'),
       coalesce(json_extract(s.value, '$.flags'), '[]'),
       json_extract(i.data, '$.instruments.' || json_extract(s.value, '$.instrument')),
       'intake', i.id, i.created_at
FROM intakes i, json_each(i.scores) s;

-- End-of-session feedback (planwise's own short form, knowledge/feedback.toml):
-- one row per session, items 0-10. Append-only.
CREATE TABLE session_feedback (
    session_id INTEGER PRIMARY KEY REFERENCES sessions (id),
    answers TEXT NOT NULL,                     -- JSON object: item id -> 0..10
    mean REAL NOT NULL,
    lowest INTEGER NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TRIGGER session_feedback_no_update BEFORE UPDATE ON session_feedback
BEGIN SELECT RAISE(ABORT, 'planwise: session feedback is append-only'); END;
CREATE TRIGGER session_feedback_no_delete BEFORE DELETE ON session_feedback
BEGIN SELECT RAISE(ABORT, 'planwise: session feedback is append-only'); END;
"""),
    (7, """
-- The caseload view's cache (planwise.store.dashboard): per plan, what the
-- attention flags need from its items, ratings and scores, stamped with the
-- records it was computed from. Derived data only (ids, dates, totals, flags;
-- no names, no notes): it may be emptied at any time and is rebuilt.
CREATE TABLE IF NOT EXISTS attention_cache (
    plan_id INTEGER PRIMARY KEY,
    stamp TEXT NOT NULL,       -- format.version id.row_version.last session.last score
    until TEXT NOT NULL,       -- the latest date among its sessions and scores
    data TEXT NOT NULL         -- JSON: what the flags need (no names, no notes)
);
"""),
    # Tamper evidence (planwise.store.integrity; docs/store.md, "Tamper evidence"): the hash
    # chain over intakes, measures, sessions, their objectives and feedback, signatures (with
    # the digest of the version signed) and the audit log; guards against INSERT OR REPLACE,
    # signatures on anything but the current version, changed ids. Rows already there are
    # chained after the script (`_AFTER`).
    (8, integrity.migration_8(locked)),
    # Full-text search over client names, intake summaries and session notes
    # (planwise.store.fts; planwise.store.search): the script builds the index for the rows
    # already there, and its triggers keep it in step.
    (9, migration_9()),
    # Remote questionnaire requests and responses; measures.source may be 'remote' (the
    # CHECK is loosened in place after the script, `_AFTER`). planwise.remote.schema.
    (10, remote_schema.MIGRATION_10),
    # The pseudonym key (planwise.store.pseudonym_key): one row of 32 random bytes, written
    # after the script (`_AFTER`), that UPDATE and DELETE refuse.
    (11, pseudonym_key.MIGRATION_11),
    # What the caseload's flags read, out of the JSON (planwise.store.attention_facts):
    # the plan items' facts and the last rating per objective, filled for the rows already
    # there and kept in step by triggers (issue 12: the cold caseload).
    (12, migration_12(locked)),
]
SCHEMA_VERSION = MIGRATIONS[-1][0]
# Python steps run right after a migration's script, in the same transaction.
_AFTER: dict[int, Callable[[sqlite3.Connection], Any]] = {
    8: integrity.chain_existing, 10: remote_schema.allow_remote_source,
    11: pseudonym_key.create_key}
