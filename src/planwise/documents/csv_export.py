"""The caseload's records as CSV (`planwise measure export --format csv`), one row per
measure, session or feedback form, for a spreadsheet or a statistics program. Clinical
text (notes, reasons, names) is never written: only ids (or their pseudonyms), dates and
numbers. The columns are fixed and documented (COLUMNS, docs/documents.md); `--since`
leaves out rows dated earlier, but each change class is still judged against the
client's baseline, the first score of that instrument, however old."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Callable, Iterator
from typing import Any

from planwise.store.db import Conn

RECORDS = ("measures", "sessions", "feedback")

COLUMNS: dict[str, list[tuple[str, str]]] = {
    "measures": [
        ("client", "client id (C12), or its pseudonym (PW-...) with --pseudonymise"),
        ("instrument", "instrument id (phq9, gad7, ...)"),
        ("date", "when it was given (YYYY-MM-DD)"),
        ("total", "the total score"),
        ("band", "the severity band of the total"),
        ("change", "points since the baseline (current - baseline); empty for the baseline"),
        ("change_class", "baseline, reliably_improved, no_reliable_change, "
                         "reliably_deteriorated or not_classified"),
        ("session", "the session's number in its plan when given at a session, else empty"),
        ("plan", "the plan of that session (P3; with --pseudonymise its place among the "
                 "client's plans, 1 = the first), else empty"),
    ],
    "sessions": [
        ("client", "client id or pseudonym"),
        ("plan", "plan id (P3), or with --pseudonymise 1, 2, ... among the client's plans"),
        ("session", "the session's number in the plan (every session counts)"),
        ("date", "when it was held"),
        ("session_limit", "the payer's authorised sessions at the time; empty if none"),
        ("over_limit", "yes when the number is above the limit"),
        ("planned", "no for an unplanned session (a crisis, an assessment)"),
        ("objectives", "how many objectives it addressed"),
        ("mean_rating", "mean progress rating 0-10 of those rated; empty if none"),
    ],
    "feedback": [
        ("client", "client id or pseudonym"),
        ("plan", "plan id (P3), or with --pseudonymise 1, 2, ... among the client's plans"),
        ("session", "the session's number in the plan"),
        ("date", "the session's date"),
        ("<item>", "one column per item of the feedback form (heard, mattered, approach, "
                   "overall), 0-10"),
        ("mean", "mean of the answers"),
        ("lowest", "the lowest answer"),
        ("low", "yes when an answer is below the form's threshold"),
        ("falling", "yes when the mean fell by the form's margin since the plan's previous "
                    "feedback"),
    ],
}


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


class Names:
    """How ids are written: C12 and P3, or with pseudonymise the client's pseudonym
    (planwise.documents.pseudonym, shared with the FHIR export) and the plan's place among
    the client's plans (1 = the first), since a plan id would lead back to the client."""

    def __init__(self, c: Conn, pseudonymise: bool) -> None:
        self.on = pseudonymise
        self.plans: dict[int, str] = {}
        # Called once per row: C-level callables, no Python frame per call.
        self.client: Callable[[int], str] = "C{}".format
        if pseudonymise:
            from planwise.documents.pseudonym import Pseudonyms

            # Only the clients with rows (after --since) are computed, each once.
            self.client = Pseudonyms(c).__getitem__
            counts: dict[int, int] = {}
            for pid, cid in c.raw.execute("SELECT id, client_id FROM plans ORDER BY id"):
                counts[cid] = counts.get(cid, 0) + 1
                self.plans[pid] = str(counts[cid])

    def plan(self, pid: int | None) -> str:
        if pid is None:
            return ""
        return self.plans[pid] if self.on else f"P{pid}"


