"""A plan version's items as `plan_items` rows: this module's one job.

A document becomes rows (one per item, in document order, its own data as JSON);
resolve_rows keys new items and gives every item its origin, measured against the
engine's proposal carried in the rows; insert_rows and rewrite_rows write them.

Which version rows go to, and that a signed version never changes, is
planwise.store.plans's job (the plan's life cycle); reading rows back into a
document is planwise.store.plan_read's. Kept apart so that the row format and its
comparison with the proposal can change without touching the signing rules, and
so that the interface can check a proposal review's rows before storing anything.
"""

from __future__ import annotations

import json
from typing import Any

from planwise.errors import InputError
from planwise.store.db import Conn
from planwise.store.models import ObjectiveItem, Origin, PlanDoc, PlanItem

# Row columns of an item (`because` has one of its own), so not part of its JSON data.
_META = {"key", "origin", "rejection_reason", "because"}
# Child items are rows of their own (parent_key), never part of their parent's data.
_CHILDREN = {"goals", "objectives", "interventions"}
# Whole-plan reasoning fields, stored only when set: a plan drafted before them keeps its
# rows (and their comparison with the proposal) exactly as they were.
_OPTIONAL = ("basis", "priority", "phase", "deferred", "confirmed", "code")
# The clinician's decisions stored with an item's data: not an edit of the proposal.
_DECISIONS = ("confirmed",)


# --- document -> rows ------------------------------------------------------------------

def _data(item: PlanItem) -> dict[str, Any]:
    """The item's own fields (an objective's `interventions` are references, not children)."""
    children = set() if isinstance(item, ObjectiveItem) else _CHILDREN
    data = item.model_dump(mode="json", exclude=_META | children)
    for name in _OPTIONAL:
        if data.get(name, 0) is None:
            del data[name]
    return data


def _content(data: dict[str, Any]) -> dict[str, Any]:
    """An item's data without the clinician's decisions (for accepted vs edited)."""
    return {k: v for k, v in data.items() if k not in _DECISIONS}


def _walk(doc: PlanDoc) -> list[tuple[str, PlanItem, str | None, str]]:
    """(kind, item, parent key, field path) in document order."""
    out: list[tuple[str, PlanItem, str | None, str]] = []
    for i, p in enumerate(doc.problems):
        out.append(("problem", p, None, f"problems[{i}]"))
        for j, g in enumerate(p.goals):
            gp = f"problems[{i}].goals[{j}]"
            out.append(("goal", g, p.key, gp))
            for k, o in enumerate(g.objectives):
                out.append(("objective", o, g.key, f"{gp}.objectives[{k}]"))
            for k, iv in enumerate(g.interventions):
                out.append(("intervention", iv, g.key, f"{gp}.interventions[{k}]"))
    if doc.treatment is not None:
        out.append(("treatment", doc.treatment, None, "treatment"))
    for name, kind in (("referrals", "referral"), ("assessments", "assessment"),
                       ("warnings", "warning")):
        for i, item in enumerate(getattr(doc, name)):
            out.append((kind, item, None, f"{name}[{i}]"))
    return out


def rows_from_doc(doc: PlanDoc, proposed: dict[str, str | None] | None = None
                  ) -> list[dict[str, Any]]:
    """Rows for a fully keyed document; `proposed` maps key -> proposal JSON (draft: own data)."""
    rows = []
    for pos, (kind, item, parent, _path) in enumerate(_walk(doc)):
        data = json.dumps(_data(item), sort_keys=True)
        origin = item.origin
        rows.append({
            "kind": kind, "key": item.key, "parent_key": parent, "position": pos,
            "origin": origin, "rejection_reason": item.rejection_reason,
            "proposed": (data if origin != "added" else None) if proposed is None
            else proposed.get(item.key or ""),
            "data": data, "because": json.dumps(item.because),
        })
    return rows


