"""Repeated measures: any instrument given again, kept per client over time.

Every score a client has lives in the `measures` table (migration 6): the
intake's scores are the baseline (source 'intake', copied when the intake is
stored), later ones come from `planwise measure add` (source 'measure') or
from a session note (source 'session', linked to the session). Rows are
clinical records and append-only: the database refuses UPDATE and DELETE.

A series is one instrument's scores for one client in date order (ties by id).
Its first row is the baseline; every later row carries the change since the
baseline as judged by `planwise.clinical.progress.classify` (docs/progress.md).

Answers are typed as on the command line (`parse_answers`):

- list instruments (PHQ-9, GAD-7, AUDIT, ...): one whole number per item,
  in item order: `1,1,0,1,0,1,0,0,0` (or separated by spaces). Every item must be answered: the
  instruments' scoring has no rule for a missing item, so a blank or `-` is
  refused rather than guessed.
- ASQ: `wish_dead=no,better_off_dead=no,thoughts=no,attempt_ever=no` (yes/no,
  y/n, true/false or 1/0). The acuity question `thoughts_now` may be left out,
  as NIMH asks it only after a yes.
- MDQ: `symptoms=1101100110000,same_period=yes,impairment=moderate` (the 13
  symptom answers as 1/0 or y/n, optionally separated by spaces or `;`).

Audit rows (`measure.add`) hold ids and numbers only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from planwise.clinical.instruments import MDQ_KEYS, Instrument
from planwise.dates import parse_date
from planwise.errors import InputError
from planwise.store import ids
from planwise.store.db import Conn, now
from planwise.text import excerpt

_YES = {"yes", "y", "true", "1"}
_NO = {"no", "n", "false", "0"}


# --- parsing ------------------------------------------------------------------------------

def parse_answers(inst: Instrument, text: str, option: str = "--answers") -> Any:
    """The answers typed on the command line, in the shape `Instrument.score` takes.

    InputError names `option` (`--answers`, or `--measure phq9` for a session)
    and the item. The result is scored by `add_measure`, which checks it again.
    """
    if inst.kind == "asq":
        return _parse_asq(inst, text, option)
    if inst.kind == "mdq":
        return _parse_mdq(inst, text, option)
    return _parse_list(inst, text, option)


def _parse_list(inst: Instrument, text: str, option: str) -> list[int]:
    n = inst.scoring.items
    text = text.strip()
    if "," not in text and len(text.split()) > 1:
        parts = text.split()  # `1 1 0 1 0 1 0 0 0` works too
    else:
        parts = [p.strip() for p in text.split(",")]
    if len(parts) == 1 and not parts[0]:
        raise InputError(f"{option}: no answers; give the {n} {inst.name} answers in item "
                         f"order, like {','.join(['0'] * n)}")
    if len(parts) != n:
        raise InputError(f"{option}: {inst.name} has {n} items, got {len(parts)} answers "
                         "(comma-separated, in item order)")
    out: list[int] = []
    for number, raw in enumerate(parts, start=1):
        allowed = inst.allowed_values(number)
        span = _span(allowed)
        if raw in ("", "-"):
            raise InputError(f"{option}: {inst.name} item {number} has no answer; every item "
                             f"must be answered ({span})")
        if not re.fullmatch(r"-?\d+", raw) or int(raw) not in allowed:
            raise InputError(f"{option}: {inst.name} item {number} takes {span}, got "
                             f"{raw[:10]!r}")
        out.append(int(raw))
    return out


def _span(allowed: list[int]) -> str:
    if allowed == list(range(allowed[0], allowed[-1] + 1)):
        return f"{allowed[0]}-{allowed[-1]}"
    return ", ".join(str(v) for v in allowed)


def _pairs(inst: Instrument, text: str, option: str, keys: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in [p.strip() for p in text.split(",") if p.strip()]:
        m = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)", part)
        if not m:
            raise InputError(f"{option}: {inst.name} answers are KEY=ANSWER, separated by "
                             f"commas (keys: {', '.join(keys)})")
        key, value = m.group(1).lower(), m.group(2).strip()
        if key not in keys:
            raise InputError(f"{option}: unknown {inst.name} item {excerpt(key)} (items: "
                             f"{', '.join(keys)})")
        if key in out:
            raise InputError(f"{option}: {inst.name} item {key} is given twice")
        out[key] = value
    return out


def _yes_no(inst: Instrument, key: str, value: str, option: str) -> bool:
    v = value.lower()
    if v in _YES:
        return True
    if v in _NO:
        return False
    raise InputError(f"{option}: {inst.name} item {key} takes yes or no, got {value[:10]!r}")


def _parse_asq(inst: Instrument, text: str, option: str) -> dict[str, bool]:
    keys = [str(i.key) for i in inst.items]
    pairs = _pairs(inst, text, option, keys)
    acute = inst.item(inst.scoring.acute_item).key if inst.scoring.acute_item else None
    for item in inst.items:
        if item.key not in pairs and item.key != acute:
            raise InputError(f"{option}: {inst.name} item {item.number} ({item.key}) has no "
                             "answer; answer yes or no")
    return {k: _yes_no(inst, k, pairs[k], option) for k in keys if k in pairs}


def _parse_mdq(inst: Instrument, text: str, option: str) -> dict[str, Any]:
    pairs = _pairs(inst, text, option, list(MDQ_KEYS))
    for key in MDQ_KEYS:
        if key not in pairs:
            raise InputError(f"{option}: {inst.name} {key} has no answer (give "
                             "symptoms=..., same_period=yes|no, impairment=LEVEL)")
    n = inst.scoring.items
    marks = re.sub(r"[\s;/]", "", pairs["symptoms"]).lower()
    if len(marks) != n:
        raise InputError(f"{option}: {inst.name} symptoms needs {n} answers (1/0 or y/n, "
                         f"like {'0' * n}), got {len(marks)}")
    symptoms: list[bool] = []
    for number, ch in enumerate(marks, start=1):
        if ch not in "01yn":
            raise InputError(f"{option}: {inst.name} item {number} takes 1/0 or y/n, "
                             f"got {ch!r}")
        symptoms.append(ch in "1y")
    levels = inst.scoring.impairment_levels or []
    impairment = pairs["impairment"].lower()
    if impairment not in levels:
        raise InputError(f"{option}: {inst.name} impairment must be one of "
                         f"{', '.join(levels)}")
    return {"symptoms": symptoms,
            "same_period": _yes_no(inst, "same_period", pairs["same_period"], option),
            "impairment": impairment}


# --- change -------------------------------------------------------------------------------

def _change(inst: Instrument | None, base: Mapping[str, Any], total: int,
            memo: dict[tuple[str, int, int], dict[str, Any]] | None = None) -> dict[str, Any]:
    """classify() as a dict, with the baseline's id and date; never raises."""
    from planwise.clinical.progress import classify

    key = (base["instrument"], int(base["total"]), total)
    if memo is not None and key in memo:
        out = dict(memo[key])
    else:
        try:
            if inst is None:
                raise InputError("not in the knowledge base")
            out = classify(inst, int(base["total"]), total).model_dump()
        except InputError:  # the instrument is gone, or its range changed since
            out = {"instrument": base["instrument"], "baseline": int(base["total"]),
                   "current": total, "change": total - int(base["total"]),
                   "improvement": None, "change_class": "not_classified", "threshold": None,
                   "rc_index": None, "recovered": None, "response": None, "remission": None,
                   "explain": f"{base['instrument']}: change is not classified (the instrument "
                              "is not in the knowledge base, or the totals are outside its "
                              "range)."}
        if memo is not None:
            memo[key] = dict(out)
    out["baseline_id"] = base["id"]
    out["baseline_date"] = base["date"]
    return out


