"""`plan export --format pdf`, `timeline --format ics` and `measure export --format csv`
from the command line: what they write, where, with which mode, and what they refuse."""

from __future__ import annotations

import csv
import io
import os
import re
import stat
from pathlib import Path

import pytest

from tests.test_documents_cases import pdf_text
from tests.test_store_export_diff import CLIENT_TOML
from tests.test_store_helpers import EXAMPLE, Runner

LAYOUT = Path(__file__).parent / "fixtures" / "documents" / "record-scores-page.txt"


@pytest.fixture()
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Runner:
    """Jo Example with current information, the example intake (PHQ-9 16), plan P1, two
    more PHQ-9 scores and a session with feedback."""
    monkeypatch.setenv("PLANWISE_TODAY", "2026-12-20")
    r = Runner(tmp_path, monkeypatch)
    r.ok("client", "add", "--name", "Jo Example")
    (tmp_path / "c1.toml").write_text(CLIENT_TOML)
    r.ok("client", "edit", "C1", "--file", str(tmp_path / "c1.toml"))
    r.ok("client", "intake", "C1", str(EXAMPLE))
    r.ok("plan", "draft", "C1", "I1", "--engine", "reference")
    r.ok("measure", "add", "C1", "phq9", "--answers", "1,1,1,1,1,1,1,1,0", "--date",
         "2026-12-08")
    r.ok("session", "add", "P1", "--date", "2026-12-13", "--objective",
         "depression.activity.monitor:4", "--note", "Log reviewed", "--feedback",
         "heard=8,mattered=7,approach=9,overall=8")
    r.ok("measure", "add", "C1", "phq9", "--answers", "1,0,1,0,0,1,0,0,0", "--date",
         "2026-12-19")
    return r


def _pdf(run: Runner, tmp_path: Path, *extra: str) -> bytes:
    out = tmp_path / "p1.pdf"
    run.ok("plan", "export", "P1", "--format", "pdf", "--output", str(out), *extra)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    return out.read_bytes()


def test_clinical_record_pdf(run: Runner, tmp_path: Path) -> None:
    data = _pdf(run, tmp_path)
    assert data.startswith(b"%PDF-")
    text = pdf_text(data)
    for want in ("Treatment plan P1, version 1", "Clinical record: draft", "Jo Example (C1)",
                 "Lost job after 10 years", "Sam Example, sibling, 555-0101",
                 "Depressive episode (F32.1)", "Client task:", "Measure:",
                 "Therapist intervention:", "Dates: anticipated", "Status: open",
                 "1 of 12 authorised sessions held, 11 left",
                 "Session 1 of 12, 2026-12-13 (version 1): depression.activity.monitor 4/10",
                 "PHQ-9", "2026-11-29: 16 (moderately severe), baseline",
                 "2026-12-19: 3 (minimal), -13 since baseline, reliably improved",
                 "Dashed red line: cut-off: 10 or more is clinical",
                 "Shaded band: reliable-change band: within 5 points of the baseline (16)",
                 "version 1 is not signed", "chain head: #"):
        assert want in text, want
    assert text.index("Trauma and significant events") < text.index("Problems, goals")


def test_the_same_record_gives_the_same_bytes(run: Runner, tmp_path: Path) -> None:
    # Fixed creation date (PLANWISE_TODAY) and the shipped font: byte for byte.
    assert _pdf(run, tmp_path) == _pdf(run, tmp_path)


def test_signatures_with_dates_and_the_version(run: Runner, tmp_path: Path) -> None:
    run.ok("plan", "sign", "P1", "--role", "therapist", "--name", "A. Clinician")
    run.ok("plan", "sign", "P1", "--role", "client", "--name", "Jo Example")
    text = pdf_text(_pdf(run, tmp_path))
    assert "Clinical record: signed" in text
    assert "therapist: A. Clinician, signed 20" in text and ", version 1" in text
    client = pdf_text(_pdf(run, tmp_path, "--audience", "client"))
    assert "You: signed by Jo Example on 20" in client
    assert "Your therapist: signed by A. Clinician on 20" in client


