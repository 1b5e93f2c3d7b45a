"""The clinical record as PDF (`planwise plan export P1 --format pdf`): what the Markdown
document holds (store/export.py), in the guide's order, with a chart of each instrument's
scores, the signatures with their dates and the version, and the database's chain head
(the verification hash, docs/store.md "Tamper evidence") where the store has one."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from planwise.documents import chart
from planwise.documents.pdf_base import Writer, generated_at, new_pdf, to_bytes

if TYPE_CHECKING:
    from planwise.clinical.instruments import Instrument
    from planwise.store.export import PlanRecord, ScoreRecord
    from planwise.store.models import GoalItem, ObjectiveItem, PlanItem

STATUS = {"partially_met": "partially met", "not_met": "not met"}


def _origin(item: PlanItem) -> str:
    if item.origin == "proposed_rejected":
        return f" (rejected: {item.rejection_reason or 'no reason given'})"
    return {"proposed_edited": " (edited)", "added": " (added)"}.get(item.origin or "", "")


def render(rec: PlanRecord, catalog: dict[str, Instrument], chain_head: str | None = None,
           generated: dt.datetime | None = None) -> bytes:
    from planwise.store.export import BASIS_SHOWN

    v, d, info = rec.version, rec.document, rec.client_info
    when = generated or generated_at()
    pdf = new_pdf(f"Treatment plan {rec.plan} version {v.version}: clinical record",
                  f"{rec.plan} version {v.version}, clinical record, {when.date()}", when)
    w = Writer(pdf)
    w.title(f"Treatment plan {rec.plan}, version {v.version}")
    w.para(f"Clinical record: {v.state.replace('_', ' ')}. Made {when.date()}.")
    w.space()
    w.field("Client", f"{info.name} ({rec.client})")
    w.field("Start date", d.start_date)
    w.field("Review date", d.review_date or "not set")
    w.field("Risk level", d.risk_level)
    w.field("Version", f"{v.version}, created {v.created_at}"
            + (f"; reason: {v.reason}" if v.reason else ""))

    w.heading("Trauma and significant events")
    w.lines([(f"{e.date}: " if e.date else "") + e.text
             + (f" (recorded {e.recorded})" if e.recorded else "")
             for e in info.significant_events])
    _current_information(w, rec)

    w.heading("Problems, goals and objectives")
    if any(p.priority for p in d.problems):
        w.para("In the order the plan addresses them (1 first).")
    if not d.problems:
        w.lines([], "none")
    for p in sorted(d.problems, key=lambda p: p.priority or len(d.problems) + 1):
        rank = f"{p.priority}. " if p.priority else ""
        w.subheading(f"{rank}{p.condition.replace('_', ' ')} ({p.severity}){_origin(p)}")
        if p.basis:
            basis = BASIS_SHOWN.get(p.basis, p.basis)
            if p.basis == "screen_only" and p.origin != "proposed_rejected":
                basis += ("; confirmed by the clinician" if p.confirmed
                          else "; NOT CONFIRMED: confirm or reject before signing")
            w.field("Basis", basis)
        for g in p.goals:
            _goal(w, g)

    _treatment(w, rec)
    w.heading("Referrals")
    w.lines([f"{r.kind.replace('_', ' ')} ({r.urgency}): {r.reason}{_origin(r)}"
             for r in d.referrals], "none")
    w.heading("Assessments")
    w.lines([f"{a.instrument}: {a.reason}{_origin(a)}" for a in d.assessments], "none")
    w.heading("Warnings")
    w.lines([f"{x.kind.replace('_', ' ')}: {x.message}{_origin(x)}" for x in d.warnings],
            "none")
    w.heading("SMART check")
    w.lines(list(rec.lint), "no problems")
    _sessions(w, rec)
    _scores(w, rec, catalog)
    _signatures(w, rec, chain_head)
    return to_bytes(pdf)


def _current_information(w: Writer, rec: PlanRecord) -> None:
    info, intake = rec.client_info, rec.intake_history
    w.heading("Current information")
    facts = [("Date of birth", info.date_of_birth), ("Pronouns", info.pronouns),
             ("Phone", info.contact.phone), ("Email", info.contact.email),
             ("Address", info.contact.address), ("Preferred contact", info.contact.preferred)]
    for label, value in facts:
        if value:
            w.field(label, value)
    if not any(value for _, value in facts):
        w.field("Contact details", "none recorded")
    sections = [
        ("Emergency contacts", [", ".join(x for x in (e.name, e.relationship, e.phone) if x)
                                for e in info.emergency_contacts]),
        ("Community care providers", [", ".join(x for x in (p.name, p.role, p.organisation,
                                                            p.phone) if x)
                                      for p in info.care_providers]),
        ("Past diagnoses", [d.description + (f" ({d.code})" if d.code else "")
                            + (f", {d.when}" if d.when else "") for d in info.past_diagnoses]),
        ("Past treatment", ["; ".join(x for x in (t.description, t.provider, t.when, t.outcome)
                                      if x) for t in info.past_treatment]
         + ([f"{x} (at intake {intake.intake}, {intake.date})"
             for x in intake.prior_treatment] if intake else [])),
    ]
    if intake is not None and intake.medications:
        sections.append((f"Medications (at intake {intake.intake}, {intake.date})",
                         list(intake.medications)))
    for title, items in sections:
        w.subheading(title)
        w.lines(items)
    if info.notes:
        w.subheading("Notes")
        w.para(info.notes)


def _goal(w: Writer, g: GoalItem) -> None:
    phase = f" ({g.phase})" if g.phase else ""
    w.para(f"Goal{phase}: {g.text}{_origin(g)}", indent=2, bold=True)
    if g.deferred is not None:
        rules = f" (rules: {', '.join(g.deferred.because)})" if g.deferred.because else ""
        w.field("Deferred until", f"{g.deferred.until}{rules}", indent=4)
    for o in g.objectives:
        _objective(w, o, g)
    w.para("Interventions:", indent=4, bold=True)
    w.lines([f"{i.text} ({i.modality}){_origin(i)}" for i in g.interventions], "none",
            indent=4)


def _objective(w: Writer, o: ObjectiveItem, g: GoalItem) -> None:
    names = {i.key: i.text for i in g.interventions if i.origin != "proposed_rejected"}
    w.para(f"Objective: {o.text}{_origin(o)}", indent=4, bold=True)
    w.para(f"[{o.key}]", indent=6, size=8)
    for t in o.client_tasks:
        w.field("Client task", t, indent=6)
    w.field("Measure", o.measure, indent=6)
    live = [names[k] for k in o.interventions if k in names]
    for text in live or (["none in force"] if o.origin != "proposed_rejected" else []):
        w.field("Therapist intervention", text, indent=6)
    w.field("Dates", f"anticipated {o.anticipated or 'not set'}; actual {o.actual or '-'}",
            indent=6)
    w.field("Status", STATUS.get(o.status, o.status), indent=6)


def _treatment(w: Writer, rec: PlanRecord) -> None:
    d, t = rec.document, rec.document.treatment
    w.heading("Treatment")
    if t is None:
        w.lines([], "none set")
    elif t.origin == "proposed_rejected":
        w.bullet(f"None in force: the proposed block was rejected: {t.rejection_reason or ''}")
    else:
        w.field("Modalities", ", ".join(t.modalities) + _origin(t))
        w.field("Length", f"{t.sessions_min} to {t.sessions_max} sessions, "
                          f"{t.frequency_per_week} a week")
        w.field("Level of care", t.level_of_care.replace("_", " "))
        w.field("Review", f"every {t.review_weeks} weeks; next {d.review_date or 'not set'}")


def _sessions(w: Writer, rec: PlanRecord) -> None:
    w.heading("Sessions")
    held = len(rec.sessions)
    if rec.session_limit is None:
        w.para(f"{held} held; no authorised limit recorded.")
    else:
        left = rec.session_limit - held
        state = f"{left} left" if left >= 0 else f"{-left} OVER the authorised limit"
        w.para(f"{held} of {rec.session_limit} authorised sessions held, {state}.", bold=True)
    for s in rec.sessions:
        objs = ", ".join(f"{o.key} {'-' if o.rating is None else f'{o.rating}/10'}"
                         for o in s.objectives)
        what = objs or f"unplanned: {s.unplanned_reason or ''}"
        limit = f" of {s.session_limit}" if s.session_limit else ""
        w.bullet(f"Session {s.number}{limit}, {s.date} (version {s.version}): {what}. "
                 f"{s.note}")


def _scores(w: Writer, rec: PlanRecord, catalog: dict[str, Instrument]) -> None:
    w.heading("Scores over time")
    if not rec.scores:
        w.lines([])
        return
    w.para("Change is judged against the first score (the baseline) with the published "
           "reliable-change figures.", size=9)
    for series in rec.scores:
        w.subheading(series.name)
        totals = [s.total for s in series.scores]
        g = chart.guides(catalog.get(series.instrument), totals[0], totals)
        chart.draw(w.pdf, [chart.Point(s.date, s.total) for s in series.scores], g)
        for s in series.scores:
            w.bullet(f"{s.date}: {s.total} ({s.band.replace('_', ' ')}), {_change(s)}"
                     + (f"; flags: {', '.join(s.flags)}" if s.flags else ""))


def _change(s: ScoreRecord) -> str:
    if s.change is None:
        return "baseline"
    word = "" if s.change_class is None else ", " + s.change_class.replace("_", " ")
    extra = [n for n, on in (("recovered", s.recovered), ("response", s.response),
                             ("remission", s.remission)) if on]
    return f"{s.change:+d} since baseline{word}" + ("; " + ", ".join(extra) if extra else "")


def _signatures(w: Writer, rec: PlanRecord, chain_head: str | None) -> None:
    w.heading("Signatures")
    v = rec.version
    if not rec.signatures:
        w.lines([], f"version {v.version} is not signed")
    for s in rec.signatures:
        w.bullet(f"{s.role}: {s.name}, signed {s.signed_at}, version {v.version}"
                 + (" (signed although the SMART check found problems)" if s.forced else ""))
    if rec.requires_supervisor:
        w.bullet(f"Supervisor's signature required ({rec.supervisor or 'not named'})")
    w.heading("Versions")
    w.lines([f"Version {x.version}: {x.state.replace('_', ' ')}, {x.created_at}"
             + (f"; {x.reason}" if x.reason else "") for x in rec.versions])
    w.heading("Verification")
    if chain_head:
        w.para(f"Database {chain_head}. `planwise verify` on the database shows whether "
               "any record up to here has been rewritten since this document was made.",
               size=9)
    else:
        w.para("No verification hash: the database holds no chained records yet.", size=9)
