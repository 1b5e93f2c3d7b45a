"""A plan's life cycle: drafted from the engine's proposal, edited, signed, versioned.

A plan version is stored as rows of `plan_items` (problem, goal, objective,
intervention, treatment, referral, assessment, warning), each with its origin:
proposed_accepted, proposed_edited, proposed_rejected (with a reason) or added.
`proposed` keeps the engine's original of every proposed item, carried from
version to version, so an edit is always measured against the proposal. Those
rows, their origins and their writing are planwise.store.plan_rows's job; this
module decides which version they go to.

A version signed by the therapist (and by the supervisor when the plan requires
one) is immutable: triggers in the database refuse any change to it. Changing a
plan whose current version carries any signature creates version N+1 and needs
a reason.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

from planwise.errors import InputError
from planwise.store import ids, plan_rows
from planwise.store.clients import get_intake, get_row, store_scored_intake
from planwise.store.db import Conn, now
from planwise.store.lint import lint_version
from planwise.store.models import (
    AssessmentItem,
    Deferral,
    GoalItem,
    InterventionItem,
    ObjectiveItem,
    PlanDoc,
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


# --- the editable file ------------------------------------------------------------------

def export_toml(c: Conn, plan_id: int, version: int | None = None) -> str:
    """The editable TOML (with its row_version for the optimistic check)."""
    doc = load_doc_for(c, plan_id, version)
    return dump_toml(doc.model_dump(mode="python", by_alias=True))


# --- writing ---------------------------------------------------------------------------

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
        rows = plan_rows.rows_from_doc(doc)
        plan_rows.insert_rows(c, vid, rows)
        c.audit("plan.draft", "plan", ids.fmt("plan", plan_id), client_id=client_id,
                plan_id=plan_id, detail={"version": 1, "intake": ids.fmt("intake", intake_id),
                                         "items": len(rows),
                                         "requires_supervisor": bool(supervisor)})
    return plan_id



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
        rows = plan_rows.resolve_rows(doc, current, file)
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
            plan_rows.insert_rows(c, vid, rows)
            action = "plan.version"
        else:
            version = cur["version"]
            c.raw.execute("UPDATE plan_versions SET start_date = ?, review_date = ?, "
                          "risk_level = ?, row_version = row_version + 1 WHERE id = ?",
                          [meta["start_date"], meta["review_date"], meta["risk_level"],
                           cur["id"]])
            # Called through the module so a benchmark can swap in the old full rewrite
            # (benchmarks/growth.py, store.py) and measure both in one run.
            plan_rows.rewrite_rows(c, cur["id"], current, rows)
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