def test_revised_plan_marks_edits_and_leaves_rejections_out_of_the_client_copy(
        run: Runner, tmp_path: Path) -> None:
    from tests.test_store_export_diff import revise

    revise(run, tmp_path)
    record = pdf_text(_pdf(run, tmp_path))
    for want in ("version 2", "reason: client chose walking", "Do more of what matters (edited)",
                 "(rejected: already sees the GP)", "Objective: Walk (added)",
                 "Walk for 20 minutes daily", "Version 1: signed", "Version 2: draft"):
        assert want in record, want
    v1 = pdf_text(_pdf(run, tmp_path, "--version", "1"))
    assert "Clinical record: signed" in v1 and "therapist: A. Clinician, signed" in v1
    client = pdf_text(_pdf(run, tmp_path, "--audience", "client"))
    assert "Do more of what matters" in client and "Walk for 20 minutes daily" in client
    assert "already sees the GP" not in client and "(edited)" not in client


def test_client_copy(run: Runner, tmp_path: Path) -> None:
    text = pdf_text(_pdf(run, tmp_path, "--audience", "client"))
    for want in ("Your treatment plan", "For: Jo Example", "What you will do:",
                 "What your therapist will do:", "How we will check progress",
                 "You will also fill in short questionnaires from time to time (ASQ, AUDIT, "
                 "PHQ-9)", "How many sessions", "12 sessions are covered by your funding; 1 "
                 "has taken place so far, so 11 remain", "If you are in crisis",
                 "Sam Example, sibling, 555-0101", "Signatures"):
        assert want in text, want
    for internal in ("depression.activity.monitor", "Risk level", "SMART", "origin",
                     "proposed", "screen_only", "chain head", "Lost job"):
        assert not re.search(rf"\b{re.escape(internal)}\b", text), internal


