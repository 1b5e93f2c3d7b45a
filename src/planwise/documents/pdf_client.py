"""The client's copy of the plan (`plan export P1 --format pdf --audience client`): plain
language, for the person the plan is about. What they will do and what the therapist will
do, how progress is checked, how many sessions, who to contact in a crisis, and lines to
sign. Nothing internal: no rule ids, item keys, origins, SMART findings, bases or risk
formulation, and rejected items are left out (they are not part of the plan).

Crisis contacts: planwise keeps the contacts a safety plan names in the client's emergency
contacts and care providers (a safety plan is an objective of the plan, not a separate
record), so those are listed, with blank lines to fill in when none are recorded."""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING

from planwise.documents.pdf_base import FAMILY, Writer, clean, generated_at, new_pdf, to_bytes

if TYPE_CHECKING:
    from planwise.store.export import PlanRecord
    from planwise.store.models import GoalItem, ObjectiveItem, PlanItem

REJECTED = "proposed_rejected"
LIVE_STATUS = ("open", "revised")
STATUS_WORDS = {"met": "done", "partially_met": "partly done", "not_met": "not reached",
                "discontinued": "stopped", "revised": "changed", "open": "in progress"}


# The knowledge writes for the therapist ("Keep the client safe"); the client's copy
# speaks to the client. Longest phrases first.
YOU = [(re.compile(r"\bthe client's\b"), "your"), (re.compile(r"\bThe client's\b"), "Your"),
       (re.compile(r"\bthe client\b"), "you"), (re.compile(r"\bThe client\b"), "You"),
       (re.compile(r"\bwith the therapist\b"), "with your therapist")]


def plain(text: str) -> str:
    for pattern, word in YOU:
        text = pattern.sub(word, text)
    return text


def _live(item: PlanItem) -> bool:
    return item.origin != REJECTED


def render(rec: PlanRecord, generated: dt.datetime | None = None,
           crisis_lines: tuple[str, ...] = ()) -> bytes:
    """The client's copy; `crisis_lines` are the practice's own crisis contacts (the config
    file's `crisis_contacts`, docs/remote.md), printed before the client's people."""
    d, info = rec.document, rec.client_info
    when = generated or generated_at()
    pdf = new_pdf("Your treatment plan", f"Your treatment plan, {when.date()}", when)
    w = Writer(pdf)
    w.title("Your treatment plan")
    w.field("For", info.name)
    w.field("Starting", d.start_date)
    if d.review_date:
        w.field("We will look at this plan together again by", d.review_date)
    w.space()
    w.para("This plan is something we agree on together. It says what we will work on, what "
           "you will do between sessions, what your therapist will do, and how we will both "
           "know it is helping. We can change it whenever it stops fitting.")

    problems = sorted((p for p in d.problems if _live(p)),
                      key=lambda p: p.priority or len(d.problems) + 1)
    goals = [g for p in problems for g in p.goals if _live(g)]
    w.heading("What we will work on")
    if not goals:
        w.para("We will agree on what to work on at our next session.")
    for n, g in enumerate(goals, 1):
        _goal(w, n, g)

    w.heading("How we will check progress")
    checks = [(o.measure, o.anticipated) for g in goals for o in g.objectives
              if _live(o) and o.status in LIVE_STATUS]
    w.lines([plain(m) + (f" (aiming for {when_})" if when_ else "") for m, when_ in checks],
            "we will agree how to check progress together")
    if rec.scores:
        names = ", ".join(s.name for s in rec.scores)
        w.para(f"You will also fill in short questionnaires from time to time ({names}), so "
               "we can see together how things are changing.")
    _sessions(w, rec)
    _crisis(w, rec, crisis_lines)
    _sign(w, rec)
    return to_bytes(pdf)


def _goal(w: Writer, n: int, g: GoalItem) -> None:
    w.subheading(f"{n}. {plain(g.text)}")
    if g.deferred is not None:
        w.para(f"We will start on this later, once {plain(g.deferred.until)}.", indent=2)
    names = {i.key: plain(i.text) for i in g.interventions if _live(i)}
    for o in (o for o in g.objectives if _live(o)):
        _objective(w, o, names)


