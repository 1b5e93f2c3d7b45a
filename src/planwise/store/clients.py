"""Clients (current information) and their intakes. Every write is audited."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from planwise.errors import InputError
from planwise.store import ids
from planwise.store.db import Conn, now
from planwise.text import refuse_controls

if TYPE_CHECKING:
    from planwise.intake_io import ScoredIntake
    from planwise.kb.loader import KnowledgeBase
    from planwise.store.models import ClientDoc, ClientInfo

# The document models are imported where they are used: `planwise client list` reads
# rows only, and building pydantic classes cost it most of its cold start (issue 12).


def add_client(c: Conn, name: str) -> int:
    from pydantic import ValidationError

    from planwise.store.models import ClientInfo

    try:
        info = ClientInfo(name=name)
    except ValidationError as exc:  # the message must not quote the name
        what = exc.errors()[0]["msg"].replace("String should", "should")
        raise InputError(f"the client's name {what}", field="name") from None
    refuse_controls(info.name, "name")
    with c.transaction():
        cid = c.insert("clients", {"name": info.name, "info": _info_json(info),
                                   "created_at": now(), "updated_at": now()})
        c.audit("client.add", "client", ids.fmt("client", cid), client_id=cid)
    return cid


def _info_json(info: ClientInfo) -> str:
    return json.dumps(info.model_dump(mode="json", exclude={"name"}), sort_keys=True)


def get_row(c: Conn, client_id: int) -> dict[str, Any]:
    row = c.one("SELECT * FROM clients WHERE id = ?", [client_id])
    if row is None:
        raise InputError(f"no client {ids.fmt('client', client_id)}")
    return row


def get_client(c: Conn, client_id: int) -> ClientInfo:
    from planwise.store.models import ClientInfo

    row = get_row(c, client_id)
    return ClientInfo.model_validate({**json.loads(row["info"]), "name": row["name"]})


def list_clients(c: Conn, search: str | None = None) -> list[dict[str, Any]]:
    if search:
        like = "%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        return c.query("SELECT id, name, updated_at FROM clients WHERE name LIKE ? ESCAPE '\\' "
                       "ORDER BY name COLLATE NOCASE, id", [like])
    return c.query("SELECT id, name, updated_at FROM clients ORDER BY name COLLATE NOCASE, id")


def export_client(c: Conn, client_id: int) -> str:
    from planwise.store.models import ClientDoc
    from planwise.store.tomlio import dump_toml

    info = get_client(c, client_id)
    doc = ClientDoc(id=ids.fmt("client", client_id), **info.model_dump())
    return dump_toml(doc.model_dump(mode="python", by_alias=True))


def edit_client(c: Conn, client_id: int, file: str) -> bool:
    """Replace the client's information from a TOML file. False when nothing changed."""
    from planwise.store.models import ClientDoc, ClientInfo
    from planwise.store.tomlio import load_doc

    doc: ClientDoc = load_doc(ClientDoc, file, redact=True)
    if ids.parse("client", doc.id) != client_id:
        raise InputError(f"this file is for client {doc.id}, not "
                         f"{ids.fmt('client', client_id)}", file=file, field="id")
    info = ClientInfo.model_validate(doc.model_dump(exclude={"schema_", "id"}))
    refuse_controls(info.model_dump(mode="json"), file=file)
    return save_client_info(c, client_id, info)


def save_client_info(c: Conn, client_id: int, info: ClientInfo) -> bool:
    """Replace the client's information with one held in memory (the terminal interface).

    The stored row is re-read inside the write transaction; audited like `edit_client`
    (the names of the changed fields, never their values). False when nothing changed.
    """
    from planwise.store.models import ClientInfo

    refuse_controls(info.model_dump(mode="json"))  # an escape sequence is no contact detail
    with c.transaction():
        row = get_row(c, client_id)
        old = ClientInfo.model_validate({**json.loads(row["info"]), "name": row["name"]})
        if old == info:
            return False
        changed = sorted(k for k in ClientInfo.model_fields
                         if getattr(old, k) != getattr(info, k))
        c.raw.execute("UPDATE clients SET name = ?, info = ?, updated_at = ?, "
                      "row_version = row_version + 1 WHERE id = ?",
                      [info.name, _info_json(info), now(), client_id])
        c.audit("client.edit", "client", ids.fmt("client", client_id), client_id=client_id,
                detail={"fields": changed})
    return True


# --- intakes -----------------------------------------------------------------------

def add_intake(c: Conn, client_id: int, intake_file: str, kb: KnowledgeBase | None = None
               ) -> int:
    """Validate and score an intake file and store it for the client; returns its id."""
    from planwise.intake_io import load_intake

    return store_scored_intake(c, client_id, load_intake(intake_file, _kb(kb)))


def add_intake_data(c: Conn, client_id: int, data: dict[str, Any],
                    kb: KnowledgeBase | None = None) -> int:
    """The same for an intake held in memory (the terminal interface's form)."""
    from planwise.intake_io import intake_from_data

    return store_scored_intake(c, client_id, intake_from_data(data, _kb(kb)))


def _kb(kb: KnowledgeBase | None) -> KnowledgeBase:
    from planwise.kb.loader import load_knowledge

    return kb if kb is not None else load_knowledge([])


def store_scored_intake(c: Conn, client_id: int, scored: ScoredIntake) -> int:
    data = scored.intake.model_dump(mode="json", by_alias=True)
    scores = [s.model_dump(mode="json") for s in scored.scores]
    with c.within():  # a step of `plan draft` when the intake comes with it
        get_row(c, client_id)
        iid = c.insert("intakes", {
            "client_id": client_id, "date": scored.intake.date.isoformat(),
            "data": json.dumps(data, sort_keys=True), "scores": json.dumps(scores),
            "created_at": now()})
        # The intake's scores are the baseline of the client's repeated measures.
        answers = data.get("instruments") or {}
        for s in scores:
            raw = answers.get(s["instrument"])
            c.insert("measures", {
                "client_id": client_id, "instrument": s["instrument"],
                "date": scored.intake.date.isoformat(), "total": s["total"], "band": s["band"],
                "flags": json.dumps(s.get("flags") or []),
                "answers": json.dumps(raw) if raw is not None else None,
                "source": "intake", "intake_id": iid, "created_at": now()})
        c.audit("intake.add", "intake", ids.fmt("intake", iid), client_id=client_id,
                detail={"date": scored.intake.date.isoformat(),
                        "instruments": [s["instrument"] for s in scores]})
    return iid


def get_intake(c: Conn, intake_id: int) -> dict[str, Any]:
    row = c.one("SELECT * FROM intakes WHERE id = ?", [intake_id])
    if row is None:
        raise InputError(f"no intake {ids.fmt('intake', intake_id)}")
    return {**row, "data": json.loads(row["data"]), "scores": json.loads(row["scores"])}


def list_intakes(c: Conn, client_id: int) -> list[dict[str, Any]]:
    return [{**r, "scores": json.loads(r["scores"])} for r in c.query(
        "SELECT id, date, scores, created_at FROM intakes WHERE client_id = ? ORDER BY date, id",
        [client_id])]
