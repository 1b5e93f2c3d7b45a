"""Document exports benchmark (issue 13): the PDFs of a plan with 20 sessions, and the CSV of
10,000 clients' measures.

    .venv/bin/python benchmarks/documents.py [--clients N] [--runs N]

Builds, in a temporary folder:

- one client with current information, the example intake, its plan, 20 weekly sessions
  (objectives rated, feedback, a PHQ-9 at every second session) through the store's API;
- a caseload of N clients (10,000) with 6 scores each (PHQ-9 and GAD-7, three times),
  inserted in bulk (the hash chain's triggers run, as for any record).

Then times, median of --runs:

- baseline: the same plan's Markdown export (build the record and write the text), so the
  PDF figures can be read against work done on the same machine in the same minute;
- pdf record / pdf client: `documents.plan_pdf.plan_pdf` for each audience, and the same
  with the fonts parsed anew for each document (fpdf2's own `add_font`, as before
  documents/pdf_fonts.py kept them for the process), so the saving is read in one run;
- calendar: `documents.ics` events and file;
- baseline: a plain CSV of the caseload's measures rows as stored (one query, csv.writer);
- csv measures / csv measures pseudonymised: `documents.csv_export.to_csv`.

Timing figures taken while other work loads the machine are noisy: read each against its
baseline. No asserts: figures only.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "depression-alcohol.toml"
TODAY = "2026-12-20"


def timed(fn: Callable[[], Any], runs: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(runs):
        start = time.perf_counter()
        out = fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), out


def line(name: str, ms: float, extra: str = "") -> None:
    print(f"{name:<38} {ms:>9.1f} ms{extra}")


def plan_with_sessions(conn: Any, sessions_n: int) -> int:
    from planwise.clinical.instrument_files import load_instruments
    from planwise.kb import load_knowledge
    from planwise.store import clients, plans, sessions
    from planwise.store.models import CareProvider, EmergencyContact

    kb, catalog = load_knowledge(), load_instruments()
    cid = clients.add_client(conn, "Jo Example")
    info = clients.get_client(conn, cid)
    info.emergency_contacts = [EmergencyContact(name="Sam Example", relationship="sibling",
                                                phone="555-0101")]
    info.care_providers = [CareProvider(name="Dr Green", role="GP", phone="555-0199")]
    clients.save_client_info(conn, cid, info)
    import tomllib

    intake = dict(tomllib.loads(EXAMPLE.read_text()), date=dt.date(2026, 1, 5))
    iid = clients.add_intake_data(conn, cid, intake, kb)
    pid = plans.draft(conn, cid, f"I{iid}", kb, None, "reference")
    doc = plans.load_doc_for(conn, pid, None)
    keys = [o.key for p in doc.problems for g in p.goals for o in g.objectives if o.key]
    start = dt.date(2026, 1, 5)
    phq = [[2, 3, 2, 2, 1, 2, 2, 1, 1], [2, 2, 2, 1, 1, 2, 1, 1, 0],
           [1, 2, 1, 1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 0, 1, 0, 0, 0]]
    for n in range(sessions_n):
        day = (start + dt.timedelta(weeks=n)).isoformat()
        addressed = [f"{keys[(n + i) % len(keys)]}:{min(10, 2 + n // 3)}" for i in range(3)]
        given = [("phq9", phq[min(n // 5, 3)])] if n % 2 == 0 else []
        sessions.add_session(conn, pid, day, addressed, f"Session {n + 1}: worked on the log.",
                             feedback={"heard": 8, "mattered": 7, "approach": 8, "overall": 8},
                             measures=given, instruments=catalog)
    return pid


def caseload(conn: Any, clients_n: int) -> int:
    """Clients with six scores each, inserted in one transaction."""
    raw = conn.raw
    stamp = "2026-01-01T00:00:00.000000+00:00"
    raw.execute("BEGIN IMMEDIATE")
    first = raw.execute("SELECT coalesce(max(id), 0) FROM clients").fetchone()[0] + 1
    raw.executemany("INSERT INTO clients (name, info, created_at, updated_at) VALUES "
                    "(?, '{}', ?, ?)",
                    [(f"Client {i}", f"2026-01-01T00:00:{i % 60:02d}.{i:06d}+00:00", stamp)
                     for i in range(clients_n)])
    rows = []
    bands = {"phq9": [(0, "minimal"), (5, "mild"), (10, "moderate"), (15, "moderately_severe"),
                      (20, "severe")],
             "gad7": [(0, "minimal"), (5, "mild"), (10, "moderate"), (15, "severe")]}

    def band(inst: str, total: int) -> str:
        return [name for low, name in bands[inst] if total >= low][-1]

    for cid in range(first, first + clients_n):
        for inst, base in (("phq9", 8 + cid % 15), ("gad7", 5 + cid % 12)):
            for k, day in enumerate(("2026-02-01", "2026-04-01", "2026-06-01")):
                total = max(0, base - k * (cid % 5))
                rows.append((cid, inst, day, total, band(inst, total), stamp))
    raw.executemany("INSERT INTO measures (client_id, instrument, date, total, band, flags, "
                    "source, created_at) VALUES (?, ?, ?, ?, ?, '[]', 'measure', ?)", rows)
    raw.execute("COMMIT")
    return len(rows)


def plain_csv(conn: Any) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerows(conn.raw.execute(
        "SELECT client_id, instrument, date, total, band FROM measures "
        "ORDER BY client_id, instrument, date, id"))
    return out.getvalue()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=10_000)
    ap.add_argument("--sessions", type=int, default=20)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    os.environ["PLANWISE_TODAY"] = TODAY
    sys.path.insert(0, str(ROOT / "src"))
    from planwise.documents import ics, pdf_fonts
    from planwise.documents.csv_export import to_csv
    from planwise.documents.plan_pdf import plan_pdf
    from planwise.store import Store
    from planwise.store.export import build_record, render_markdown

    with tempfile.TemporaryDirectory() as tmp:
        conn = Store(Path(tmp) / "bench.db").connect()
        t0 = time.perf_counter()
        pid = plan_with_sessions(conn, args.sessions)
        print(f"plan with {args.sessions} sessions built in "
              f"{time.perf_counter() - t0:.1f} s")
        plan_pdf(conn, pid)     # imports and first font load out of the figures
        print(f"\n-- plan P{pid}, {args.sessions} sessions (median of {args.runs}) --")
        base, _ = timed(lambda: render_markdown(build_record(conn, pid)), args.runs)
        line("baseline: markdown export", base)
        for audience in ("record", "client"):
            ms, data = timed(lambda a=audience: plan_pdf(conn, pid, None, a), args.runs)
            line(f"pdf {audience}", ms, f"  ({ms / base:.1f}x baseline, {len(data):,} bytes)")
            supported = pdf_fonts._supported
            pdf_fonts._supported = lambda: False     # type: ignore[assignment]
            try:
                ms, again = timed(lambda a=audience: plan_pdf(conn, pid, None, a), args.runs)
            finally:
                pdf_fonts._supported = supported     # type: ignore[method-assign]
            same = "same bytes" if again == data else "BYTES DIFFER"
            line(f"pdf {audience}, fonts parsed per document", ms,
                 f"  ({ms / base:.1f}x baseline, {same})")
        ms, _ = timed(lambda: ics.render(ics.events(conn, pid),
                                         dt.datetime(2026, 12, 20, tzinfo=dt.UTC)), args.runs)
        line("calendar (ics)", ms, f"  ({ms / base:.1f}x baseline)")

        t0 = time.perf_counter()
        n = caseload(conn, args.clients)
        print(f"\n-- {args.clients:,} clients, {n:,} scores "
              f"(built in {time.perf_counter() - t0:.1f} s; median of {args.runs}) --")
        base, _ = timed(lambda: plain_csv(conn), args.runs)
        line("baseline: plain CSV of the rows", base)
        for pseud in (False, True):
            ms, text = timed(lambda p=pseud: to_csv(conn, "measures", None, p), args.runs)
            name = "csv measures" + (" --pseudonymise" if pseud else "")
            line(name, ms, f"  ({ms / base:.1f}x baseline, {text.count(chr(10)) - 1:,} rows)")
        conn.close()


if __name__ == "__main__":
    main()
