"""Readable plan documents: `planwise plan export PLAN --format markdown|json`.

Both are built from one `PlanRecord`: the client's current information and the
overview of trauma and significant events (at the top, as the guide asks), the
plan version (problems in priority order with their basis, goals with their
phase and deferral, SMART objectives, interventions, treatment, referrals,
assessments, warnings, every item with its origin), the signatures
with their timestamps, the version's reason, the SMART lint findings and the
session notes recorded so far, and the client's scores over time (every
instrument, each score with its change since the baseline, docs/measures.md).
JSON is the record's full model dump.

Files are written with `write_private` (mode 0600).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from planwise.clinical.timeline import Timeline
from planwise.errors import InputError
from planwise.store import ids
from planwise.store.db import Conn
from planwise.store.models import (
    ClientInfo,
    GoalItem,
    ObjectiveItem,
    PlanDoc,
    PlanItem,
    ProblemItem,
)
from planwise.text import markdown_code, markdown_text, printable

RECORD_SCHEMA = "planwise.plan-record/1"


class _Record(BaseModel):
    # Built on first use, not at import: the interface imports this module at start.
    model_config = ConfigDict(defer_build=True)


class SignatureRecord(_Record):
    role: str
    name: str
    signed_at: str
    forced: bool = False


class SessionObjective(_Record):
    key: str
    rating: int | None = None


class SessionRecord(_Record):
    id: str
    number: int
    date: str
    version: int
    objectives: list[SessionObjective] = []
    note: str
    unplanned_reason: str | None = None
    session_limit: int | None = None
    feedback: dict[str, Any] | None = None      # answers, mean, lowest, low, falling
    measures: list[dict[str, Any]] = []         # id, instrument, total, band, flags
    created_at: str


class ScoreRecord(_Record):
    """One score of a client's series; the change since the baseline (the first score)."""

    id: str
    date: str
    total: int
    band: str
    flags: list[str] = []
    source: str
    session: int | None = None
    change: int | None = None           # points, current - baseline; None for the baseline
    improvement: int | None = None      # points better (negative: worse); None if unclassified
    change_class: str | None = None     # reliably_improved, no_reliable_change, ...
    recovered: bool | None = None
    response: bool | None = None
    remission: bool | None = None


class ScoreSeries(_Record):
    instrument: str
    name: str
    scores: list[ScoreRecord]


class VersionRecord(_Record):
    version: int
    state: str
    created_at: str
    reason: str | None = None


class IntakeHistory(_Record):
    """What the intake the plan was drafted from says of the client's history."""

    intake: str
    date: str
    prior_treatment: list[str] = []
    medications: list[str] = []


class PlanRecord(_Record):
    """Everything about one plan version, for reading and for other programs."""

    model_config = ConfigDict(populate_by_name=True)

    schema_: str = Field(RECORD_SCHEMA, alias="schema")
    plan: str
    client: str
    version: VersionRecord
    requires_supervisor: bool
    supervisor: str | None = None
    session_limit: int | None = None
    client_info: ClientInfo
    document: PlanDoc
    signatures: list[SignatureRecord]
    lint: list[str]
    sessions: list[SessionRecord]
    versions: list[VersionRecord]
    scores: list[ScoreSeries] = []
    timeline: Timeline | None = None     # the current version only, as of the export's day
    intake_history: IntakeHistory | None = None   # the plan's intake; None for an old plan


def _scores(c: Conn, client_id: int) -> list[ScoreSeries]:
    from planwise.clinical.instrument_files import load_instruments
    from planwise.store.measures import series

    catalog = load_instruments()
    out = []
    for key, rows in series(c, client_id, catalog).items():
        inst = catalog.get(key)
        recs = []
        for r in rows:
            ch = r["change"] or {}
            recs.append(ScoreRecord(
                id=ids.fmt("measure", r["id"]), date=r["date"], total=r["total"],
                band=r["band"], flags=r["flags"], source=r["source"], session=r["session"],
                change=ch.get("change"), improvement=ch.get("improvement"),
                change_class=ch.get("change_class"), recovered=ch.get("recovered"),
                response=ch.get("response"), remission=ch.get("remission")))
        out.append(ScoreSeries(instrument=key, name=inst.name if inst else key, scores=recs))
    return out


