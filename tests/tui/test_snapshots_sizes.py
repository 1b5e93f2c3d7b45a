"""Every main screen at 80x24 and at 60x20 (issue 11, item 6): the caseload, the client's
page, the five intake steps, the proposal review, Why, the plan editor, the sign dialog,
the session note, the scores, the review, F1 help and the crash screen. Fixed data (one fictional client, a
plan drafted from the example intake, a PHQ-9 given again), a fixed 'today' and clock,
blinking off.

At 60x20 the layouts that do not fit change (styles/terminals.tcss); at 80x24 nothing
does. Update after a deliberate change of a screen with
`pytest tests/tui/test_snapshots_sizes.py --snapshot-update` and review the diffs."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from planwise.kb import load_knowledge
from planwise.store import db, plans, sessions
from planwise.store.clients import add_client, get_client, list_intakes, save_client_info
from planwise.store.db import Store
from planwise.store.measures import add_measure
from planwise.store.models import SignificantEvent
from planwise.tui.app import PlanwiseApp
from planwise.tui.screens.scores import ScoresScreen
from planwise.tui.services import Services
from tests.tui.conftest import EXAMPLES, TODAY

FIXED = "2026-11-29T10:00:00+00:00"
SIZES = [(80, 24), (60, 20)]


@pytest.fixture(autouse=True)
def _fixed_clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for module in (db, plans, sessions):
        monkeypatch.setattr(module, "now", lambda: FIXED)
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def _app(tmp_path: Path) -> tuple[PlanwiseApp, dict[str, int]]:
    services = Services(Store(tmp_path / "snap.db"), load_knowledge(), None)
    c = services.conn()
    client_id = add_client(c, "Alex Morgan (fictional)")
    info = get_client(c, client_id)
    info.significant_events = [SignificantEvent(date=dt.date(2019, 3, 1),
                                                text="Car accident; injured passenger")]
    save_client_info(c, client_id, info)
    plan_id = plans.draft(c, client_id, str(EXAMPLES / "depression-alcohol.toml"),
                          services.kb, None)
    intake_id = int(list_intakes(c, client_id)[0]["id"])
    add_measure(c, client_id, "phq9", [2, 2, 1, 1, 1, 1, 1, 1, 0], TODAY,
                services.kb.instruments)
    return PlanwiseApp(services, blink=False), {"client": client_id, "plan": plan_id,
                                                "intake": intake_id}


async def _settle(pilot: Any) -> None:
    for _ in range(3):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


Open = Callable[[PlanwiseApp, dict[str, int]], Any]


def _open(open_: Open, *keys: str) -> Callable[[PlanwiseApp, dict[str, int]],
                                             Callable[[Any], Awaitable[None]]]:
    """run_before: open a screen, then press `keys` ("settle" waits for the workers)."""

    def make(app: PlanwiseApp, ids: dict[str, int]) -> Callable[[Any], Awaitable[None]]:
        async def run_before(pilot: Any) -> None:
            await _settle(pilot)
            open_(app, ids)
            await _settle(pilot)
            for key in keys:
                if key == "settle":
                    await _settle(pilot)
                else:
                    await pilot.press(key)
            await _settle(pilot)

        return run_before

    return make


def _client(app: PlanwiseApp, ids: dict[str, int]) -> None:
    app.open_client(ids["client"])


def _intake(app: PlanwiseApp, ids: dict[str, int]) -> None:
    app.new_intake(ids["client"])


def _proposal(app: PlanwiseApp, ids: dict[str, int]) -> None:
    app.open_intake_proposal(ids["client"], ids["intake"])


def _plan(app: PlanwiseApp, ids: dict[str, int]) -> None:
    app.open_plan(ids["plan"])


def _crash(app: PlanwiseApp, ids: dict[str, int]) -> None:
    """The one screen after an internal error (tui/crash.py), with what a crash in the
    intake would report: the draft saved, the log's place."""
    from planwise.tui.crash import CrashReport, CrashScreen
    from planwise.tui.crash_drafts import DraftOutcome

    report = CrashReport("KeyError in intake_forms.py line 120 (tick)",
                         Path("/home/therapist/.local/state/planwise/log/crash-20261129.log"),
                         [DraftOutcome(f"the new intake of C{ids['client']}", True)])
    app.push_screen(CrashScreen(report))


# To step 3 with no concern ticked: the ASQ is the one instrument (y/n answers).
TO_FORMS = ("settle", "ctrl+n", "settle", "ctrl+n", "settle")

SCREENS = {
    "caseload": _open(lambda app, ids: None),
    "client": _open(_client),
    "intake_1_screening": _open(_intake, "space", "settle"),
    "intake_2_assessments": _open(_intake, "settle", "ctrl+n", "settle"),
    "intake_3_instruments": _open(_intake, *TO_FORMS, "n", "n"),
    "intake_4_suicide_risk": _open(_intake, *TO_FORMS, *"nnnn", "ctrl+n", "settle"),
    "intake_5_history_context": _open(_intake, *TO_FORMS, *"nnnn", "ctrl+n", "settle",
                                      "ctrl+n", "settle"),
    "proposal": _open(_proposal),
    "why": _open(_proposal, "down", "w"),
    "plan_editor": _open(_plan),
    "sign_dialog": _open(_plan, "ctrl+g"),
    "walkthrough": _open(_plan, "W"),
    "session_note": _open(lambda app, ids: app.new_session(ids["plan"])),
    "scores": _open(lambda app, ids: app.push_screen(ScoresScreen(ids["client"]))),
    "review": _open(lambda app, ids: app.review_plan(ids["plan"])),
    "help": _open(_plan, "f1"),
    "crash": _open(_crash),
}


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("screen", list(SCREENS))
def test_screen_at_size(screen: str, size: tuple[int, int], snap_compare: Any,
                        tmp_path: Path) -> None:
    app, ids = _app(tmp_path)
    assert snap_compare(app, terminal_size=size, run_before=SCREENS[screen](app, ids))
