"""Proposal review with whole-plan reasoning: problems numbered in priority order, a
screen-only problem marked and confirmed (a) or rejected (r) before signing, goals with
their phase, a deferred goal with its condition, the new warnings in the side panel."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import OptionList, Static, Tree

from planwise.kb import load_knowledge
from planwise.store.clients import add_client
from planwise.store.db import Store
from planwise.store.lint import lint_plan
from planwise.store.plans import load_doc_for
from planwise.tui.app import PlanwiseApp
from planwise.tui.screens.dialogs import TextPrompt
from planwise.tui.screens.proposal import ProposalScreen
from planwise.tui.services import Services
from planwise.tui.widgets.proposal_tree import tree_nodes
from tests.tui.conftest import run
from tests.whole_plan import UNTIL, proposal, write_case

ALCOHOL = "problem.alcohol_use"


@pytest.fixture()
def case(tmp_path: Path) -> Iterator[tuple[Services, int, dict[str, Any]]]:
    """Services on the shipped knowledge plus the test clinic's rules (a screen-only
    alcohol problem, CBT goals deferred), a client and the intake's answers."""
    intake, clinic = write_case(tmp_path)
    services = Services(Store(tmp_path / "planwise.db"), load_knowledge([clinic]), None)
    client = add_client(services.conn(), "Reasoning Test (fictional)")
    with open(intake, "rb") as f:
        data = tomllib.load(f)
    yield services, client, data
    services.close()


async def settle(app: PlanwiseApp, pilot: Any) -> None:
    for _ in range(2):
        await pilot.pause()
        await app.workers.wait_for_complete()
    await pilot.pause()


async def open_review(app: PlanwiseApp, pilot: Any, screen: ProposalScreen) -> ProposalScreen:
    await pilot.pause()
    app.push_screen(screen)
    await settle(app, pilot)
    await settle(app, pilot)
    assert screen.loaded
    return screen


def select(screen: ProposalScreen, key: str) -> None:
    tree = screen.query_one("#proposal-tree", Tree)
    tree.move_cursor(next(n for n in tree_nodes(tree.root) if n.data == key))
    tree.focus()


def label(screen: ProposalScreen, key: str) -> str:
    tree = screen.query_one("#proposal-tree", Tree)
    return str(next(n for n in tree_nodes(tree.root) if n.data == key).label)


def detail(screen: ProposalScreen) -> str:
    return " ".join(str(screen.query_one("#proposal-detail", Static).render()).split())


def test_screen_only_problem_is_marked_and_confirmed_with_a(
        case: tuple[Services, int, dict[str, Any]], monkeypatch: pytest.MonkeyPatch) -> None:
    services, client, data = case
    opened: list[int] = []
    monkeypatch.setattr(PlanwiseApp, "open_plan", lambda self, plan_id: opened.append(plan_id))

    async def go() -> None:
        app = PlanwiseApp(services, blink=False)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_review(app, pilot, ProposalScreen(client, data))
            tree = screen.query_one("#proposal-tree", Tree)
            tops = [str(n.label) for n in tree.root.children]
            assert tops[0].startswith("\u2713 1. Suicide risk")
            assert [t.split(". ")[0][-1] for t in tops] == [str(n) for n in
                                                            range(1, len(tops) + 1)]
            assert label(screen, ALCOHOL).startswith("? ")
            assert "screen only \u2014 confirm: Alcohol use (" in label(screen, ALCOHOL)
            assert "? 1 to confirm" in str(screen.query_one("#proposal-risk", Static).render())
            select(screen, ALCOHOL)
            await pilot.pause()
            assert "SCREEN ONLY: a score over the cut-off" in detail(screen)
            assert screen.review.status(ALCOHOL) == "unconfirmed"
            await pilot.press("a")
            await settle(app, pilot)
            assert screen.review.status(ALCOHOL) == "accepted"
            assert label(screen, ALCOHOL).startswith("\u2713 ")
            assert "screen only, confirmed" in label(screen, ALCOHOL)
            assert "to confirm" not in str(screen.query_one("#proposal-risk",
                                                            Static).render())
            assert "basis: a score alone" in detail(screen) and "confirmed by you" in \
                detail(screen)
            # the confirmation is in the draft, so it survives a crash
            draft = services.load_proposal_draft(client)
            assert draft is not None
            assert draft["review"]["decisions"][ALCOHOL] == {"confirm": True}
            await pilot.press("ctrl+s")
            await settle(app, pilot)
            await settle(app, pilot)
            assert len(opened) == 1

    run(go())
    doc = load_doc_for(services.conn(), opened[0])
    alcohol = next(p for p in doc.problems if p.key == ALCOHOL)
    assert alcohol.basis == "screen_only" and alcohol.confirmed is True
    assert alcohol.origin == "proposed_accepted"
    assert all(f.letter != "screen" for f in lint_plan(services.conn(), opened[0]))


