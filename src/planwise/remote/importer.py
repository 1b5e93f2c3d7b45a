"""`planwise measure import`: open a sealed response, check it, store it.

Refused with InputError (exit 2) and nothing saved, in this order: text that holds no
sealed response; an unknown, already used or expired request; an envelope that does
not decrypt or authenticate; a payload whose request id differs from the envelope's;
instruments not requested (or requested and missing, or given twice); answers out of
range; feedback not asked for, or missing; a completion day before the request was
issued or after today.

Stored in one transaction: each measure through `add_measure` (source 'remote', dated on
completion, classified against the client's baseline like any other), the response row
(feedback, risk), the request marked used, and audit rows: `remote.import` always, and
`remote.risk` when an answer signalled risk (the dashboard then lists the client first
until a session is held on or after the completion day).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from planwise.clinical.instruments import Instrument
from planwise.errors import InputError
from planwise.store.db import Conn, now


def _check_request(c: Conn, rid: str, today: dt.date) -> dict[str, Any]:
    from planwise.remote.requests import get_request

    req = get_request(c, rid)
    if req is None:
        raise InputError(f"unknown request {rid}: this database never issued it (another "
                         "practice's or another database's response?)")
    if req["used_at"]:
        raise InputError(f"request {rid} was already used: its response was imported at "
                         f"{req['used_at']}; a request is answered once")
    if req["expires"] < today.isoformat():
        raise InputError(f"request {rid} expired on {req['expires']}; send the client a new "
                         "request")
    return req


def _completed(payload: dict[str, Any], req: dict[str, Any], today: dt.date) -> str:
    raw = payload.get("completed")
    try:
        day = dt.date.fromisoformat(raw) if isinstance(raw, str) and len(raw) == 10 else None
    except ValueError:
        day = None
    if day is None:
        raise InputError("the response's completion date is not a date (YYYY-MM-DD)")
    if day.isoformat() < req["issued"]:
        raise InputError(f"the response says it was completed on {day}, before the request "
                         f"was issued ({req['issued']})")
    if day > today:
        raise InputError(f"the response says it was completed on {day}, after today "
                         f"({today.isoformat()})")
    return day.isoformat()


def _measures(payload: dict[str, Any], req: dict[str, Any],
              catalog: dict[str, Instrument]) -> list[tuple[Instrument, Any, bool]]:
    """(instrument, answers, risk) in the request's order, each scored once to check it."""
    from planwise.remote.packet import risk_rules

    given = payload.get("measures")
    if not isinstance(given, list) or not all(isinstance(m, dict) for m in given):
        raise InputError("the response's measures are not a list of {instrument, answers}")
    seen: dict[str, Any] = {}
    for m in given:
        name = m.get("instrument")
        if not isinstance(name, str) or name not in req["instruments"]:
            raise InputError(f"the response holds {str(name)[:20]!r}, which was not "
                             f"requested (requested: {', '.join(req['instruments'])})")
        if name in seen:
            raise InputError(f"the response holds {name} twice")
        seen[name] = m.get("answers")
    missing = [i for i in req["instruments"] if i not in seen]
    if missing:
        raise InputError(f"the response lacks {', '.join(missing)}, which was requested")
    out = []
    for name in req["instruments"]:
        inst = catalog.get(name)
        if inst is None:
            raise InputError(f"{name} is no longer in the knowledge base; cannot score it")
        answers = seen[name]
        inst.score(answers, field_prefix=f"measures.{name}")  # InputError: item and range
        risk = False
        if inst.kind == "asq":
            risk = any(v is True for v in answers.values())
        else:
            risk = any(answers[r["item"] - 1] >= r["at_least"] for r in risk_rules(inst))
        out.append((inst, answers, risk))
    return out


def _feedback(payload: dict[str, Any], req: dict[str, Any]) -> dict[str, int] | None:
    from planwise.clinical.feedback import check_answers

    fb = payload.get("feedback")
    if not req["feedback"]:
        if fb is not None:
            raise InputError("the response holds feedback, which was not requested")
        return None
    if not isinstance(fb, dict) or any(isinstance(v, bool) or not isinstance(v, int)
                                       for v in fb.values()):
        raise InputError("the response lacks the feedback that was requested (item: 0-10)")
    try:
        return check_answers({str(k): v for k, v in fb.items()})
    except InputError as exc:
        raise InputError("the response's feedback: " + exc.message.removeprefix(
            "--feedback: ").removeprefix("--feedback ")) from None


def import_response(c: Conn, text: str, today: dt.date,
                    catalog: dict[str, Instrument] | None = None) -> dict[str, Any]:
    """Check and store one sealed response; returns {request, client_id, completed,
    measures (add_measure's results), feedback, risk}."""
    from planwise.remote.keys import load_key
    from planwise.remote.seal import open_envelope, unarmor
    from planwise.store import measures

    if catalog is None:
        from planwise.clinical.instrument_files import load_instruments

        catalog = load_instruments()
    env = unarmor(text)
    rid = env["request"]
    req = _check_request(c, rid, today)
    payload = open_envelope(env, load_key(req["key_id"]).private)
    if payload.get("request") != rid:
        raise InputError(f"the sealed payload names request {str(payload.get('request'))[:20]!r}"
                         f", not the envelope's {rid}: refused as tampered")
    if payload.get("v") != 1:
        raise InputError("the response's payload is not version 1")
    completed = _completed(payload, req, today)
    scored = _measures(payload, req, catalog)
    feedback = _feedback(payload, req)
    risk = any(r for _i, _a, r in scored)
    with c.transaction():
        _check_request(c, rid, today)  # another import may have won the race meanwhile
        results = [measures.add_measure(c, req["client_id"], inst.id, answers, completed,
                                        catalog, remote_request=rid)
                   for inst, answers, _r in scored]
        c.insert("remote_responses", {
            "request_id": rid, "client_id": req["client_id"], "completed": completed,
            "feedback": json.dumps(feedback) if feedback is not None else None,
            "risk": int(risk), "created_at": now()})
        c.raw.execute("UPDATE remote_requests SET used_at = ? WHERE id = ?", [now(), rid])
        c.audit("remote.import", "request", rid, client_id=req["client_id"], detail={
            "measures": [r["id"] for r in results], "completed": completed,
            "feedback": feedback, "risk": risk})
        if risk:
            c.audit("remote.risk", "request", rid, client_id=req["client_id"], detail={
                "instruments": [i.id for i, _a, r in scored if r], "completed": completed})
    return {"request": rid, "client_id": req["client_id"], "completed": completed,
            "measures": results, "feedback": feedback, "risk": risk}


def describe(result: dict[str, Any], catalog: dict[str, Instrument] | None = None) -> str:
    from planwise.clinical.feedback import summarise
    from planwise.remote.requests import RISK_REASON
    from planwise.store import ids, measures

    client = ids.fmt("client", result["client_id"])
    lines = [f"{result['request']}: response of {client} completed on {result['completed']} "
             "imported"]
    if result["risk"]:
        lines.insert(0, f"RISK: {client}: {RISK_REASON} (see planwise dashboard)")
    lines += [measures.describe(m, catalog) for m in result["measures"]]
    fb = result["feedback"]
    if fb is not None:
        s = summarise(fb)
        lines.append("feedback: " + ", ".join(f"{k} {v}" for k, v in fb.items())
                     + f" (mean {s.mean:g}, lowest {s.lowest})"
                     + ("; LOW: review the alliance" if s.low else ""))
    return "\n".join(lines)
