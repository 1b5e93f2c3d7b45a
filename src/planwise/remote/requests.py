"""Remote questionnaire requests in the store (`remote_requests`, migration 10).

A request is issued for one client, a list of instruments and optionally the feedback
form, and lives from `issued` to `expires` (both inclusive). Its id (`r-` and 16 random
hex digits, 64 bits) is the only thing the packet carries that links back to the client.
It is used once: the import that stores its response sets `used_at`.

Status on a day: `used` once imported, else `expired` after `expires`, else `pending`.
Audit rows (`remote.request`, `remote.import`, `remote.risk`) hold ids and numbers only.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from typing import Any

from planwise.errors import InputError
from planwise.store import ids
from planwise.store.db import Conn, now

RISK_REASON = "remote answer signals risk: contact the client"


def new_id() -> str:
    return "r-" + secrets.token_hex(8)


def add_request(c: Conn, client_id: int, instruments: list[str], feedback: bool,
                issued: dt.date, expires: dt.date, key_id: str) -> dict[str, Any]:
    from planwise.store.clients import get_row

    rid = new_id()
    row: dict[str, Any] = {
           "id": rid, "client_id": client_id, "instruments": json.dumps(instruments),
           "feedback": int(feedback), "issued": issued.isoformat(),
           "expires": expires.isoformat(), "key_id": key_id, "used_at": None,
           "created_at": now()}
    with c.within():
        get_row(c, client_id)
        c.insert("remote_requests", row)
        c.audit("remote.request", "request", rid, client_id=client_id, detail={
            "instruments": instruments, "feedback": feedback, "issued": row["issued"],
            "expires": row["expires"], "key": key_id})
    return _decode(row)


def _decode(r: dict[str, Any]) -> dict[str, Any]:
    return {**r, "instruments": json.loads(r["instruments"]), "feedback": bool(r["feedback"])}


def get_request(c: Conn, request_id: str) -> dict[str, Any] | None:
    r = c.one("SELECT * FROM remote_requests WHERE id = ?", [request_id])
    return _decode(r) if r else None


def status(r: dict[str, Any], today: dt.date) -> str:
    if r["used_at"]:
        return "used"
    return "expired" if r["expires"] < today.isoformat() else "pending"


def for_client(c: Conn, client_id: int, today: dt.date) -> list[dict[str, Any]]:
    """The client's requests, newest first, each with its `status` on `today`."""
    rows = c.query("SELECT * FROM remote_requests WHERE client_id = ? "
                   "ORDER BY issued DESC, created_at DESC", [client_id])
    return [{**_decode(r), "status": status(r, today)} for r in rows]


def unused(c: Conn, today: dt.date) -> list[dict[str, Any]]:
    """Every unused request (pending or expired) with its client's id and name, newest
    expiry first: what `planwise dashboard` lists under the caseload."""
    rows = c.query("SELECT r.*, cl.name FROM remote_requests r JOIN clients cl ON "
                   "cl.id = r.client_id WHERE r.used_at IS NULL "
                   "ORDER BY r.expires DESC, r.id")
    return [{**_decode(r), "status": status(r, today)} for r in rows]


def keys_needed(c: Conn, today: dt.date) -> set[str]:
    """Key ids that an open (unused, unexpired) request is sealed to."""
    return {r["key_id"] for r in c.query(
        "SELECT DISTINCT key_id FROM remote_requests WHERE used_at IS NULL AND expires >= ?",
        [today.isoformat()])}


def risk_clients(c: Conn) -> dict[int, dict[str, Any]]:
    """client id -> {request, completed, name}: the latest remote response that signalled
    risk, while no session has been held since its completion day (the contact the flag
    asks for is then on record). Sessions are read across all the client's plans."""
    rows = c.query("""
        SELECT r.client_id, r.request_id, r.completed, cl.name FROM remote_responses r
        JOIN clients cl ON cl.id = r.client_id
        WHERE r.risk = 1 AND NOT EXISTS (
            SELECT 1 FROM sessions s JOIN plans p ON p.id = s.plan_id
            WHERE p.client_id = r.client_id AND s.date >= r.completed)
        ORDER BY r.completed, r.created_at""")
    return {r["client_id"]: {"request": r["request_id"], "completed": r["completed"],
                             "name": r["name"]} for r in rows}


def render_unused(rows: list[dict[str, Any]]) -> str:
    lines = []
    for r in rows:
        what = ", ".join(r["instruments"]) + (" + feedback" if r["feedback"] else "")
        lines.append(f"{ids.fmt('client', r['client_id'])}\t{r['id']}\t{r['status']}\t"
                     f"expires {r['expires']}\t{what}")
    return "\n".join(lines)


def parse_expiry(text: str, issued: dt.date) -> dt.date:
    """`14d`, `2w` or a date; from 1 day to 90 days after `issued`."""
    import re

    from planwise.dates import parse_date

    t = text.strip().lower()
    m = re.fullmatch(r"(\d{1,3})\s*([dw])", t)
    if m:
        days = int(m.group(1)) * (7 if m.group(2) == "w" else 1)
        day = issued + dt.timedelta(days=days)
    else:
        day = parse_date(text, "--expires")
    if not issued < day <= issued + dt.timedelta(days=90):
        raise InputError(f"--expires: {text[:20]!r} must fall 1 to 90 days after the request "
                         f"is issued ({issued.isoformat()}); e.g. 14d")
    return day
