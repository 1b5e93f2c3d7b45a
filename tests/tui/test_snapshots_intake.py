"""Snapshots of each intake step at 80x24, blinking off, a fixed 'today'."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from planwise.kb import load_knowledge
from planwise.models.profile import Profile
from planwise.store.clients import add_client
from planwise.store.db import Store
from planwise.tui.app import PlanwiseApp
from planwise.tui.services import Services


def _app(tmp_path: Path) -> PlanwiseApp:
    profile = Profile.model_validate({"therapist": {
        "name": "A. Clinician", "competencies": ["depression", "generalized_anxiety"]}})
    services = Services(Store(tmp_path / "snap.db"), load_knowledge(), profile)
    add_client(services.conn(), "Alex Morgan (fictional)")
    return PlanwiseApp(services, blink=False)


async def _settle(pilot: Any) -> None:
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def _steps(*keys: str) -> Callable[[Any], Awaitable[None]]:
    """Open C1's new intake, then press `keys` (a key named "settle" waits for workers)."""

    async def run_before(pilot: Any) -> None:
        await _settle(pilot)
        pilot.app.new_intake(1)
        await _settle(pilot)
        for key in keys:
            if key == "settle":
                await _settle(pilot)
            else:
                await pilot.press(key)
        await _settle(pilot)

    return run_before


# Depression, then Panic disorder (outside this profile's competencies), then "Mood (broad)".
SCREENING = ("space", "down", "down", "space", "end", "space", "settle")


def test_intake_screening(snap_compare: Any, tmp_path: Path) -> None:
    assert snap_compare(_app(tmp_path), terminal_size=(80, 24),
                        run_before=_steps(*SCREENING, "home"))


def test_intake_assessments(snap_compare: Any, tmp_path: Path) -> None:
    assert snap_compare(_app(tmp_path), terminal_size=(80, 24),
                        run_before=_steps(*SCREENING, "ctrl+n", "settle"))


def test_intake_instrument_form(snap_compare: Any, tmp_path: Path) -> None:
    keys = (*SCREENING, "ctrl+n", "settle", "ctrl+n", "settle", "tab", "settle",
            *"2211")
    assert snap_compare(_app(tmp_path), terminal_size=(80, 24), run_before=_steps(*keys))


def test_intake_suicide_risk(snap_compare: Any, tmp_path: Path) -> None:
    keys = ("space", "settle", "ctrl+n", "settle", "ctrl+n", "settle", *"000000001",
            "ctrl+n", "settle", "tab", "right", "right", "space")
    assert snap_compare(_app(tmp_path), terminal_size=(80, 24), run_before=_steps(*keys))


def test_intake_history_and_context(snap_compare: Any, tmp_path: Path) -> None:
    keys = ("settle", "ctrl+n", "settle", "ctrl+n", "settle", *"nnnn", "ctrl+n", "settle",
            "ctrl+n", "settle", "space")
    assert snap_compare(_app(tmp_path), terminal_size=(80, 24), run_before=_steps(*keys))
