"""Engine benchmark: knowledge load and compile, evaluation per intake, cold CLI run.

    .venv/bin/python benchmarks/engine.py [--intakes 1000]

Prints figures; asserts nothing (targets: evaluation median <= 5 ms, cold
`planwise recommend` <= 0.5 s on the 2-core reference machine).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--intakes", type=int, default=1000)
    parser.add_argument("--cold-runs", type=int, default=5)
    args = parser.parse_args()

    t0 = time.perf_counter()
    from planwise.kb import load_knowledge
    from planwise.kb.loader import _load

    imported = time.perf_counter() - t0
    from intakes import random_intake

    from planwise.kb.loader import _build

    t0 = time.perf_counter()
    kb = _build(())
    build_s = time.perf_counter() - t0
    _load.cache_clear()
    load_knowledge()  # writes the cache if it was missing
    _load.cache_clear()
    t0 = time.perf_counter()
    kb = load_knowledge()
    load_s = time.perf_counter() - t0
    print(f"knowledge: {len(kb.rules)} rules, {len(kb.goals)} goals, "
          f"{len(kb.instruments)} instruments")
    print(f"import planwise.kb: {imported * 1000:.1f} ms; parse + validate + compile the "
          f"knowledge: {build_s * 1000:.1f} ms; the same from the cache: {load_s * 1000:.1f} ms")

    from planwise.intake_io import intake_from_data
    from planwise.rules import backend_for, durable_available, recommend
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
    print(f"prepare reference evaluator: {(time.perf_counter() - t0) * 1000:.2f} ms")

    rng = random.Random(20261129)
    scored = [intake_from_data(random_intake(kb, rng), kb) for _ in range(args.intakes)]
    medians = {}
    for engine in engines:
        backend_for(kb, engine)  # built once, outside the timing
        for s in scored[:20]:
            recommend(s, None, kb, engine)  # warm up
        times = []
        for s in scored:
            t0 = time.perf_counter()
            recommend(s, None, kb, engine)
            times.append((time.perf_counter() - t0) * 1000)
        medians[engine] = statistics.median(times)
        print(f"evaluation [{engine:9}] over {len(times)} mixed intakes: "
              f"median {medians[engine]:.2f} ms, p95 {pct(times, 0.95):.2f} ms, "
              f"max {max(times):.2f} ms")
    if len(medians) == 2:
        print(f"durable / reference median ratio: {medians['durable'] / medians['reference']:.2f}")

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
        for _ in range(args.cold_runs):
            t0 = time.perf_counter()
            subprocess.run([str(planwise), "recommend", str(example)], check=True,
                           stdout=subprocess.DEVNULL, env=run_env)
            walls.append(time.perf_counter() - t0)
        print(f"cold `planwise recommend`, {label} ({args.cold_runs} new processes): "
              f"median {statistics.median(walls):.3f} s, min {min(walls):.3f} s")


if __name__ == "__main__":
    main()
