"""One FHIR R4 resource (as plain JSON) per planwise record, for `planwise.documents.fhir`.

Each function returns the resource's JSON as a dict; `fhir.build_bundle` gathers
them and `fhir.validate` checks the whole through fhir.resources. Building plain
dicts first keeps this module free of the library (cold start) and makes the
output the same whichever version of fhir.resources validates it.

Codes come from the systems FHIR R4 names: ICD-10-CM for conditions, LOINC for
scores (where the instrument file has a code, docs/instruments.md), SNOMED CT for
the condition-severity value set, and HL7's own code systems for categories and
statuses. What has no standard code carries its text (`CodeableConcept.text`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from planwise.store.models import ClientInfo, GoalItem, ObjectiveItem, PlanDoc, ProblemItem

ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
PLANWISE_INSTRUMENT = "urn:planwise:instrument"
HL7 = "http://terminology.hl7.org/CodeSystem/"
# The condition-severity value set of FHIR R4 (SNOMED CT).
SEVERITY = {"mild": ("255604002", "Mild"), "moderate": ("6736007", "Moderate"),
            "severe": ("24484000", "Severe")}
# Provenance: the ASTM E1762 signature types FHIR R4's Signature.type binds to.
SIGNATURE_SYSTEM = "urn:iso-astm:E1762-95:2013"
SIGNATURE_TYPE = {"therapist": ("1.2.840.10065.1.12.1.1", "Author's Signature"),
                  "supervisor": ("1.2.840.10065.1.12.1.5", "Verification Signature"),
                  "client": ("1.2.840.10065.1.12.1.7", "Consent Signature")}
AGENT_TYPE = {"therapist": "author", "supervisor": "verifier", "client": "attester"}

Ref = Callable[[str], dict[str, str]]   # a resource key -> {"reference": "urn:uuid:..."}


def _text(text: str) -> dict[str, Any]:
    return {"text": text}


def _coded(system: str, code: str, display: str | None = None, text: str | None = None
           ) -> dict[str, Any]:
    coding: dict[str, Any] = {"system": system, "code": code}
    if display:
        coding["display"] = display
    out: dict[str, Any] = {"coding": [coding]}
    if text:
        out["text"] = text
    return out


def live(item: Any) -> bool:
    """Rejected items are the clinician's 'no': the bundle carries the plan in force."""
    return getattr(item, "origin", None) != "proposed_rejected"


def patient(rid: str, info: ClientInfo, identifier: dict[str, str], pseudonymise: bool
            ) -> dict[str, Any]:
    out: dict[str, Any] = {"resourceType": "Patient", "id": rid, "identifier": [identifier],
                           "active": True}
    if pseudonymise:
        # No name, contact, address, birth date or emergency contact: the pseudonym only.
        return out
    out["name"] = [{"text": info.name}]
    telecom = [{"system": s, "value": v} for s, v in (("phone", info.contact.phone),
                                                      ("email", info.contact.email)) if v]
    if telecom:
        out["telecom"] = telecom
    if info.contact.address:
        out["address"] = [{"text": info.contact.address}]
    if info.date_of_birth:
        out["birthDate"] = info.date_of_birth.isoformat()
    contacts = []
    for e in info.emergency_contacts:
        c: dict[str, Any] = {"name": {"text": e.name}}
        if e.relationship:
            c["relationship"] = [_text(e.relationship)]
        if e.phone:
            c["telecom"] = [{"system": "phone", "value": e.phone}]
        contacts.append(c)
    if contacts:
        out["contact"] = contacts
    return out


def condition_text(p: ProblemItem) -> str:
    return p.condition.replace("_", " ")


def condition(rid: str, p: ProblemItem, subject: dict[str, str]) -> dict[str, Any]:
    # A screen alone is provisional until the clinician confirms it (docs/store.md).
    confirmed = p.basis in (None, "clinician") or bool(p.confirmed)
    code: dict[str, Any] = (_coded(ICD10CM, p.code, text=condition_text(p)) if p.code
                            else _text(condition_text(p)))
    sev_code, sev_name = SEVERITY[p.severity]
    out: dict[str, Any] = {
        "resourceType": "Condition", "id": rid,
        "clinicalStatus": _coded(HL7 + "condition-clinical", "active"),
        "verificationStatus": _coded(HL7 + "condition-ver-status",
                                     "confirmed" if confirmed else "provisional"),
        "category": [_coded(HL7 + "condition-category", "problem-list-item",
                            "Problem List Item")],
        "severity": _coded(SNOMED, sev_code, sev_name),
        "code": code, "subject": subject,
    }
    notes = []
    if p.basis:
        notes.append(f"Basis: {p.basis.replace('_', ' ')}")
    if p.priority:
        notes.append(f"Priority {p.priority} in the plan")
    if notes:
        out["note"] = [{"text": "; ".join(notes)}]
    return out


