"""FHIR export benchmark: one plan with 20 sessions, each with a PHQ-9 and a GAD-7.

    .venv/bin/python benchmarks/fhir_export.py [--runs N]

(Not "fhir.py": a script of that name would shadow the fhir package it times.)

Builds the plan in a temporary database through the store's own API (the example
intake, a drafted and signed plan, 20 sessions), then times, in the same process:

- baseline: `export.render_markdown(export.build_record(...))`, the markdown export,
  the same record read from the database;
- fhir build: `fhir.build_bundle` (the record, the answers, the resources as JSON);
- fhir export: `fhir.export_fhir` (build, validation by fhir.resources' R4B models and
  the JSON written back), named and `--pseudonymise`d;
- cold: `planwise plan export P1 --format fhir` in a new process, beside
  `planwise plan export P1 --format markdown` (imports included).

Prints median and p95 in milliseconds. The machine is shared: compare each figure with
the baseline of the same run. No asserts: figures only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "depression-alcohol.toml"


def _times(fn: Callable[[], object], runs: int) -> tuple[float, float]:
    fn()  # warm: imports and the instrument catalogue
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    out.sort()
    return statistics.median(out), out[max(0, int(len(out) * 0.95) - 1)]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=30)
    args = ap.parse_args()
    from planwise.documents import fhir
    from planwise.kb import load_knowledge
    from planwise.store import Store, export, sessions
    from planwise.store.clients import add_client, add_intake
    from planwise.store.plans import draft, load_doc_for, sign

    kb = load_knowledge()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        c = Store(db).connect()
        cid = add_client(c, "Bench Client")
        iid = add_intake(c, cid, str(EXAMPLE), kb)
        pid = draft(c, cid, f"I{iid}", kb, None, "reference")
        sign(c, pid, "therapist", "A. Clinician", True)
        doc = load_doc_for(c, pid)
        objective = doc.problems[0].goals[0].objectives[0].key
        start = doc.start_date
        for n in range(20):
            day = min(start + dt.timedelta(days=7 * n), dt.date.today())
            sessions.add_session(c, pid, day.isoformat(), [f"{objective}:{min(10, n // 2)}"],
                                 f"Session {n + 1}: reviewed the week.", measures=[
                                     ("phq9", [max(0, 3 - n // 6)] * 8 + [0]),
                                     ("gad7", [max(0, 2 - n // 8)] * 7)])
        bundle = fhir.build_bundle(c, pid)
        print(f"plan P{pid}: 20 sessions, {len(bundle['entry'])} resources in the bundle, "
              f"{len(fhir.export_fhir(c, pid)) // 1024} KiB")
        rows = [
            ("baseline: markdown export", lambda: export.render_markdown(
                export.build_record(c, pid))),
            ("fhir build (JSON)", lambda: fhir.build_bundle(c, pid)),
            ("fhir export (validated)", lambda: fhir.export_fhir(c, pid)),
            ("fhir export --pseudonymise", lambda: fhir.export_fhir(c, pid,
                                                                    pseudonymise=True)),
        ]
        for name, fn in rows:
            med, p95 = _times(fn, args.runs)
            print(f"{name:32s} median {med:8.1f} ms   p95 {p95:8.1f} ms")
        c.close()
        env = {**os.environ, "PLANWISE_DB": str(db)}
        exe = [str(Path(sys.executable).parent / "planwise")]
        for fmt in ("markdown", "fhir"):
            cold = []
            for _ in range(3):
                t = time.perf_counter()
                subprocess.run([*exe, "plan", "export", f"P{pid}", "--format", fmt], env=env,
                               check=True, capture_output=True)
                cold.append((time.perf_counter() - t) * 1000)
            print(f"cold CLI export --format {fmt:9s} median {statistics.median(cold):8.1f} ms")


if __name__ == "__main__":
    main()
