"""Plans: drafts from the engine's proposal, TOML round trip, versions and signatures.

A plan version is stored as rows of `plan_items` (problem, goal, objective,
intervention, treatment, referral, assessment, warning), each with its origin:
proposed_accepted, proposed_edited, proposed_rejected (with a reason) or added.
`proposed` keeps the engine's original of every proposed item, carried from
version to version, so an edit is always measured against the proposal.

A version signed by the therapist (and by the supervisor when the plan requires
one) is immutable: triggers in the database refuse any change to it. Changing a
plan whose current version carries any signature creates version N+1 and needs
a reason.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from planwise.errors import InputError
from planwise.store import ids
from planwise.store.clients import get_intake, get_row, store_scored_intake
from planwise.store.db import Conn, now
from planwise.store.lint import lint_version
from planwise.store.models import (
    AssessmentItem,
    Deferral,
    GoalItem,
    InterventionItem,
    ObjectiveItem,
    Origin,
    PlanDoc,
    PlanItem,
    ProblemItem,
    ReferralItem,
    TreatmentItem,
    WarningItem,
)
from planwise.store.plan_read import (  # noqa: F401  (part of this module's interface)
    current_version,
    doc_from_rows,
    get_plan,
    load_doc_for,
    plan_and_version,
    version_rows,
)
from planwise.store.tomlio import dump_toml, load_doc

if TYPE_CHECKING:
    from planwise.kb.loader import KnowledgeBase
    from planwise.models.profile import Profile

ROLES = ("therapist", "client", "supervisor")
_META = {"key", "origin", "rejection_reason", "because"}
_CHILDREN = {"goals", "objectives", "interventions"}
# Whole-plan reasoning fields, stored only when set: a plan drafted before them keeps its
# rows (and their comparison with the proposal) exactly as they were.
_OPTIONAL = ("basis", "priority", "phase", "deferred", "confirmed", "code")
# The clinician's decisions stored with an item's data: not an edit of the proposal.
_DECISIONS = ("confirmed",)
_MODELS: dict[str, type[BaseModel]] = {
    "problem": ProblemItem, "goal": GoalItem, "objective": ObjectiveItem,
    "intervention": InterventionItem, "treatment": TreatmentItem, "referral": ReferralItem,
    "assessment": AssessmentItem, "warning": WarningItem,
}


# --- from the proposal ---------------------------------------------------------------

def doc_from_proposal(proposal: Any, plan_id: int, client_id: int, start: dt.date) -> PlanDoc:
    used: set[str] = set()

    def key(k: str) -> str:
        out, n = k, 2
        while out in used:
            out, n = f"{k}#{n}", n + 1
        used.add(out)
        return out

    accepted: dict[str, Any] = {"origin": "proposed_accepted"}
    problems = []
    for p in proposal.problems:
        pkey = key(f"problem.{p.condition}")
        goals = []
        for g in p.goals:
            gkey = key(g.id)
            interventions = [InterventionItem(key=key(i.id), text=i.text, modality=i.modality,
                                              because=list(i.because), **accepted)
                             for i in g.interventions]
            objectives = [ObjectiveItem(
                key=key(o.id), text=o.text, client_tasks=[o.client_action],
                interventions=[i.key for i in interventions if i.key], measure=o.measure,
                anticipated=start + dt.timedelta(weeks=o.target_weeks), actual=None,
                status="open", because=list(o.because), **accepted) for o in g.objectives]
            deferred = None if g.deferred is None else Deferral(
                until=g.deferred.until, because=list(g.deferred.because))
            goals.append(GoalItem(key=gkey, text=g.text, objectives=objectives,
                                  interventions=interventions, because=list(g.because),
                                  phase=g.phase, deferred=deferred, **accepted))
        problems.append(ProblemItem(key=pkey, condition=p.condition, severity=p.severity,
                                    goals=goals, because=list(p.because), basis=p.basis,
                                    priority=p.priority, **accepted))
    t = proposal.treatment
    treatment = None if t is None else TreatmentItem(
        key=key("treatment"), modalities=list(t.modalities), sessions_min=t.sessions.min,
        sessions_max=t.sessions.max, frequency_per_week=t.frequency_per_week,
        level_of_care=t.level_of_care, review_weeks=t.review_weeks, because=list(t.because),
        **accepted)
    return PlanDoc(
        schema="planwise.plan/1", plan=ids.fmt("plan", plan_id),
        client=ids.fmt("client", client_id), version=1,
        start_date=start,
        review_date=None if t is None else start + dt.timedelta(weeks=t.review_weeks),
        risk_level=proposal.risk.level, problems=problems, treatment=treatment,
        referrals=[ReferralItem(key=key(f"referral.{r.kind}"), kind=r.kind, urgency=r.urgency,
                                reason=r.reason, because=list(r.because), **accepted)
                   for r in proposal.referrals],
        assessments=[AssessmentItem(key=key(f"assessment.{a.instrument}"),
                                    instrument=a.instrument, reason=a.reason,
                                    because=list(a.because), **accepted)
                     for a in proposal.assessments],
        warnings=[WarningItem(key=key(f"warning.{w.kind}"), kind=w.kind, message=w.message,
                              because=list(w.because), **accepted) for w in proposal.warnings],
    )


# --- items <-> rows --------------------------------------------------------------------

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


def export_toml(c: Conn, plan_id: int, version: int | None = None) -> str:
    """The editable TOML (with its row_version for the optimistic check)."""
    doc = load_doc_for(c, plan_id, version)
    return dump_toml(doc.model_dump(mode="python", by_alias=True))


# --- writing ---------------------------------------------------------------------------

def _insert_rows(c: Conn, version_id: int, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    cols = sorted(set().union(*rows))
    c.raw.executemany(
        f"INSERT INTO plan_items (version_id, {', '.join(cols)}) "
        f"VALUES (?, {', '.join('?' for _ in cols)})",
        [(version_id, *(r.get(col) for col in cols)) for r in rows])


def _rewrite_rows(c: Conn, version_id: int, current: list[dict[str, Any]],
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
    _insert_rows(c, version_id, [r for k, r in new.items() if k not in old])


def draft(c: Conn, client_id: int, intake: str, kb: KnowledgeBase, profile: Profile | None,
          engine: str = "auto") -> int:
    """Run the engine on a stored intake (I3) or an intake file, store plan version 1.

    The plan requires a supervisor's signature when the profile names a supervisor.
    """
    from planwise.intake_io import intake_from_data, load_intake

    get_row(c, client_id)
    intake_id: int | None = None
    if intake.upper().startswith("I") and intake[1:].isdigit():
        intake_id = ids.parse("intake", intake)
        stored = get_intake(c, intake_id)
        if stored["client_id"] != client_id:
            raise InputError(f"intake {intake.upper()} belongs to another client")
        scored = intake_from_data(stored["data"], kb, ids.fmt("intake", intake_id))
    else:
        if not Path(intake).exists():
            raise InputError("neither a stored intake id (like I3) nor an existing file",
                             file=intake)
        scored = load_intake(intake, kb)  # stored below, with the plan, or not at all
    # Everything that can fail is done before the transaction: nothing half-saved.
    doc = _proposed_doc(scored, profile, kb, engine, client_id)
    supervisor = profile.therapist.supervisor if profile else None
    with c.within():  # joinable: a caller may store more in the same transaction
        if intake_id is None:
            intake_id = store_scored_intake(c, client_id, scored)
        plan_id = c.insert("plans", {
            "client_id": client_id, "intake_id": intake_id,
            "requires_supervisor": 1 if supervisor else 0, "supervisor": supervisor,
            "created_at": now()})
        doc.plan = ids.fmt("plan", plan_id)
        vid = c.insert("plan_versions", {
            "plan_id": plan_id, "version": 1, "start_date": doc.start_date.isoformat(),
            "review_date": doc.review_date.isoformat() if doc.review_date else None,
            "risk_level": doc.risk_level, "reason": None, "created_at": now()})
        rows = rows_from_doc(doc)
        _insert_rows(c, vid, rows)
        c.audit("plan.draft", "plan", ids.fmt("plan", plan_id), client_id=client_id,
                plan_id=plan_id, detail={"version": 1, "intake": ids.fmt("intake", intake_id),
                                         "items": len(rows),
                                         "requires_supervisor": bool(supervisor)})
    return plan_id


def _resolve(doc: PlanDoc, current: list[dict[str, Any]], file: str) -> list[dict[str, Any]]:
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


def _proposed_doc(scored: Any, profile: Profile | None, kb: KnowledgeBase, engine: str,
                  client_id: int) -> PlanDoc:
    """Version 1's document from the engine's proposal (plan id filled in when stored)."""
    from planwise.rules import recommend

    proposal = recommend(scored, profile, kb, engine)
    try:
        doc = doc_from_proposal(proposal, 0, client_id, scored.intake.date)
    except OverflowError:  # an intake dated near 9999: its plan's dates cannot exist
        raise InputError("the intake's date leaves no room for the plan's review and target "
                         "dates; check the intake's date", field="date") from None
    _codes_from_intake(doc, scored.intake.clinician.diagnoses, kb)
    return doc


def _codes_from_intake(doc: PlanDoc, diagnoses: Any, kb: KnowledgeBase) -> None:
    """Each problem gets the first of the intake's ICD-10-CM codes whose prefix names its
    condition (as the engine reads them): the code the clinician gave travels with it."""
    if not diagnoses:
        return
    from planwise.rules.inputs import _condition_of_code, icd10_prefixes

    prefixes = icd10_prefixes(kb)
    for p in doc.problems:
        p.code = next((c for c in diagnoses if _condition_of_code(c, prefixes) == p.condition),
                      None)


def import_plan(c: Conn, plan_id: int, file: str, reason: str | None = None,
                kb: KnowledgeBase | None = None) -> tuple[int, bool]:
    """Apply an edited plan file, checked first (planwise.store.plancheck: vocabularies,
    ranges, dates, text). Returns (version, changed). Nothing changes on error."""
    from planwise.store.plancheck import check_plan_doc

    doc: PlanDoc = load_doc(PlanDoc, file, redact=True)
    check_plan_doc(doc, kb, file)
    return save_doc(c, plan_id, doc, reason, source=file)


def save_doc(c: Conn, plan_id: int, doc: PlanDoc, reason: str | None = None,
             source: str = "<plan>") -> tuple[int, bool]:
    """Apply an edited plan document (from a file or the interface). Returns (version,
    changed). A signed version is never changed: a revision with a reason makes the next.
    Inside a caller's transaction it is a step of that one (an accepted review saves the
    plan and its audit row together)."""
    file = source
    if doc.plan.upper() != ids.fmt("plan", plan_id):
        raise InputError(f"this file is for plan {doc.plan}, not {ids.fmt('plan', plan_id)}",
                         file=file, field="plan")
    with c.within():
        plan = get_plan(c, plan_id)
        if doc.client.upper() != ids.fmt("client", plan["client_id"]):
            raise InputError(f"plan {ids.fmt('plan', plan_id)} is not for client {doc.client}",
                             file=file, field="client")
        cur = current_version(c, plan_id)
        if doc.version != cur["version"]:
            raise InputError(f"the file was exported from version {doc.version}, but the plan "
                             f"is now at version {cur['version']}; export it again and redo "
                             "the changes", file=file, field="version")
        # Optimistic check: refuse a file exported before someone else's save of this draft.
        if doc.row_version is None:
            raise InputError("the file has no row_version (it was not exported by "
                             "`planwise plan export`); export it again and redo the changes",
                             file=file, field="row_version")
        if doc.row_version != cur["row_version"]:
            raise InputError(f"{ids.fmt('plan', plan_id)} version {cur['version']} changed "
                             "since this file was exported (saved by someone else after the "
                             "export); nothing was saved: export it again and redo your "
                             "changes", file=file, field="row_version")
        current = version_rows(c, cur["id"])
        rows = _resolve(doc, current, file)
        meta = {"start_date": doc.start_date.isoformat(),
                "review_date": doc.review_date.isoformat() if doc.review_date else None,
                "risk_level": doc.risk_level}
        if rows == current and all(cur[k] == v for k, v in meta.items()):
            return cur["version"], False
        changed = sorted({r["key"] for r in rows} ^ {r["key"] for r in current}
                         | {r["key"] for r in rows if r not in current})
        origins = {o: sum(1 for r in rows if r["origin"] == o) for o in
                   ("proposed_accepted", "proposed_edited", "proposed_rejected", "added")}
        signed = cur["state"] != "draft"
        # A changed suicide-risk level is never silent: it needs a reason, and the audit row
        # keeps the old and new level with it (docs/store.md, "Plan life cycle").
        risk: dict[str, Any] = {}
        if cur["risk_level"] != doc.risk_level:
            if not (reason or "").strip():
                raise InputError(f"the risk level changes ({cur['risk_level'][:20]} -> "
                                 f"{doc.risk_level[:20]}): give --reason, which the audit log "
                                 "keeps with the old and new level", file=file,
                                 field="risk_level")
            risk = {"risk_level": {"old": cur["risk_level"], "new": doc.risk_level},
                    "reason": (reason or "").strip()}
        if signed:
            if not (reason or "").strip():
                raise InputError(f"version {cur['version']} of {ids.fmt('plan', plan_id)} is "
                                 f"signed; changing it creates version {cur['version'] + 1}: "
                                 "give --reason")
            version = cur["version"] + 1
            vid = c.insert("plan_versions", {"plan_id": plan_id, "version": version,
                                             "reason": reason.strip(),  # type: ignore[union-attr]
                                             "created_at": now(), **meta})
            _insert_rows(c, vid, rows)
            action = "plan.version"
        else:
            version = cur["version"]
            c.raw.execute("UPDATE plan_versions SET start_date = ?, review_date = ?, "
                          "risk_level = ?, row_version = row_version + 1 WHERE id = ?",
                          [meta["start_date"], meta["review_date"], meta["risk_level"],
                           cur["id"]])
            _rewrite_rows(c, cur["id"], current, rows)
            action = "plan.edit"
        c.audit(action, "plan", ids.fmt("plan", plan_id), client_id=plan["client_id"],
                plan_id=plan_id, detail={"version": version, "changed": changed,
                                         "origins": origins, **risk})
    return version, True


def sign(c: Conn, plan_id: int, role: str, name: str, force: bool = False) -> tuple[int, str]:
    """Sign the current version. Returns (version, state after signing).

    Refused when SMART lint finds problems (planwise.store.lint) unless `force`;
    a forced signature is stored with forced = 1 and audited as forced.
    """
    if role not in ROLES:
        raise InputError(f"role must be one of {', '.join(ROLES)}")
    if not name.strip():
        raise InputError("--name must not be empty")
    from planwise.store.plancheck import MAX_SHORT, check_text

    check_text(name.strip(), "--name", free=False, limit=MAX_SHORT)
    with c.transaction():
        plan = get_plan(c, plan_id)
        cur = current_version(c, plan_id)
        if c.one("SELECT 1 x FROM signatures WHERE version_id = ? AND role = ?",
                 [cur["id"], role]):
            raise InputError(f"version {cur['version']} of {ids.fmt('plan', plan_id)} is "
                             f"already signed by the {role}")
        findings = lint_version(c, plan, cur)
        blocking = [f for f in findings if f.blocking]
        if blocking:
            raise InputError(
                f"version {cur['version']} of {ids.fmt('plan', plan_id)} cannot be signed "
                "(not even with --force): " + "; ".join(
                    f"{f.objective}: {f.message}" for f in blocking)
                + ' (in the exported plan file: confirmed = true on the problem, or origin = '
                '"proposed_rejected" with a rejection_reason, then `plan import`; in the plan '
                "editor: c on the problem)")
        if findings and not force:
            raise InputError(f"SMART lint found {len(findings)} problem(s) in version "
                             f"{cur['version']} of {ids.fmt('plan', plan_id)}; fix them or "
                             "sign with --force: " + "; ".join(
                                 f"{f.objective} {f.letter}" for f in findings))
        forced = bool(findings)
        c.insert("signatures", {"version_id": cur["id"], "role": role, "name": name.strip(),
                                "signed_at": now(), "forced": int(forced)})
        state = c.one("SELECT state FROM plan_version_state WHERE version_id = ?",
                      [cur["id"]])["state"]  # type: ignore[index]
        c.audit("plan.sign", "plan", ids.fmt("plan", plan_id), client_id=plan["client_id"],
                plan_id=plan_id, detail={"version": cur["version"], "role": role,
                                         "state": state, "forced": forced,
                                         "lint": [f"{f.objective}:{f.letter}"
                                                  for f in findings]})
    return cur["version"], state


def history(c: Conn, plan_id: int) -> list[dict[str, Any]]:
    get_plan(c, plan_id)
    versions = c.query("SELECT pv.id, pv.version, pv.created_at, pv.reason, pv.review_date, "
                       "st.state FROM plan_versions pv JOIN plan_version_state st ON "
                       "st.version_id = pv.id WHERE pv.plan_id = ? ORDER BY pv.version",
                       [plan_id])
    for v in versions:
        v["signatures"] = c.query("SELECT role, name, signed_at, forced FROM signatures WHERE "
                                  "version_id = ? ORDER BY id", [v["id"]])
    return versions
