"""Fixtures for interface tests: a private database, a fixed 'today', no blinking."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest

from planwise.kb import load_knowledge
from planwise.store.db import Store
from planwise.tui.app import PlanwiseApp
from planwise.tui.services import Services

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
TODAY = "2026-11-29"


@pytest.fixture(autouse=True)
def _fixed_today(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLANWISE_TODAY", TODAY)
    monkeypatch.delenv("PLANWISE_THEME", raising=False)


@pytest.fixture()
def services(tmp_path: Path) -> Iterator[Services]:
    svc = Services(Store(tmp_path / "planwise.db"), load_knowledge(), None)
    yield svc
    svc.close()


@pytest.fixture()
def make_app(services: Services) -> Callable[[], PlanwiseApp]:
    return lambda: PlanwiseApp(services, blink=False)


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run an async Pilot test from a plain pytest test (no async plugin needed)."""
    return asyncio.run(coro)


@pytest.fixture()
def plan_id(services: Services) -> int:
    """Plan P<n> drafted from the example intake for a fictional client."""
    from planwise.store import plans
    from planwise.store.clients import add_client

    c = services.conn()
    client_id = add_client(c, "Alex Example (fictional)")
    return plans.draft(c, client_id, str(EXAMPLES / "depression-alcohol.toml"), services.kb,
                       None)


async def settle(app: PlanwiseApp, pilot: Any) -> None:
    """Let workers finish and the screen catch up (a worker may start another)."""
    from textual.worker import WorkerCancelled

    for _ in range(3):
        for worker in list(app.workers):
            try:
                await worker.wait()   # a failed worker still raises WorkerFailed
            except WorkerCancelled:
                # Its screen closed (a worker that dismisses its own screen is cancelled
                # with it, however far it got): nothing left to wait for.
                pass
        await pilot.pause()