def test_screen_only_problem_rejected_or_left_undecided(
        case: tuple[Services, int, dict[str, Any]], monkeypatch: pytest.MonkeyPatch) -> None:
    services, client, data = case
    opened: list[int] = []
    monkeypatch.setattr(PlanwiseApp, "open_plan", lambda self, plan_id: opened.append(plan_id))

    async def go() -> None:
        app = PlanwiseApp(services, blink=False)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_review(app, pilot, ProposalScreen(client, data))
            select(screen, ALCOHOL)
            await pilot.press("r")
            await pilot.pause()
            assert isinstance(app.screen, TextPrompt)
            await pilot.press(*"drinking was a one-off", "enter")
            await settle(app, pilot)
            assert screen.review.status(ALCOHOL) == "rejected"
            assert label(screen, ALCOHOL).startswith("\u2717 ")
            assert "confirm" not in label(screen, ALCOHOL)
            # a confirms after all; r again rejects: the last decision stands
            await pilot.press("a")
            await settle(app, pilot)
            assert screen.review.confirmed(ALCOHOL)
            screen.review.reject(ALCOHOL, "drinking was a one-off")
            assert not screen.review.confirmed(ALCOHOL)
            # saved undecided: the plan is stored, with a warning that it cannot be signed
            screen.review.decisions.pop(ALCOHOL)
            screen.refresh_view()
            app.clear_notifications()
            await pilot.press("ctrl+s")
            await settle(app, pilot)
            await settle(app, pilot)
            assert len(opened) == 1
            assert any("1 screen-only problem(s) still to confirm" in n.message
                       for n in app._notifications)

    run(go())
    found = [f for f in lint_plan(services.conn(), opened[0]) if f.letter == "screen"]
    assert [f.objective for f in found] == [ALCOHOL]


def test_deferred_goal_shows_its_condition_and_phases_show(
        case: tuple[Services, int, dict[str, Any]]) -> None:
    services, client, data = case

    async def go() -> None:
        app = PlanwiseApp(services, blink=False)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_review(app, pilot, ProposalScreen(client, data))
            goals = [it for it in screen.review.items if it.kind == "goal"]
            waiting = [g for g in goals if g.deferred]
            assert waiting and all(UNTIL in (g.deferred or {})["until"] for g in waiting)
            g = waiting[0]
            assert f"Goal ({g.phase}, deferred): " in label(screen, g.key)
            starts = next(x for x in goals if not x.deferred)
            assert f"Goal ({starts.phase}): " in label(screen, starts.key)
            select(screen, g.key)
            await pilot.pause()
            text = detail(screen)
            assert f"DEFERRED until {UNTIL}" in text and "clinic.defer.cbt" in text
            assert f"Phase: {g.phase}." in text
            # Why: the goal's own rules, then the rule that holds it back
            await pilot.press("w")
            await settle(app, pilot)
            why = app.screen.text  # type: ignore[attr-defined]
            assert "rule clinic.defer.cbt" in why
            assert UNTIL in " ".join(why.split())

    run(go())


