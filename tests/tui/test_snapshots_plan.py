"""Snapshots at 80x24 of the plan editor, sign dialog, history/diff, session note and export
dialog (blinking off, 'today' fixed, stored timestamps fixed, UTC)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from planwise.kb import load_knowledge
from planwise.store import db, plans, sessions
from planwise.store.clients import add_client
from planwise.store.db import Store
from planwise.tui.app import PlanwiseApp
from planwise.tui.services import Services
from tests.tui.conftest import EXAMPLES

FIXED = "2026-11-29T10:00:00+00:00"


@pytest.fixture(autouse=True)
def _fixed_clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for module in (db, plans, sessions):
        monkeypatch.setattr(module, "now", lambda: FIXED)
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def _app(tmp_path: Path, *, signed: bool = False, revised: bool = False,
         failing: bool = False) -> tuple[PlanwiseApp, int]:
    services = Services(Store(tmp_path / "snap.db"), load_knowledge(), None)
    c = services.conn()
    client_id = add_client(c, "Alex Example (fictional)")
    plan_id = plans.draft(c, client_id, str(EXAMPLES / "depression-alcohol.toml"),
                          services.kb, None)
    if failing:
        doc = plans.load_doc_for(c, plan_id)
        doc.row_version = plans.current_version(c, plan_id)["row_version"]
        doc.problems[0].goals[0].objectives[0].measure = "the client feels safer"
        plans.save_doc(c, plan_id, doc)
    if signed:
        plans.sign(c, plan_id, "therapist", "Dr Example", force=failing)
    if revised:
        doc = plans.load_doc_for(c, plan_id)
        doc.row_version = plans.current_version(c, plan_id)["row_version"]
        first = doc.problems[0].goals[0].objectives[0]
        first.status, first.actual = "met", first.anticipated
        plans.save_doc(c, plan_id, doc, "safety plan written and signed")
    return PlanwiseApp(services, blink=False), plan_id


async def _settle(pilot: Any) -> None:
    for _ in range(3):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


def test_plan_editor(snap_compare: Any, tmp_path: Path) -> None:
    app, plan_id = _app(tmp_path, failing=True)

    async def before(pilot: Any) -> None:
        await _settle(pilot)
        pilot.app.open_plan(plan_id)
        await _settle(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=before)


def test_sign_dialog_with_lint_failure(snap_compare: Any, tmp_path: Path) -> None:
    app, plan_id = _app(tmp_path, failing=True)

    async def before(pilot: Any) -> None:
        await _settle(pilot)
        pilot.app.open_plan(plan_id)
        await _settle(pilot)
        await pilot.press("ctrl+g")
        await _settle(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=before)


def test_history_and_diff(snap_compare: Any, tmp_path: Path) -> None:
    app, plan_id = _app(tmp_path, signed=True, revised=True)

    async def before(pilot: Any) -> None:
        await _settle(pilot)
        pilot.app.open_plan(plan_id)
        await _settle(pilot)
        await pilot.press("h")
        await _settle(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=before)


def test_session_note(snap_compare: Any, tmp_path: Path) -> None:
    app, plan_id = _app(tmp_path)

    async def before(pilot: Any) -> None:
        await _settle(pilot)
        pilot.app.new_session(plan_id)
        await _settle(pilot)
        await pilot.press("7", "down", "space", "4", "ctrl+n", *"Reviewed the plan.")
        await _settle(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=before)


def test_export_dialog(snap_compare: Any, tmp_path: Path) -> None:
    app, plan_id = _app(tmp_path)

    async def before(pilot: Any) -> None:
        await _settle(pilot)
        pilot.app.open_plan(plan_id)
        await _settle(pilot)
        await pilot.press("x")
        await _settle(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=before)