def _intake_history(c: Conn, intake_id: int | None) -> IntakeHistory | None:
    if intake_id is None:
        return None
    row = c.one("SELECT id, date, data FROM intakes WHERE id = ?", [intake_id])
    if row is None:
        return None
    history = (json.loads(row["data"]).get("history") or {})
    return IntakeHistory(intake=ids.fmt("intake", row["id"]), date=row["date"],
                         prior_treatment=[str(x) for x in history.get("prior_treatment") or []],
                         medications=[str(x) for x in history.get("medications") or []])


def build_record(c: Conn, plan_id: int, version: int | None = None,
                 today: dt.date | None = None) -> PlanRecord:
    from planwise.clinical.timeline import timeline
    from planwise.dates import today as system_today
    from planwise.store import lint as lint_mod
    from planwise.store import sessions
    from planwise.store.clients import get_client
    from planwise.store.course import load_course
    from planwise.store.plans import current_version, get_plan, load_doc_for

    plan = get_plan(c, plan_id)
    doc = load_doc_for(c, plan_id, version)
    v = c.one("SELECT pv.*, st.state FROM plan_versions pv JOIN plan_version_state st ON "
              "st.version_id = pv.id WHERE pv.plan_id = ? AND pv.version = ?",
              [plan_id, doc.version])
    assert v is not None
    sigs = c.query("SELECT role, name, signed_at, forced FROM signatures WHERE version_id = ? "
                   "ORDER BY id", [v["id"]])
    versions = c.query("SELECT pv.version, st.state, pv.created_at, pv.reason FROM "
                       "plan_versions pv JOIN plan_version_state st ON st.version_id = pv.id "
                       "WHERE pv.plan_id = ? ORDER BY pv.version", [plan_id])
    return PlanRecord(
        schema=RECORD_SCHEMA, plan=ids.fmt("plan", plan_id),
        client=ids.fmt("client", plan["client_id"]),
        version=VersionRecord(version=v["version"], state=v["state"],
                              created_at=v["created_at"], reason=v["reason"]),
        requires_supervisor=bool(plan["requires_supervisor"]), supervisor=plan["supervisor"],
        session_limit=sessions.session_limit(c, plan),
        client_info=get_client(c, plan["client_id"]), document=doc,
        signatures=[SignatureRecord(role=s["role"], name=s["name"], signed_at=s["signed_at"],
                                    forced=bool(s["forced"])) for s in sigs],
        lint=[str(f).replace("\t", " ") for f in lint_mod.lint_version(c, plan, v)],
        sessions=[SessionRecord.model_validate(s) for s in
                  sessions.as_json(sessions.list_sessions(c, plan_id))],
        versions=[VersionRecord.model_validate(x) for x in versions],
        scores=_scores(c, plan["client_id"]),
        intake_history=_intake_history(c, plan["intake_id"]),
        # Sessions left and open objectives are about the plan in force: not shown for an
        # earlier version.
        timeline=(timeline(load_course(c, plan_id, today or system_today()))
                  if current_version(c, plan_id)["version"] == v["version"] else None))


def render_json(rec: PlanRecord) -> str:
    return json.dumps(rec.model_dump(mode="json", by_alias=True), indent=2, ensure_ascii=False)


# --- markdown ---------------------------------------------------------------------------

def _md(text: Any) -> str:
    """One line of user text, safe in a markdown list or table: HTML, pipes and control
    characters escaped (planwise.text)."""
    return markdown_text(str(text))


def _code(key: Any) -> str:
    return markdown_code(str(key))


def _origin(item: PlanItem) -> str:
    if item.origin == "proposed_rejected":
        return f" *(rejected: {_md(item.rejection_reason or '')})*"
    return {"proposed_edited": " *(edited)*", "added": " *(added)*"}.get(item.origin or "", "")


BASIS_SHOWN = {"clinician": "the clinician's assessment",
              "screen_and_concern": "a screening concern and a score over the cut-off",
              "screen_only": "a screen only (no concern or impression names it)"}


def _basis(p: ProblemItem) -> str:
    shown = BASIS_SHOWN.get(p.basis or "", p.basis or "")
    if p.basis != "screen_only" or p.origin == "proposed_rejected":
        return shown
    if p.confirmed:
        return f"{shown}; **confirmed by the clinician**"
    return f"{shown}; **not confirmed: confirm or reject before signing**"


