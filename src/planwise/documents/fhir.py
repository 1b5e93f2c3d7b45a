"""A plan version as a FHIR R4 `Bundle`: `planwise plan export PLAN --format fhir`.

The bundle (type `collection`) holds, in this order: the Patient; a Condition per
problem (ICD-10-CM coded where the problem has a code); a Goal per goal, its SMART
objectives as targets; the CarePlan with the treatment, interventions, referrals
and assessments as activities, and the risk level and warnings as notes; an
Observation per score the client has (LOINC coded where the instrument file has
a code); a QuestionnaireResponse per administration whose answers are stored; a
Provenance per signature. Rejected items are left out: the bundle is the plan in
force. docs/documents.md, "FHIR", describes each mapping.

Built as plain JSON (planwise.documents.fhir_resources) and validated by parsing
it with fhir.resources' R4B models: for these resources R4B is R4 on the wire.
fhir.resources is imported inside `validate` only (cold start, issue 12).

With `pseudonymise`, the Patient has no name, telecom, address, birth date or
contacts, its identifier is the client's pseudonym (planwise.documents.pseudonym),
the client's own signature names no one, and every text in the bundle has the
client's name (and each part of it) replaced by "[client]".
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from planwise.documents import fhir_resources as res
from planwise.store import ids

if TYPE_CHECKING:
    from planwise.store.db import Conn
    from planwise.store.export import PlanRecord

REDACTED = "[client]"
# A namespace of planwise's own for uuid5: the same export gives the same ids.
_NAMESPACE = uuid.UUID("0b5cf3c2-6f3e-5d0e-9c7a-3d4f6e1a2b9c")


def _uid(seed: str, key: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{seed}/{key}"))


def _record_bundle(rec: PlanRecord, measures: list[dict[str, Any]],
                   instruments: Mapping[str, Any], *, pseudonym: str,
                   pseudonymise: bool, current: bool) -> dict[str, Any]:
    # Ids are seeded by the pseudonym, not the client id: a pseudonymised bundle's uuids
    # cannot be recomputed from C1, C2, ... to find whose it is.
    seed = pseudonym
    entries: list[dict[str, Any]] = []
    uids: dict[str, str] = {}

    def key_of(kind: str, key: str) -> str:
        uids.setdefault(f"{kind}:{key}", _uid(seed, f"{rec.plan}/v{rec.version.version}/"
                                                    f"{kind}/{key}"))
        return f"{kind}:{key}"

    def ref(k: str) -> dict[str, str]:
        return {"reference": f"urn:uuid:{uids[k]}"}

    def add(resource: dict[str, Any]) -> None:
        entries.append({"fullUrl": f"urn:uuid:{resource['id']}", "resource": resource})

    doc = rec.document
    pk = key_of("patient", "patient")
    identifier = ({"system": "urn:planwise:pseudonym", "value": pseudonym} if pseudonymise
                  else {"system": "urn:planwise:client", "value": rec.client})
    add(res.patient(uids[pk], rec.client_info, identifier, pseudonymise))
    subject = ref(pk)

    keys: dict[str, str] = {}
    problems = [p for p in doc.problems if res.live(p)]
    for p in problems:
        keys[p.key or ""] = key_of("condition", p.key or "")
        add(res.condition(uids[keys[p.key or ""]], p, subject))
    for p in problems:
        for g in p.goals:
            if res.live(g):
                keys[g.key or ""] = key_of("goal", g.key or "")
                add(res.goal(uids[keys[g.key or ""]], g, subject, ref(keys[p.key or ""]),
                             rec.version.state, instruments))
    cp = key_of("careplan", "careplan")
    add(res.careplan(uids[cp], rec.plan, doc, rec.version.state, current,
                     _instant(rec.version.created_at), subject, ref, keys, instruments))

    # Answers live with the measures; the record's series carry the change since baseline.
    by_id = {m["id"]: m for m in measures}
    for series in rec.scores:
        inst = instruments.get(series.instrument)
        for s in series.scores:
            m = by_id.get(ids.parse("measure", s.id))
            derived = None
            if m is not None and m.get("answers") is not None:
                qk = key_of("questionnaire-response", s.id)
                add(res.questionnaire_response(uids[qk], inst, m, subject))
                derived = ref(qk)
            ok = key_of("observation", s.id)
            add(res.observation(uids[ok], inst, series.name, s, subject, derived))

    for n, sig in enumerate(rec.signatures):
        who = (subject if sig.role == "client" and pseudonymise
               else {**(subject if sig.role == "client" else {}), "display": sig.name})
        pv = key_of("provenance", str(n))
        add(res.provenance(uids[pv], _signed(sig), ref(cp), who))

    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "collection",
                              "id": _uid(seed, f"{rec.plan}/v{rec.version.version}/bundle"),
                              "entry": entries}
    if pseudonymise:
        bundle = _scrub(bundle, rec.client_info.name)
    return bundle


def _instant(value: str) -> str:
    """A stored timestamp as a FHIR instant (the store writes UTC ISO times)."""
    t = dt.datetime.fromisoformat(value)
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    # As fhir.resources writes it back, so the bundle round-trips unchanged.
    return t.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _signed(sig: Any) -> Any:
    return sig.model_copy(update={"signed_at": _instant(sig.signed_at)})


def _scrub(value: Any, name: str) -> Any:
    """Every string with the client's name, and each part of it of two letters or more,
    replaced (whole words, any case): free text typed by the therapist may name the
    client."""
    # An initial ("A", "A.") alone names no one and would take every "a" out of the text.
    parts = sorted({name.strip(), *(p for p in name.split()
                                    if len(re.sub(r"\W", "", p)) >= 2)},
                   key=len, reverse=True)
    parts = [p for p in parts if p]
    if not parts:
        return value
    pattern = re.compile(r"(?<!\w)(" + "|".join(re.escape(p) for p in parts) + r")(?!\w)",
                         re.IGNORECASE)

    def walk(v: Any) -> Any:
        if isinstance(v, str):
            return pattern.sub(REDACTED, v)
        if isinstance(v, list):
            return [walk(x) for x in v]
        if isinstance(v, dict):
            return {k: walk(x) for k, x in v.items()}
        return v

    return walk(value)


def build_bundle(c: Conn, plan_id: int, version: int | None = None, *,
                 pseudonymise: bool = False, today: dt.date | None = None) -> dict[str, Any]:
    """The plan version's bundle as JSON (a dict), not yet validated."""
    from planwise.clinical.instrument_files import load_instruments
    from planwise.documents.pseudonym import client_pseudonym
    from planwise.store.export import build_record
    from planwise.store.measures import list_measures
    from planwise.store.plan_read import current_version, get_plan

    rec = build_record(c, plan_id, version, today)
    client_id = int(get_plan(c, plan_id)["client_id"])
    current = current_version(c, plan_id)["version"] == rec.version.version
    return _record_bundle(rec, list_measures(c, client_id), load_instruments(),
                          pseudonym=client_pseudonym(c, client_id), pseudonymise=pseudonymise,
                          current=current)


