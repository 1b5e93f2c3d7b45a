"""Growth: how the caseload's costs grow with the caseload and with the knowledge.

    .venv/bin/python benchmarks/growth.py [--with-100x] [--sizes N,...] [--runs K]
        [--no-baseline] [--no-knowledge] [--rebuild]

Caseload at 1x, 10x and 100x (1,000 / 10,000 / 100,000 clients; 100x only with
--with-100x: building it takes long, once, and it is kept in the temporary
folder like the others), each benchmarks/caseload.py's shape. For each size:

- dashboard cold and warm: `store.dashboard.attention` with the kept rows emptied,
  then again (median of --runs), beside the baseline (the dashboard before issue 12,
  from git, benchmarks/progress.py) timed in the same run;
- caseload first page: the interface's caseload list (`Services.caseload()`, 100 rows),
  median of 20;
- plan save: an objective's measure edited and saved through `plans.save_doc` (the
  interface's path; no file), 100 drafts, p95 and median, beside the baseline (every item
  deleted and inserted again, as saves did before issue 12) on 100 other drafts. The
  edits stay in the kept caseload (a measure's text, which no flag reads);
- client search: `clients.list_clients(conn, TEXT)` (the caseload's name search), and
  full-text search `store.search.search(conn, TEXT)` when the store has it, median of
  50 searches of names and note words.

Knowledge at 1x and 5x: the shipped knowledge and a generated clinic folder with 4
renamed copies of every rule (benchmarks/engine.py's clinic_copies): parse, validate
and compile, and `rules.recommend` (reference engine) of the example intake, median of
20.

Prints one table (the one in docs/performance.md). No asserts: figures only; the
machine's load changes them, so compare a figure with its baseline from the same run.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from caseload import FIRST, LAST, TODAY, cached  # benchmarks/caseload.py  # noqa: E402
from progress import baseline_module, flag_counts, time_dashboard  # noqa: E402

SIZES = (1_000, 10_000, 100_000)
WORDS = ["homework", "sleep", "skill", "week", "practised"]


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds >= 0.1 else f"{seconds * 1000:.1f} ms"


def timed(fn: Callable[[], Any]) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def full_rewrite(c: Any, version_id: int, current: Any, rows: list[dict[str, Any]]) -> None:
    """The draft save's item write before issue 12: every row deleted and inserted."""
    from planwise.store import plan_rows

    c.raw.execute("DELETE FROM plan_items WHERE version_id = ?", [version_id])
    plan_rows.insert_rows(c, version_id, rows)


def plan_saves(path: Path, rng: random.Random, n: int = 100) -> tuple[list[float], list[float]]:
    """(seconds per save now, seconds per save with the baseline's full rewrite)."""
    from planwise.store import Store, plan_rows, plans

    with Store(path).connect() as c:
        drafts = [r["plan_id"] for r in c.query(
            "SELECT plan_id FROM plan_version_state s WHERE state = 'draft' AND version = "
            "(SELECT max(version) FROM plan_versions v WHERE v.plan_id = s.plan_id)")]
        picked = rng.sample(drafts, min(2 * n, len(drafts)))
        out: list[list[float]] = [[], []]
        now = plan_rows.rewrite_rows
        try:
            for k, pid in enumerate(picked):
                baseline = k % 2
                plan_rows.rewrite_rows = full_rewrite if baseline else now  # type: ignore[assignment]
                doc = plans.load_doc_for(c, pid)
                obj = doc.problems[0].goals[0].objectives[0]
                # Never the text it has (an unchanged document is not written at all).
                obj.measure = (f"PHQ-9 below {rng.randint(5, 9)} for {rng.randint(2, 8)} weeks "
                               f"(edit {doc.row_version})")
                t = time.perf_counter()
                _version, changed = plans.save_doc(c, pid, doc)
                out[baseline].append(time.perf_counter() - t)
                assert changed, f"P{pid}: the edit was not saved"
        finally:
            plan_rows.rewrite_rows = now  # type: ignore[assignment]
    return out[0], out[1]