def find_instrument(name: str, instruments: Mapping[str, Instrument]) -> Instrument | None:
    """By id (`phq9`), or by the name users see (`PHQ-9`), in any case."""
    key = name.strip()
    if key.lower() in instruments:
        return instruments[key.lower()]
    return next((i for i in instruments.values() if i.name.lower() == key.lower()), None)


# --- writing ------------------------------------------------------------------------------

def add_measure(c: Conn, client_id: int, instrument: str, answers: Any, date: str | None,
                instruments: dict[str, Instrument] | None = None,
                session_id: int | None = None,
                remote_request: str | None = None) -> dict[str, Any]:
    """Score and store one administration of an instrument for a client.

    `answers` is what `Instrument.score` takes, or the command-line text
    (`parse_answers`). Returns {id, instrument, name, date, total, band,
    band_label, flags, source, session_id, change}; `change` is None for the
    first score of the instrument, else `classify` against the baseline as a
    dict (plus baseline_id and baseline_date). `date` None: the session's date with
    `session_id` (a different date is refused), else today. Nothing is saved on error;
    inside the caller's transaction (a session note) an error rolls the whole back.
    """
    from planwise.store.clients import get_row

    if instruments is None:
        from planwise.clinical.instrument_files import load_instruments

        instruments = load_instruments()
    inst = find_instrument(instrument, instruments)
    if inst is None:
        raise InputError(f"unknown instrument {instrument[:40]!r} (known: "
                         f"{', '.join(sorted(instruments))})")
    if isinstance(answers, str):
        answers = parse_answers(inst, answers)
    day = parse_date(date).isoformat() if date is not None else None
    scored = inst.score(answers, field_prefix="--answers")
    with c.within():
        get_row(c, client_id)
        plan_id = None
        if session_id is not None:
            s = c.one("SELECT s.plan_id, s.date, p.client_id FROM sessions s JOIN plans p ON "
                      "p.id = s.plan_id WHERE s.id = ?", [session_id])
            if s is None:
                raise InputError(f"no session {ids.fmt('session', session_id)}")
            if s["client_id"] != client_id:
                raise InputError(f"session {ids.fmt('session', session_id)} is not one of "
                                 f"{ids.fmt('client', client_id)}'s sessions")
            if day is not None and day != s["date"]:
                raise InputError(f"--date {day}: {ids.fmt('session', session_id)} was on "
                                 f"{s['date']}, and a measure given at a session has its date")
            plan_id, day = s["plan_id"], s["date"]
        if day is None:
            from planwise.dates import today

            day = today().isoformat()
        # A remote response's measures name their request in the (chained) audit row.
        source = ("session" if session_id is not None else
                  "remote" if remote_request is not None else "measure")
        mid = c.insert("measures", {
            "client_id": client_id, "instrument": inst.id, "date": day,
            "total": scored.total, "band": scored.band, "flags": json.dumps(scored.flags),
            "answers": json.dumps(answers), "source": source, "session_id": session_id,
            "created_at": now()})
        base = c.one("SELECT id, instrument, date, total FROM measures WHERE client_id = ? "
                     "AND instrument = ? ORDER BY date, id LIMIT 1", [client_id, inst.id])
        assert base is not None
        change = None if base["id"] == mid else _change(inst, base, scored.total)
        c.audit("measure.add", "measure", ids.fmt("measure", mid), client_id=client_id,
                plan_id=plan_id, detail={
                    "instrument": inst.id, "date": day, "total": scored.total,
                    "source": source, "session": session_id,
                    **({"request": remote_request} if remote_request else {}),
                    "change_class": change["change_class"] if change else None})
    return {"id": mid, "instrument": inst.id, "name": inst.name, "date": day,
            "total": scored.total, "band": scored.band, "band_label": scored.band_label,
            "flags": list(scored.flags), "source": source, "session_id": session_id,
            "change": change}


