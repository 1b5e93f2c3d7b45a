"""Interface benchmark: cold start, caseload with 10,000 clients, proposal refresh.

    .venv/bin/python benchmarks/tui.py [--clients 10000] [--cold-runs 7]

Prints figures, each beside a baseline measured in the same run (the machine may be
busy: compare the ratios, not the seconds); asserts nothing. Targets on the 2-core
reference machine (issue 12):

    launch to an interactive caseload of 10,000 clients   <= 0.8 s
    the caseload's first page                             <= 100 ms
    a search keystroke to repainted rows                  <= 30 ms
    a proposal refresh after an answer change             <= 50 ms

Baselines: for the launch, a bare Textual app (header, input, a 100-row table, footer)
started the same way, interleaved run by run; for the in-process figures, a fixed
pure-Python loop timed in the same process (how fast this machine is right now).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

COLD_START = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    import planwise.cli  # what `planwise` imports before the interface
    from planwise.tui.app import PlanwiseApp
    from planwise.tui.services import Services

    class StopWhenReady(PlanwiseApp):
        def on_caseload_loaded(self, message):
            # The caseload's rows reached the screen and it takes keys.
            self.call_after_refresh(self.painted)

        def painted(self):
            print("painted", time.perf_counter() - START, flush=True)
            if hasattr(self, "when_warm"):  # then the modules the workers use
                self.when_warm(self.warm)
            else:
                self.warm()

        def warm(self):
            print("warm", time.perf_counter() - START, flush=True)
            self.exit()

    START = float(sys.argv[2])
    services = Services.open(Path(sys.argv[1]))
    StopWhenReady(services).run(headless=True)
""")

BARE_TEXTUAL = textwrap.dedent("""
    import sys, time
    from textual.app import App
    from textual.widgets import DataTable, Footer, Header, Input

    class Bare(App):
        def compose(self):
            yield Header()
            yield Input()
            yield DataTable()
            yield Footer()

        def on_mount(self):
            table = self.query_one(DataTable)
            table.add_columns("Id", "Name", "Risk", "Review", "Sessions")
            for i in range(100):
                table.add_row(f"C{i}", f"Client {i:05d} Fictional", "-", "-", "-")
            self.call_after_refresh(self.painted)

        def painted(self):
            print("painted", time.perf_counter() - float(sys.argv[2]), flush=True)
            self.exit()

    Bare().run(headless=True)
""")


def cpu_reference_ms() -> float:
    """A fixed pure-Python workload (best of 5): how fast this machine is right now."""
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        total = 0
        for i in range(200_000):
            total += i * i % 7
        best = min(best, time.perf_counter() - t0)
    return best * 1000


def build_caseload(db: Path, clients: int) -> None:
    """10,000 clients, a third of them with an intake and a drafted plan."""
    from planwise.kb import load_knowledge
    from planwise.store.clients import add_intake
    from planwise.store.db import Store, now
    from planwise.store.plans import draft

    c = Store(db).connect()
    stamp = now()
    with c.transaction():
        c.raw.executemany(
            "INSERT INTO clients (name, info, created_at, updated_at) VALUES (?, '{}', ?, ?)",
            [(f"Client {i:05d} Fictional", stamp, stamp) for i in range(clients)])
    kb = load_knowledge()
    example = str(ROOT / "examples" / "depression-alcohol.toml")
    intake = add_intake(c, 1, example, kb)
    plan = draft(c, 1, f"I{intake}", kb, None)
    # Copy that plan to a third of the caseload directly: building 3,000 plans
    # through the engine would measure the engine, not the interface.
    with c.transaction():
        for cid in range(2, clients + 1, 3):
            c.raw.execute("INSERT INTO intakes (client_id, date, data, scores, created_at) "
                          "SELECT ?, date, data, scores, created_at FROM intakes WHERE id = ?",
                          (cid, intake))
            iid = c.raw.execute("SELECT last_insert_rowid()").fetchone()[0]
            c.raw.execute("INSERT INTO plans (client_id, intake_id, requires_supervisor, "
                          "created_at) VALUES (?, ?, 0, ?)", (cid, iid, stamp))
            pid = c.raw.execute("SELECT last_insert_rowid()").fetchone()[0]
            c.raw.execute("INSERT INTO plan_versions (plan_id, version, start_date, review_date, "
                          "risk_level, created_at) SELECT ?, 1, start_date, review_date, "
                          "risk_level, created_at FROM plan_versions WHERE plan_id = ?",
                          (pid, plan))
    c.close()