def searches(path: Path, rng: random.Random, n: int = 50) -> tuple[float, float | None]:
    """(median seconds of a name search, of a full-text search or None)."""
    from planwise.store import Store, clients

    terms = [rng.choice(LAST)[: rng.randint(3, 6)] for _ in range(n // 2)] + \
            [rng.choice(FIRST).lower() for _ in range(n - n // 2)]
    with Store(path).connect() as c:
        names = statistics.median(timed(lambda t=t: clients.list_clients(c, t)) for t in terms)
        try:
            from planwise.store import search
        except ImportError:
            return names, None
        words = [rng.choice(WORDS + [t.lower() for t in LAST]) for _ in range(n)]
        text = statistics.median(timed(lambda w=w: search.search(c, w)) for w in words)
    return names, text


def first_page(path: Path, runs: int = 20) -> float:
    from planwise.store import Store
    from planwise.tui.services import Services

    services = Services(Store(path))
    try:
        services.caseload()
        return statistics.median(timed(services.caseload) for _ in range(runs))
    finally:
        services.close()


def caseload_row(size: int, runs: int, rebuild: bool, old: Any, kb: Any) -> list[str]:
    from planwise.store.dashboard import attention

    path = cached(size, rebuild)
    rng = random.Random(size)
    base = time_dashboard(path, old.attention, kb, runs) if old is not None else None
    cold, warm, rows = time_dashboard(path, attention, kb, runs)
    print(f"  {flag_counts(rows, size + 1)}")
    page = first_page(path)
    saves, base_saves = plan_saves(path, rng)
    names, text = searches(path, rng)

    def was(now: str, before: float | None) -> str:
        return now if before is None else f"{now} ({ms(before)})"

    label = {1_000: "caseload 1x (1,000 clients)", 10_000: "caseload 10x (10,000 clients)",
             100_000: "caseload 100x (100,000 clients)"}.get(size, f"caseload {size:,}")
    row = [label, was(ms(cold), base[0] if base else None),
           was(ms(statistics.median(warm)), statistics.median(base[1]) if base else None),
           ms(page), f"{ms(pct(saves, 95))} / {ms(statistics.median(saves))} "
                     f"({ms(pct(base_saves, 95))} / {ms(statistics.median(base_saves))})",
           ms(names), "-" if text is None else ms(text), "-", "-"]
    print("  " + " | ".join(row))
    return row


def knowledge_row(scale: int, runs: int = 20) -> list[str]:
    from engine import clinic_copies  # benchmarks/engine.py

    from planwise.intake_io import load_intake
    from planwise.kb.loader import _build
    from planwise.rules import recommend

    example = ROOT / "examples" / "depression-alcohol.toml"
    with tempfile.TemporaryDirectory() as tmp:
        dirs: tuple[Path, ...] = ()
        if scale > 1:
            clinic = Path(tmp) / "scaled"
            clinic_copies(scale, clinic)
            dirs = (clinic.resolve(),)
        t = time.perf_counter()
        kb = _build(dirs)
        build = time.perf_counter() - t
        scored = load_intake(str(example), kb)
        recommend(scored, None, kb, "reference")
        each = statistics.median(timed(lambda: recommend(scored, None, kb, "reference"))
                                 for _ in range(runs))
    row = [f"knowledge {scale}x ({len(kb.rules)} rules)", "-", "-", "-", "-", "-", "-",
           ms(build), ms(each)]
    print("  " + " | ".join(row))
    return row


HEADER = ["", "dashboard cold", "dashboard warm", "caseload first page",
          "plan save p95 / median", "name search", "full-text search",
          "knowledge load", "recommend"]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--with-100x", action="store_true",
                    help="Also 100,000 clients (built once, long; then kept).")
    ap.add_argument("--sizes", help="Only these sizes, e.g. 100000 (comma-separated).")
    ap.add_argument("--no-baseline", action="store_true",
                    help="Skip the dashboard's baseline (minutes at 100x).")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--rebuild", action="store_true", help="Build the caseloads again.")
    ap.add_argument("--no-knowledge", action="store_true", help="Caseload rows only.")
    args = ap.parse_args(argv)
    from planwise.kb.loader import load_knowledge

    kb = load_knowledge([])
    old = None if args.no_baseline else baseline_module()
    sizes = SIZES if args.with_100x else SIZES[:2]
    if args.sizes:
        sizes = tuple(int(n) for n in args.sizes.split(","))
    rows = []
    for size in sizes:
        print(f"caseload of {size:,} clients (on {TODAY})", flush=True)
        rows.append(caseload_row(size, args.runs, args.rebuild, old, kb))
    if not args.no_knowledge:
        for scale in (1, 5):
            print(f"knowledge x{scale}", flush=True)
            rows.append(knowledge_row(scale))
    print("\nIn brackets: the baseline, before issue 12, same data, same run.\n")
    print("| " + " | ".join(HEADER) + " |")
    print("|" + "---|" * len(HEADER))
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "src"))
    main()