# The codes FHIR R4 allows (required bindings) in the coded fields planwise fills:
# fhir.resources checks types, cardinality and formats, not value sets.
REQUIRED_CODES: dict[tuple[str, str], frozenset[str]] = {
    ("Bundle", "type"): frozenset({"collection"}),
    ("Observation", "status"): frozenset({"registered", "preliminary", "final", "amended"}),
    ("Goal", "lifecycleStatus"): frozenset({
        "proposed", "planned", "accepted", "active", "on-hold", "completed", "cancelled",
        "entered-in-error", "rejected"}),
    ("CarePlan", "status"): frozenset({"draft", "active", "on-hold", "revoked", "completed",
                                       "entered-in-error", "unknown"}),
    ("CarePlan", "intent"): frozenset({"proposal", "plan", "order", "option"}),
    ("QuestionnaireResponse", "status"): frozenset({"in-progress", "completed", "amended",
                                                    "entered-in-error", "stopped"}),
}
DETAIL_STATUS = frozenset({"not-started", "scheduled", "in-progress", "on-hold", "completed",
                           "cancelled", "stopped", "unknown", "entered-in-error"})


class FhirRuleError(ValueError):
    """A rule of FHIR's JSON that fhir.resources does not check was broken."""


def _check_json_rules(value: Any, path: str = "Bundle") -> None:
    """FHIR JSON has no empty arrays, objects or strings (R4, JSON representation)."""
    if isinstance(value, dict):
        if not value:
            raise FhirRuleError(f"{path}: an empty object")
        for k, v in value.items():
            _check_json_rules(v, f"{path}.{k}")
    elif isinstance(value, list):
        if not value:
            raise FhirRuleError(f"{path}: an empty array")
        for i, v in enumerate(value):
            _check_json_rules(v, f"{path}[{i}]")
    elif isinstance(value, str) and not value.strip():
        raise FhirRuleError(f"{path}: an empty string")


def _check_codes(bundle: Mapping[str, Any]) -> None:
    resources = [bundle] + [e.get("resource", {}) for e in bundle.get("entry", [])]
    for r in resources:
        kind = r.get("resourceType", "")
        for (rtype, field), allowed in REQUIRED_CODES.items():
            if rtype == kind and field in r and r[field] not in allowed:
                raise FhirRuleError(f"{kind}.{field}: {r[field]!r} is not an R4 code")
        for a in r.get("activity", []) if kind == "CarePlan" else []:
            status = a.get("detail", {}).get("status")
            if status not in DETAIL_STATUS:
                raise FhirRuleError(f"CarePlan.activity.detail.status: {status!r}")


def validate(bundle: Mapping[str, Any]) -> Any:
    """The bundle parsed by fhir.resources (R4B models): raises pydantic's ValidationError
    when a resource breaks FHIR's structure (types, required elements, formats), and
    FhirRuleError for an empty element or a status outside its R4 value set, which the
    library does not check. Returns the parsed Bundle."""
    from fhir.resources.R4B.bundle import Bundle

    _check_json_rules(dict(bundle))
    _check_codes(bundle)
    return Bundle.model_validate(dict(bundle))


def render(bundle: Mapping[str, Any]) -> str:
    """The validated bundle as FHIR JSON: parsed, then written back by fhir.resources, so
    what is written is what the library accepted."""
    parsed = validate(bundle)
    return json.dumps(json.loads(parsed.model_dump_json(exclude_none=True)), indent=2,
                      ensure_ascii=False)


def export_fhir(c: Conn, plan_id: int, version: int | None = None, *,
                pseudonymise: bool = False) -> str:
    return render(build_bundle(c, plan_id, version, pseudonymise=pseudonymise))
