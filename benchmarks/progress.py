"""Progress benchmark: the caseload dashboard over 10,000 clients shaped like a real caseload.

    .venv/bin/python benchmarks/progress.py [--clients N] [--rebuild] [--runs K]
        [--cold-runs K]

The caseload is benchmarks/caseload.py's (its docstring gives the shape: 90% of
clients in treatment, weekly sessions rating the objectives falling due, PHQ-9
every second session, reviews every 6 weeks, about 7% of clients flagged),
built once per size and kept in the temporary folder.

Then times, through the store's own API, on TODAY (caseload.TODAY):

- dashboard cold: `store.dashboard.attention(conn, TODAY)` on a new connection with the
  kept rows (attention_cache) emptied: what the first caseload after an upgrade, or
  after the rows were emptied, costs (the file itself is in the system's cache);
- dashboard cold again, --cold-runs times alternated with the baseline's cold run (the
  median of each: a single cold run on a shared machine varies by 25% either way);
- dashboard warm: the same call again, median of --runs runs (the caseload opened again
  with nothing changed);
- review: `store.course.load_course` + `rules.review` (reference engine) for one client.

Each dashboard figure is printed beside the baseline: the dashboard as it was at
commit BASELINE (before issue 12's work), loaded from git and timed in the same run.
Targets: dashboard <= 0.5 s warm and <= 2 s cold on the 2-core reference machine.
No asserts: figures only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from caseload import TODAY, cached  # benchmarks/caseload.py  # noqa: E402

BASELINE = "efd9c71"  # the dashboard before issue 12's work


def baseline_module(commit: str = BASELINE) -> ModuleType | None:
    """store/dashboard.py as it was at `commit` (None when git or the commit is missing)."""
    try:
        text = subprocess.run(["git", "-C", str(ROOT), "show",
                               f"{commit}:src/planwise/store/dashboard.py"],
                              capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    # The clinical modules it imports moved into planwise.clinical since.
    text = re.sub(r"planwise\.(course|review_facts|progress|feedback|timeline|instruments)\b",
                  r"planwise.clinical.\1", text)
    path = Path(tempfile.mkdtemp()) / f"dashboard_{commit}.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def time_dashboard(path: Path, attention: Any, kb: Any, runs: int, day: dt.date = TODAY
                   ) -> tuple[float, list[float], list[dict[str, Any]]]:
    """(cold seconds, warm seconds per run, rows) for one implementation of attention."""
    from planwise.store import Store

    with Store(path).connect() as c:
        with c.transaction():
            c.raw.execute("DELETE FROM attention_cache")
    with Store(path).connect() as c:
        t = time.perf_counter()
        rows: list[dict[str, Any]] = attention(c, day, kb=kb)
        cold = time.perf_counter() - t
    warm = []
    for _ in range(runs):
        with Store(path).connect() as c:
            t = time.perf_counter()
            rows = attention(c, day, kb=kb)
            warm.append(time.perf_counter() - t)
    return cold, warm, rows


def cold_alternated(path: Path, now: Any, before: Any | None, kb: Any, runs: int,
                    day: dt.date = TODAY) -> tuple[list[float], list[float]]:
    """Cold seconds of `now` and of `before` (the baseline), each emptied and timed `runs`
    times, alternating, so that a change in the machine's load touches both alike."""
    out: tuple[list[float], list[float]] = ([], [])
    for _ in range(runs):
        for k, attention in enumerate((now, before)):
            if attention is not None:
                out[k].append(time_dashboard(path, attention, kb, 0, day)[0])
    return out


def flag_counts(rows: list[dict[str, Any]], clients: int) -> str:
    by_flag: dict[str, int] = {}
    for r in rows:
        for f in r["flags"]:
            by_flag[f] = by_flag.get(f, 0) + 1
    return (f"{len(rows)} of {clients} clients flagged ({100 * len(rows) / clients:.1f}%); "
            "by flag: " + ", ".join(f"{k} {v}" for k, v in sorted(by_flag.items())))


def measure(path: Path, runs: int, cold_runs: int = 3) -> None:
    from planwise.kb.loader import load_knowledge
    from planwise.rules import review
    from planwise.store import Store
    from planwise.store.course import load_course
    from planwise.store.dashboard import attention

    kb = load_knowledge([])
    with Store(path).connect() as c:
        counts = c.one("SELECT (SELECT count(*) FROM clients) AS clients, "
                       "(SELECT count(*) FROM plans) AS plans, "
                       "(SELECT count(*) FROM plan_versions) AS versions, "
                       "(SELECT count(*) FROM measures) AS scores, "
                       "(SELECT count(*) FROM sessions) AS sessions")
    assert counts is not None
    print(f"caseload: {counts}")
    old = baseline_module()
    base: tuple[float, list[float], list[dict[str, Any]]] | None = None
    if old is not None:
        base = time_dashboard(path, old.attention, kb, runs)
    cold, warm, rows = time_dashboard(path, attention, kb, runs)
    colds, base_colds = cold_alternated(path, attention, old.attention if old else None, kb,
                                        cold_runs)

    def line(name: str, now: float, before: float | None, target: float) -> None:
        was = "" if before is None else f"   baseline {before * 1000:7.0f} ms"
        print(f"{name:<24} {now * 1000:7.0f} ms{was}   (target <= {target * 1000:.0f} ms: "
              f"{'met' if now <= target else 'NOT met'} here)")

    line("dashboard cold", cold, base[0] if base else None, 2.0)
    if colds:
        line(f"  cold, median of {len(colds)}", statistics.median(colds),
             statistics.median(base_colds) if base_colds else None, 2.0)
        print(f"{'':24} (now and the baseline alternated: now "
              + ", ".join(f"{t * 1000:.0f}" for t in colds) + " ms; baseline "
              + ", ".join(f"{t * 1000:.0f}" for t in base_colds) + " ms)")
    line("dashboard warm (median)", statistics.median(warm),
         statistics.median(base[1]) if base else None, 0.5)
    if base is not None and base[2] != rows:
        print("WARNING: the baseline's rows differ from today's")
    print(f"{'':24} {flag_counts(rows, counts['clients'])}")
    print(f"{'':24} (baseline: {BASELINE}, the dashboard before issue 12, same data, same run)")

    plan_id = rows[0]["plan_id"] if rows else 1
    review(load_course(Store(path).connect(), plan_id, TODAY), kb, "reference")  # warm up
    loads, reviews = [], []
    with Store(path).connect() as c:
        for _ in range(max(runs, 5)):
            t = time.perf_counter()
            course = load_course(c, plan_id, TODAY)
            t2 = time.perf_counter()
            rv = review(course, kb, "reference")
            loads.append((t2 - t) * 1000)
            reviews.append((time.perf_counter() - t2) * 1000)
    print(f"load_course              median {statistics.median(loads):7.1f} ms")
    print(f"review                   median {statistics.median(reviews):7.1f} ms "
          f"(reference engine, {len(rv.changes)} changes proposed)")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--clients", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--cold-runs", type=int, default=3,
                    help="Cold runs more, alternated with the baseline's (median).")
    ap.add_argument("--rebuild", action="store_true", help="Build the database again.")
    args = ap.parse_args(argv)
    measure(cached(args.clients, args.rebuild), args.runs, args.cold_runs)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "src"))
    main()
