"""Engine benchmark: knowledge load and compile, the engines' build in a new process,
evaluation per intake, cold CLI run.

    .venv/bin/python benchmarks/engine.py [--rounds 5] [--intakes 1000]
        [--knowledge-scale N] [--cold-runs 5] [--build-runs 10]

Prints figures; asserts nothing. Targets (issue 12): evaluation median <= 2 ms per
intake on both engines, cold `planwise recommend` <= 0.5 s, on the 2-core reference
machine. Every figure is printed beside a *baseline* measured in the same run (a
fixed pure-Python workload), so figures from a busy or a different machine can be
compared by their ratio to it.

The intakes are those of the case library (tests/fixtures/cases, with its
profiles) and examples/, each run `--rounds` times, and `--intakes` random valid
intakes (benchmarks/intakes.py). `--knowledge-scale N` adds a generated clinic
folder holding N - 1 renamed copies of every shipped rule (see clinic_copies), so
the knowledge is N times the shipped one.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def baseline_ms(clock: Any = time.perf_counter) -> float:
    """A fixed pure-Python workload (dict, list and arithmetic, like the engines'
    glue): its median over 7 runs, in ms. Its absolute value means nothing; a figure
    divided by it can be compared between runs on busy or different machines."""
    times = []
    for _ in range(7):
        t0 = clock()
        d: dict[int, int] = {}
        total = 0
        for i in range(20_000):
            d[i & 1023] = d.get(i & 1023, 0) + i
            total += len([i, i + 1]) * (i % 7)
        times.append((clock() - t0) * 1000)
    return statistics.median(times)


def _free_int_attr(fact_type: str, taken: set[str]) -> str | None:
    from planwise.facts import FACT_TYPES

    for name, attr in FACT_TYPES[fact_type].items():
        if attr.type is int and name not in taken:
            return name
    return None


def clinic_copies(scale: int, folder: Path) -> int:
    """Write N - 1 copies of every shipped rule into `folder`: ids renamed
    (`scale<k>.<id>`), the same stage, patterns and conclusions.

    durable-rules cannot build a ruleset where about 256 rules share one identical
    condition (the loader refuses more than 200), so a condition that N copies would
    share more often than that gets, in copy k, one more test, `attr > -1000 - k` on
    an integer attribute it does not test yet, which every fact passes (no integer
    attribute is below -1) but which makes the condition differ. Only those: each
    such variant is one more condition a fact can meet at once, and durable-rules
    follows at most 64 of those per fact (error 303, docs/engine.md)."""
    import tomli_w

    files = {path: tomllib.loads(path.read_text()).get("rules", [])
             for path in sorted((ROOT / "knowledge").rglob("*.toml"))}
    shared: dict[tuple[str, str], int] = {}
    for rules in files.values():
        for rule in rules:
            for p in rule["when"]:
                key = (rule["stage"], repr(sorted(p.items())))
                shared[key] = shared.get(key, 0) + 1
    crowded = {key for key, n in shared.items() if n * scale > 200}
    written = 0
    folder.mkdir(parents=True, exist_ok=True)
    for path, rules in files.items():
        copies = []
        for k in range(1, scale):
            for rule in rules:
                when = [_distinct(p, k) if (rule["stage"], repr(sorted(p.items()))) in crowded
                        else dict(p) for p in rule["when"]]
                copies.append(dict(rule, id=f"scale{k}.{rule['id']}", when=when))
        if copies:
            rel = path.relative_to(ROOT / "knowledge").with_suffix("")
            name = "_".join(rel.parts) + "_scaled.toml"
            (folder / name).write_text(tomli_w.dumps({"rules": copies}))
            written += len(copies)
    return written


def _distinct(pattern: dict[str, Any], k: int) -> dict[str, Any]:
    attr = _free_int_attr(pattern["fact"], set(pattern))
    if attr is None:
        return dict(pattern)
    return {**pattern, attr: {"gt": -1000 - k}}


def load_cases(kb: Any) -> list[tuple[Any, Any]]:
    """(scored intake, profile or None) for every case fixture and example intake."""
    from planwise.intake_io import intake_from_data
    from planwise.models.profile import Profile

    out = []
    for path in sorted((ROOT / "tests" / "fixtures" / "cases").glob("*.toml")):
        data = tomllib.loads(path.read_text())
        profile = Profile.model_validate(data["profile"]) if "profile" in data else None
        out.append((intake_from_data(data["intake"], kb), profile))
    for path in sorted((ROOT / "examples").glob("*.toml")):
        data = tomllib.loads(path.read_text())
        if data.get("schema") == "planwise.intake/1":
            out.append((intake_from_data(data, kb), None))
    return out


def measure(kb: Any, engine: str, work: list[tuple[Any, Any]], rounds: int
            ) -> tuple[list[float], list[float], str | None]:
    """Milliseconds per intake, wall clock and this process's CPU time (less disturbed
    by other processes on a busy machine), and the first engine error (those runs are
    not counted)."""
    from planwise.errors import EngineError
    from planwise.rules import backend_for, recommend

    backend_for(kb, engine)  # built once, outside the timing
    failed: list[str] = []
    for scored, profile in work[:20]:
        try:
            recommend(scored, profile, kb, engine)  # warm up
        except EngineError:
            pass
    times, cpu = [], []
    for _ in range(rounds):
        for scored, profile in work:
            t0, c0 = time.perf_counter(), time.process_time()
            try:
                recommend(scored, profile, kb, engine)
            except EngineError as exc:
                failed.append(str(exc))
                continue
            cpu.append((time.process_time() - c0) * 1000)
            times.append((time.perf_counter() - t0) * 1000)
    error = f"{len(failed)} runs failed: {failed[0]}" if failed else None
    return times, cpu, error


def evaluation_figures(kb: Any, engines: list[str], rounds: int, intakes: int) -> None:
    from intakes import random_intake

    from planwise.intake_io import intake_from_data

    rng = random.Random(20261129)
    sets = {"case + example intakes": (load_cases(kb), rounds)}
    if intakes:
        sets[f"{intakes} random intakes"] = (
            [(intake_from_data(random_intake(kb, rng), kb), None) for _ in range(intakes)], 1)
    for label, (work, reps) in sets.items():
        for engine in engines:
            before, cpu_before = baseline_ms(), baseline_ms(time.process_time)
            times, cpu, error = measure(kb, engine, work, reps)
            base = (before + baseline_ms()) / 2
            cpu_base = (cpu_before + baseline_ms(time.process_time)) / 2
            if times:
                med, cpu_med = statistics.median(times), statistics.median(cpu)
                print(f"evaluation [{engine:9}] {label} ({len(times)} runs): median "
                      f"{med:.2f} ms, p95 {pct(times, 0.95):.2f} ms; baseline {base:.2f} ms "
                      f"(median / baseline {med / base:.2f}); CPU time: median {cpu_med:.2f} "
                      f"ms, p95 {pct(cpu, 0.95):.2f} ms, baseline {cpu_base:.2f} ms "
                      f"(ratio {cpu_med / cpu_base:.2f})")
            if error:
                print(f"evaluation [{engine:9}] {label}: {error}")


def main() -> None:  # noqa: PLR0915
    """The figures, printed."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5,
                        help="runs of each case and example intake (default 5)")
    parser.add_argument("--intakes", type=int, default=1000,
                        help="random intakes, each run once (default 1000; 0: none)")
    parser.add_argument("--knowledge-scale", type=int, default=1, metavar="N",
                        help="knowledge N times the shipped one (a generated clinic folder)")
    parser.add_argument("--cold-runs", type=int, default=5,
                        help="new processes for the cold CLI figure (0: skip it)")
    parser.add_argument("--build-runs", type=int, default=10,
                        help="new processes for the cold engine build figure (0: skip it)")
    args = parser.parse_args()
    print(f"baseline (fixed pure-Python workload): {baseline_ms():.2f} ms")

    t0 = time.perf_counter()
    from planwise.kb import load_knowledge
    from planwise.kb.loader import _build, _load

    imported = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        dirs: list[Path] = []
        if args.knowledge_scale > 1:
            clinic = Path(tmp) / "scaled"
            copies = clinic_copies(args.knowledge_scale, clinic)
            print(f"knowledge x{args.knowledge_scale}: {copies} generated rules in a clinic folder")
            dirs = [clinic]
        t0 = time.perf_counter()
        kb = _build(tuple(d.resolve() for d in dirs))
        build_s = time.perf_counter() - t0
        cached = ""
        if not dirs:  # no cache written for a generated folder
            _load.cache_clear()
            load_knowledge()  # writes the cache if it was missing
            _load.cache_clear()
            t0 = time.perf_counter()
            kb = load_knowledge()
            cached = f"; the same from the cache: {(time.perf_counter() - t0) * 1000:.1f} ms"
        by_stage = ", ".join(f"{s} {len(kb.rules_in(s))}"
                             for s in dict.fromkeys(r.stage for r in kb.rules))
        print(f"knowledge: {len(kb.rules)} rules ({by_stage}), {len(kb.goals)} goals, "
              f"{len(kb.instruments)} instruments")
        print(f"import planwise.kb: {imported * 1000:.1f} ms; parse + validate + compile the "
              f"knowledge: {build_s * 1000:.1f} ms{cached}")

        from planwise.rules import durable_available
        from planwise.rules.reference import ReferenceBackend

        engines = ["reference"]
        if durable_available():
            from planwise.rules.durable_backend import DurableBackend

            t0 = time.perf_counter()
            DurableBackend(kb).close()
            print(f"compile to durable-rules rulesets: {(time.perf_counter() - t0) * 1000:.1f} ms")
            engines.insert(0, "durable")
        t0 = time.perf_counter()
        ReferenceBackend(kb)
        print(f"index the rules for the reference evaluator: "
              f"{(time.perf_counter() - t0) * 1000:.2f} ms")
        if args.build_runs:
            build_figures(engines, args.build_runs, dirs)
        evaluation_figures(kb, engines, args.rounds, args.intakes)

    if args.cold_runs and args.knowledge_scale == 1:
        cold_figures(args.cold_runs)


