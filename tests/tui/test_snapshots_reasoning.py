"""Snapshots at 80x24 of whole-plan reasoning: the proposal review with a screen-only
problem to confirm and a deferred goal, and the plan editor's screen-only decision.

The proposal is the hand-built one of tests/whole_plan.py (not the shipped knowledge's,
which other work changes), so these pictures change only when the screens do."""

from __future__ import annotations

import time
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Tree

from planwise.kb import load_knowledge
from planwise.store import db, plans
from planwise.store.clients import add_client
from planwise.store.db import Store
from planwise.tui.app import PlanwiseApp
from planwise.tui.screens.proposal import ProposalScreen
from planwise.tui.services import Services
from planwise.tui.widgets.proposal_tree import tree_nodes
from tests.tui.conftest import EXAMPLES
from tests.whole_plan import proposal

FIXED = "2026-11-29T10:00:00+00:00"


@pytest.fixture(autouse=True)
def _fixed_clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for module in (db, plans):
        monkeypatch.setattr(module, "now", lambda: FIXED)
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def _services(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Services, int]:
    """Services whose engine returns the hand-built proposal (the evaluation, for Why,
    is the example intake's)."""
    import planwise.rules

    services = Services(Store(tmp_path / "snap.db"), load_knowledge(), None)
    real = services.evaluate

    def evaluate(d: dict[str, Any]) -> tuple[Any, Any, Any]:
        _p, evaluation, scored = real(d)
        return proposal(), evaluation, scored

    monkeypatch.setattr(services, "evaluate", evaluate)
    monkeypatch.setattr(planwise.rules, "recommend", lambda *a, **k: proposal())
    return services, add_client(services.conn(), "Wen Snapshot (fictional)")


def _example() -> dict[str, Any]:
    with open(EXAMPLES / "depression-alcohol.toml", "rb") as f:
        return tomllib.load(f)


async def _settle(pilot: Any) -> None:
    for _ in range(3):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


def test_proposal_screen_only_and_deferred(snap_compare: Any, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    services, client = _services(tmp_path, monkeypatch)
    app = PlanwiseApp(services, blink=False)

    async def before(pilot: Any) -> None:
        await pilot.pause()
        screen = ProposalScreen(client, _example())
        pilot.app.push_screen(screen)
        await _settle(pilot)
        tree = screen.query_one("#proposal-tree", Tree)
        nodes = {n.data: n for n in tree_nodes(tree.root)}
        for key in ("suicide_risk.safety_plan", "ptsd.stabilise", "ptsd.process",
                    "ptsd.relapse"):
            nodes[key].collapse()
        await _settle(pilot)
        tree.move_cursor(nodes["ptsd.process"])
        await _settle(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=before)


def test_plan_screen_only_decision(snap_compare: Any, tmp_path: Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    services, client = _services(tmp_path, monkeypatch)
    plan_id = plans.draft(services.conn(), client, str(EXAMPLES / "depression-alcohol.toml"),
                          services.kb, None)
    app = PlanwiseApp(services, blink=False)

    async def before(pilot: Any) -> None:
        await _settle(pilot)
        pilot.app.open_plan(plan_id)
        await _settle(pilot)
        screen = pilot.app.screen
        screen._move_to(screen._tree_nodes["problem.depression"])
        await pilot.press("c")
        await _settle(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=before)