def _achievement(objectives: list[ObjectiveItem]) -> str | None:
    states = {o.status for o in objectives}
    if not states:
        return None
    if states == {"met"}:
        return "achieved"
    if "open" in states or "revised" in states:
        return "in-progress"
    return "not-achieved" if states <= {"not_met", "discontinued"} else "improving"


def _measure_code(measure: str, instruments: Mapping[str, Any]) -> dict[str, Any]:
    """The objective's measure; coded with LOINC when it names an instrument that has one."""
    low = measure.lower()
    for inst in instruments.values():
        if inst.loinc and inst.name.lower() in low:
            return _coded(LOINC, inst.loinc, text=measure)
    return _text(measure)


def goal(rid: str, g: GoalItem, subject: dict[str, str], addresses: dict[str, str],
         plan_state: str, instruments: Mapping[str, Any]) -> dict[str, Any]:
    objectives = [o for o in g.objectives if live(o)]
    if g.deferred is not None:
        lifecycle = "on-hold"
    elif objectives and all(o.status == "met" for o in objectives):
        lifecycle = "completed"
    else:
        lifecycle = "active" if plan_state == "signed" else "proposed"
    out: dict[str, Any] = {"resourceType": "Goal", "id": rid, "lifecycleStatus": lifecycle,
                           "description": _text(g.text), "subject": subject,
                           "addresses": [addresses]}
    status = _achievement(objectives)
    if status:
        out["achievementStatus"] = _coded(HL7 + "goal-achievement", status)
    # Each SMART objective is a target: what is measured, the objective, when it is due.
    targets = []
    for o in objectives:
        t: dict[str, Any] = {"measure": _measure_code(o.measure, instruments),
                             "detailString": o.text}
        if o.anticipated:
            t["dueDate"] = o.anticipated.isoformat()
        targets.append(t)
    if targets:
        out["target"] = targets
    notes = [f"Objective {o.key}: status {o.status.replace('_', ' ')}; client task: "
             + "; ".join(o.client_tasks) for o in objectives]
    if g.deferred is not None:
        notes.insert(0, f"Deferred until {g.deferred.until}")
    if notes:
        out["note"] = [{"text": n} for n in notes]
    return out


def _activity(kind: str | None, code: str, description: str, status: str,
              goals: list[dict[str, str]] | None = None,
              scheduled: str | None = None) -> dict[str, Any]:
    detail: dict[str, Any] = {"code": _text(code), "status": status,
                              "description": description}
    if kind:
        detail["kind"] = kind
    if goals:
        detail["goal"] = goals
    if scheduled:
        detail["scheduledString"] = scheduled
    return {"detail": detail}


def careplan(rid: str, plan: str, doc: PlanDoc, state: str, current: bool, created: str,
             subject: dict[str, str], ref: Ref, keys: Mapping[str, str],
             instruments: Mapping[str, Any]) -> dict[str, Any]:
    """The plan version: its problems (addresses), goals, and what is done, as activities."""
    going = "in-progress" if state == "signed" else "not-started"
    status = ("active" if state == "signed" else "draft") if current else "revoked"
    activities = []
    t = doc.treatment
    if t is not None and live(t):
        activities.append(_activity(
            None, ", ".join(m.replace("_", " ") for m in t.modalities),
            f"Level of care: {t.level_of_care.replace('_', ' ')}", going,
            scheduled=f"{t.sessions_min} to {t.sessions_max} sessions, "
                      f"{t.frequency_per_week} a week; review every {t.review_weeks} weeks"))
    goal_refs: list[dict[str, str]] = []
    for p in doc.problems:
        if not live(p):
            continue
        for g in p.goals:
            if not live(g):
                continue
            gref = ref(keys[g.key or ""])
            goal_refs.append(gref)
            for i in g.interventions:
                if live(i):
                    activities.append(_activity(None, i.modality.replace("_", " "), i.text,
                                                "on-hold" if g.deferred else going, [gref]))
    for r in doc.referrals:
        if live(r):
            activities.append(_activity("ServiceRequest", r.kind.replace("_", " "),
                                        f"{r.reason} (urgency: {r.urgency})", going))
    for a in doc.assessments:
        if live(a):
            inst = instruments.get(a.instrument)
            name = inst.name if inst is not None else a.instrument
            activities.append(_activity("ServiceRequest", name, a.reason, going))
    out: dict[str, Any] = {
        "resourceType": "CarePlan", "id": rid,
        "identifier": [{"system": "urn:planwise:plan", "value": plan}],
        "status": status, "intent": "plan",
        "title": f"Treatment plan {plan}, version {doc.version}",
        "subject": subject, "created": created,
        "period": {"start": doc.start_date.isoformat(),
                   **({"end": doc.review_date.isoformat()} if doc.review_date else {})},
    }
    addresses = [ref(keys[p.key or ""]) for p in doc.problems if live(p)]
    if addresses:  # FHIR has no empty lists: a plan without problems has no `addresses`
        out["addresses"] = addresses
    if goal_refs:
        out["goal"] = goal_refs
    if activities:
        out["activity"] = activities
    # The risk level and the engine's warnings are safety information: never dropped.
    notes = [f"Risk level: {doc.risk_level}"]
    notes += [f"Warning ({w.kind.replace('_', ' ')}): {w.message}" for w in doc.warnings
              if live(w)]
    out["note"] = [{"text": n} for n in notes]
    return out