# One engine built in a new process, as `planwise recommend` builds it: the knowledge
# loaded (from its cache) and durable-rules imported first, then `backend_for` timed.
_BUILD = """
import sys, time
from pathlib import Path
from planwise.kb import load_knowledge
from planwise.rules import backend_for, durable_available
kb = load_knowledge([Path(d) for d in sys.argv[2:]])
durable_available()
import planwise.rules.durable_backend
t0, c0 = time.perf_counter(), time.process_time()
backend_for(kb, sys.argv[1])
print((time.perf_counter() - t0) * 1000, (time.process_time() - c0) * 1000)
"""


def build_figures(engines: list[str], runs: int, dirs: list[Path]) -> None:
    """`backend_for(kb, engine)` in `runs` new processes per engine: building durable-rules'
    rulesets (or the reference evaluator's index) is paid once by every cold command."""
    folders = [str(d) for d in dirs]
    # A generated folder is not cached: its cache would replace the shipped knowledge's.
    env = {**os.environ, "PLANWISE_NO_CACHE": "1"} if dirs else None
    for engine in engines:
        walls, cpus = [], []
        for _ in range(runs):
            out = subprocess.run([sys.executable, "-c", _BUILD, engine, *folders], check=True,
                                 capture_output=True, text=True, env=env).stdout.split()
            walls.append(float(out[0]))
            cpus.append(float(out[1]))
        print(f"engine build, cold [{engine:9}] ({runs} new processes): median "
              f"{statistics.median(walls):.1f} ms, CPU time {statistics.median(cpus):.1f} ms "
              f"(baseline {baseline_ms():.2f} ms, CPU {baseline_ms(time.process_time):.2f} ms)")


def cold_figures(runs: int) -> None:
    planwise = Path(sys.executable).parent / "planwise"
    example = ROOT / "examples" / "depression-alcohol.toml"
    # As a user runs it: bytecode written once (some environments switch that
    # off), the knowledge cache warm, or switched off for the second figure.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    for label, extra in (("knowledge cache warm", {}),
                         ("no knowledge cache", {"PLANWISE_NO_CACHE": "1"})):
        run_env = {**env, **extra}
        subprocess.run([str(planwise), "recommend", str(example)], check=True,
                       stdout=subprocess.DEVNULL, env=run_env)
        walls = []
        for _ in range(runs):
            t0 = time.perf_counter()
            subprocess.run([str(planwise), "recommend", str(example)], check=True,
                           stdout=subprocess.DEVNULL, env=run_env)
            walls.append(time.perf_counter() - t0)
        print(f"cold `planwise recommend`, {label} ({runs} new processes): "
              f"median {statistics.median(walls):.3f} s, min {min(walls):.3f} s "
              f"(baseline {baseline_ms():.2f} ms)")


if __name__ == "__main__":
    main()
