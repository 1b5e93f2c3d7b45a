"""Every case of the library (tests/fixtures/cases) through every document format: a plan
drafted from the case's intake, a session with feedback and a repeated score, then the
clinical-record PDF and the client's copy read back as text, the calendar parsed back and
the caseload's CSV parsed back, each compared with what the store holds."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from planwise.store import Store
from planwise.store.db import Conn

CASES = sorted((Path(__file__).parent / "fixtures" / "cases").glob("*.toml"))
TODAY = "2026-12-20"
INTAKE_DAY = dt.date(2026, 10, 1)
FEEDBACK = {"heard": 8, "mattered": 7, "approach": 9, "overall": 8}
# Words of the clinical record that have no place in the client's copy.
INTERNAL = ("proposed_", "screen_only", "screen_and_concern", "SMART", "lint",
            "origin", "basis", "chain head", "risk level", "Risk level", "because", "rules:")


@dataclass
class Case:
    stem: str
    client: int
    plan: int
    name: str
    contact: str | None


@dataclass
class Library:
    conn: Conn
    cases: dict[str, Case]


def pdf_text(data: bytes) -> str:
    """The document's text, the page footers left out, whitespace runs as one space (a
    wrapped line reads as the sentence it was)."""
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    lines = [ln for page in reader.pages for ln in page.extract_text().splitlines()
             if "  |  page " not in ln]
    return " ".join(" ".join(lines).split())


def norm(text: str) -> str:
    return " ".join(str(text).split())


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Library]:
    from planwise.clinical.instrument_files import load_instruments
    from planwise.kb import load_knowledge
    from planwise.models.profile import Profile
    from planwise.store import plans, sessions
    from planwise.store.clients import add_client, add_intake_data, get_client, save_client_info
    from planwise.store.measures import add_measure
    from planwise.store.models import EmergencyContact

    mp = pytest.MonkeyPatch()
    mp.setenv("PLANWISE_TODAY", TODAY)
    conn = Store(tmp_path_factory.mktemp("cases") / "planwise.db").connect()
    kb, catalog = load_knowledge(), load_instruments()
    out: dict[str, Case] = {}
    for n, path in enumerate(CASES):
        data = tomllib.loads(path.read_text())
        intake = dict(data["intake"], date=INTAKE_DAY)
        profile = Profile.model_validate(data["profile"]) if "profile" in data else None
        # Names with letters beyond ASCII: the shipped font must draw them.
        name = f"Zoë Łukasz-Ñúñez {n}"
        cid = add_client(conn, name)
        contact = None
        if n % 2 == 0:    # half the caseload with an emergency contact, half without
            contact = f"Ana Contact {n}"
            info = get_client(conn, cid)
            info.emergency_contacts = [EmergencyContact(name=contact, relationship="sister",
                                                        phone=f"555-01{n:02d}")]
            save_client_info(conn, cid, info)
        iid = add_intake_data(conn, cid, intake, kb)
        pid = plans.draft(conn, cid, f"I{iid}", kb, profile, "reference")
        doc = plans.load_doc_for(conn, pid, None)
        objectives = [o.key for p in doc.problems for g in p.goals for o in g.objectives
                      if o.key]
        given = [(inst, answers) for inst, answers in (intake.get("instruments") or {}).items()
                 if inst in catalog and catalog[inst].scoring.kind == "sum"]
        # The first score given again at the session, the others on their own later.
        sessions.add_session(conn, pid, "2026-11-01", [f"{objectives[0]}:5"] if objectives
                             else [], "Session held", None if objectives else "assessment",
                             feedback=FEEDBACK, measures=given[:1], instruments=catalog)
        for inst, answers in given[1:]:
            add_measure(conn, cid, inst, answers, "2026-11-15", catalog)
        out[path.stem] = Case(path.stem, cid, pid, name, contact)
    yield Library(conn, out)
    conn.close()
    mp.undo()


def _live(item: Any) -> bool:
    return item.origin != "proposed_rejected"


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_clinical_record_pdf_reads_back(library: Library, path: Path) -> None:
    from planwise.documents.plan_pdf import plan_pdf
    from planwise.store.export import build_record
    from planwise.store.integrity import head

    case = library.cases[path.stem]
    rec = build_record(library.conn, case.plan)
    text = pdf_text(plan_pdf(library.conn, case.plan))
    d = rec.document
    expected = [case.name, f"Treatment plan P{case.plan}, version 1", f"Risk level: "
                f"{d.risk_level}", f"Start date: {d.start_date}", "Trauma and significant "
                "events", "Current information", "Problems, goals and objectives",
                "Treatment", "Referrals", "Sessions", "Scores over time", "Signatures",
                "version 1 is not signed", f"chain head: #{head(library.conn.raw)[0]}"]
    limit = rec.session_limit
    expected.append(f"1 of {limit} authorised sessions held" if limit
                    else "1 held; no authorised limit recorded")
    for p in d.problems:
        expected.append(f"{p.condition.replace('_', ' ')} ({p.severity})")
        for g in p.goals:
            expected.append(g.text)
            for o in g.objectives:
                expected += [o.text, o.measure, f"[{o.key}]", *o.client_tasks,
                             f"anticipated {o.anticipated or 'not set'}"]
            expected += [i.text for i in g.interventions]
    expected += [r.reason for r in d.referrals] + [w.message for w in d.warnings]
    for series in rec.scores:
        expected.append(series.name)
        expected += [f"{s.date}: {s.total}" for s in series.scores]
    missing = [x for x in expected if norm(x) not in text]
    assert not missing, missing


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_client_copy_pdf_reads_back_in_plain_words(library: Library, path: Path) -> None:
    from planwise.documents.pdf_client import plain
    from planwise.documents.plan_pdf import plan_pdf
    from planwise.store.export import build_record

    case = library.cases[path.stem]
    rec = build_record(library.conn, case.plan)
    text = pdf_text(plan_pdf(library.conn, case.plan, audience="client"))
    d = rec.document
    expected = ["Your treatment plan", case.name, "What we will work on",
                "How we will check progress", "How many sessions", "If you are in crisis",
                "call your local emergency number", "Signatures", "Your therapist"]
    expected.append(case.contact if case.contact else "Name and phone")
    keys: set[str] = set()
    rules: set[str] = set()
    for p in d.problems:
        rules.update(p.because)
        for g in p.goals:
            keys.add(str(g.key))
            rules.update(g.because)
            if _live(p) and _live(g):
                expected.append(plain(g.text))
            for o in g.objectives:
                keys.add(str(o.key))
                rules.update(o.because)
                if _live(p) and _live(g) and _live(o):
                    expected += [plain(o.text)] + [plain(t) for t in o.client_tasks]
            for i in g.interventions:
                keys.add(str(i.key))
                rules.update(i.because)
    for item in [*d.referrals, *d.assessments, *d.warnings]:
        rules.update(item.because)
    if d.treatment is not None:
        rules.update(d.treatment.because)
        if _live(d.treatment):
            expected.append(f"{d.treatment.frequency_per_week}" if
                            d.treatment.frequency_per_week > 1 else "once a week")
    missing = [x for x in expected if norm(x) not in text]
    assert not missing, missing
    leaked = [k for k in sorted(keys | rules) if re.search(rf"(?<![\w.]){re.escape(k)}"
                                                          rf"(?![\w.])", text)]
    assert not leaked, f"internal ids in the client's copy: {leaked}"
    words = [w for w in INTERNAL if re.search(rf"\b{w}\b", text)]
    assert not words, f"internal terms in the client's copy: {words}"
    # Only the live plan: a warning (a note for the therapist) is not the client's.
    assert not [w.message for w in d.warnings if norm(w.message) in text]


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_calendar_parses_back_to_the_plan_dates(library: Library, path: Path) -> None:
    from icalendar import Calendar

    from planwise.documents import ics
    from planwise.store.plans import load_doc_for

    case = library.cases[path.stem]
    doc = load_doc_for(library.conn, case.plan, None)
    want = {(f"P{case.plan}-review@planwise", doc.review_date)} if doc.review_date else set()
    want |= {(f"P{case.plan}-{o.key}@planwise", o.anticipated) for p in doc.problems
             for g in p.goals for o in g.objectives
             if _live(p) and _live(g) and _live(o) and o.anticipated and o.status == "open"}
    data = ics.render(ics.events(library.conn, case.plan), dt.datetime(2026, 12, 20,
                                                                       tzinfo=dt.UTC))
    cal = Calendar.from_ical(data)
    got = {(str(e["UID"]), e.decoded("DTSTART")) for e in cal.walk("VEVENT")}
    assert got == want
    for e in cal.walk("VEVENT"):
        assert e.decoded("DTEND") - e.decoded("DTSTART") == dt.timedelta(days=1)
    text = data.decode()
    assert "Zoë" not in text and "Łukasz" not in text and case.name not in text
    named = ics.render(ics.events(library.conn, case.plan, with_name=True),
                       dt.datetime(2026, 12, 20, tzinfo=dt.UTC))
    summaries = [str(e["SUMMARY"]) for e in Calendar.from_ical(named).walk("VEVENT")]
    assert all(case.name in s for s in summaries)


def test_csv_parses_back_to_every_score_of_the_library(library: Library) -> None:
    from planwise.documents.csv_export import header, to_csv
    from planwise.store.measures import series

    rows = list(csv.DictReader(io.StringIO(to_csv(library.conn, "measures"))))
    assert list(rows[0]) == header("measures")
    want = []
    for case in library.cases.values():
        for inst, scores in series(library.conn, case.client).items():
            for s in scores:
                klass = "baseline" if s["change"] is None else s["change"]["change_class"]
                change = "" if s["change"] is None else str(s["change"]["change"])
                want.append({"client": f"C{case.client}", "instrument": inst,
                             "date": s["date"], "total": str(s["total"]), "band": s["band"],
                             "change": change, "change_class": klass,
                             "session": "" if s["session"] is None else str(s["session"]),
                             "plan": "" if s["session"] is None else f"P{case.plan}"})
    assert rows == want
    # Baselines, scores given again at a session and on their own.
    assert sum(r["change_class"] == "baseline" for r in rows) > len(library.cases) // 2
    assert sum(r["session"] == "1" for r in rows) > len(library.cases) // 2
    assert sum(r["change_class"] == "no_reliable_change" and not r["session"]
               for r in rows) >= 5


def test_csv_sessions_and_feedback_parse_back(library: Library) -> None:
    from planwise.documents.csv_export import to_csv

    sess = list(csv.DictReader(io.StringIO(to_csv(library.conn, "sessions"))))
    assert [(r["client"], r["plan"], r["session"], r["date"]) for r in sess] == \
        [(f"C{c.client}", f"P{c.plan}", "1", "2026-11-01") for c in library.cases.values()]
    assert {r["over_limit"] for r in sess} == {"no"}
    fb = list(csv.DictReader(io.StringIO(to_csv(library.conn, "feedback"))))
    assert len(fb) == len(library.cases)
    for r in fb:
        assert {k: int(r[k]) for k in FEEDBACK} == FEEDBACK
        assert r["mean"] == "8" and r["lowest"] == "7" and r["low"] == "no"


def test_csv_pseudonymised_is_stable_and_names_no_id(library: Library) -> None:
    from planwise.documents.csv_export import to_csv
    from planwise.documents.pseudonym import client_pseudonym

    text = to_csv(library.conn, "measures", pseudonymise=True)
    assert text == to_csv(library.conn, "measures", pseudonymise=True)
    rows = list(csv.DictReader(io.StringIO(text)))
    scored = {int(r["client"][1:]) for r in csv.DictReader(io.StringIO(
        to_csv(library.conn, "measures")))}
    want = {client_pseudonym(library.conn, cid) for cid in scored}
    assert {r["client"] for r in rows} == want
    assert len(want) == len(scored) > len(library.cases) // 2
    assert not re.search(r"\bC\d+\b|\bP\d+\b", text)
    assert "Zoë" not in text
    sess = list(csv.DictReader(io.StringIO(to_csv(library.conn, "sessions",
                                                  pseudonymise=True))))
    assert {r["plan"] for r in sess} == {"1"}
