"""Snapshots at 80x24 (blinking off, a fixed 'today') of the progress screens: a
client's scores over time, the plan review."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from planwise.kb import load_knowledge
from planwise.store import plans
from planwise.store.clients import add_client
from planwise.store.db import Store
from planwise.store.measures import add_measure
from planwise.tui.app import PlanwiseApp
from planwise.tui.services import Services
from tests.tui.conftest import EXAMPLES

PHQ9 = [("2026-12-03", [2, 2, 2, 1, 2, 1, 1, 1, 0]), ("2026-12-10", [2, 2, 1, 1, 1, 1, 1, 1, 0]),
        ("2026-12-17", [1, 1, 1, 1, 1, 1, 0, 1, 0]), ("2027-01-07", [1, 1, 0, 1, 0, 1, 0, 0, 0])]


def _app(tmp_path: Path) -> tuple[PlanwiseApp, int, int]:
    """A client with a plan drafted from the example intake (PHQ-9 16 as the baseline)
    and four later PHQ-9 scores."""
    services = Services(Store(tmp_path / "snap.db"), load_knowledge(), None)
    c = services.conn()
    client_id = add_client(c, "Alex Morgan (fictional)")
    plan_id = plans.draft(c, client_id, str(EXAMPLES / "depression-alcohol.toml"),
                          services.kb, None)
    for date, answers in PHQ9:
        add_measure(c, client_id, "phq9", answers, date, services.kb.instruments)
    return PlanwiseApp(services, blink=False), client_id, plan_id


async def _settle(pilot: Any) -> None:
    for _ in range(3):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


def test_scores_chart(snap_compare: Any, tmp_path: Path) -> None:
    app, client_id, _ = _app(tmp_path)

    async def scores(pilot: Any) -> None:
        await _settle(pilot)
        app.open_client(client_id)
        await _settle(pilot)
        await pilot.press("g")
        await _settle(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=scores)


def test_review_screen(snap_compare: Any, tmp_path: Path) -> None:
    """Eight sessions, the PHQ-9 flat at 16 and low feedback: the review proposes changes;
    the first is ticked."""
    from planwise.store.sessions import add_session

    services = Services(Store(tmp_path / "review.db"), load_knowledge(), None)
    c = services.conn()
    client_id = add_client(c, "Alex Morgan (fictional)")
    plan_id = plans.draft(c, client_id, str(EXAMPLES / "depression-alcohol.toml"),
                          services.kb, None)
    for i in range(8):
        add_session(c, plan_id, "2026-11-29", ["suicide_risk.safety_plan.write:2"], "Session.",
                    feedback={"heard": 5, "mattered": 5, "approach": 5, "overall": 5},
                    measures=[("phq9", [2, 2, 2, 2, 2, 2, 2, 2, 0])] if i % 2 else None,
                    instruments=services.kb.instruments)
    app = PlanwiseApp(services, blink=False)

    async def review(pilot: Any) -> None:
        await _settle(pilot)
        app.open_client(client_id)
        await _settle(pilot)
        await pilot.press("r")
        await _settle(pilot)
        await pilot.press("space")
        await _settle(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=review)


def test_caseload_with_attention(snap_compare: Any, tmp_path: Path) -> None:
    """Alex's PHQ-9 went from 16 to 24 (reliably worse): marked '!' with the reason under
    the list; Robin (no plan) is not."""
    from planwise.store.sessions import add_session

    services = Services(Store(tmp_path / "caseload.db"), load_knowledge(), None)
    c = services.conn()
    client_id = add_client(c, "Alex Morgan (fictional)")
    add_client(c, "Robin Lee (fictional)")
    plan_id = plans.draft(c, client_id, str(EXAMPLES / "depression-alcohol.toml"),
                          services.kb, None)
    add_session(c, plan_id, "2026-11-29", ["suicide_risk.safety_plan.write:2"], "Session.",
                measures=[("phq9", [3, 3, 3, 3, 3, 3, 3, 3, 0])],
                instruments=services.kb.instruments)
    app = PlanwiseApp(services, blink=False)
    assert snap_compare(app, terminal_size=(80, 24), run_before=_settle)
