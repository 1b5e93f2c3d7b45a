"""The request packet: one self-contained HTML file (docs/remote.md).

The page (page/packet.html, .css, .js) carries the request JSON the exchange spec
fixes (`planwise-request`) and the form itself (`planwise-form`: items, options, the
risk rules and the practice's crisis contacts). Its Content-Security-Policy allows
nothing but its own script and style, by hash: no network, no images, no frames.
Only instruments whose licence allows their item text can be asked (`askable`).
No client name is in the file: the request id is the only link back.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
from functools import cache
from importlib import resources
from typing import Any

from planwise.clinical.instruments import Instrument
from planwise.errors import InputError


@cache
def _asset(name: str) -> str:
    return resources.files("planwise.remote").joinpath("page", name).read_text("utf-8")


def _hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def csp(script: str, style: str) -> str:
    return (f"default-src 'none'; script-src {_hash(script)}; style-src {_hash(style)}; "
            "img-src 'none'; connect-src 'none'; font-src 'none'; media-src 'none'; "
            "object-src 'none'; frame-src 'none'; worker-src 'none'; manifest-src 'none'; "
            "form-action 'none'; base-uri 'none'")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def refusal(inst: Instrument) -> str | None:
    """Why this instrument cannot go in a packet, or None."""
    if not inst.item_text_allowed or any(not it.text for it in inst.items):
        return (f"{inst.name}: its licence does not allow planwise to show the item text "
                f"({_first_sentence(inst.licence)}); give it in the session instead")
    if inst.kind not in ("sum", "asq"):
        return f"{inst.name}: the page cannot ask {inst.kind}-shaped answers"
    return None


def _first_sentence(text: str) -> str:
    one = " ".join(text.split())
    cut = one.find(". ")
    return (one if cut < 0 else one[:cut])[:200].rstrip(".")


def askable(names: list[str], catalog: dict[str, Instrument]) -> list[Instrument]:
    """The instruments named, in order; InputError naming each one refused and why."""
    from planwise.store.measures import find_instrument

    out: list[Instrument] = []
    problems: list[str] = []
    for name in names:
        inst = find_instrument(name, catalog)
        if inst is None:
            problems.append(f"unknown instrument {name[:40]!r} (known: "
                            f"{', '.join(sorted(catalog))})")
        elif inst in out:
            problems.append(f"{inst.name} is named twice")
        elif (why := refusal(inst)) is not None:
            problems.append(why)
        else:
            out.append(inst)
    if problems:
        raise InputError("; ".join(problems), field="INSTRUMENT")
    if not out:
        raise InputError("name at least one instrument (e.g. phq9,gad7)", field="INSTRUMENT")
    return out


def risk_rules(inst: Instrument) -> list[dict[str, int]]:
    """The answers that signal risk: a yes to any question of a yes/no suicide screen
    (ASQ), else a critical item's flag (PHQ-9 item 9 above 0). The page shows the crisis
    contacts on them; the import flags the client on them."""
    if inst.kind == "asq":
        return [{"item": it.number, "at_least": 1} for it in inst.items]
    return [{"item": f.item, "at_least": f.at_least} for f in inst.flags
            if f.item is not None and f.at_least is not None and f.item in inst.critical_items]


def _form_instrument(inst: Instrument) -> dict[str, Any]:
    acute = inst.scoring.acute_item if inst.kind == "asq" else None
    return {
        "id": inst.id, "name": inst.name, "title": inst.title, "kind": inst.kind,
        "stem": inst.stem,
        "items": [{"number": it.number, "key": it.key, "text": it.text,
                   "conditional": it.number == acute,
                   "options": [{"value": o.value, "label": o.label}
                               for o in inst.options_for(it.number)]}
                  for it in inst.items],
        "risk": risk_rules(inst)}


def _json_in_script(data: Any) -> str:
    # `<` escaped so no text can close the script element early.
    return json.dumps(data, ensure_ascii=False, sort_keys=False).replace("<", "\\u003c")


def build(request: dict[str, Any], practice_name: str, contacts: list[str] | tuple[str, ...],
          instruments: list[Instrument], feedback: bool, public_spki: bytes) -> str:
    """The packet's HTML for a stored request row."""
    from planwise.clinical.feedback import load_form

    head = {"v": 1, "request": request["id"], "practice": practice_name,
            "instruments": [i.id for i in instruments], "feedback": feedback,
            "issued": request["issued"], "expires": request["expires"],
            "public_key": b64url(public_spki)}
    form: dict[str, Any] = {"instruments": [_form_instrument(i) for i in instruments],
                            "contacts": list(contacts), "feedback": None}
    if feedback:
        fb = load_form()
        form["feedback"] = {
            "intro": "Each answer is 0 to 10. Honest answers help your therapist most; "
                     "there are no right ones.",
            "items": [{"id": i.id, "question": i.question, "low": i.low, "high": i.high}
                      for i in fb.items]}
    script, style = _asset("packet.js"), _asset("packet.css")
    title = f"{practice_name}: questionnaire"
    intro = (f"Your therapist at {practice_name} asks you to answer "
             f"{_count(len(instruments), feedback)} before {request['expires']}. It takes a "
             "few minutes. Everything stays on this device until you send the sealed "
             "answers yourself.")
    values = {"CSP": html.escape(csp(script, style), quote=False), "TITLE": html.escape(title),
              "INTRO": html.escape(intro), "REQUEST_JSON": _json_in_script(head),
              "FORM_JSON": _json_in_script(form), "STYLE": style, "SCRIPT": script}
    # One pass, so a practice name cannot bring in a placeholder of its own.
    return re.sub(r"\{\{([A-Z_]+)\}\}", lambda m: values[m.group(1)], _asset("packet.html"))


def _count(n: int, feedback: bool) -> str:
    words = "one short questionnaire" if n == 1 else f"{n} short questionnaires"
    return words + (" and a few questions about our sessions" if feedback else "")
