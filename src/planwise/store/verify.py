"""`planwise verify`: are the records as planwise wrote them?

Four checks, each naming what is wrong by table and id only (never a value: the
rows hold health information):

- the schema: planwise's application_id, every migration recorded, and every
  table, index, view and trigger exactly as the migrations create them (a
  dropped or altered trigger, or one added by someone else, is reported);
- the chain (planwise.store.integrity): every entry's hash follows from the one
  before and from its row as it is now; every chained row has an entry and
  every entry a row; no entry is missing at the end (`sqlite_sequence`);
- signed versions: each signature's `signed` digest equals the digest of the
  version's content now;
- the pseudonym key (planwise.store.pseudonym_key): one key of 32 bytes (never
  shown).

Reads only, in one read transaction (a consistent snapshot while others write).
"""

from __future__ import annotations

import functools
import re
import sqlite3
from dataclasses import dataclass

from planwise.errors import PlanwiseError
from planwise.store import integrity
from planwise.store.integrity import CHAINED


class VerifyFailed(PlanwiseError):
    """Records are not as planwise wrote them (not the user's input): exit 1."""

    exit_code = 1


@dataclass(frozen=True)
class Problem:
    table: str          # a table, or "schema", "trigger", "index", "view", "chain"
    id: str             # the record's id (rowid), an object's name, or "" for the whole table
    what: str

    def __str__(self) -> str:
        return f"{self.table} {self.id}: {self.what}" if self.id else f"{self.table}: {self.what}"


@dataclass(frozen=True)
class Report:
    problems: list[Problem]
    entries: int
    head: tuple[int, str] | None

    @property
    def ok(self) -> bool:
        return not self.problems


def _norm(sql: str | None) -> str:
    return re.sub(r"\s+", " ", sql or "").strip()


@functools.cache
def expected_schema() -> dict[tuple[str, str], tuple[str, str]]:
    """(type, name) -> (table, SQL) of a database built by every migration from empty."""
    from planwise.store.db import migrate

    mem = sqlite3.connect(":memory:", isolation_level=None)
    try:
        migrate(mem)
        return _objects(mem)
    finally:
        mem.close()


def _objects(conn: sqlite3.Connection) -> dict[tuple[str, str], tuple[str, str]]:
    return {(t, n): (tbl, _norm(sql)) for t, n, tbl, sql in conn.execute(
        "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite^_%' "
        "ESCAPE '^'")}


def check_schema(conn: sqlite3.Connection) -> list[Problem]:
    from planwise.store.db import APP_ID, SCHEMA_VERSION

    out: list[Problem] = []
    if conn.execute("PRAGMA application_id").fetchone()[0] != APP_ID:
        out.append(Problem("schema", "", "not planwise's application_id"))
    try:
        versions = {r[0] for r in conn.execute("SELECT version FROM schema_version")}
    except sqlite3.Error:
        versions = set()
    if versions != set(range(1, SCHEMA_VERSION + 1)):
        out.append(Problem("schema", "", f"migrations recorded are not 1 to {SCHEMA_VERSION}"))
    want, have = expected_schema(), _objects(conn)
    for key in sorted(want.keys() - have.keys()):
        out.append(Problem(key[0], key[1], "missing (dropped?)"))
    for key in sorted(have.keys() - want.keys()):
        out.append(Problem(key[0], key[1], "not part of planwise's schema (added by someone "
                                           "else?)"))
    for key in sorted(want.keys() & have.keys()):
        if want[key] != have[key]:
            out.append(Problem(key[0], key[1], "differs from planwise's definition"))
    return out


_PREV = "(SELECT p.hash FROM chain p WHERE p.seq < c.seq ORDER BY p.seq DESC LIMIT 1)"