def _info(info: ClientInfo, intake: IntakeHistory | None = None) -> list[str]:
    out = ["## Current information", ""]
    facts = [("Date of birth", info.date_of_birth), ("Pronouns", info.pronouns),
             ("Phone", info.contact.phone), ("Email", info.contact.email),
             ("Address", info.contact.address), ("Preferred contact", info.contact.preferred)]
    out += [f"- {k}: {_md(v)}" for k, v in facts if v]
    if not any(v for _, v in facts):
        out.append("- Contact details: none recorded")
    sections: list[tuple[str, list[str]]] = [
        ("Emergency contacts", [", ".join(_md(x) for x in (e.name, e.relationship, e.phone) if x)
                                for e in info.emergency_contacts]),
        ("Community care providers", [", ".join(_md(x) for x in (p.name, p.role,
                                                                   p.organisation, p.phone) if x)
                                      for p in info.care_providers]),
        ("Past diagnoses", [_md(d.description) + (f" ({_md(d.code)})" if d.code else "")
                            + (f", {_md(d.when)}" if d.when else "")
                            for d in info.past_diagnoses]),
        ("Past treatment", ["; ".join(_md(x) for x in (t.description, t.provider, t.when,
                                                        t.outcome) if x)
                            for t in info.past_treatment]
         # Typed at the intake the plan was drafted from (not copied into the client's
         # record, so it is read from the intake itself).
         + ([f"{_md(x)} (at intake {intake.intake}, {intake.date})"
             for x in intake.prior_treatment] if intake else [])),
    ]
    if intake is not None and intake.medications:
        sections.append((f"Medications (at intake {intake.intake}, {intake.date})",
                         [_md(x) for x in intake.medications]))
    for title, lines in sections:
        out += ["", f"### {title}", ""]
        out += [f"- {x}" for x in lines] if lines else ["- none recorded"]
    if info.notes:
        out += ["", "### Notes", "", _md(info.notes)]
    return out


def _objective(o: ObjectiveItem, g: GoalItem) -> list[str]:
    # A rejected intervention is not the therapist's work on the objective: it is listed
    # with its reason under the goal's interventions only.
    names = {i.key: i.text for i in g.interventions if i.origin != "proposed_rejected"}
    out = [f"- **{_md(o.text)}** {_code(o.key)}{_origin(o)}"]
    out += [f"  - Client task: {_md(t)}" for t in o.client_tasks]
    out.append(f"  - Measure: {_md(o.measure)}")
    live = [k for k in o.interventions if k in names]
    for k in live:
        out.append(f"  - Therapist intervention: {_md(names[k])}")
    if not live and o.origin != "proposed_rejected":
        out.append("  - Therapist intervention: none in force")
    out.append(f"  - Anticipated: {o.anticipated or 'not set'}; actual: {o.actual or '-'}; "
               f"status: {o.status.replace('_', ' ')}")
    return out


def _change_cell(s: ScoreRecord) -> str:
    if s.change is None:
        return "baseline"
    if s.improvement is None:
        return f"{s.change:+d}"
    if s.improvement == 0:
        return "0 (no change)"
    word = "better" if s.improvement > 0 else "worse"
    pts = "point" if abs(s.improvement) == 1 else "points"
    return f"{s.change:+d} ({abs(s.improvement)} {pts} {word})"


def _class_cell(s: ScoreRecord) -> str:
    if s.change_class is None:
        return "-"
    extra = [n for n, v in (("recovered", s.recovered), ("response", s.response),
                            ("remission", s.remission)) if v]
    return s.change_class.replace("_", " ") + ("; " + ", ".join(extra) if extra else "")


def _timeline(tl: Timeline | None) -> list[str]:
    if tl is None:
        return []
    out = ["", "## Timeline", "", f"As of {tl.today}, week {tl.weeks_in} since the start "
           f"({tl.start_date}), {tl.frequency_per_week} a week."]
    if tl.session_limit is None:
        out += ["", f"- Sessions: {tl.sessions_used} held; no authorised limit recorded."]
    else:
        left = tl.sessions_left or 0
        state = f"{left} left" if left >= 0 else f"{-left} over the limit"
        by = (f"; at this frequency the last is around {tl.last_session_by}"
              if tl.last_session_by else "")
        out += ["", f"- Sessions: {tl.sessions_used} of {tl.session_limit} used, {state}{by}."]
    out += [f"- **Warning:** {_md(w)}" for w in tl.warnings]
    if not tl.objectives:
        return out + ["- No open objectives."]
    out += ["", "| Open objective | Anticipated | Status |", "|---|---|---|"]
    for o in tl.objectives:
        when = str(o.target_date) if o.target_date else "no date"
        state = o.status.replace("_", " ")
        if o.overdue and o.days is not None:
            state += f", OVERDUE by {-o.days} day{'' if o.days == -1 else 's'}"
        if o.last_rating is not None:
            state += f", last rated {o.last_rating}/10"
        out.append(f"| {_code(o.key)} | {when} | {state} |")
    return out