# --- reading ------------------------------------------------------------------------------

def _decode(r: dict[str, Any]) -> dict[str, Any]:
    return {"id": r["id"], "instrument": r["instrument"], "date": r["date"],
            "total": r["total"], "band": r["band"], "flags": json.loads(r["flags"] or "[]"),
            "answers": json.loads(r["answers"]) if r["answers"] is not None else None,
            "source": r["source"], "session_id": r["session_id"], "intake_id": r["intake_id"],
            "session": r.get("session"), "created_at": r["created_at"]}


def list_measures(c: Conn, client_id: int, instrument: str | None = None
                  ) -> list[dict[str, Any]]:
    """The client's measures ordered by instrument, date, id; flags and answers decoded.

    `session` is the session's number in its plan (None when not given at a session).
    """
    from planwise.store.clients import get_row

    get_row(c, client_id)
    sql = ("SELECT m.*, s.number AS session FROM measures m LEFT JOIN sessions s ON "
           "s.id = m.session_id WHERE m.client_id = ?")
    params: list[Any] = [client_id]
    if instrument is not None:
        sql += " AND m.instrument = ?"
        params.append(instrument)
    return [_decode(r) for r in c.query(sql + " ORDER BY m.instrument, m.date, m.id", params)]


def series(c: Conn, client_id: int, instruments: dict[str, Instrument] | None = None
           ) -> dict[str, list[dict[str, Any]]]:
    """Per instrument, the client's scores in date order; each row has `change` against
    the first row (None for the first), judged by `classify`."""
    if instruments is None:
        from planwise.clinical.instrument_files import load_instruments

        instruments = load_instruments()
    out: dict[str, list[dict[str, Any]]] = {}
    memo: dict[tuple[str, int, int], dict[str, Any]] = {}
    for r in list_measures(c, client_id):
        rows = out.setdefault(r["instrument"], [])
        r["change"] = (None if not rows else
                       _change(instruments.get(r["instrument"]), rows[0], r["total"], memo))
        rows.append(r)
    return out