def cold_start(db: Path, runs: int) -> dict[str, list[float]]:
    """Seconds from a new process's start to the first page painted, and to the end of
    the warm-up that follows it, beside a bare Textual app's first paint (interleaved)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}

    def once(code: str) -> dict[str, float]:
        t0 = time.perf_counter()
        # time.perf_counter is the same clock in the child (CLOCK_MONOTONIC)
        proc = subprocess.run([sys.executable, "-c", code, str(db), repr(t0)], check=True,
                              env=env, capture_output=True, text=True, timeout=60)
        marks = dict(line.split() for line in proc.stdout.splitlines()
                     if line.startswith(("painted", "warm")))
        return {k: float(v) for k, v in marks.items()}

    once(COLD_START)  # writes bytecode and the knowledge cache once
    once(BARE_TEXTUAL)
    found: dict[str, list[float]] = {"bare": [], "painted": [], "warm": []}
    for _ in range(runs):
        found["bare"].append(once(BARE_TEXTUAL)["painted"])
        marks = once(COLD_START)
        found["painted"].append(marks["painted"])
        found["warm"].append(marks["warm"])
    return found


async def first_page(db: Path) -> tuple[float, float]:
    """Milliseconds from the caseload screen's mount (it asks for its rows) to its first
    rows painted, in a running app (modules already imported: the query, the rows, the
    layout and the paint); and the CPU time the process spent meanwhile (the interface
    thread and the query's worker: on a busy machine, what waiting for a core hides)."""
    from planwise.tui.app import PlanwiseApp
    from planwise.tui.messages import CaseloadLoaded
    from planwise.tui.screens.caseload import CaseloadScreen
    from planwise.tui.services import Services

    marks: dict[str, float] = {}
    original = CaseloadScreen.on_mount

    def timed_mount(screen: CaseloadScreen) -> None:
        marks.setdefault("mount", time.perf_counter())
        marks.setdefault("mount_cpu", time.process_time())
        original(screen)

    def painted() -> None:
        marks.setdefault("painted", time.perf_counter())
        marks.setdefault("painted_cpu", time.process_time())

    class Timed(PlanwiseApp):
        def on_caseload_loaded(self, message: CaseloadLoaded) -> None:
            self.call_after_refresh(painted)

    services = Services.open(db)
    CaseloadScreen.on_mount = timed_mount  # type: ignore[method-assign]
    try:
        app = Timed(services, blink=False)
        async with app.run_test(size=(80, 24)) as pilot:
            for _ in range(400):
                await pilot.pause(0.002)
                if "painted" in marks:
                    break
            await app.workers.wait_for_complete()
    finally:
        CaseloadScreen.on_mount = original  # type: ignore[method-assign]
        services.close()
    return ((marks["painted"] - marks["mount"]) * 1000,
            (marks["painted_cpu"] - marks["mount_cpu"]) * 1000)


async def keystrokes(db: Path, keys: str) -> list[float]:
    """Per keystroke, the time from the search box changing to the new rows painted on
    screen (timed inside the app, without the test pilot's own waiting)."""
    from textual.message import Message
    from textual.widgets import DataTable, Input

    from planwise.tui.app import PlanwiseApp
    from planwise.tui.messages import CaseloadLoaded
    from planwise.tui.services import Services

    changed: list[float] = []
    painted: list[float] = []
    app_ref: list[PlanwiseApp] = []

    def hook(message: Message) -> None:
        if isinstance(message, Input.Changed):
            changed.append(time.perf_counter())
        elif isinstance(message, CaseloadLoaded) and changed:
            # After this message is handled and the screen refreshed.
            app_ref[0].call_after_refresh(lambda: painted.append(time.perf_counter()))

    services = Services.open(db)
    app = PlanwiseApp(services, blink=False)
    app_ref.append(app)
    async with app.run_test(size=(80, 24), message_hook=hook) as pilot:
        # The attention flags and the records check run once after the first page; the
        # keystrokes are timed after them (their worker would share the CPU).
        for _ in range(3):
            await app.workers.wait_for_complete()
            await pilot.pause()
        assert app.screen.query_one(DataTable).row_count > 0
        await pilot.press("slash")
        per_key = []
        for key in keys:
            changed.clear()
            painted.clear()
            await pilot.press(key)
            for _ in range(200):
                await app.workers.wait_for_complete()
                await pilot.pause(0.005)
                if painted:
                    break
            per_key.append((painted[-1] - changed[0]) * 1000)
    services.close()
    return per_key


def proposal_refresh(runs: int) -> list[float] | None:
    """An answer changes: the engine re-runs on the new intake (what the review screen does)."""
    import tomllib

    from planwise.kb import load_knowledge
    from planwise.models.profile import Profile  # noqa: F401
    from planwise.store.db import Store
    from planwise.tui.services import Services

    data = tomllib.loads((ROOT / "examples" / "depression-alcohol.toml").read_text())
    with tempfile.TemporaryDirectory() as tmp:
        services = Services(Store(Path(tmp) / "p.db"), load_knowledge(), None)
        evaluate = getattr(services, "evaluate", None)
        if evaluate is None:
            return None
        evaluate(data)
        times = []
        for i in range(runs):
            data["instruments"]["phq9"][i % 9] = (data["instruments"]["phq9"][i % 9] + 1) % 4
            t0 = time.perf_counter()
            evaluate(data)
            times.append((time.perf_counter() - t0) * 1000)
        services.close()
    return times


async def proposal_screen_refresh(changes: int) -> list[float]:
    """On the proposal review screen: an answer changes (the what-if hand-back) ->
    the engine re-runs in a worker -> the tree and panel are redrawn and painted."""
    import copy
    import tomllib

    from planwise.kb import load_knowledge
    from planwise.store.clients import add_client
    from planwise.store.db import Store
    from planwise.tui.app import PlanwiseApp
    from planwise.tui.screens.proposal import ProposalScreen
    from planwise.tui.services import Services

    data = tomllib.loads((ROOT / "examples" / "depression-alcohol.toml").read_text())
    data["date"] = data["date"].isoformat()
    times: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        services = Services(Store(Path(tmp) / "p.db"), load_knowledge(), None)
        client = add_client(services.conn(), "Bench Client (fictional)")
        app = PlanwiseApp(services, blink=False)
        async with app.run_test(size=(80, 24)) as pilot:
            await app.workers.wait_for_complete()
            screen = ProposalScreen(client, copy.deepcopy(data))
            app.push_screen(screen)
            for _ in range(200):
                await app.workers.wait_for_complete()
                await pilot.pause(0.01)
                if screen.proposal is not None:
                    break
            for i in range(changes):
                changed = copy.deepcopy(screen.intake_data)
                phq9 = changed["instruments"]["phq9"]
                phq9[i % 8] = (phq9[i % 8] + 1) % 4  # item 9 left alone: same risk path
                before = screen.proposal
                painted: list[float] = []
                t0 = time.perf_counter()
                screen.answers_changed(changed)
                for _ in range(400):
                    await pilot.pause(0.002)
                    if screen.proposal is not before:
                        app.call_after_refresh(
                            lambda done=painted: done.append(time.perf_counter()))
                        break
                for _ in range(100):
                    if painted:
                        break
                    await pilot.pause(0.002)
                times.append((painted[0] - t0) * 1000)
        services.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=10_000)
    parser.add_argument("--cold-runs", type=int, default=7)
    parser.add_argument("--pages", type=int, default=5)
    args = parser.parse_args()

    def ms(values: list[float], scale: float = 1.0) -> str:
        return (f"median {statistics.median(values) * scale:.1f} ms, "
                f"max {max(values) * scale:.1f} ms")

    print(f"baseline: a fixed pure-Python loop, {cpu_reference_ms():.1f} ms (best of 5)")
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "caseload.db"
        t0 = time.perf_counter()
        build_caseload(db, args.clients)
        print(f"built a caseload of {args.clients} clients in {time.perf_counter() - t0:.1f} s")
        cold = cold_start(db, args.cold_runs)
        bare = statistics.median(cold["bare"])
        painted = statistics.median(cold["painted"])
        warm = statistics.median(cold["warm"])
        print(f"launch to the first page of the caseload painted, taking keys "
              f"({args.cold_runs} new processes): median {painted:.3f} s "
              f"(max {max(cold['painted']):.3f} s), {painted / bare:.2f} x baseline")
        print(f"  baseline: a bare Textual app's first paint, 100 rows, interleaved: "
              f"median {bare:.3f} s")
        print(f"  then the warm-up (the modules workers use, between keys) done at: "
              f"median {warm:.3f} s")
        opened = [asyncio.run(first_page(db)) for _ in range(args.pages)]
        pages = [wall for wall, _cpu in opened]
        cpu = statistics.median(cpu for _wall, cpu in opened)
        print(f"the caseload's first page ({args.clients} clients; mount to rows painted, "
              f"{args.pages} opens): {ms(pages)}; CPU time median {cpu:.1f} ms")
        per_key = asyncio.run(keystrokes(db, "client 0999"))
        print(f"search keystroke to new rows painted ({len(per_key)} keys): {ms(per_key)}")
    screen_refresh = asyncio.run(proposal_screen_refresh(20))
    print(f"proposal refresh after an answer change (screen redrawn, 20 changes): "
          f"{ms(screen_refresh)}")
    refresh = proposal_refresh(50)
    if refresh is not None:
        print(f"  of which the engine alone (50 changes): {ms(refresh)}")
    print(f"baseline again: the same loop, {cpu_reference_ms():.1f} ms")


if __name__ == "__main__":
    main()
