"""Snapshots at 80x24 (blinking off, a fixed 'today') of the screens the other snapshot
files leave out: the client's page, F1 help over the caseload, the client information
editor, the command palette."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from planwise.kb import load_knowledge
from planwise.store import plans
from planwise.store.clients import add_client, get_client, save_client_info
from planwise.store.db import Store
from planwise.store.models import SignificantEvent
from planwise.tui.app import PlanwiseApp
from planwise.tui.services import Services
from tests.tui.conftest import EXAMPLES


def _app(tmp_path: Path) -> tuple[PlanwiseApp, int]:
    """One client with a significant event and a plan drafted from the example intake."""
    services = Services(Store(tmp_path / "snap.db"), load_knowledge(), None)
    c = services.conn()
    client_id = add_client(c, "Alex Morgan (fictional)")
    info = get_client(c, client_id)
    info.significant_events = [SignificantEvent(date=dt.date(2019, 3, 1),
                                                text="Car accident; injured passenger")]
    save_client_info(c, client_id, info)
    plans.draft(c, client_id, str(EXAMPLES / "depression-alcohol.toml"), services.kb, None)
    return PlanwiseApp(services, blink=False), client_id


async def _settle(pilot: Any) -> None:
    for _ in range(3):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


def test_client_page(snap_compare: Any, tmp_path: Path) -> None:
    app, client_id = _app(tmp_path)

    async def open_client(pilot: Any) -> None:
        await _settle(pilot)
        app.open_client(client_id)
        await _settle(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=open_client)


def test_help_over_the_caseload(snap_compare: Any, tmp_path: Path) -> None:
    app, _ = _app(tmp_path)

    async def help_(pilot: Any) -> None:
        await _settle(pilot)
        await pilot.press("f1")
        await _settle(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=help_)


def test_client_info_editor(snap_compare: Any, tmp_path: Path) -> None:
    app, client_id = _app(tmp_path)

    async def edit(pilot: Any) -> None:
        await _settle(pilot)
        app.open_client(client_id)
        await _settle(pilot)
        await pilot.press("e")
        await _settle(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=edit)


def test_command_palette(snap_compare: Any, tmp_path: Path) -> None:
    app, _ = _app(tmp_path)

    async def palette(pilot: Any) -> None:
        await _settle(pilot)
        await pilot.press("ctrl+p")
        await _settle(pilot)
        await pilot.pause(0.3)  # the palette gathers its commands
        await _settle(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=palette)
