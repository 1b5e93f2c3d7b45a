"""Proposal review and Why: the example intake, decisions by keyboard, what-if, save, drafts."""

from __future__ import annotations

import copy
import tomllib
from collections.abc import Callable
from typing import Any

import pytest
from textual.widgets import Input, OptionList, Static, Tree

from planwise.store.clients import add_client, add_intake_data, list_intakes
from planwise.store.plans import load_doc_for
from planwise.tui.app import PlanwiseApp
from planwise.tui.screens.dialogs import TextPrompt
from planwise.tui.screens.intake import IntakeScreen
from planwise.tui.screens.proposal import ProposalScreen
from planwise.tui.screens.why import WhyScreen
from planwise.tui.services import Services
from planwise.tui.widgets.proposal_dialogs import ItemDialog
from planwise.tui.widgets.proposal_model import KINDS
from planwise.tui.widgets.proposal_tree import tree_nodes
from tests.tui.conftest import EXAMPLES, run


def example() -> dict[str, Any]:
    with open(EXAMPLES / "depression-alcohol.toml", "rb") as f:
        return tomllib.load(f)


async def settle(app: PlanwiseApp, pilot: Any) -> None:
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
    node = next(n for n in tree_nodes(tree.root) if n.data == key)
    tree.move_cursor(node)
    tree.focus()


def label(screen: ProposalScreen, key: str) -> str:
    tree = screen.query_one("#proposal-tree", Tree)
    return str(next(n for n in tree_nodes(tree.root) if n.data == key).label)


def notes(app: PlanwiseApp) -> list[str]:
    return [n.message for n in app._notifications]


@pytest.fixture()
def client(services: Services) -> int:
    return add_client(services.conn(), "Proposal Test (fictional)")


def test_example_intake_shows_the_expected_problems(make_app: Callable[[], PlanwiseApp],
                                                    client: int) -> None:
    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_review(app, pilot, ProposalScreen(client, example()))
            tree = screen.query_one("#proposal-tree", Tree)
            tops = [str(n.label) for n in tree.root.children]
            # Harmful drinking before depression (NICE CG115; knowledge priority ranks).
            assert [t.split(" (")[0] for t in tops] == [
                "\u2713 1. Suicide risk", "\u2713 2. Alcohol use", "\u2713 3. Depression"]
            assert "(severe)" in tops[2]
            goal = label(screen, "depression.activity")
            assert "Goal (" in goal and "): Increase activities" in goal
            assert "Obj: Record daily activities" in label(screen,
                                                           "depression.activity.monitor")
            risk = str(screen.query_one("#proposal-risk", Static).render())
            assert "SUICIDE RISK: LOW" in risk and "PHQ-9 16" in risk
            panel = screen.query_one("#proposal-panel", OptionList)
            shown = [str(panel.get_option_at_index(i).prompt) for i in range(panel.option_count)]
            assert "! session limit" in shown
            t = screen.proposal.treatment
            assert any(f"{t.sessions.min}-{t.sessions.max} sessions" in s for s in shown)
            assert any(s.startswith("\u2713 Primary care: SOON") for s in shown)

    run(go())


def test_accept_reject_edit_add_by_keyboard(make_app: Callable[[], PlanwiseApp],
                                            services: Services, client: int) -> None:
    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_review(app, pilot, ProposalScreen(client, example()))
            # reject: a reason is required
            select(screen, "alcohol_use.triggers")
            await pilot.press("r")
            await pilot.pause()
            assert isinstance(app.screen, TextPrompt)
            await pilot.press("enter")          # empty: refused, the prompt stays
            await pilot.pause()
            assert isinstance(app.screen, TextPrompt)
            await pilot.press(*"MI only", "enter")
            await settle(app, pilot)
            assert screen.review.status("alcohol_use.triggers") == "rejected"
            assert "\u2717" in label(screen, "alcohol_use.triggers")
            assert "rejected: MI only" in label(screen, "alcohol_use.triggers")
            assert "rejected with its goal" in label(screen, "alcohol_use.triggers.map")
            # accept takes the rejection back
            await pilot.press("a")
            await settle(app, pilot)
            assert screen.review.status("alcohol_use.triggers") == "accepted"
            await pilot.press("r")
            await pilot.pause()
            await pilot.press(*"not now", "enter")
            await settle(app, pilot)
            # edit an objective: text, client action, measure, target weeks
            select(screen, "depression.activity.monitor")
            await pilot.press("e")
            await pilot.pause()
            assert isinstance(app.screen, ItemDialog)
            await pilot.press("end", *" log", "enter", "enter", "enter")
            target = app.screen.query_one("#field-target_weeks", Input)
            assert target.value == "2"
            await pilot.press("backspace", "3", "enter")
            await settle(app, pilot)
            assert screen.review.status("depression.activity.monitor") == "edited"
            edit = screen.review.decisions["depression.activity.monitor"]["edit"]
            assert edit == {"text": "Record daily activities and mood log",
                            "target_weeks": 3}
            assert "\u270e" in label(screen, "depression.activity.monitor")
            # add an objective under a goal
            select(screen, "depression.thinking")
            await pilot.press("plus")
            await pilot.pause()
            await pilot.press("o", "enter")
            await pilot.pause()
            assert isinstance(app.screen, ItemDialog)
            await pilot.press(*"Walk", "enter", *"Walk daily", "enter", *"5 a week", "enter",
                              "backspace", "6", "enter")
            await settle(app, pilot)
            added = screen.review.added
            assert [(a.kind, a.parent, a.fields["target_weeks"]) for a in added] == [
                ("objective", "depression.thinking", 6)]
            assert label(screen, added[0].key).startswith("+ Obj: Walk")
            # every change is in the draft
            draft = services.load_proposal_draft(client)
            assert draft is not None
            assert draft["review"]["decisions"]["alcohol_use.triggers"] == {"reject": "not now"}
            assert draft["review"]["added"][0]["fields"]["text"] == "Walk"

    run(go())


