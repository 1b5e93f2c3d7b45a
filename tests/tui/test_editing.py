"""Issue 11, item 3, by keyboard at 80x24: the SMART reason on the objective's line; the
proposal's side panel decided (referrals, the treatment block) and the plan editor's
interventions, treatment and referrals edited, rejected with a reason, accepted again and
added, then stored as decided; what-if on a copy (Esc back to the real answers, nothing
written over the intake draft, the side panel's changes marked); type-to-jump in long
lists and the client's own instruments first; the client page's attention key."""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input, OptionList, SelectionList, Static

from planwise.store.clients import add_client
from planwise.store.plans import load_doc_for
from planwise.tui import demo
from planwise.tui.app import PlanwiseApp
from planwise.tui.screens.client import ClientScreen
from planwise.tui.screens.dialogs import TextPrompt
from planwise.tui.screens.intake import IntakeScreen
from planwise.tui.screens.measure import MeasureScreen
from planwise.tui.screens.plan import PlanScreen
from planwise.tui.screens.proposal import ProposalScreen
from planwise.tui.screens.whatif import WhatIfIntakeScreen
from planwise.tui.services import Services
from planwise.tui.widgets.plan_checklist import ObjectiveChecklist
from planwise.tui.widgets.plan_item_dialogs import FieldsDialog
from planwise.tui.widgets.proposal_panel import ProposalPanel
from tests.tui.conftest import EXAMPLES, run, settle
from tests.tui.test_plan import open_plan


def example() -> dict[str, Any]:
    with open(EXAMPLES / "depression-alcohol.toml", "rb") as f:
        return tomllib.load(f)


def notes(app: PlanwiseApp) -> list[str]:
    return [str(n.message) for n in app._notifications]


def screen_lines(app: PlanwiseApp) -> list[str]:
    """The text of the screen as drawn (what a terminal shows)."""
    return ["".join(seg.text for seg in strip)
            for strip in app.screen._compositor.render_strips()]


@pytest.fixture()
def client(services: Services) -> int:
    return add_client(services.conn(), "Editing Test (fictional)")


async def open_review(app: PlanwiseApp, pilot: Any, screen: ProposalScreen) -> ProposalScreen:
    await pilot.pause()
    app.push_screen(screen)
    await settle(app, pilot)
    assert screen.loaded
    return screen


def panel_to(screen: ProposalScreen, prefix: str) -> ProposalPanel:
    """Focus the side panel and highlight its first entry whose id starts with prefix."""
    panel = screen.query_one("#proposal-panel", ProposalPanel)
    panel.focus()
    panel.highlighted = next(i for i in range(panel.option_count)
                             if (panel.get_option_at_index(i).id or "").startswith(prefix))
    return panel


def panel_texts(screen: ProposalScreen) -> list[str]:
    panel = screen.query_one("#proposal-panel", OptionList)
    return [str(panel.get_option_at_index(i).prompt) for i in range(panel.option_count)]


async def fill(app: PlanwiseApp, pilot: Any, values: dict[str, str]) -> None:
    """Type into a FieldsDialog's fields, then Ctrl+S."""
    assert isinstance(app.screen, FieldsDialog)
    for name, value in values.items():
        field = app.screen.query_one(f"#field-{name}", Input)
        field.value = ""
        field.focus()
        await pilot.press(*value)
    await pilot.press("ctrl+s")
    await settle(app, pilot)


async def reason(app: PlanwiseApp, pilot: Any, text: str) -> None:
    assert isinstance(app.screen, TextPrompt)
    await pilot.press(*text, "enter")
    await settle(app, pilot)


# --- the proposal review's side panel ------------------------------------------------