# --- text ---------------------------------------------------------------------------------

CLASS_TEXT = {"reliably_improved": "reliably improved",
              "no_reliable_change": "no reliable change",
              "reliably_deteriorated": "reliably deteriorated",
              "not_classified": "not classified"}


def change_words(ch: Mapping[str, Any]) -> str:
    """`7 points better, reliably improved; recovered` (short, for lists and tables)."""
    imp = ch.get("improvement")
    if imp is None:
        d = int(ch["change"])
        size = "no change" if d == 0 else f"{d:+d} points"
    elif imp == 0:
        size = "no change"
    else:
        size = f"{abs(imp)} point{'' if abs(imp) == 1 else 's'} " \
               f"{'better' if imp > 0 else 'worse'}"
    extra = [name for name in ("recovered", "response", "remission") if ch.get(name)]
    text = f"{size}, {CLASS_TEXT.get(ch['change_class'], ch['change_class'])}"
    return text + ("; " + ", ".join(extra) if extra else "")


def describe(m: Mapping[str, Any], instruments: dict[str, Instrument] | None = None) -> str:
    """What `measure add` prints: the score, the change since the baseline with its
    explanation, and any flag raised (e.g. PHQ-9 item 9)."""
    name = m.get("name") or m["instrument"]
    lines = [f"{ids.fmt('measure', m['id'])}: {name} = {m['total']} ({m['band']}) "
             f"on {m['date']}"]
    ch = m.get("change")
    if ch is None:
        lines[0] += "; the first score of this instrument: the baseline"
    else:
        lines[0] += (f"; since baseline {ch['baseline']} on {ch['baseline_date']}: "
                     f"{change_words(ch)}")
        lines.append(f"  {ch['explain']}")
    inst = (instruments or {}).get(m["instrument"])
    described = {f.name: f.description for f in inst.flags} if inst else {}
    for flag in m.get("flags") or []:
        lines.append(f"  flag {flag}: {described.get(flag, 'see the instrument')}")
    return "\n".join(lines)