def test_why_shows_facts_rule_and_source(make_app: Callable[[], PlanwiseApp],
                                         client: int) -> None:
    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_review(app, pilot, ProposalScreen(client, example()))
            select(screen, "problem.depression")
            await pilot.press("w")
            await pilot.pause()
            assert isinstance(app.screen, WhyScreen)
            text = app.screen.text
            assert "rule depression.problem.screen" in text
            assert "PHQ-9 = 16" in text
            assert "Source: Kroenke et al. (2001)" in text
            assert "So: depression is a problem for this client." in text
            await pilot.press("escape")
            await pilot.pause()
            assert app.screen is screen
            # an objective: its goal rule, then back through the problem to the score
            select(screen, "depression.activity.monitor")
            await pilot.press("w")
            await pilot.pause()
            text = app.screen.text  # type: ignore[attr-defined]
            assert text.index("rule depression.goals.core") < text.index(
                "How those facts were established") < text.index("PHQ-9 = 16")
            await pilot.press("escape")
            await pilot.pause()
            # the side panel: the treatment block names the engine's own step
            screen.query_one("#proposal-panel", OptionList).focus()
            panel = screen.query_one("#proposal-panel", OptionList)
            panel.highlighted = next(i for i in range(panel.option_count)
                                     if panel.get_option_at_index(i).id == "item:treatment")
            await pilot.press("w")
            await pilot.pause()
            text = app.screen.text  # type: ignore[attr-defined]
            assert "engine.treatment.sequence" in text
            assert "the problem addressed first" in text

    run(go())


def test_what_if_marks_gone_and_new_and_keeps_decisions(
        make_app: Callable[[], PlanwiseApp], client: int) -> None:
    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_review(app, pilot, ProposalScreen(client, example()))
            r = screen.review
            r.reject("alcohol_use.triggers", "not now")
            r.edit("alcohol_use.lifestyle.diary", {"measure": "diary on 6 of 7 days"})
            r.reject("depression.collaborative_care.family", "no family involved")
            screen.refresh_view()
            changed = example()
            changed["instruments"]["phq9"] = [0] * 9
            await pilot.press("c")                 # what-if: back to the answers
            await settle(app, pilot)
            assert isinstance(app.screen, IntakeScreen)
            assert app.screen.given == example()
            app.screen.dismiss(changed)            # the intake screen's hand-back
            await settle(app, pilot)
            await settle(app, pilot)
            assert app.screen is screen
            gone = {it.key for it in r.gone if it.kind in KINDS}   # the tree's
            assert gone == {"depression.collaborative_care",
                            "depression.collaborative_care.family",
                            "depression.collaborative_care.liaison",
                            "depression.collaborative_care.medication",
                            "depression.collaborative_care.support",
                            # the prescriber's goal for mood and drinking together
                            "integrated.mood_substance_prescriber",
                            "integrated.mood_substance_prescriber.advice",
                            "integrated.mood_substance_prescriber.review",
                            "integrated.mood_substance_prescriber.plan",
                            "integrated.mood_substance_prescriber.liaison"}
            shown = label(screen, "depression.collaborative_care")
            assert shown.startswith("- ") and "(no longer proposed)" in shown
            assert "(CHANGED, was severe)" in label(screen, "problem.depression")
            assert r.status("alcohol_use.triggers") == "rejected"
            assert r.status("alcohol_use.lifestyle.diary") == "edited"
            assert "(rejected: not now)" in label(screen, "alcohol_use.triggers")
            assert screen.intake_id is None and screen.intake_data == changed
            # back to the first answers: the items come back marked NEW, decision kept
            screen.answers_changed(example())
            await settle(app, pilot)
            assert not r.gone
            assert "depression.collaborative_care.family" in r.appeared
            assert "NEW" in label(screen, "depression.collaborative_care.family")
            assert r.status("depression.collaborative_care.family") == "rejected"

    run(go())