def test_client_copy_lists_the_practice_crisis_contacts(run: Runner, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "config.toml"
    config.write_text('crisis_contacts = ["Samaritans: 116 123, any hour", '
                      '"Crisis team: 555-0911"]\n')
    monkeypatch.setenv("PLANWISE_CONFIG", str(config))
    text = pdf_text(_pdf(run, tmp_path, "--audience", "client"))
    at = text.index("If you are in crisis")
    assert text.index("Crisis lines: • Samaritans: 116 123, any hour • Crisis team: 555-0911") \
        > at
    assert text.index("Sam Example, sibling, 555-0101") > at


def test_a_character_the_font_lacks_is_shown_escaped(run: Runner, tmp_path: Path) -> None:
    toml = CLIENT_TOML.replace('name = "Jo Example"', 'name = "Jo 李 Example"')
    (tmp_path / "c2.toml").write_text(toml)
    run.ok("client", "edit", "C1", "--file", str(tmp_path / "c2.toml"))
    text = pdf_text(_pdf(run, tmp_path))
    assert "Jo \\u674e Example" in text


def test_pdf_refusals(run: Runner, tmp_path: Path) -> None:
    assert "needs --output" in run.fails("plan", "export", "P1", "--format", "pdf")
    assert "--audience is for --format pdf" in run.fails(
        "plan", "export", "P1", "--format", "markdown", "--audience", "client")
    target = tmp_path / "elsewhere.pdf"
    target.write_text("keep")
    link = tmp_path / "link.pdf"
    link.symlink_to(target)
    assert "symbolic link" in run.fails("plan", "export", "P1", "--format", "pdf",
                                        "--output", str(link))
    assert target.read_text() == "keep"
    assert "folder does not exist" in run.fails("plan", "export", "P1", "--format", "pdf",
                                                "--output", str(tmp_path / "no" / "p.pdf"))


def page_layout(data: bytes, page_no: int) -> str:
    """One page as layout text: every text run with its position and size, and every
    drawing operation (rectangles, lines, circles' curves, colours, dashes) with its
    numbers, rounded to 0.1 pt. A regression here is a change of what the page shows."""
    from pypdf import PdfReader
    from pypdf.generic import ContentStream

    reader = PdfReader(io.BytesIO(data))
    page = reader.pages[page_no]
    out: list[str] = []

    def visit(text: str, cm: list[float], tm: list[float], font: object, size: float) -> None:
        if text.strip():
            out.append(f"text {tm[4]:.1f} {tm[5]:.1f} {size:.1f} {text.strip()}")

    page.extract_text(visitor_text=visit)
    draw = {"re", "m", "l", "c", "S", "f", "B", "w", "RG", "rg", "d", "h"}
    for operands, op in ContentStream(page.get_contents(), reader).operations:
        name = op.decode()
        if name in draw:
            flat = [y for x in operands for y in (x if isinstance(x, list) else [x])]
            nums = " ".join(f"{float(x):.1f}" for x in flat
                            if isinstance(x, int | float) or hasattr(x, "as_numeric"))
            out.append(f"draw {name} {nums}".rstrip())
    # Creation times of records come from the clock (the text keeps its width: DejaVu's
    # digits are all one width).
    text = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\S*", "<time>", "\n".join(out) + "\n")
    return re.sub(r"#\d+ [0-9a-f]{64}", "#<n> <hash>", text)   # the chain covers the times


def test_scores_page_layout_snapshot(run: Runner, tmp_path: Path) -> None:
    """The page with the PHQ-9 chart, as layout text compared with the stored snapshot.

    Layout text, not pixels: the file is made from the shipped font by pure Python, so its
    positions are the same on every machine, while a raster of it depends on the renderer
    (poppler's version, anti-aliasing, hinting). PLANWISE_UPDATE_LAYOUT=1 rewrites it."""
    from pypdf import PdfReader

    data = _pdf(run, tmp_path)
    pages = PdfReader(io.BytesIO(data)).pages
    page_no = next(i for i, p in enumerate(pages) if "Dashed red line" in p.extract_text())
    got = page_layout(data, page_no)
    assert "draw re" in got and "draw d" in got and "draw c" in got   # band, cut-off, dots
    if os.environ.get("PLANWISE_UPDATE_LAYOUT") == "1":
        LAYOUT.parent.mkdir(exist_ok=True)
        LAYOUT.write_text(got)
    assert LAYOUT.exists(), "no layout snapshot: run with PLANWISE_UPDATE_LAYOUT=1 once"
    assert got == LAYOUT.read_text()


# --- calendar --------------------------------------------------------------------------

def test_timeline_ics(run: Runner, tmp_path: Path) -> None:
    from icalendar import Calendar

    text = run.ok("timeline", "P1", "--format", "ics")
    cal = Calendar.from_ical(text)
    events = list(cal.walk("VEVENT"))
    assert events and str(events[0]["SUMMARY"]).startswith("P1: ")
    assert any(str(e["UID"]) == "P1-review@planwise" for e in events)
    assert "Jo Example" not in text
    named = run.ok("timeline", "P1", "--format", "ics", "--name")
    assert all("Jo Example" in str(e["SUMMARY"]) for e in Calendar.from_ical(named)
               .walk("VEVENT"))
    out = tmp_path / "p1.ics"
    assert run.ok("timeline", "P1", "--format", "ics", "--output", str(out)) == \
        f"P1 calendar written to {out}"
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert Calendar.from_ical(out.read_bytes()).to_ical() == cal.to_ical()
    assert "--format ics" in run.fails("timeline", "P1", "--name")


# --- CSV -------------------------------------------------------------------------------

def test_measure_export_csv(run: Runner, tmp_path: Path) -> None:
    rows = list(csv.DictReader(io.StringIO(run.ok("measure", "export", "--format", "csv"))))
    phq = [r for r in rows if r["instrument"] == "phq9"]
    assert [(r["date"], r["total"], r["change_class"]) for r in phq] == [
        ("2026-11-29", "16", "baseline"), ("2026-12-08", "8", "reliably_improved"),
        ("2026-12-19", "3", "reliably_improved")]
    assert {r["client"] for r in rows} == {"C1"}
    since = list(csv.DictReader(io.StringIO(run.ok("measure", "export", "--since",
                                                   "2026-12-10"))))
    # The change is still against the baseline of 2026-11-29, which is left out.
    assert [(r["date"], r["change"]) for r in since] == [("2026-12-19", "-13")]
    pseud = run.ok("measure", "export", "--pseudonymise")
    assert pseud == run.ok("measure", "export", "--pseudonymise")
    assert "C1" not in pseud and "Jo" not in pseud and "\nPW-" in pseud
    out = tmp_path / "m.csv"
    assert run.ok("measure", "export", "--records", "sessions", "--output", str(out)) == \
        f"1 sessions rows written to {out}"
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert out.read_text().splitlines()[1] == "C1,P1,1,2026-12-13,12,no,yes,1,4"
    fb = run.ok("measure", "export", "--records", "feedback").splitlines()
    assert fb == ["client,plan,session,date,heard,mattered,approach,overall,mean,lowest,low,"
                  "falling", "C1,P1,1,2026-12-13,8,7,9,8,8,7,no,no"]
    assert "--since must be a date" in run.fails("measure", "export", "--since", "soon")
