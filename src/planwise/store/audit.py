"""Reading the append-only audit log (rows are written by `Conn.audit`)."""

from __future__ import annotations

from typing import Any

from planwise.store.db import Conn
from planwise.store.plans import get_plan


def for_plan(c: Conn, plan_id: int) -> list[dict[str, Any]]:
    get_plan(c, plan_id)
    return c.query("SELECT * FROM audit WHERE plan_id = ? ORDER BY id", [plan_id])


def for_client(c: Conn, client_id: int) -> list[dict[str, Any]]:
    return c.query("SELECT * FROM audit WHERE client_id = ? ORDER BY id", [client_id])