def test_save_as_plan_applies_the_decisions(make_app: Callable[[], PlanwiseApp],
                                            services: Services, client: int,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[int] = []
    monkeypatch.setattr(PlanwiseApp, "open_plan", lambda self, plan_id: opened.append(plan_id))

    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_review(app, pilot, ProposalScreen(client, example()))
            r = screen.review
            r.reject("alcohol_use.triggers", "not now")
            r.edit("depression.activity.monitor", {"text": "Keep a paper mood log",
                                                   "target_weeks": 3})
            goal = r.add("goal", "problem.alcohol_use", {"text": "Cut down to 14 units"})
            r.add("objective", goal.key, {"text": "Count units", "client_action":
                                          "Write down every drink in a diary each day",
                                          "measure": "diary kept on 6 of 7 days",
                                          "target_weeks": 4})
            r.add("intervention", goal.key, {"text": "Review the diary", "modality": "cbt"})
            screen.autosave()
            await settle(app, pilot)
            assert services.load_proposal_draft(client) is not None
            await pilot.press("ctrl+s")
            await settle(app, pilot)
            await settle(app, pilot)
            assert len(opened) == 1, notes(app)
            assert services.load_proposal_draft(client) is None
            assert len(list_intakes(services.conn(), client)) == 1

    run(go())
    doc = load_doc_for(services.conn(), opened[0])
    items = {}
    for p in doc.problems:
        items[p.key] = p
        for g in p.goals:
            items[g.key] = g
            for x in [*g.objectives, *g.interventions]:
                items[x.key] = x
    assert items["alcohol_use.triggers"].origin == "proposed_rejected"
    assert items["alcohol_use.triggers"].rejection_reason == "not now"
    assert items["alcohol_use.triggers.map"].origin == "proposed_rejected"
    assert "with its goal: not now" in (items["alcohol_use.triggers.map"].rejection_reason or "")
    edited = items["depression.activity.monitor"]
    assert edited.origin == "proposed_edited" and edited.text == "Keep a paper mood log"
    assert str(edited.anticipated) == "2026-12-20"        # intake date + 3 weeks
    assert items["depression.activity.schedule"].origin == "proposed_accepted"
    alcohol = next(p for p in doc.problems if p.condition == "alcohol_use")
    added = [g for g in alcohol.goals if g.origin == "added"]
    assert [g.text for g in added] == ["Cut down to 14 units"]
    assert added[0].objectives[0].origin == "added"
    assert added[0].objectives[0].interventions == [added[0].interventions[0].key]


def test_stored_intake_is_not_stored_twice(make_app: Callable[[], PlanwiseApp],
                                           services: Services, client: int,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[int] = []
    monkeypatch.setattr(PlanwiseApp, "open_plan", lambda self, plan_id: opened.append(plan_id))
    intake_id = add_intake_data(services.conn(), client, example(), services.kb)

    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_review(app, pilot,
                                       ProposalScreen.from_stored_intake(client, intake_id))
            assert len([i for i in screen.review.items if i.kind in KINDS]) == 61
            await pilot.press("ctrl+s")
            await settle(app, pilot)
            await settle(app, pilot)

    run(go())
    assert len(opened) == 1
    assert [i["id"] for i in list_intakes(services.conn(), client)] == [intake_id]
    plan = services.conn().one("SELECT intake_id FROM plans WHERE id = ?", [opened[0]])
    assert plan is not None and plan["intake_id"] == intake_id


def test_draft_is_recovered_exactly(make_app: Callable[[], PlanwiseApp], services: Services,
                                    client: int) -> None:
    changed = example()
    changed["instruments"]["phq9"] = [0] * 9

    async def first() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_review(app, pilot, ProposalScreen(client, example()))
            select(screen, "alcohol_use.triggers")
            await pilot.press("r")
            await pilot.pause()
            await pilot.press(*"not now", "enter")
            await settle(app, pilot)
            screen.answers_changed(copy.deepcopy(changed))
            await settle(app, pilot)
            await settle(app, pilot)

    async def second() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_review(app, pilot, ProposalScreen(client, example()))
            assert any(n.startswith("Recovered unsaved proposal review from ")
                       for n in notes(app))
            assert screen.review.reason("alcohol_use.triggers") == "not now"
            assert screen.intake_data is not None
            assert screen.intake_data["instruments"]["phq9"] == [0] * 9
            assert "(no longer proposed)" in label(screen, "depression.collaborative_care")
            assert screen.intake_id is None

    run(first())
    run(second())