def measure_rows(c: Conn, since: dt.date | None = None,
                 pseudonymise: bool = False) -> Iterator[list[Any]]:
    from planwise.clinical.instrument_files import load_instruments
    from planwise.clinical.progress import change_class_of

    catalog = load_instruments()
    names = Names(c, pseudonymise)
    client, plan = names.client, names.plan
    floor = since.isoformat() if since else ""
    key: tuple[int, str] | None = None
    base = 0
    # One pass in the order series() reads a client's scores, so the first row of each
    # client and instrument is the baseline every later one is judged against.
    for cid, inst, day, total, band, number, pid in c.raw.execute(
            "SELECT m.client_id, m.instrument, m.date, m.total, m.band, s.number, s.plan_id "
            "FROM measures m LEFT JOIN sessions s ON s.id = m.session_id "
            "ORDER BY m.client_id, m.instrument, m.date, m.id"):
        if key != (cid, inst):
            key, base = (cid, inst), total
            change, klass = "", "baseline"
        else:
            known = catalog.get(inst)
            change = str(total - base)
            klass = change_class_of(known, base, total) if known else "not_classified"
        if day < floor:
            continue
        yield [client(cid), inst, day, total, band, change, klass,
               "" if number is None else number, plan(pid)]


def session_rows(c: Conn, since: dt.date | None = None,
                 pseudonymise: bool = False) -> Iterator[list[Any]]:
    names = Names(c, pseudonymise)
    client, plan = names.client, names.plan
    floor = since.isoformat() if since else ""
    for cid, pid, number, day, limit, unplanned, count, mean in c.raw.execute(
            "SELECT p.client_id, s.plan_id, s.number, s.date, s.session_limit, "
            "s.unplanned_reason IS NOT NULL, count(o.session_id), avg(o.rating) "
            "FROM sessions s JOIN plans p ON p.id = s.plan_id "
            "LEFT JOIN session_objectives o ON o.session_id = s.id "
            "WHERE s.date >= ? GROUP BY s.id ORDER BY p.client_id, s.plan_id, s.number",
            [floor]):
        yield [client(cid), plan(pid), number, day, "" if limit is None else limit,
               _yes(limit is not None and number > limit), _yes(not unplanned), count,
               "" if mean is None else f"{mean:.2f}".rstrip("0").rstrip(".")]


def feedback_rows(c: Conn, since: dt.date | None = None, pseudonymise: bool = False
                  ) -> tuple[list[str], Iterator[list[Any]]]:
    from planwise.clinical.feedback import load_form, summarise

    form = load_form()
    names = Names(c, pseudonymise)
    client, plan = names.client, names.plan
    floor = since.isoformat() if since else ""

    def rows() -> Iterator[list[Any]]:
        previous: dict[str, int] | None = None
        last_plan = None
        for cid, pid, number, day, answers, mean, lowest in c.raw.execute(
                "SELECT p.client_id, s.plan_id, s.number, s.date, f.answers, f.mean, "
                "f.lowest FROM session_feedback f JOIN sessions s ON s.id = f.session_id "
                "JOIN plans p ON p.id = s.plan_id ORDER BY p.client_id, s.plan_id, s.number"):
            if pid != last_plan:
                previous, last_plan = None, pid
            given = json.loads(answers)
            summary = summarise(given, previous, form)
            previous = given
            if day < floor:
                continue
            yield ([client(cid), plan(pid), number, day]
                   + [given.get(i, "") for i in form.ids]
                   + [f"{mean:g}", lowest, _yes(summary.low), _yes(summary.falling)])

    return form.ids, rows()


def header(records: str, items: list[str] | None = None) -> list[str]:
    cols = [name for name, _ in COLUMNS[records]]
    if records == "feedback":
        at = cols.index("<item>")
        cols[at:at + 1] = items or []
    return cols


def to_csv(c: Conn, records: str, since: dt.date | None = None,
           pseudonymise: bool = False) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if records == "measures":
        writer.writerow(header(records))
        writer.writerows(measure_rows(c, since, pseudonymise))
    elif records == "sessions":
        writer.writerow(header(records))
        writer.writerows(session_rows(c, since, pseudonymise))
    else:
        items, rows = feedback_rows(c, since, pseudonymise)
        writer.writerow(header(records, items))
        writer.writerows(rows)
    return out.getvalue()
