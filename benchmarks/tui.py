"""Interface benchmark: cold start, caseload with 10,000 clients, proposal refresh.

    .venv/bin/python benchmarks/tui.py [--clients 10000]

Prints figures, asserts nothing. Targets on the 2-core reference machine:
cold start to the first interactive caseload at most 1.0 s; a search
keystroke and a proposal refresh after an answer change at most 100 ms.
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
    import sys
    from pathlib import Path
    from planwise.tui.app import PlanwiseApp
    from planwise.tui.services import Services

    class StopWhenReady(PlanwiseApp):
        def on_caseload_loaded(self, message):
            # The caseload's rows reached the screen and it takes keys.
            self.call_after_refresh(self.exit)

    services = Services.open(Path(sys.argv[1]))
    StopWhenReady(services).run(headless=True)
""")


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


def cold_start(db: Path, runs: int) -> list[float]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    command = [sys.executable, "-c", COLD_START, str(db)]
    subprocess.run(command, check=True, env=env, capture_output=True,
                   timeout=60)  # writes bytecode and the knowledge cache once
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(command, check=True, env=env, capture_output=True, timeout=60)
        times.append(time.perf_counter() - t0)
    return times


async def caseload_figures(db: Path, keystrokes: str) -> tuple[float, list[float]]:
    """Open time, and per keystroke the time from the search box changing to the
    new rows painted on screen (timed inside the app, without the test pilot's
    own waiting)."""
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
        t0 = time.perf_counter()
        await app.workers.wait_for_complete()
        await pilot.pause()
        opened = time.perf_counter() - t0
        assert app.screen.query_one(DataTable).row_count > 0
        await pilot.press("slash")
        per_key = []
        for key in keystrokes:
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
    return opened, per_key


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
    parser.add_argument("--cold-runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "caseload.db"
        t0 = time.perf_counter()
        build_caseload(db, args.clients)
        print(f"built a caseload of {args.clients} clients in {time.perf_counter() - t0:.1f} s")
        first = cold_start(db, args.cold_runs)
        print(f"cold start to the first interactive caseload ({args.cold_runs} new processes): "
              f"median {statistics.median(first):.3f} s, max {max(first):.3f} s")
        opened, per_key = asyncio.run(caseload_figures(db, "client 0999"))
        print(f"caseload open with {args.clients} clients (first page loaded): "
              f"{opened * 1000:.0f} ms")
        print(f"search keystroke to new rows painted ({len(per_key)} keys): median "
              f"{statistics.median(per_key):.1f} ms, max {max(per_key):.1f} ms")
    screen_refresh = asyncio.run(proposal_screen_refresh(20))
    print(f"proposal refresh after an answer change (screen redrawn, 20 changes): median "
          f"{statistics.median(screen_refresh):.1f} ms, max {max(screen_refresh):.1f} ms")
    refresh = proposal_refresh(50)
    if refresh is not None:
        print(f"  of which the engine alone (50 changes): median "
              f"{statistics.median(refresh):.1f} ms, max {max(refresh):.1f} ms")


if __name__ == "__main__":
    main()
