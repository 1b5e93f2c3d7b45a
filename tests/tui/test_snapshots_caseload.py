"""Snapshots at 80x24, blinking off, a fixed 'today'."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from planwise.kb import load_knowledge
from planwise.store.clients import add_client
from planwise.store.db import Store
from planwise.tui.app import PlanwiseApp
from planwise.tui.services import Services


def _app(tmp_path: Path, names: tuple[str, ...] = ()) -> PlanwiseApp:
    services = Services(Store(tmp_path / "snap.db"), load_knowledge(), None)
    for name in names:
        add_client(services.conn(), name)
    return PlanwiseApp(services, blink=False)


async def _settle(pilot: Any) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def test_caseload_empty(snap_compare: Any, tmp_path: Path) -> None:
    assert snap_compare(_app(tmp_path), terminal_size=(80, 24), run_before=_settle)


def test_caseload_with_clients(snap_compare: Any, tmp_path: Path) -> None:
    app = _app(tmp_path, ("Alex Morgan (fictional)", "Robin Lee (fictional)"))
    assert snap_compare(app, terminal_size=(80, 24), run_before=_settle)
