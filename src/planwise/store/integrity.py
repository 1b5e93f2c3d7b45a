"""The hash chain over planwise's clinical records (tamper evidence).

Every row of a chained table gets one entry in `chain`, in the order rows are
written: `hash = sha256(previous entry's hash, table, rowid, signed, the row's
columns)`. A signature's entry also carries `signed`, the digest of the plan
version it signs (the version's fields, its plan's fixed fields and every
item), so a signed version cannot change without its signature's entry
disagreeing.

The entries are written by AFTER INSERT triggers (migration 8) that call
`planwise_digest`, an SQL function only planwise's connections define
(`register`): another SQLite client cannot add a clinical record without first
dropping a trigger, which `planwise verify` reports. The same functions and
column lists are used by the triggers, the migration that chains existing rows
and the verification, so the three always agree.

Plain values only: no Textual, no durable-rules, nothing from the rest of the store.
"""

from __future__ import annotations

import hashlib
import sqlite3
from typing import Any

DIGEST = "planwise_digest"
ROWS_DIGEST = "planwise_rows_digest"

# The columns each chained table hashes, besides its rowid. Migration 8's triggers are built
# from these lists: they are part of a released migration and must never change (a later
# migration that adds a column to one of these tables leaves it out of the chain, or adds a
# new numbered chain definition).
CHAINED: dict[str, tuple[str, ...]] = {
    "intakes": ("client_id", "date", "data", "scores", "created_at"),
    "measures": ("client_id", "instrument", "date", "total", "band", "flags", "answers",
                 "source", "intake_id", "session_id", "created_at"),
    "sessions": ("plan_id", "version_id", "number", "date", "note", "unplanned_reason",
                 "session_limit", "created_at"),
    "session_objectives": ("session_id", "objective_key", "rating", "position"),
    "session_feedback": ("session_id", "answers", "mean", "lowest", "created_at"),
    "signatures": ("version_id", "role", "name", "signed_at", "forced"),
    "audit": ("at", "who", "action", "record_type", "record_id", "client_id", "plan_id",
              "detail"),
}
PLAN_COLS = ("client_id", "intake_id", "requires_supervisor", "supervisor")
VERSION_COLS = ("plan_id", "version", "start_date", "review_date", "risk_level", "reason",
                "created_at")
ITEM_COLS = ("kind", "key", "parent_key", "position", "origin", "rejection_reason",
             "proposed", "data", "because")

LAST_HASH = "(SELECT hash FROM chain ORDER BY seq DESC LIMIT 1)"


def canonical(values: tuple[Any, ...]) -> bytes:
    """One unambiguous byte string for a tuple of SQLite values, types kept (1, 1.0, '1' and
    NULL differ): `n;` NULL, `i<int>;`, `f<shortest repr>;`, `s<bytes>:<UTF-8>`,
    `b<bytes>:<blob>`. Fully specified, so no library's formatting can change a hash."""
    out: list[bytes] = []
    for v in values:
        t = type(v)
        if t is str:
            raw = v.encode("utf-8", "surrogatepass")
            out.append(b"s%d:" % len(raw))
            out.append(raw)
        elif t is int:
            out.append(b"i%d;" % v)
        elif v is None:
            out.append(b"n;")
        elif t is float:
            out.append(b"f" + repr(v).encode("ascii") + b";")
        else:
            raw = bytes(v)
            out.append(b"b%d:" % len(raw))
            out.append(raw)
    return b"".join(out)


def digest(*values: Any) -> str:
    return hashlib.sha256(canonical(values)).hexdigest()


class RowsDigest:
    """SQL aggregate: one digest of a set of rows, whatever order SQLite feeds them in."""

    def __init__(self) -> None:
        self.rows: list[bytes] = []

    def step(self, *values: Any) -> None:
        self.rows.append(canonical(values))

    def finalize(self) -> str:
        h = hashlib.sha256()
        for row in sorted(self.rows):
            h.update(len(row).to_bytes(8, "big"))
            h.update(row)
        return h.hexdigest()


def register(conn: sqlite3.Connection) -> None:
    """Define planwise's SQL functions on a connection (the chain triggers call them)."""
    conn.create_function(DIGEST, -1, digest, deterministic=True)
    conn.create_aggregate(ROWS_DIGEST, -1, RowsDigest)  # type: ignore[arg-type]