def _check_table(conn: sqlite3.Connection, table: str) -> list[Problem]:
    out: list[Problem] = []
    for seq, row_id, gone in conn.execute(
            f"SELECT c.seq, c.row_id, r.rowid IS NULL FROM chain c LEFT JOIN {table} r "
            f"ON r.rowid = c.row_id WHERE c.tbl = '{table}' AND (r.rowid IS NULL OR c.hash "
            f"IS NOT {integrity.row_hash_sql(table, _PREV, 'c.signed')}) ORDER BY c.seq"):
        out.append(Problem(table, str(row_id), f"deleted (chain entry #{seq} has no row)"
                           if gone else f"does not match its chain entry #{seq} (the row, or "
                           "the chain before it, was changed)"))
    for (row_id,) in conn.execute(
            f"SELECT r.rowid FROM {table} r WHERE NOT EXISTS (SELECT 1 FROM chain c WHERE "
            f"c.tbl = '{table}' AND c.row_id = r.rowid) ORDER BY r.rowid"):
        out.append(Problem(table, str(row_id), "not in the chain (written outside planwise)"))
    return out


def _check_signed(conn: sqlite3.Connection) -> list[Problem]:
    out: list[Problem] = []
    seen: set[int] = set()
    for sig, version_id in conn.execute(
            "SELECT c.row_id, r.version_id FROM chain c JOIN signatures r ON r.rowid = c.row_id "
            "WHERE c.tbl = 'signatures' AND c.signed IS NOT "
            f"{integrity.version_digest_sql('r.version_id')} ORDER BY c.seq"):
        if version_id not in seen:
            seen.add(version_id)
            out.append(Problem("plan_versions", str(version_id),
                               f"changed after it was signed (signature {sig})"))
    return out


def check_chain(conn: sqlite3.Connection) -> tuple[list[Problem], int]:
    out: list[Problem] = []
    n, first, last = conn.execute("SELECT count(*), min(seq), max(seq) FROM chain").fetchone()
    if n and (first != 1 or last - first + 1 != n):
        out.append(Problem("chain", "", f"entries are missing between #1 and #{last}"))
    seq_row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'chain'").fetchone()
    if seq_row is not None and seq_row[0] > (last or 0):
        out.append(Problem("chain", "", f"entries after #{last or 0} are missing (the end of "
                                        "the chain was cut)"))
    names = ", ".join(f"'{t}'" for t in CHAINED)
    for (seq,) in conn.execute(f"SELECT seq FROM chain WHERE tbl NOT IN ({names}) "
                               "ORDER BY seq"):
        out.append(Problem("chain", f"#{seq}", "names no chained table"))
    for table in CHAINED:
        try:
            out += _check_table(conn, table)
        except sqlite3.Error as exc:
            out.append(Problem(table, "", f"cannot be read ({exc.__class__.__name__})"))
    try:
        out += _check_signed(conn)
    except sqlite3.Error as exc:
        out.append(Problem("plan_versions", "", f"cannot be read ({exc.__class__.__name__})"))
    return out, int(n)


def check_pseudonym_key(conn: sqlite3.Connection) -> list[Problem]:
    try:
        n = conn.execute("SELECT count(*) FROM pseudonym_key WHERE id = 1 AND "
                         "typeof(key) = 'blob' AND length(key) = 32").fetchone()[0]
    except sqlite3.Error:
        return []  # no table: the schema check reports it
    return [] if n == 1 else [Problem("pseudonym_key", "", "no key (deleted?)")]


def verify(conn: sqlite3.Connection) -> Report:
    """Check the schema, the chain and the signed versions, in one read transaction."""
    integrity.register(conn)
    began = not conn.in_transaction
    if began:
        conn.execute("BEGIN")
    try:
        problems = check_schema(conn) + check_pseudonym_key(conn)
        has_chain = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
                                 "name = 'chain'").fetchone()
        entries = 0
        if has_chain:
            found, entries = check_chain(conn)
            problems += found
        head = integrity.head(conn) if has_chain else None
    finally:
        if began and conn.in_transaction:
            conn.execute("COMMIT")
    return Report(problems, entries, head)