def _score_tables(rec: PlanRecord) -> list[str]:
    out = ["", "## Scores over time", ""]
    if not rec.scores:
        return out + ["- none recorded"]
    out.append("Change is judged against the first score (the baseline) with the published "
               "reliable-change figures (docs/progress.md).")
    for series in rec.scores:
        out += ["", f"### {_md(series.name)}", "",
                "| Date | Total | Band | Change since baseline | Class |",
                "|---|---|---|---|---|"]
        for s in series.scores:
            band = s.band.replace("_", " ") + (f"; flags: {', '.join(s.flags)}" if s.flags else "")
            out.append(f"| {s.date} | {s.total} | {_md(band)} | {_change_cell(s)} | "
                       f"{_class_cell(s)} |")
    return out


def render_markdown(rec: PlanRecord) -> str:
    d, info = rec.document, rec.client_info
    v = rec.version
    out = [f"# Treatment plan {rec.plan}, version {v.version} ({v.state.replace('_', ' ')})", "",
           f"- Client: {_md(info.name)} ({rec.client})",
           f"- Start date: {d.start_date}; review date: {d.review_date or 'not set'}",
           f"- Risk level: {d.risk_level}",
           f"- Version {v.version} created {v.created_at}"
           + (f"; reason: {_md(v.reason)}" if v.reason else ""),
           "", "## Trauma and significant events", ""]
    if info.significant_events:
        for e in info.significant_events:
            when = f"{e.date}: " if e.date else ""
            rec_ = f" (recorded {e.recorded})" if e.recorded else ""
            out.append(f"- {when}{_md(e.text)}{rec_}")
    else:
        out.append("- none recorded")
    out += [""] + _info(info, rec.intake_history)
    out += ["", "## Problems, goals and objectives"]
    if not d.problems:
        out += ["", "- none"]
    if any(p.priority for p in d.problems):
        out += ["", "In the order the plan addresses them (1 first)."]
    for p in sorted(d.problems, key=lambda p: p.priority or len(d.problems) + 1):
        rank = f"{p.priority}. " if p.priority else ""
        out += ["", f"### {rank}{_md(p.condition.replace('_', ' '))} ({_md(p.severity)})"
                f"{_origin(p)}"]
        if p.basis:
            out += ["", f"- Basis: {_basis(p)}"]
        for g in p.goals:
            phase = f" ({g.phase})" if g.phase else ""
            out += ["", f"#### Goal{phase}: {_md(g.text)}{_origin(g)}"]
            if g.deferred is not None:
                rules = f" (rules: {_md(', '.join(g.deferred.because))})" if g.deferred.because \
                    else ""
                out += ["", f"- **Deferred until** {_md(g.deferred.until)}{rules}"]
            out += ["", "Objectives:", ""]
            for o in g.objectives:
                out += _objective(o, g)
            out += ["", "Interventions:", ""]
            out += [f"- {_md(i.text)} ({_md(i.modality)}){_origin(i)}"
                    for i in g.interventions] \
                or ["- none"]
    out += ["", "## Treatment", ""]
    t = d.treatment
    if t is None:
        out.append("- none set")
    elif t.origin == "proposed_rejected":
        out += [f"- None in force: the proposed block was rejected: "
                f"{_md(t.rejection_reason or '')}",
                f"- Proposed: {_md(', '.join(t.modalities))}; {t.sessions_min} to "
                f"{t.sessions_max} sessions, {t.frequency_per_week} a week, "
                f"{_md(t.level_of_care.replace('_', ' '))}, review every {t.review_weeks} weeks"]
    else:
        out += [f"- Modalities: {_md(', '.join(t.modalities))}{_origin(t)}",
                f"- Length: {t.sessions_min} to {t.sessions_max} sessions, "
                f"{t.frequency_per_week} a week",
                f"- Level of care: {_md(t.level_of_care.replace('_', ' '))}",
                f"- Review every {t.review_weeks} weeks; next review {d.review_date or 'not set'}"]
    out.append(f"- Sessions authorised by the payer: {rec.session_limit or 'not recorded'}; "
               f"recorded so far: {len(rec.sessions)}")
    for title, lines in (
        ("Referrals", [f"- {_md(r.kind.replace('_', ' '))} ({_md(r.urgency)}): "
                       f"{_md(r.reason)}{_origin(r)}" for r in d.referrals]),
        ("Assessments", [f"- {_md(a.instrument)}: {_md(a.reason)}{_origin(a)}"
                         for a in d.assessments]),
        ("Warnings", [f"- {_md(w.kind.replace('_', ' '))}: {_md(w.message)}{_origin(w)}"
                      for w in d.warnings]),
    ):
        out += ["", f"## {title}", ""] + (lines or ["- none"])
    out += ["", "## SMART check", ""]
    out += [f"- {_md(x)}" for x in rec.lint] or ["- no problems"]
    out += ["", "## Sessions", ""]
    names = {series.instrument: series.name for series in rec.scores}
    if not rec.sessions:
        out.append("- none recorded")
    for s in rec.sessions:
        objs = ", ".join(f"{_code(o.key)} {'-' if o.rating is None else f'{o.rating}/10'}"
                         for o in s.objectives)
        what = objs or f"unplanned: {_md(s.unplanned_reason or '')}"
        given = "".join(f" {_md(names.get(m['instrument'], m['instrument']))} {m['total']}."
                        for m in s.measures)
        fb = ""
        if s.feedback:
            marks = [w for w in ("low", "falling") if s.feedback.get(w)]
            fb = (f" Feedback mean {s.feedback['mean']:g}/10, lowest {s.feedback['lowest']}"
                  + (f" ({', '.join(marks)})" if marks else "") + ".")
        out.append(f"- Session {s.number}, {s.date} (version {s.version}): {what}.{given}{fb} "
                   f"{_md(s.note)}")
    out += _timeline(rec.timeline)
    out += _score_tables(rec)
    out += ["", "## Signatures", ""]
    out += [f"- {s.role}: {_md(s.name)}, {s.signed_at}"
            + (" (signed although the SMART check found problems)" if s.forced else "")
            for s in rec.signatures] or ["- not signed"]
    if rec.requires_supervisor:
        out.append(f"- Supervisor's signature required ({_md(rec.supervisor or '')})")
    out += ["", "## Versions", ""]
    out += [f"- Version {x.version}: {x.state.replace('_', ' ')}, {x.created_at}"
            + (f"; {_md(x.reason)}" if x.reason else "") for x in rec.versions]
    # Fields not written as user text (dates, states) come from the database too.
    return printable("\n".join(out) + "\n")


