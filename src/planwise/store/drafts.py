"""Drafts: the interface's work in progress, saved on every edit.

A draft is keyed by what it is a draft of (`kind`, `key`): `intake` / `C3`
for a new intake of client C3, `plan` / `P2` for unsaved edits of plan P2,
`session` / `P2` for a session note being written. Saving replaces the
draft in one committed transaction, so killing the terminal at any moment
leaves the last edit on disk; the interface offers it again at start.
Drafts are not clinical records and are not audited on every keystroke; the
record they turn into is.
"""

from __future__ import annotations

import json
from typing import Any

from planwise.store.db import Conn, now

KINDS = ("intake", "proposal", "plan", "session", "client")


def save_draft(c: Conn, kind: str, key: str, payload: dict[str, Any],
               client_id: int | None = None) -> None:
    if kind not in KINDS:
        raise ValueError(kind)
    with c.transaction():
        c.raw.execute(
            "INSERT INTO drafts (kind, key, client_id, payload, updated_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (kind, key) DO UPDATE SET payload = excluded.payload, "
            "updated_at = excluded.updated_at, client_id = excluded.client_id",
            (kind, key, client_id, json.dumps(payload, default=str), now()))


def load_draft(c: Conn, kind: str, key: str) -> dict[str, Any] | None:
    """The saved payload, with `_updated_at` added; None when there is no draft."""
    row = c.one("SELECT payload, updated_at FROM drafts WHERE kind = ? AND key = ?", [kind, key])
    if row is None:
        return None
    payload: dict[str, Any] = json.loads(row["payload"])
    payload["_updated_at"] = row["updated_at"]
    return payload


def delete_draft(c: Conn, kind: str, key: str) -> None:
    with c.transaction():
        c.raw.execute("DELETE FROM drafts WHERE kind = ? AND key = ?", (kind, key))


def list_drafts(c: Conn) -> list[dict[str, Any]]:
    return c.query("SELECT kind, key, client_id, updated_at FROM drafts ORDER BY updated_at DESC")
