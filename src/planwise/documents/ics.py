"""A plan's dates as an iCalendar file (`planwise timeline P1 --format ics`): the review
date and each open objective's target date, as all-day events a calendar program can
import. A calendar is often synchronised to phones and shared with colleagues, so the
events name the plan, not the client, unless asked (`--name`); the objective's own words
go in the description. Each event's UID is stable (plan and objective key), so importing
a later export updates the events rather than adding copies."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from planwise.store.db import Conn

PRODID = "-//planwise//treatment plan timeline//EN"
OPEN = ("open", "revised")


@dataclass(frozen=True)
class Event:
    uid: str
    day: dt.date
    summary: str
    description: str


def events(c: Conn, plan_id: int, with_name: bool = False) -> list[Event]:
    """The current version's review date and open objectives' target dates, by date."""
    from planwise.store import ids
    from planwise.store.clients import get_client
    from planwise.store.plans import get_plan, load_doc_for

    plan = get_plan(c, plan_id)
    doc = load_doc_for(c, plan_id, None)
    name = ids.fmt("plan", plan_id)
    who = f" ({get_client(c, plan['client_id']).name})" if with_name else ""
    out: list[Event] = []
    if doc.review_date is not None:
        out.append(Event(f"{name}-review@planwise", doc.review_date,
                         f"{name}{who}: plan review due",
                         f"Review treatment plan {name} (version {doc.version}) with the "
                         "client: progress on each objective, sessions left, what changes."))
    for p in doc.problems:
        if p.origin == "proposed_rejected":
            continue
        for g in p.goals:
            if g.origin == "proposed_rejected":
                continue
            for o in g.objectives:
                if o.origin == "proposed_rejected" or o.status not in OPEN or \
                        o.anticipated is None:
                    continue
                out.append(Event(f"{name}-{o.key}@planwise", o.anticipated,
                                 f"{name}{who}: objective target date",
                                 f"{o.text} (objective {o.key}; measure: {o.measure})"))
    return sorted(out, key=lambda e: (e.day, e.uid))


def render(evs: list[Event], stamp: dt.datetime) -> bytes:
    """The calendar; `stamp` is DTSTAMP (fixed in tests, so the file is reproducible)."""
    from icalendar import Calendar
    from icalendar import Event as IcsEvent

    from planwise.text import printable

    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    for e in evs:
        ev = IcsEvent()
        ev.add("uid", e.uid)
        ev.add("dtstamp", stamp)
        ev.add("dtstart", e.day)
        ev.add("dtend", e.day + dt.timedelta(days=1))
        ev.add("summary", printable(e.summary))
        ev.add("description", printable(e.description))
        ev.add("transp", "TRANSPARENT")   # a reminder, not time taken
        cal.add_component(ev)
    return bytes(cal.to_ical())