def observation(rid: str, inst: Any, name: str, score: Any, subject: dict[str, str],
                derived: dict[str, str] | None) -> dict[str, Any]:
    code = (_coded(LOINC, inst.loinc, text=f"{name} total score")
            if inst is not None and inst.loinc
            else _coded(PLANWISE_INSTRUMENT, inst.id if inst is not None else name,
                        text=f"{name} total score"))
    out: dict[str, Any] = {
        "resourceType": "Observation", "id": rid, "status": "final",
        "category": [_coded(HL7 + "observation-category", "survey", "Survey")],
        "code": code, "subject": subject, "effectiveDateTime": score.date,
        "valueInteger": score.total,
        "interpretation": [_text(score.band.replace("_", " "))],
    }
    # Flags are critical items (PHQ-9 item 9, ASQ acute): safety signals, kept in words.
    notes = [f"Flag: {f.replace('_', ' ')}" for f in score.flags]
    if score.change_class:
        notes.append(f"Change since the baseline: {score.change:+d} points, "
                     f"{score.change_class.replace('_', ' ')}")
    if notes:
        out["note"] = [{"text": n} for n in notes]
    if derived is not None:
        out["derivedFrom"] = [derived]
    return out


def _answer(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"valueBoolean": value}
    if isinstance(value, int):
        return {"valueInteger": value}
    return {"valueString": str(value)}


def _qr_items(inst: Any, answers: Any) -> list[dict[str, Any]]:
    if isinstance(answers, list):  # one answer per item, in order
        items = []
        for n, v in enumerate(answers, 1):
            item: dict[str, Any] = {"linkId": str(n)}
            text = inst.item(n).text if inst is not None and n <= len(inst.items) else None
            if text and inst.item_text_allowed:
                item["text"] = text
            item["answer"] = [_answer(v)]
            items.append(item)
        return items
    out = []
    for key, v in answers.items():   # ASQ and MDQ: keyed answers, MDQ's symptoms a list
        if isinstance(v, list):
            out.append({"linkId": key, "item": [{"linkId": f"{key}.{n}", "answer": [_answer(x)]}
                                                for n, x in enumerate(v, 1)]})
        else:
            out.append({"linkId": key, "answer": [_answer(v)]})
    return out


def questionnaire_response(rid: str, inst: Any, measure: Mapping[str, Any],
                           subject: dict[str, str]) -> dict[str, Any]:
    key = inst.id if inst is not None else str(measure["instrument"])
    return {"resourceType": "QuestionnaireResponse", "id": rid,
            "questionnaire": f"{PLANWISE_INSTRUMENT}:{key}", "status": "completed",
            "subject": subject, "authored": measure["date"],
            "item": _qr_items(inst, measure["answers"])}


def provenance(rid: str, sig: Any, target: dict[str, str], who: dict[str, str]
               ) -> dict[str, Any]:
    code, display = SIGNATURE_TYPE.get(sig.role, SIGNATURE_TYPE["therapist"])
    out: dict[str, Any] = {
        "resourceType": "Provenance", "id": rid, "target": [target],
        "recorded": sig.signed_at,
        "agent": [{"type": _coded(HL7 + "provenance-participant-type",
                                  AGENT_TYPE.get(sig.role, "author")),
                   "role": [_text(sig.role)], "who": who}],
        "signature": [{"type": [{"system": SIGNATURE_SYSTEM, "code": code,
                                 "display": display}],
                       "when": sig.signed_at, "who": who}],
    }
    if sig.forced:
        out["reason"] = [_text("signed although the SMART check found problems")]
    return out
