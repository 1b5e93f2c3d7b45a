"""Plan editor with whole-plan reasoning: problems numbered by priority, a screen-only
problem marked until c confirms or rejects it (no signing before), goals with their phase
and deferral; a plan drafted before the reasoning still reads."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Static

from planwise.store import plans
from planwise.store.clients import add_client
from planwise.store.db import Store
from planwise.store.lint import lint_plan
from planwise.tui.app import PlanwiseApp
from planwise.tui.screens.dialogs import TextPrompt
from planwise.tui.screens.plan import PlanScreen
from planwise.tui.screens.sign import SignDialog
from planwise.tui.services import Services
from planwise.tui.widgets.plan_dialogs import ScreenDecisionDialog
from tests.tui.conftest import EXAMPLES, run, settle
from tests.tui.test_plan import open_plan
from tests.whole_plan import UNTIL, write_case

ALCOHOL = "problem.alcohol_use"


@pytest.fixture()
def drafted(tmp_path: Path) -> Iterator[tuple[Services, int]]:
    """Plan P1 drafted with the test clinic's rules: a screen-only alcohol problem,
    goals with CBT deferred."""
    from planwise.kb import load_knowledge

    intake, clinic = write_case(tmp_path)
    services = Services(Store(tmp_path / "planwise.db"), load_knowledge([clinic]), None)
    c = services.conn()
    client = add_client(c, "Wen Example (fictional)")
    yield services, plans.draft(c, client, str(intake), services.kb, None)
    services.close()


def select(screen: PlanScreen, key: str) -> None:
    screen._move_to(screen._tree_nodes[key])


def head(screen: PlanScreen) -> str:
    return " ".join(str(screen.query_one("#plan-head", Static).render()).split())


def detail(screen: PlanScreen) -> str:
    return " ".join(str(screen.query_one("#plan-detail", Static).render()).split())


def notes(app: PlanwiseApp) -> str:
    return " ".join(str(n.message) for n in app._notifications)


def test_plan_shows_order_marks_phases_and_deferral(drafted: tuple[Services, int]) -> None:
    services, plan_id = drafted

    async def go() -> None:
        app = PlanwiseApp(services, blink=False)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_plan(app, pilot, plan_id)
            assert screen.doc is not None
            problems = [p.key or "" for p in screen.doc.problems]
            shown = [screen._labels[k].plain for k in problems]
            assert shown[0] == "1. suicide risk (severe)"
            assert [s.split(". ")[0] for s in shown] == [str(n) for n in
                                                         range(1, len(shown) + 1)]
            assert screen._labels[ALCOHOL].plain.startswith(
                f"{problems.index(ALCOHOL) + 1}. ? screen only \u2014 confirm (c): alcohol use")
            assert "? 1 screen-only problem to confirm or reject (c) before signing" in \
                head(screen)
            waiting = next(g for p in screen.doc.problems for g in p.goals if g.deferred)
            assert screen._labels[waiting.key or ""].plain.startswith(
                f"Goal ({waiting.phase}, deferred): ")
            select(screen, waiting.key or "")
            await pilot.pause()
            assert f"DEFERRED until {UNTIL} (rules: clinic.defer.cbt)" in detail(screen)
            obj = waiting.objectives[0]
            select(screen, obj.key or "")
            await pilot.pause()
            assert f"Its goal is deferred until {UNTIL}." in detail(screen)
            select(screen, ALCOHOL)
            await pilot.pause()
            assert "Basis: a score alone" in detail(screen)
            assert "NOT CONFIRMED: c confirms it or rejects it" in detail(screen)

    run(go())


def test_screen_only_problem_blocks_signing_until_confirmed_with_c(
        drafted: tuple[Services, int]) -> None:
    services, plan_id = drafted

    async def go() -> None:
        app = PlanwiseApp(services, blink=False)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_plan(app, pilot, plan_id)
            await pilot.press("ctrl+g")
            await pilot.pause()
            assert not isinstance(app.screen, SignDialog)
            assert "Cannot sign yet: alcohol use rests on a screen alone" in notes(app)
            # c on a problem that is not screen-only: nothing to confirm
            select(screen, "problem.suicide_risk")
            await pilot.press("c")
            await pilot.pause()
            assert isinstance(app.screen, PlanScreen)
            assert "not a screen-only problem" in notes(app)
            # c on a goal under the screen-only problem opens its decision
            assert screen.doc is not None
            alcohol = next(p for p in screen.doc.problems if p.key == ALCOHOL)
            select(screen, alcohol.goals[0].key or "")
            await pilot.press("c")
            await pilot.pause()
            assert isinstance(app.screen, ScreenDecisionDialog)
            await pilot.press("escape")                 # cancelled: nothing changes
            await settle(app, pilot)
            assert next(p for p in plans.load_doc_for(services.conn(), plan_id).problems
                        if p.key == ALCOHOL).confirmed is None
            select(screen, ALCOHOL)
            await pilot.press("c")
            await pilot.pause()
            await pilot.press("c")
            await settle(app, pilot)
            stored = next(p for p in plans.load_doc_for(services.conn(), plan_id).problems
                          if p.key == ALCOHOL)
            assert stored.confirmed is True and stored.origin == "proposed_accepted"
            assert screen._labels[ALCOHOL].plain.endswith("screen only, confirmed")
            assert "to confirm" not in head(screen)
            await pilot.press("ctrl+g")
            await pilot.pause()
            assert isinstance(app.screen, SignDialog)
            await pilot.press("escape")
            await pilot.pause()

    run(go())


def test_screen_only_problem_rejected_with_a_reason_or_undecided_again(
        drafted: tuple[Services, int]) -> None:
    services, plan_id = drafted

    def stored() -> Any:
        return next(p for p in plans.load_doc_for(services.conn(), plan_id).problems
                    if p.key == ALCOHOL)

    async def go() -> None:
        app = PlanwiseApp(services, blink=False)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_plan(app, pilot, plan_id)
            select(screen, ALCOHOL)
            await pilot.press("c")
            await pilot.pause()
            await pilot.press("r")
            await pilot.pause()
            assert isinstance(app.screen, TextPrompt)
            await pilot.press(*"a one-off after a bereavement", "enter")
            await settle(app, pilot)
            p = stored()
            assert p.origin == "proposed_rejected"
            assert p.rejection_reason == "a one-off after a bereavement"
            assert screen._labels[ALCOHOL].plain.endswith("(rejected)")
            assert not [f for f in lint_plan(services.conn(), plan_id) if f.blocking]
            # undecided again: back to proposed, not confirmed, signing blocked again
            await pilot.press("c")
            await pilot.pause()
            await pilot.press("u")
            await settle(app, pilot)
            p = stored()
            assert p.origin == "proposed_accepted" and p.confirmed is None
            assert "? 1 screen-only problem" in head(screen)

    run(go())


def test_a_plan_drafted_before_the_reasoning_still_reads(tmp_path: Path) -> None:
    """Rows without basis, priority, phase or deferred: no numbers, no marks, 'Goal:'."""
    from planwise.kb import load_knowledge

    services = Services(Store(tmp_path / "planwise.db"), load_knowledge(), None)
    c = services.conn()
    client = add_client(c, "Old Plan (fictional)")
    plan_id = plans.draft(c, client, str(EXAMPLES / "depression-alcohol.toml"), services.kb,
                          None)
    con = sqlite3.connect(tmp_path / "planwise.db")
    for rid, data in con.execute("SELECT id, data FROM plan_items").fetchall():
        old = {k: v for k, v in json.loads(data).items()
               if k not in ("basis", "priority", "phase", "deferred")}
        con.execute("UPDATE plan_items SET data = ?, proposed = ? WHERE id = ?",
                    [json.dumps(old, sort_keys=True)] * 2 + [rid])
    con.commit()
    con.close()

    async def go() -> None:
        app = PlanwiseApp(services, blink=False)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_plan(app, pilot, plan_id)
            assert screen.doc is not None
            first = screen.doc.problems[0]
            assert screen._labels[first.key or ""].plain == \
                f"{first.condition.replace('_', ' ')} ({first.severity})"
            assert screen._labels[first.goals[0].key or ""].plain.startswith("Goal: ")
            assert "to confirm" not in head(screen)
            await pilot.press("ctrl+g")
            await pilot.pause()
            assert isinstance(app.screen, SignDialog)

    run(go())
    services.close()


def test_why_of_a_deferred_goal_names_the_rule_that_holds_it(
        drafted: tuple[Services, int]) -> None:
    from planwise.tui.widgets.plan_model import why_target

    services, plan_id = drafted
    doc = plans.load_doc_for(services.conn(), plan_id)
    goal = next(g for p in doc.problems for g in p.goals if g.deferred)
    title, because, ctx = why_target(doc, goal.key or "")
    assert title == goal.text and ctx["kind"] == "goal"
    assert because[:len(goal.because)] == goal.because and "clinic.defer.cbt" in because


def test_plan_editor_lists_the_warnings_first(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The hand-built proposal's warnings (the new kinds) head the tree, folded into one
    line that names them; each reads in full in the detail."""
    import planwise.rules
    from planwise.kb import load_knowledge
    from tests.whole_plan import proposal

    monkeypatch.setattr(planwise.rules, "recommend", lambda *a, **k: proposal())
    services = Services(Store(tmp_path / "planwise.db"), load_knowledge(), None)
    c = services.conn()
    plan_id = plans.draft(c, add_client(c, "Warned (fictional)"),
                          str(EXAMPLES / "depression-alcohol.toml"), services.kb, None)

    async def go() -> None:
        app = PlanwiseApp(services, blink=False)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_plan(app, pilot, plan_id)
            assert screen._labels["@warnings"].plain == (
                "Warnings (3): unconfirmed screen, risk conflict, course overload")
            tree = screen.query_one("#plan-tree")
            assert tree.root.children[0].data == ("warnings", "@warnings")
            assert not tree.root.children[0].is_expanded
            select(screen, "@warnings")
            await pilot.pause()
            assert detail(screen).startswith("3 warning(s) on this plan: Enter unfolds them")
            await pilot.press("enter", "down", "down")
            await pilot.pause()
            assert screen.selected() == ("warning", "warning.risk_conflict")
            assert detail(screen) == ("Risk screen and assessment disagree PHQ-9 item 9 is 2 "
                                      "but ideation is none")
            await pilot.press("c")
            await pilot.pause()
            assert "select it first" in notes(app)

    run(go())
    services.close()
