"""Snapshots of the search screen at 80x24 (and 60x20), blinking off, a fixed 'today'."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from planwise.kb import load_knowledge
from planwise.store.db import Store
from planwise.tui.app import PlanwiseApp
from planwise.tui.services import Services
from tests.tui.conftest import EXAMPLES

NOTES = ["Reviewed the activity log; slept badly after the argument with her partner.",
         "We talked about the panic attack at work on Monday: what happened just before "
         "it, how long it lasted and what she did afterwards. Practised paced breathing.",
         "Panic attacks again, two at work and one on the bus. Paced breathing helped; "
         "homework: keep the panic diary daily."]


def _app(tmp_path: Path) -> PlanwiseApp:
    from planwise.store import plans
    from planwise.store.clients import add_client
    from planwise.store.plans import current_version, load_doc_for
    from planwise.store.sessions import add_session
    from planwise.tui.widgets.plan_model import open_objectives

    services = Services(Store(tmp_path / "snap.db"), load_knowledge(), None)
    c = services.conn()
    client = add_client(c, "Alex Morgan (fictional)")
    plan = plans.draft(c, client, str(EXAMPLES / "panic-agoraphobia.toml"), services.kb, None)
    objective = open_objectives(load_doc_for(c, plan))[0].key
    start = current_version(c, plan)["start_date"]
    for note in NOTES:
        add_session(c, plan, start, [objective], note)
    add_client(c, "Robin Lee (fictional)")
    return PlanwiseApp(services, blink=False)


async def _search(pilot: Any) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.press("ctrl+f", *"panic attack")
    for _ in range(3):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


def test_search_results(snap_compare: Any, tmp_path: Path) -> None:
    assert snap_compare(_app(tmp_path), terminal_size=(80, 24), run_before=_search)


def test_search_results_small(snap_compare: Any, tmp_path: Path) -> None:
    assert snap_compare(_app(tmp_path), terminal_size=(60, 20), run_before=_search)