def version_digest_sql(version_id: str) -> str:
    """SQL: the digest of one plan version's content (NULL when the version is gone)."""
    plan = ", ".join(f"p.{c}" for c in PLAN_COLS)
    version = ", ".join(f"pv.{c}" for c in VERSION_COLS)
    items = ", ".join(f"pi.{c}" for c in ITEM_COLS)
    return (f"(SELECT {DIGEST}('plan_version', {plan}, {version}, "
            f"(SELECT {ROWS_DIGEST}({items}) FROM plan_items pi WHERE pi.version_id = pv.id)) "
            f"FROM plan_versions pv JOIN plans p ON p.id = pv.plan_id WHERE pv.id = {version_id})")


def signed_sql(table: str, alias: str = "r") -> str:
    return version_digest_sql(f"{alias}.version_id") if table == "signatures" else "NULL"


def row_hash_sql(table: str, prev: str, signed: str, alias: str = "r") -> str:
    """SQL: a chain entry's hash from the previous hash, its `signed` and the row itself."""
    cols = ", ".join(f"{alias}.{c}" for c in CHAINED[table])
    return f"{DIGEST}({prev}, '{table}', {alias}.rowid, {signed}, {cols})"


def chain_trigger(table: str) -> str:
    signed = signed_sql(table)
    return (f"CREATE TRIGGER {table}_chain AFTER INSERT ON {table}\n"
            f"BEGIN INSERT INTO chain (tbl, row_id, signed, hash)\n"
            f"    SELECT '{table}', r.rowid, {signed}, {row_hash_sql(table, LAST_HASH, signed)}\n"
            f"    FROM {table} r WHERE r.rowid = NEW.rowid; END;")


def chain_existing(conn: sqlite3.Connection) -> int:
    """Chain the rows already in the database (migration 8), table by table in rowid order.
    Returns the number of entries written. Hashes are computed here rather than by the
    triggers' INSERT ... SELECT, which would not see the entries it writes itself."""
    register(conn)
    prev = conn.execute(LAST_HASH[1:-1]).fetchone()
    last: str | None = prev[0] if prev else None
    n = 0
    for table, cols in CHAINED.items():
        select = ", ".join(f"r.{c}" for c in cols)
        rows = conn.execute(f"SELECT r.rowid, {signed_sql(table)}, {select} FROM {table} r "
                            f"WHERE NOT EXISTS (SELECT 1 FROM chain c WHERE c.tbl = '{table}' "
                            "AND c.row_id = r.rowid) ORDER BY r.rowid").fetchall()
        out = []
        for rowid, signed, *values in rows:
            last = digest(last, table, rowid, signed, *values)
            out.append((table, rowid, signed, last))
        conn.executemany("INSERT INTO chain (tbl, row_id, signed, hash) VALUES (?, ?, ?, ?)",
                         out)
        n += len(out)
    return n


def head(conn: sqlite3.Connection) -> tuple[int, str] | None:
    """The chain's last entry (seq, hash): keep a copy outside the database to compare."""
    row = conn.execute("SELECT seq, hash FROM chain ORDER BY seq DESC LIMIT 1").fetchone()
    return None if row is None else (int(row[0]), str(row[1]))


def head_text(conn: sqlite3.Connection) -> str:
    h = head(conn)
    return "chain head: empty" if h is None else f"chain head: #{h[0]} {h[1]}"


def _guard(table: str, keys: str, what: str) -> str:
    return (f"CREATE TRIGGER {table}_no_replace BEFORE INSERT ON {table}\n"
            f"    WHEN EXISTS (SELECT 1 FROM {table} x WHERE {keys})\n"
            f"BEGIN SELECT RAISE(ABORT, 'planwise: {what} (INSERT OR REPLACE refused)'); END;")


def _append_only(table: str, what: str) -> str:
    return (f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table}\n"
            f"BEGIN SELECT RAISE(ABORT, 'planwise: {what}'); END;\n"
            f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table}\n"
            f"BEGIN SELECT RAISE(ABORT, 'planwise: {what}'); END;")