def test_proposal_side_panel_decided_and_saved_as_decided(
        make_app: Callable[[], PlanwiseApp], services: Services, client: int,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The panel said 'read-only here; edit it in the plan editor'. Now: r rejects a
    referral with a reason, e edits the treatment block, + adds a referral; Ctrl+S
    stores each as decided."""
    opened: list[int] = []
    monkeypatch.setattr(PlanwiseApp, "open_plan", lambda self, plan_id: opened.append(plan_id))

    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_review(app, pilot, ProposalScreen(client, example()))
            panel = panel_to(screen, "item:referral.")
            rejected = panel.selected_item()
            assert rejected is not None and rejected.kind == "referral"
            await pilot.press("r")
            await pilot.pause()
            await reason(app, pilot, "already sees the GP")
            assert not any("read-only" in n for n in notes(app))
            assert screen.review.status(rejected.key) == "rejected"
            shown = panel_texts(screen)
            assert any(t.startswith("\u2717 ") and "(rejected: already sees the GP)" in t
                       for t in shown), shown
            # e on the treatment block: the compact dialog, six fields at 80x24
            panel_to(screen, "item:treatment")
            await pilot.press("e")
            await pilot.pause()
            assert isinstance(app.screen, FieldsDialog)
            await fill(app, pilot, {"sessions_max": "24", "review_weeks": "8"})
            assert screen.review.status("treatment") == "edited"
            assert any(t.startswith("\u270e ") and "review at 8 wk" in t
                       for t in panel_texts(screen))
            # + on the panel: a referral of your own; a wrong urgency is named first
            await pilot.press("plus")
            await pilot.pause()
            await fill(app, pilot, {"kind": "psychiatry", "urgency": "whenever",
                                    "reason": "medication review"})
            assert isinstance(app.screen, FieldsDialog)
            error = str(app.screen.query_one("#fields-error", Static).render())
            assert error.startswith("Urgency:")
            assert app.focused is app.screen.query_one("#field-urgency")
            await fill(app, pilot, {"urgency": "soon"})
            assert not isinstance(app.screen, FieldsDialog)
            assert any(t.startswith("+ Psychiatry: SOON") for t in panel_texts(screen))
            await pilot.press("ctrl+s")
            await settle(app, pilot)
            assert len(opened) == 1, notes(app)

    run(go())
    doc = load_doc_for(services.conn(), opened[0])
    ref = next(r for r in doc.referrals if r.kind != "psychiatry" and r.origin ==
               "proposed_rejected")
    assert ref.rejection_reason == "already sees the GP"
    assert doc.treatment is not None and doc.treatment.origin == "proposed_edited"
    assert doc.treatment.sessions_max == 24 and doc.treatment.review_weeks == 8
    assert str(doc.review_date) == "2027-01-24"          # the start + 8 weeks
    added = [r for r in doc.referrals if r.origin == "added"]
    assert [(r.kind, r.urgency, r.reason) for r in added] == [
        ("psychiatry", "soon", "medication review")]


# --- the plan editor --------------------------------------------------------------------

async def cursor_to(app: PlanwiseApp, pilot: Any, screen: PlanScreen, key: str) -> None:
    screen.move_to_key(key)
    await pilot.pause()
    assert screen.selected() is not None and screen.selected()[1] == key  # type: ignore[index]


def test_plan_editor_edits_interventions_treatment_and_referrals(
        make_app: Callable[[], PlanwiseApp], services: Services, plan_id: int) -> None:
    """The plan editor had no interventions, treatment or referrals to change."""
    before = load_doc_for(services.conn(), plan_id)
    goal = next(g for p in before.problems for g in p.goals
                if len(g.interventions) >= 2 and g.objectives)
    dropped = goal.interventions[0]
    referral = before.referrals[0]

    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_plan(app, pilot, plan_id)
            assert dropped.key in screen._tree_nodes          # interventions are in the tree
            # - rejects an intervention with a reason
            await cursor_to(app, pilot, screen, dropped.key or "")
            await pilot.press("minus")
            await pilot.pause()
            await reason(app, pilot, "not offered here")
            label = screen._labels[dropped.key or ""].plain
            assert label.startswith("Int: ") and "(rejected: not offered here)" in label
            # a accepts it again, - rejects it again
            await pilot.press("a")
            await settle(app, pilot)
            assert "(rejected" not in screen._labels[dropped.key or ""].plain
            await pilot.press("delete")
            await pilot.pause()
            await reason(app, pilot, "not offered here")
            # + on the goal adds an intervention, linked to the goal's objectives
            await cursor_to(app, pilot, screen, goal.key or "")
            await pilot.press("plus")
            await pilot.pause()
            await fill(app, pilot, {"text": "Walk together in session", "modality": "cbt"})
            # e on the treatment block
            assert before.treatment is not None
            await cursor_to(app, pilot, screen, before.treatment.key or "")
            await pilot.press("e")
            await pilot.pause()
            await fill(app, pilot, {"frequency_per_week": "2"})
            assert "2/week" in screen._labels[before.treatment.key or ""].plain
            # e on a referral: its urgency; + on Referrals: one of your own
            await cursor_to(app, pilot, screen, referral.key or "")
            await pilot.press("e")
            await pilot.pause()
            await fill(app, pilot, {"urgency": "urgent"})
            await cursor_to(app, pilot, screen, "@referrals")
            await pilot.press("plus")
            await pilot.pause()
            await fill(app, pilot, {"kind": "community_services", "urgency": "routine",
                                    "reason": "housing advice"})
            await settle(app, pilot)

    run(go())
    doc = load_doc_for(services.conn(), plan_id)
    g = next(x for p in doc.problems for x in p.goals if x.key == goal.key)
    iv = next(i for i in g.interventions if i.key == dropped.key)
    assert iv.origin == "proposed_rejected" and iv.rejection_reason == "not offered here"
    added = [i for i in g.interventions if i.origin == "added"]
    assert [i.text for i in added] == ["Walk together in session"]
    assert all(added[0].key in o.interventions for o in g.objectives)
    assert doc.treatment is not None and doc.treatment.frequency_per_week == 2
    assert doc.treatment.origin == "proposed_edited"
    ref = next(r for r in doc.referrals if r.key == referral.key)
    assert ref.urgency == "urgent" and ref.origin == "proposed_edited"
    assert [(r.kind, r.reason) for r in doc.referrals if r.origin == "added"] == [
        ("community_services", "housing advice")]
    # Exported as decided: the rejected intervention is not under its objectives.
    written = services.plan_export(plan_id, "markdown", str(services.db_path.parent / "p.md"))
    text = Path(written).read_text(encoding="utf-8")
    assert f"Therapist intervention: {dropped.text}" not in text
    assert "Therapist intervention: Walk together in session" in text


def test_smart_reason_is_on_the_objective_line(make_app: Callable[[], PlanwiseApp],
                                              plan_id: int) -> None:
    """The failing letter's reason needed Tab and three Downs to read."""
    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_plan(app, pilot, plan_id)
            assert screen.doc is not None
            o = screen.doc.problems[0].goals[0].objectives[0]
            screen.apply(o.model_copy(update={"measure": "feels better"}))
            await settle(app, pilot)
            label = screen._labels[o.key or ""].plain
            assert label.startswith("S !M A R T  !M measure has no number  open")
            # on the screen's own line at 80 columns, not cut off
            shown = screen_lines(app)
            assert any("S !M A R T  !M measure has no number" in ln for ln in shown), shown
            detail = str(screen.query_one("#plan-detail", Static).render()).splitlines()
            assert detail[1].startswith("!M the measure has no number")   # no scrolling

    run(go())


# --- what-if on a copy ------------------------------------------------------------------

def test_what_if_works_on_a_copy_and_esc_returns_to_the_real_answers(
        make_app: Callable[[], PlanwiseApp], services: Services, client: int) -> None:
    """What-if changed the client's intake draft (the real answers) with no undo, and its
    title said 'New intake'."""
    real_draft = {"concerns": ["depression"], "step": 0}
    services.save_intake_draft(client, real_draft, 1)
    kept = services.load_intake_draft(client)

    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_review(app, pilot, ProposalScreen(client, example()))
            keys = sorted(it.key for it in screen.review.items)
            screen.review.reject("alcohol_use.triggers", "not now")
            await pilot.press("c")
            await settle(app, pilot)
            assert isinstance(app.screen, WhatIfIntakeScreen)
            assert "What-if" in app.screen.sub_title and "New intake" not in app.screen.sub_title
            await pilot.press("space", "down", "space")   # change the screening, twice
            await settle(app, pilot)
            assert services.load_intake_draft(client) == kept   # the real answers untouched
            await pilot.press("escape")                   # nothing changed, no question
            await settle(app, pilot)
            assert app.screen is screen and screen.real is None
            assert screen.intake_data == example()
            # a change handed back: marked in the tree and on the side panel
            await pilot.press("c")
            await settle(app, pilot)
            changed = example()
            changed["instruments"]["phq9"] = [0] * 9
            app.screen.dismiss(changed)
            await settle(app, pilot)
            assert screen.real is not None and screen.intake_data == changed
            top = str(screen.query_one("#proposal-risk", Static).render())
            assert "WHAT-IF" in top and "Esc: real answers" in top
            marked = [t for t in panel_texts(screen) if "NEW" in t or "no longer proposed"
                      in t or "CHANGED" in t]
            assert marked, panel_texts(screen)
            # Esc: back to the real answers, the proposal as it was, decisions kept
            await pilot.press("escape")
            await settle(app, pilot)
            assert app.screen is screen and screen.real is None
            assert screen.intake_data == example()
            assert sorted(it.key for it in screen.review.items) == keys
            assert not screen.review.gone and not screen.review.appeared
            assert screen.review.status("alcohol_use.triggers") == "rejected"
            assert "WHAT-IF" not in str(screen.query_one("#proposal-risk", Static).render())
            assert services.load_intake_draft(client) == kept
            await pilot.press("escape")                   # and now Esc leaves
            await settle(app, pilot)
            assert not isinstance(app.screen, ProposalScreen)

    run(go())


# --- type-to-jump and the instrument picker ------------------------------------------------

def test_instrument_picker_jumps_and_lists_the_clients_instruments_first(
        make_app: Callable[[], PlanwiseApp], services: Services) -> None:
    """PHQ-9 was 13 Downs away in the picker, and the client's own instruments were not
    first."""
    demo.seed(services)
    ash = services.conn().one("SELECT id FROM clients WHERE name LIKE 'Ash%'")
    assert ash is not None

    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(app, pilot)
            app.push_screen(MeasureScreen(services.kb.instruments))
            await settle(app, pilot)
            picker = app.screen.query_one("#measure-choice", OptionList)
            assert picker.highlighted == 0
            await pilot.press("p", "h", "q")
            assert picker.get_option_at_index(picker.highlighted or 0).id == "phq9"
            await pilot.press("escape")
            await settle(app, pilot)
            app.push_screen(MeasureScreen(services.kb.instruments, client_id=ash["id"]))
            await settle(app, pilot)
            picker = app.screen.query_one("#measure-choice", OptionList)
            first = picker.get_option_at_index(0)
            assert first.id == "phq9" and "this client's" in str(first.prompt)
            assert picker.highlighted == 0
            await pilot.press("g", "a", "d")
            assert picker.get_option_at_index(picker.highlighted or 0).id == "gad7"

    run(go())


def test_type_to_jump_in_the_intake_lists(make_app: Callable[[], PlanwiseApp],
                                          client: int) -> None:
    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(app, pilot)
            app.new_intake(client)
            await settle(app, pilot)
            assert isinstance(app.screen, IntakeScreen)
            concerns = app.screen.query_one("#concerns", SelectionList)
            assert concerns.option_count > 10
            await pilot.press("p", "a", "n")
            at = concerns.get_option_at_index(concerns.highlighted or 0)
            assert str(at.prompt).lower().startswith("panic"), at.prompt
            await pilot.press("space")                    # Space still ticks
            assert at.value in concerns.selected

    run(go())


# --- the client page: what needs attention ----------------------------------------------

def test_client_page_says_why_and_a_goes_to_the_next_client_needing_attention(
        make_app: Callable[[], PlanwiseApp], services: Services) -> None:
    demo.seed(services)
    flagged = list(services.attention())
    assert len(flagged) >= 2

    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(app, pilot)
            app.open_client(flagged[0])
            await settle(app, pilot)
            line = str(app.screen.query_one("#client-attention", Static).render())
            assert f"! C{flagged[0]} needs attention:" in line
            await pilot.press("a")
            await settle(app, pilot)
            assert isinstance(app.screen, ClientScreen)
            assert app.screen.client_id == flagged[1]
            assert len(app.screen_stack) == 3                 # replaced, not stacked
            assert any(f"2 of {len(flagged)} needing attention" in n for n in notes(app))

    run(go())


def test_type_to_jump_in_the_session_objectives(make_app: Callable[[], PlanwiseApp],
                                                plan_id: int) -> None:
    """A plan's twenty-odd open objectives: typing a few letters reaches one; digits still
    rate it."""
    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(app, pilot)
            app.new_session(plan_id)
            await settle(app, pilot)
            checklist = app.screen.query_one(ObjectiveChecklist)
            assert len(checklist.items) > 10
            target = next(i for i, (_k, text) in enumerate(checklist.items)
                          if i > 10 and text[:3].isalpha()
                          and not any(t.lower().startswith(text[:3].lower())
                                      for _k2, t in checklist.items[:i]))
            checklist.focus()
            await pilot.press(*checklist.items[target][1][:3].lower())
            assert checklist.highlighted == target
            await pilot.press("7")
            assert checklist.addressed[checklist.items[target][0]] == 7

    run(go())