# --- files ------------------------------------------------------------------------------

def write_private(path: str, text: str | bytes, *, follow_symlink: bool = False) -> None:
    """Write text (or a PDF's bytes) to path with mode 0600 (an existing file is replaced
    and made 0600).

    A symbolic link at `path` is refused unless `follow_symlink` (`--force`): it could
    point the plan, health information, at another file. O_NOFOLLOW makes the check
    and the open one step, so the link cannot be swapped in between."""
    p = Path(path)
    try:
        if p.is_symlink() and not follow_symlink:
            raise InputError("is a symbolic link; planwise does not write through one "
                             "(give --force to write to where it points)", file=path)
        if p.is_dir():
            raise InputError("is a folder, not a file", file=path)
        if not p.parent.is_dir():
            raise InputError("the folder does not exist", file=path)
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
        if not follow_symlink:
            flags |= os.O_NOFOLLOW
        fd = os.open(p, flags, 0o600)
    except OSError as exc:  # a name too long, no permission, a link that appeared
        raise InputError(f"cannot write: {exc.strerror or exc.__class__.__name__}",
                         file=path) from None
    data = text.encode("utf-8") if isinstance(text, str) else text
    with os.fdopen(fd, "wb") as fh:
        os.fchmod(fh.fileno(), 0o600)
        fh.write(data)