def migration_8(locked: Any) -> str:
    """The SQL of migration 8 (frozen once released): the chain, its triggers, and the
    guards against INSERT OR REPLACE, forged signatures and changed ids."""
    guards = [
        _guard("intakes", "x.id = NEW.id", "intakes are append-only"),
        _guard("measures", "x.id = NEW.id", "measures are append-only"),
        _guard("sessions", "x.id = NEW.id OR (x.plan_id = NEW.plan_id AND "
               "x.number = NEW.number)", "session notes are append-only"),
        _guard("session_objectives", "x.session_id = NEW.session_id AND "
               "x.objective_key = NEW.objective_key", "session notes are append-only"),
        _guard("session_feedback", "x.session_id = NEW.session_id",
               "session feedback is append-only"),
        _guard("signatures", "x.id = NEW.id OR (x.version_id = NEW.version_id AND "
               "x.role = NEW.role)", "signatures cannot be changed"),
        _guard("audit", "x.id = NEW.id", "the audit log is append-only"),
        _guard("chain", "x.seq = NEW.seq OR (x.tbl = NEW.tbl AND x.row_id = NEW.row_id)",
               "the chain is append-only"),
        _guard("clients", "x.id = NEW.id", "a client is changed with `client edit`"),
        _guard("plans", "x.id = NEW.id", "a plan is never replaced"),
        _guard("plan_versions", "x.id = NEW.id OR (x.plan_id = NEW.plan_id AND "
               "x.version = NEW.version)", "a plan version is never replaced"),
        _guard("plan_items", f"x.id = NEW.id AND {locked('x.version_id')}",
               "a signed plan version is immutable"),
    ]
    return "\n".join([
        "-- Tamper evidence: a hash chain over the clinical records (planwise.store.integrity).",
        "CREATE TABLE chain (",
        "    seq INTEGER PRIMARY KEY AUTOINCREMENT,",
        "    tbl TEXT NOT NULL,",
        "    row_id INTEGER NOT NULL,",
        "    signed TEXT,                   -- signatures: the digest of the signed version",
        "    hash TEXT NOT NULL,            -- sha256 over the previous hash and the row",
        "    UNIQUE (tbl, row_id)",
        ");",
        _append_only("chain", "the chain is append-only"),
        *[chain_trigger(t) for t in CHAINED],
        "-- Intakes are records too: append-only like measures and sessions.",
        _append_only("intakes", "intakes are append-only"),
        "-- REPLACE deletes the old row without firing delete triggers: refuse it up front.",
        *guards,
        "-- A signature goes on the current version of an existing plan, nowhere else.",
        "CREATE TRIGGER signatures_current_only BEFORE INSERT ON signatures",
        "    WHEN NOT EXISTS (SELECT 1 FROM plan_versions v WHERE v.id = NEW.version_id)",
        "      OR EXISTS (SELECT 1 FROM plan_versions v JOIN plan_versions w",
        "                 ON w.plan_id = v.plan_id AND w.version > v.version",
        "                 WHERE v.id = NEW.version_id)",
        "BEGIN SELECT RAISE(ABORT, 'planwise: only the current version of a plan can be "
        "signed'); END;",
        "-- Ids never change (UPDATE OR REPLACE with another row's id would delete that row).",
        "CREATE TRIGGER clients_id_fixed BEFORE UPDATE OF id ON clients",
        "BEGIN SELECT RAISE(ABORT, 'planwise: ids never change'); END;",
        "CREATE TRIGGER plans_id_fixed BEFORE UPDATE OF id ON plans",
        "BEGIN SELECT RAISE(ABORT, 'planwise: ids never change'); END;",
        "CREATE TRIGGER versions_id_fixed BEFORE UPDATE OF id, plan_id, version ON "
        "plan_versions",
        "BEGIN SELECT RAISE(ABORT, 'planwise: ids never change'); END;",
        "CREATE TRIGGER items_id_fixed BEFORE UPDATE OF id ON plan_items",
        "BEGIN SELECT RAISE(ABORT, 'planwise: ids never change'); END;",
        "-- A client with records is never deleted (foreign keys are off in other clients).",
        "CREATE TRIGGER clients_used_no_delete BEFORE DELETE ON clients",
        "    WHEN EXISTS (SELECT 1 FROM plans p WHERE p.client_id = OLD.id)",
        "      OR EXISTS (SELECT 1 FROM intakes i WHERE i.client_id = OLD.id)",
        "      OR EXISTS (SELECT 1 FROM measures m WHERE m.client_id = OLD.id)",
        "BEGIN SELECT RAISE(ABORT, 'planwise: a client with records cannot be deleted'); END;",
    ])
