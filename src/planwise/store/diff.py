"""What changed between two versions of a plan (`planwise plan diff PLAN V1 V2`).

Items are matched by key (keys are stable from version to version). For each
key: added, removed, or changed field by field (the item's own data), with
origin, rejection reason and parent changes shown as fields of their own (a
problem's basis, priority and confirmation, a goal's phase and deferral are
fields of the item like any other). The
version's own fields (start date, review date, risk level) and the later
version's reason come first.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from planwise.errors import InputError
from planwise.store import ids
from planwise.store.db import Conn
from planwise.store.plans import get_plan, version_rows

_VERSION_FIELDS = ("start_date", "review_date", "risk_level")


@dataclass
class ItemChange:
    kind: str
    key: str
    change: str                                 # added | removed | changed
    fields: dict[str, tuple[Any, Any]] = field(default_factory=dict)   # name -> (old, new)
    item: dict[str, Any] | None = None          # the item's data (added / removed)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "key": self.key, "change": self.change}
        if self.fields:
            out["fields"] = {k: {"old": a, "new": b} for k, (a, b) in self.fields.items()}
        if self.item is not None:
            out["item"] = self.item
        return out


@dataclass
class PlanDiff:
    plan: str
    old: int
    new: int
    reasons: dict[int, str | None]
    version_fields: dict[str, tuple[Any, Any]]
    items: list[ItemChange]

    def as_dict(self) -> dict[str, Any]:
        return {"plan": self.plan, "from": self.old, "to": self.new,
                "reasons": {str(k): v for k, v in self.reasons.items()},
                "version_fields": {k: {"old": a, "new": b}
                                   for k, (a, b) in self.version_fields.items()},
                "items": [i.as_dict() for i in self.items]}


def parse_version(text: str) -> int:
    t = text.strip().lower().removeprefix("v")
    # ASCII digits, few enough for SQLite (isdigit() let '²' and 30-digit numbers through).
    if not (t.isascii() and t.isdigit() and len(t) <= 9) or int(t) < 1:
        raise InputError("a version is a number like 2 (or v2)")
    return int(t)


def _version(c: Conn, plan_id: int, n: int) -> dict[str, Any]:
    v = c.one("SELECT * FROM plan_versions WHERE plan_id = ? AND version = ?", [plan_id, n])
    if v is None:
        raise InputError(f"{ids.fmt('plan', plan_id)} has no version {n}")
    return v


def _fields(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(json.loads(row["data"]))
    out["origin"] = row["origin"]
    if row["rejection_reason"] is not None:
        out["rejection_reason"] = row["rejection_reason"]
    out["parent"] = row["parent_key"]
    return out


def diff_versions(c: Conn, plan_id: int, v1: int, v2: int) -> PlanDiff:
    get_plan(c, plan_id)
    a, b = _version(c, plan_id, v1), _version(c, plan_id, v2)
    old = {r["key"]: r for r in version_rows(c, a["id"])}
    new = {r["key"]: r for r in version_rows(c, b["id"])}
    changes: list[ItemChange] = []
    for key, r in new.items():  # in the new version's order
        if key not in old:
            changes.append(ItemChange(r["kind"], key, "added", item=_fields(r)))
            continue
        fa, fb = _fields(old[key]), _fields(r)
        diff = {k: (fa.get(k), fb.get(k)) for k in sorted(set(fa) | set(fb))
                if fa.get(k) != fb.get(k)}
        if diff:
            changes.append(ItemChange(r["kind"], key, "changed", fields=diff))
    for key, r in old.items():
        if key not in new:
            changes.append(ItemChange(r["kind"], key, "removed", item=_fields(r)))
    lo, hi = sorted((v1, v2))
    reasons = {n: row["reason"] for n, row in
               ((v["version"], v) for v in c.query(
                   "SELECT version, reason FROM plan_versions WHERE plan_id = ? AND version > ? "
                   "AND version <= ? ORDER BY version", [plan_id, lo, hi]))}
    return PlanDiff(ids.fmt("plan", plan_id), v1, v2, reasons,
                    {k: (a[k], b[k]) for k in _VERSION_FIELDS if a[k] != b[k]}, changes)


def _short(value: Any, limit: int = 120) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, dict) and "until" in value:   # a goal's deferral
        value = f"deferred until {value['until']}"
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def render_text(d: PlanDiff) -> str:
    lines = [f"{d.plan}: version {d.old} -> version {d.new}"]
    for n, reason in d.reasons.items():
        lines.append(f"version {n} reason: {reason or '(none recorded)'}")
    for k, (a, b) in d.version_fields.items():
        lines.append(f"~ {k}: {a} -> {b}")
    if not d.items and not d.version_fields:
        lines.append("no changes")
    for ch in d.items:
        if ch.change == "added":
            assert ch.item is not None
            what = ch.item.get("text") or ch.item.get("message") or ch.item.get("reason") or ""
            lines.append(f"+ {ch.kind} {ch.key} ({ch.item['origin']}): {_short(what)}".rstrip())
        elif ch.change == "removed":
            lines.append(f"- {ch.kind} {ch.key}")
        else:
            lines.append(f"~ {ch.kind} {ch.key}")
            for k, (a, b) in ch.fields.items():
                lines.append(f"    {k}: {_short(a)} -> {_short(b)}")
    return "\n".join(lines)