def resolve_rows(doc: PlanDoc, current: list[dict[str, Any]], file: str
                 ) -> list[dict[str, Any]]:
    """Key new items, compute every origin, check references; rows for the new content."""
    by_key = {r["key"]: r for r in current}
    walked = _walk(doc)
    used = {it.key for _, it, _, _ in walked if it.key}
    seen: set[str] = set()
    n = 0
    for kind, item, _parent, path in walked:
        k = item.key
        if k is None:
            n += 1
            while f"added.{kind}.{n}" in used or f"added.{kind}.{n}" in by_key:
                n += 1
            k = f"added.{kind}.{n}"
            used.add(k)
            item.key = k
        elif k in seen:
            raise InputError(f"key {k!r} is used twice", file=file, field=f"{path}.key")
        seen.add(k)
        old = by_key.get(k)
        if old is not None and old["kind"] != kind:
            raise InputError(f"key {k!r} belongs to a {old['kind']}, not a {kind}",
                             file=file, field=f"{path}.key")
        proposed = old["proposed"] if old else None
        wanted = item.origin
        reason = item.rejection_reason
        origin: Origin
        if wanted == "proposed_rejected":
            if proposed is None:
                raise InputError("only a proposed item can be rejected; delete an added item "
                                 "instead", file=file, field=f"{path}.origin")
            if not (reason or "").strip():
                raise InputError("a rejected item needs a rejection_reason", file=file,
                                 field=f"{path}.rejection_reason")
            origin = "proposed_rejected"
        else:
            if reason:
                raise InputError('rejection_reason is only for origin = "proposed_rejected"',
                                 file=file, field=f"{path}.rejection_reason")
            if proposed is None:
                origin = "added"
            elif _content(json.loads(proposed)) == _content(_data(item)):
                origin = "proposed_accepted"
            else:
                origin = "proposed_edited"
        item.origin = origin
        if origin == "added" and old is None and item.because:
            raise InputError("because lists the engine's rules; leave it empty for an added "
                             "item", file=file, field=f"{path}.because")
        if old is not None:
            item.because = json.loads(old["because"])
    missing = [r["key"] for r in current if r["proposed"] is not None and r["key"] not in seen]
    if missing:
        raise InputError(f"proposed item {missing[0]!r} is missing; to drop a proposed item "
                         'keep it with origin = "proposed_rejected" and a rejection_reason',
                         file=file)
    for i, p in enumerate(doc.problems):
        for j, g in enumerate(p.goals):
            keys = {iv.key for iv in g.interventions}
            for n_o, o in enumerate(g.objectives):
                for m, ref in enumerate(o.interventions):
                    if ref not in keys:
                        raise InputError(
                            f"{ref!r} is not an intervention of this goal",
                            file=file,
                            field=f"problems[{i}].goals[{j}].objectives[{n_o}].interventions[{m}]")
    return rows_from_doc(doc, {r["key"]: r["proposed"] for r in current})


# --- writing ---------------------------------------------------------------------------

def insert_rows(c: Conn, version_id: int, rows: list[dict[str, Any]]) -> None:
    """Insert `rows` into a version (a new version's rows, or those a draft edit adds)."""
    if not rows:
        return
    cols = sorted(set().union(*rows))
    c.raw.executemany(
        f"INSERT INTO plan_items (version_id, {', '.join(cols)}) "
        f"VALUES (?, {', '.join('?' for _ in cols)})",
        [(version_id, *(r.get(col) for col in cols)) for r in rows])


def rewrite_rows(c: Conn, version_id: int, current: list[dict[str, Any]],
                 rows: list[dict[str, Any]]) -> None:
    """A draft's items become `rows`, touching only the rows that differ (by key, unique in
    a version): an edit of one objective writes one row, not the whole plan (each write
    runs the signed-version triggers). The result is the same rows as deleting every item
    and inserting `rows`; nothing reads item ids."""
    old = {r["key"]: r for r in current}
    new = {r["key"]: r for r in rows}
    gone = [k for k in old if k not in new]
    if gone:
        c.raw.executemany("DELETE FROM plan_items WHERE version_id = ? AND key = ?",
                          [(version_id, k) for k in gone])
    changed = [r for k, r in new.items() if k in old and old[k] != r]
    if changed:
        cols = sorted(set().union(*changed) - {"key"})
        c.raw.executemany(
            f"UPDATE plan_items SET {', '.join(f'{col} = ?' for col in cols)} "
            "WHERE version_id = ? AND key = ?",
            [(*(r.get(col) for col in cols), version_id, r["key"]) for r in changed])
    insert_rows(c, version_id, [r for k, r in new.items() if k not in old])