def test_hand_built_proposal_phases_order_and_new_warnings(
        case: tuple[Services, int, dict[str, Any]], monkeypatch: pytest.MonkeyPatch) -> None:
    """Every phase, a problem list out of order and the new warning kinds, as the screen
    gets them from the engine (the evaluation itself is the real one)."""
    services, client, data = case
    real = services.evaluate

    def evaluate(d: dict[str, Any]) -> tuple[Any, Any, Any]:
        _p, evaluation, scored = real(d)
        return proposal(), evaluation, scored

    monkeypatch.setattr(services, "evaluate", evaluate)

    async def go() -> None:
        app = PlanwiseApp(services, blink=False)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_review(app, pilot, ProposalScreen(client, data))
            tree = screen.query_one("#proposal-tree", Tree)
            tops = [str(n.label).split(" (")[0] for n in tree.root.children]
            assert tops == ["\u2713 1. Suicide risk", "\u2713 2. Post-traumatic stress",
                            "? 3. screen only \u2014 confirm: Depression"]
            assert "Goal (stabilise): Keep the client safe" in label(
                screen, "suicide_risk.safety_plan")
            assert "Goal (stabilise): Manage flashbacks" in label(screen, "ptsd.stabilise")
            assert "Goal (treat, deferred): Process" in label(screen, "ptsd.process")
            assert "Goal (maintain): Keep the gains" in label(screen, "ptsd.relapse")
            select(screen, "problem.ptsd")
            await pilot.pause()
            assert ("Priority 2 (1 first); basis: a screening concern and a score over the "
                    "cut-off.") in detail(screen)
            panel = screen.query_one("#proposal-panel", OptionList)
            shown = [str(panel.get_option_at_index(i).prompt) for i in range(panel.option_count)]
            assert shown[:4] == ["Warnings (3)", "! unconfirmed screen", "! risk conflict",
                                 "! course overload"]
            camhs = services.kb.label("referral_kinds", "child_adolescent_services")
            assert f"\u2713 {camhs}: SOON" in shown  # decided like the tree's items
            panel.focus()
            panel.highlighted = 1
            await pilot.pause()
            assert detail(screen).startswith("Positive screen to confirm: PHQ-9 of 16")

    run(go())


def test_review_model_confirmations_and_what_if() -> None:
    """Pure model: a confirms a screen-only problem, r takes the confirmation away, a
    confirmation does not survive a what-if that gives the problem another basis."""
    import datetime as dt

    from planwise.store.plans import doc_from_proposal
    from planwise.tui.widgets.proposal_apply import apply_to_doc
    from planwise.tui.widgets.proposal_model import Review, items_from_proposal

    start = dt.date(2026, 11, 18)
    review = Review()
    review.replace_items(items_from_proposal(proposal(), start))
    key = "problem.depression"
    assert [it.key for it in review.unconfirmed()] == [key]
    assert review.status("problem.ptsd") == "accepted"    # screen and concern: no mark
    review.accept("problem.ptsd")
    assert review.decisions == {}                          # nothing to confirm there
    review.accept(key)
    assert review.status(key) == "accepted" and review.confirmed(key)
    review.edit(key, {"severity": "mild"})
    assert review.status(key) == "edited" and review.confirmed(key)
    doc = doc_from_proposal(proposal(), 0, 0, start)
    apply_to_doc(doc, review)
    assert [(p.key, p.confirmed, p.severity) for p in doc.problems][2] == (key, True, "mild")
    review.reject(key, "mood is low only since the flu")
    assert review.status(key) == "rejected" and not review.confirmed(key)
    review.accept(key)
    again = Review.from_json(review.to_json())             # the draft keeps it
    assert again.confirmed(key)
    # what-if: the clinician now names depression; the problem is the clinician's
    changed = proposal()
    changed.problems[2].basis = "clinician"
    again.replace_items(items_from_proposal(changed, start))
    assert again.unconfirmed() == [] and again.status(key) == "edited"
    doc = doc_from_proposal(changed, 0, 0, start)
    apply_to_doc(doc, again)
    assert doc.problems[2].confirmed is None
