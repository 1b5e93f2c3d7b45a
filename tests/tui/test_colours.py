"""Readable without truecolor: every main screen runs and shows its words with the
16-colour ANSI theme (PLANWISE_THEME=ansi) and without any colour (NO_COLOR=1)."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from planwise.store import plans
from planwise.store.clients import add_client, list_intakes
from planwise.store.measures import add_measure
from planwise.tui.app import PlanwiseApp
from planwise.tui.screens.caseload import CaseloadScreen
from planwise.tui.screens.client import ClientScreen
from planwise.tui.screens.client_edit import ClientEditScreen
from planwise.tui.screens.export import ExportDialog
from planwise.tui.screens.help import HelpScreen
from planwise.tui.screens.history import HistoryScreen
from planwise.tui.screens.intake import IntakeScreen
from planwise.tui.screens.plan import PlanScreen
from planwise.tui.screens.proposal import ProposalScreen
from planwise.tui.screens.review import ReviewScreen
from planwise.tui.screens.scores import ScoresScreen
from planwise.tui.screens.session import SessionScreen
from planwise.tui.services import Services
from tests.tui.conftest import EXAMPLES, run


def shown(app: PlanwiseApp) -> str:
    """The words on the screen, from the screenshot (tags dropped, spaces restored)."""
    svg = app.export_screenshot()
    body = svg[svg.index("<g class=\"terminal"):] if "<g class=\"terminal" in svg else svg
    text = html.unescape(re.sub(r"<[^>]+>", "", body)).replace("\xa0", " ")
    return re.sub(r"\s+", " ", text)


async def settle(pilot: Any) -> None:
    for _ in range(3):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


@pytest.mark.parametrize("mode", ["ansi", "no_color"])
def test_every_main_screen_without_truecolor(mode: str, monkeypatch: pytest.MonkeyPatch,
                                             services: Services,
                                             make_app: Callable[[], PlanwiseApp]) -> None:
    if mode == "ansi":
        monkeypatch.setenv("PLANWISE_THEME", "ansi")
        monkeypatch.delenv("NO_COLOR", raising=False)
    else:
        monkeypatch.setenv("NO_COLOR", "1")
    c = services.conn()
    client_id = add_client(c, "Alex Morgan (fictional)")
    plan_id = plans.draft(c, client_id, str(EXAMPLES / "depression-alcohol.toml"),
                          services.kb, None)
    intake_id = int(list_intakes(c, client_id)[0]["id"])
    add_measure(c, client_id, "phq9", [1, 1, 0, 1, 0, 1, 0, 0, 0], "2026-12-10",
                services.kb.instruments)

    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            if mode == "ansi":
                assert app.theme == "ansi-dark"
                assert not app.no_color
            else:
                assert app.no_color
            await settle(pilot)

            async def visit(open_: Callable[[], Any], kind: type[Any], *words: str) -> None:
                open_()
                await settle(pilot)
                assert isinstance(app.screen, kind)
                text = shown(app)
                missing = [w for w in words if w not in text]
                assert not missing, f"{kind.__name__}: {missing} not in {text!r}"
                app.pop_screen()
                await settle(pilot)

            assert isinstance(app.screen, CaseloadScreen)
            text = shown(app)
            assert "Alex Morgan (fictional)" in text and "New client" in text
            await visit(lambda: app.push_screen(HelpScreen(["caseload"])), HelpScreen,
                        "Caseload", "New client", "Everywhere")
            await visit(lambda: app.open_client(client_id), ClientScreen,
                        "Trauma and significant events", "Plan P1", "Intake")
            await visit(lambda: app.new_intake(client_id), IntakeScreen,
                        "Screening", "Depression", "Next")
            await visit(lambda: app.open_intake_proposal(client_id, intake_id), ProposalScreen,
                        "SUICIDE RISK", "Suicide risk", "Accept", "Reject")
            await visit(lambda: app.open_plan(plan_id), PlanScreen,
                        f"P{plan_id} v1", "S M A R T", "Sign")
            await visit(lambda: app.push_screen(HistoryScreen(plan_id)), HistoryScreen,
                        "Compare from here")
            await visit(lambda: app.new_session(plan_id), SessionScreen,
                        "session 1 of 12", "Objectives worked on", "Save")
            await visit(lambda: app.export_plan(plan_id), ExportDialog,
                        f"Export plan P{plan_id}", "Markdown", "0600")
            await visit(lambda: app.edit_client_info(client_id), ClientEditScreen,
                        "Trauma and significant events", "Add event")
            # the progress screens carry their meaning in characters
            await visit(lambda: app.new_session(plan_id), SessionScreen,
                        "Feedback, 0 not at all .. 10 completely", "[ -]", "Measures: none")
            await visit(lambda: app.push_screen(ScoresScreen(client_id)), ScoresScreen,
                        "[PHQ-9 (2)]", "◆", "●", "░", "╌", "cut-off ≥10", "RC band",
                        "reliably improved (-12)")
            await visit(lambda: app.review_plan(plan_id), ReviewScreen,
                        "0 changes proposed", "No changes proposed", "Timeline",
                        "Sessions: 0 of 12 used")

    run(go())


@pytest.mark.parametrize("env, message", [
    ({"PLANWISE_THEME": "bogus"}, "PLANWISE_THEME='bogus' is not a theme: use ansi, or one of"),
    ({"PLANWISE_TODAY": "soon"}, "PLANWISE_TODAY must be a date like"),
])
def test_bad_settings_exit_2_before_the_interface_starts(tmp_path: Path, env: dict[str, str],
                                                          message: str) -> None:
    import os
    import subprocess
    import sys

    planwise = Path(sys.executable).with_name("planwise")
    done = subprocess.run([str(planwise), "--db", str(tmp_path / "p.db")],
                          env={**os.environ, **env}, capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr and "Traceback" not in done.stderr