def _objective(w: Writer, o: ObjectiveItem, names: dict[str | None, str]) -> None:
    state = "" if o.status == "open" else f" ({STATUS_WORDS.get(o.status, 'changed')})"
    w.para(f"Step: {plain(o.text)}{state}", indent=2, bold=True)
    w.para("What you will do:", indent=4)
    w.lines([plain(t) for t in o.client_tasks], indent=6)
    therapist = [names[k] for k in o.interventions if k in names]
    if therapist:
        w.para("What your therapist will do:", indent=4)
        w.lines(therapist, indent=6)
    if o.anticipated:
        w.para(f"We hope to reach this by {o.anticipated}.", indent=4)


def _sessions(w: Writer, rec: PlanRecord) -> None:
    t = rec.document.treatment
    w.heading("How many sessions")
    if t is None or not _live(t):
        w.para("We will agree on the number of sessions together.")
    else:
        often = "once a week" if t.frequency_per_week == 1 else \
            f"{t.frequency_per_week} times a week"
        count = (f"{t.sessions_min} sessions" if t.sessions_min == t.sessions_max
                 else f"between {t.sessions_min} and {t.sessions_max} sessions")
        w.para(f"We expect {count}, {often}. We will look at the plan again every "
               f"{t.review_weeks} weeks.")
    held = len(rec.sessions)
    if rec.session_limit is not None:
        left = max(rec.session_limit - held, 0)
        w.para(f"{rec.session_limit} sessions are covered by your funding; "
               f"{_taken(held)} so far, so {left} remain.")
    elif held:
        w.para(f"{_taken(held)} so far.")


def _taken(held: int) -> str:
    return "1 has taken place" if held == 1 else f"{held} have taken place"


def _crisis(w: Writer, rec: PlanRecord, crisis_lines: tuple[str, ...]) -> None:
    info = rec.client_info
    w.heading("If you are in crisis")
    w.para("If you feel unsafe or might act on thoughts of harming yourself, call your local "
           "emergency number now or go to the nearest emergency department.", bold=True)
    if crisis_lines:
        w.para("Crisis lines:")
        w.lines(list(crisis_lines))
    people = [", ".join(x for x in (e.name, e.relationship, e.phone) if x)
              for e in info.emergency_contacts]
    care = [", ".join(x for x in (p.name, p.role, p.organisation, p.phone) if x)
            for p in info.care_providers if p.phone]
    w.para("People you can contact:")
    if people or care:
        w.lines(people + care)
    else:
        _blank_lines(w, 3, "Name and phone")


def _blank_lines(w: Writer, n: int, label: str) -> None:
    pdf = w.pdf
    for _ in range(n):
        pdf.ln(7)
        pdf.set_font(FAMILY, "", 9)
        pdf.set_x(pdf.l_margin + 4)
        pdf.cell(30, 4, clean(pdf, label))
        y = pdf.get_y() + 4
        pdf.line(pdf.l_margin + 34, y, pdf.l_margin + pdf.epw, y)
    pdf.ln(6)


def _sign(w: Writer, rec: PlanRecord) -> None:
    w.heading("Signatures")
    w.para("Signing says we have talked this plan through and agree to work on it "
           "together.")
    signed = {s.role: s for s in rec.signatures}
    pdf = w.pdf
    if pdf.get_y() > pdf.h - 60:
        pdf.add_page()
    for role, label in (("client", "You"), ("therapist", "Your therapist")):
        s = signed.get(role)
        if s is not None:
            w.para(f"{label}: signed by {s.name} on {s.signed_at[:10]}")
            continue
        pdf.ln(9)
        pdf.set_font(FAMILY, "", 10)
        pdf.cell(32, 5, clean(pdf, label))
        y = pdf.get_y() + 5
        pdf.line(pdf.l_margin + 32, y, pdf.l_margin + 110, y)
        pdf.set_x(pdf.l_margin + 116)
        pdf.cell(14, 5, "Date")
        pdf.line(pdf.l_margin + 130, y, pdf.l_margin + pdf.epw, y)
        pdf.ln(8)
