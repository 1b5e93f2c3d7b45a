"""Cold command-line benchmark: whole new processes, each beside its baseline.

    .venv/bin/python benchmarks/cli.py [--runs 15]

Like hyperfine: every command runs once to warm the disk cache, the bytecode
and the knowledge cache, then `--runs` times, interleaved round by round with
the baseline `python -c "import pydantic, click"` so that a busy machine slows
both alike. Prints medians (and the ratio to the baseline's median); asserts
nothing. Targets on the 2-core reference machine (issue 12):

    planwise recommend examples/depression-alcohol.toml   <= 0.30 s and <= 2.0 x baseline
    planwise --help, planwise client list                 <= 0.12 s each

Figures taken while other work shares the CPU are noisy: only the ratios to the
baseline measured in the same run can be compared between runs.

Two more lines show the floor under the recommend target: `import pydantic` loads
none of BaseModel's machinery (pydantic 2 loads it on first use), so the baseline
leaves out what any validated input costs. "pydantic's floor" imports click and
validates one one-field model, nothing of planwise; every intake goes through a
pydantic model (the project's rule for every input), so `recommend` cannot be
cheaper than that line.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "depression-alcohol.toml"


def commands() -> dict[str, list[str]]:
    # What the console script runs (its wrapper adds nothing measurable); with --src, the
    # same from another checkout (a "before" figure from `git archive`).
    planwise = [sys.executable, "-c", "from planwise.cli import main; main()"]
    return {
        'python -c "import pydantic, click" (baseline)':
            [sys.executable, "-c", "import pydantic, click"],
        "pydantic's floor: click and one one-field model validated":
            [sys.executable, "-c", "import click\nfrom pydantic import BaseModel\n"
             "class A(BaseModel):\n    x: int\nA(x=1)"],
        "planwise --help": [*planwise, "--help"],
        "planwise client list": [*planwise, "client", "list"],
        "planwise recommend examples/depression-alcohol.toml": [*planwise, "recommend",
                                                                 str(EXAMPLE)],
        # The default engine (durable-rules) compiles its rulesets in every new process;
        # the reference evaluator shows the start-up cost outside the engine.
        "planwise recommend examples/depression-alcohol.toml --engine reference":
            [*planwise, "recommend", str(EXAMPLE), "--engine", "reference"],
    }


def run_once(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall time and CPU time (user + system) of one new process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          timeout=60)
    took = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}): "
                         f"{proc.stderr.decode(errors='replace')[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return took, cpu


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--src", type=Path,
                        help="run planwise from this source folder (PYTHONPATH)")
    args = parser.parse_args()
    cmds = commands()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        # A private database, config and cache: the user's own files are never read, and
        # `client list` lists a fresh caseload (what matters is the start, not the rows).
        env = {k: v for k, v in os.environ.items()
               if k not in ("PYTHONDONTWRITEBYTECODE", "PLANWISE_NO_CACHE", "PLANWISE_DEBUG")}
        env.update({"PLANWISE_DB": str(home / "bench.db"),
                    "PLANWISE_CONFIG_DIR": str(home / "config"),
                    "PLANWISE_PROFILE": str(home / "no-profile.toml"),
                    "PLANWISE_CACHE_DIR": str(home / "cache")})
        if args.src:
            env["PYTHONPATH"] = str(args.src.resolve())
        for argv in cmds.values():
            for _ in range(args.warmup):
                run_once(argv, env)
        wall: dict[str, list[float]] = {name: [] for name in cmds}
        cpu: dict[str, list[float]] = {name: [] for name in cmds}
        for _ in range(args.runs):
            for name, argv in cmds.items():
                took, used = run_once(argv, env)
                wall[name].append(took)
                cpu[name].append(used)
    base = statistics.median(next(iter(wall.values())))
    base_cpu = statistics.median(next(iter(cpu.values())))
    print(f"cold runs ({args.runs} new processes each, interleaved with the baseline; "
          "median wall time (min-max), ratio to the baseline's median; median CPU time "
          "(user + system: less disturbed by a busy machine) and its ratio):")
    for name, values in wall.items():
        med = statistics.median(values)
        used = statistics.median(cpu[name])
        print(f"  {name}\n    wall {med:.3f} s ({min(values):.3f}-{max(values):.3f}) "
              f"{med / base:.2f} x baseline;  CPU {used:.3f} s {used / base_cpu:.2f} x baseline")


if __name__ == "__main__":
    main()
