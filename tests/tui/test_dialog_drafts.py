"""Issue 11, item 2: text typed into an open dialog is part of the draft. A reason typed in
a reject prompt, a referral being edited, an intervention being added, in the plan editor
or the proposal review, survives a crash or a hangup: opening the same screen again opens
the dialog with the text as it was. Before, only the objective dialog kept its text."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.widgets import Input

from planwise.store.clients import add_client, add_intake_data
from planwise.store.plans import load_doc_for
from planwise.tui.app import PlanwiseApp
from planwise.tui.crash_drafts import OpenDraft, open_drafts, save_drafts
from planwise.tui.screens.client import draft_lines
from planwise.tui.screens.dialogs import TextPrompt
from planwise.tui.screens.plan import PlanScreen
from planwise.tui.screens.proposal import ProposalScreen
from planwise.tui.services import Services
from planwise.tui.widgets.plan_item_dialogs import FieldsDialog
from tests.tui.conftest import run, settle
from tests.tui.test_editing import cursor_to, example, open_plan, open_review


async def open_at_first_referral(app: PlanwiseApp, pilot: Any, services: Services,
                                 plan_id: int) -> PlanScreen:
    """The plan editor open, its cursor on the plan's first referral."""
    referral = load_doc_for(services.conn(), plan_id).referrals[0]
    screen = await open_plan(app, pilot, plan_id)
    await cursor_to(app, pilot, screen, referral.key or "")
    return screen


async def settled(app: PlanwiseApp, pilot: Any) -> None:
    for _ in range(3):
        await settle(app, pilot)


def test_plan_editor_dialog_text_is_kept_and_comes_back(
        make_app: Callable[[], PlanwiseApp], services: Services, plan_id: int) -> None:
    before = load_doc_for(services.conn(), plan_id)
    referral = before.referrals[0]
    key = f"P{plan_id}/dialog"

    async def typing() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_plan(app, pilot, plan_id)
            await cursor_to(app, pilot, screen, referral.key or "")
            await pilot.press("e")
            await settle(app, pilot)
            assert isinstance(app.screen, FieldsDialog)
            assert services.kept_draft("plan", key) is None   # nothing typed: no draft
            field = app.screen.query_one("#field-reason", Input)
            field.focus()
            await pilot.press("end", *" and a second opinion")
            await settled(app, pilot)
            drafts, failed = open_drafts(list(app.screen_stack))
            mine = [d for d in drafts if d.key == key]
            assert not failed and len(mine) == 1
            assert mine[0].payload["values"]["reason"].endswith(" and a second opinion")
            # the terminal dies here, the dialog open

    run(typing())
    draft = services.kept_draft("plan", key)
    assert draft is not None and draft["action"] == {"do": "edit", "item": referral.key}
    typed = draft["values"]["reason"]
    assert typed.endswith(" and a second opinion")

    async def again() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(app, pilot)
            app.open_plan(plan_id)
            await settled(app, pilot)
            dialog = app.screen
            assert isinstance(dialog, FieldsDialog), [str(n.message) for n in app._notifications]
            assert dialog.query_one("#field-reason", Input).value == typed
            assert any("Reopened the dialog you were typing in" in str(n.message)
                       for n in app._notifications)
            await pilot.press("ctrl+s")
            await settled(app, pilot)
            assert isinstance(app.screen, PlanScreen)

    run(again())
    assert services.kept_draft("plan", key) is None       # closed: forgotten
    doc = load_doc_for(services.conn(), plan_id)
    saved = next(r for r in doc.referrals if r.key == referral.key)
    assert saved.reason == typed and saved.origin == "proposed_edited"


def test_plan_editor_cancelled_dialog_leaves_no_draft(
        make_app: Callable[[], PlanwiseApp], services: Services, plan_id: int) -> None:
    doc = load_doc_for(services.conn(), plan_id)
    referral = doc.referrals[0]

    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_plan(app, pilot, plan_id)
            await cursor_to(app, pilot, screen, referral.key or "")
            await pilot.press("minus")
            await settle(app, pilot)
            assert isinstance(app.screen, TextPrompt)
            await pilot.press(*"no service near")
            await settled(app, pilot)
            assert services.kept_draft("plan", f"P{plan_id}/dialog") is not None
            await pilot.press("escape")
            await settled(app, pilot)

    run(go())
    assert services.kept_draft("plan", f"P{plan_id}/dialog") is None


def test_proposal_reject_reason_is_kept_and_comes_back(
        make_app: Callable[[], PlanwiseApp], services: Services) -> None:
    client = add_client(services.conn(), "Dialog Draft (fictional)")
    intake_id = add_intake_data(services.conn(), client, example(), services.kb)
    key = f"C{client}/dialog"
    chosen: dict[str, str] = {}

    async def typing() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_review(app, pilot,
                                       ProposalScreen.from_stored_intake(client, intake_id))
            await pilot.press("down", "down")               # a goal of the first problem
            await settle(app, pilot)
            selected = screen._selected_key()
            assert selected is not None
            chosen["key"] = selected
            await pilot.press("r")
            await settle(app, pilot)
            assert isinstance(app.screen, TextPrompt)
            await pilot.press(*"client wants to wait")
            await settled(app, pilot)

    run(typing())
    draft = services.kept_draft("proposal", key)
    assert draft is not None
    assert draft["action"] == {"do": "reject", "item": chosen["key"], "intake": intake_id}
    assert draft["values"] == {"text": "client wants to wait"}
    # The review itself had no decision yet: its own draft is absent, and the client page
    # still offers the text (it reopens the review of the intake it was typed over).
    assert services.load_proposal_draft(client) is None
    lines = draft_lines(services.conn().query(
        "SELECT kind, key, updated_at FROM drafts WHERE client_id = ?", [client]))
    assert [ref for ref, _ in lines] == ["draft:proposal-dialog"]

    async def again() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_review(app, pilot,
                                       ProposalScreen.from_stored_intake(client, intake_id))
            await settled(app, pilot)
            prompt = app.screen
            assert isinstance(prompt, TextPrompt)
            assert prompt.query_one("#prompt-input", Input).value == "client wants to wait"
            await pilot.press(*" a month", "enter")
            await settled(app, pilot)
            assert app.screen is screen
            assert screen.review.reason(chosen["key"]) == "client wants to wait a month"

    run(again())
    assert services.kept_draft("proposal", key) is None


def test_client_page_folds_a_dialog_draft_into_its_screen_line() -> None:
    """Before: a kept objective dialog (P3/objective) was listed as 'plan P3/objective'
    and Enter on it failed to open plan '3/objective'."""
    rows = [{"kind": "plan", "key": "P3/objective", "updated_at": "2026-12-07T10:00:00+00:00"},
            {"kind": "plan", "key": "P3", "updated_at": "2026-12-07T09:00:00+00:00"},
            {"kind": "plan", "key": "P4/dialog", "updated_at": "2026-12-07T08:00:00+00:00"},
            {"kind": "proposal", "key": "C1/dialog", "updated_at": "2026-12-07T07:00:00+00:00"},
            {"kind": "proposal", "key": "C1", "updated_at": "2026-12-07T06:00:00+00:00"}]
    lines = draft_lines(rows)
    assert [ref for ref, _ in lines] == ["draft:plan:3", "draft:plan:4", "draft:proposal"]
    assert "plan P3 " in lines[0][1] and "plan P4 " in lines[1][1]


def test_crash_save_keeps_a_proposal_dialog_beside_the_review() -> None:
    """The crash handler wrote a proposal dialog's text over the review's own draft."""
    calls: list[tuple[str, Any]] = []

    class FakeServices:
        def save_proposal_draft(self, client_id: int, payload: dict[str, Any]) -> None:
            calls.append(("proposal", payload))

        def keep_draft(self, kind: str, key: str, payload: dict[str, Any], seq: int,
                       client_id: int | None = None) -> None:
            calls.append((f"{kind} {key}", payload))

    review = OpenDraft("proposal", "C1", {"review": {}}, 1, "the review")
    dialog = OpenDraft("proposal", "C1/dialog", {"action": {}, "values": {"text": "x"}}, 1,
                       "a dialog")
    outcomes = save_drafts(FakeServices(), [review, dialog])
    assert all(o.saved for o in outcomes)
    assert calls == [("proposal", {"review": {}}),
                     ("proposal C1/dialog", {"action": {}, "values": {"text": "x"}})]


def test_the_walkthrough_is_one_key_away_in_the_proposal_review(
        make_app: Callable[[], PlanwiseApp], services: Services) -> None:
    """Before: W worked in the plan editor only; the proposal under review, what-if
    answers included, had no walk-through."""
    from textual.widgets import Static

    from planwise.explain import explain
    from planwise.intake_io import intake_from_data
    from planwise.rules import evaluate
    from planwise.tui.screens.walkthrough import WalkthroughScreen

    client = add_client(services.conn(), "Walk Through (fictional)")
    data = example()
    data["instruments"]["phq9"] = [3] * 9             # answers never stored: a new review
    scored = intake_from_data(data, services.kb)
    expected = explain(evaluate(scored, None, services.kb), scored, services.kb)

    def letters(t: str) -> list[str]:
        return sorted("".join(t.split()))

    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_review(app, pilot, ProposalScreen(client, data))
            await pilot.press("W")
            await settled(app, pilot)
            assert isinstance(app.screen, WalkthroughScreen)
            assert app.screen.sub_title == f"Walk-through: the proposal review of C{client}"
            text = str(app.screen.query_one("#walkthrough-text", Static).render())
            assert letters(text) == letters(expected)
            await pilot.press("escape")
            await settle(app, pilot)
            assert app.screen is screen

    run(go())


def test_a_dialog_closed_twice_in_one_burst_closes_once(
        make_app: Callable[[], PlanwiseApp], services: Services, plan_id: int) -> None:
    """Esc, Esc (or Enter, Esc) handled before the dialog is gone dismissed it twice:
    InvalidStateError, the crash screen (found by the monkey test)."""
    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_at_first_referral(app, pilot, services, plan_id)
            for key, kind in (("minus", TextPrompt), ("e", FieldsDialog)):
                await pilot.press(key)
                await settle(app, pilot)
                dialog = app.screen
                assert isinstance(dialog, kind)
                dialog.action_cancel()
                dialog.action_cancel()                 # before the first has closed it
                await settled(app, pilot)
                assert app.screen is screen
            assert app.return_code is None            # still running: no crash screen

    run(go())


def dialogs(app: PlanwiseApp) -> list[str]:
    return [type(s).__name__ for s in app.screen_stack if isinstance(s, (FieldsDialog,
                                                                         TextPrompt))]


def test_a_second_edit_sent_before_the_first_dialog_opens_no_second_dialog(
        make_app: Callable[[], PlanwiseApp], services: Services, plan_id: int) -> None:
    """Keys arrive in bursts over SSH. When a key opens a dialog, what the plan editor
    was already sent (a second key, an Enter its tree turned into a selection) is handled
    after the dialog is on top: it must not open a second dialog over the first (the
    monkey test found two edit dialogs stacked, the kept draft holding only one)."""

    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_at_first_referral(app, pilot, services, plan_id)
            # Both handled by the plan editor, one after the other, as two keys of one
            # burst are: the second finds the first's dialog already on top.
            screen.call_next(screen.action_edit)
            screen.call_next(screen.action_edit)
            screen.call_next(screen.action_reject_item)
            await settle(app, pilot)
            assert dialogs(app) == ["FieldsDialog"]
            assert isinstance(app.screen, FieldsDialog)
            await pilot.press("escape")
            await settle(app, pilot)
            assert isinstance(app.screen, PlanScreen)
            # On top again, the editor opens its dialogs as before.
            await pilot.press("e")
            await settle(app, pilot)
            assert dialogs(app) == ["FieldsDialog"]

    run(go())


def test_a_reload_under_an_open_dialog_does_not_open_its_draft_again(
        make_app: Callable[[], PlanwiseApp], services: Services, plan_id: int) -> None:
    """The plan editor reloads under an open dialog (a save finishing, say): its reload
    reopens a dialog left open by a crash, from its kept draft. That draft is the open
    dialog's own: opened again, it stacked a second edit dialog over the first (CI's
    monkey test, plan-sign-dialog). A worker's result for a screen under a dialog opens
    none."""
    import asyncio

    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_at_first_referral(app, pilot, services, plan_id)
            await pilot.press("e")
            await settle(app, pilot)
            app.screen.query_one("#field-reason", Input).focus()
            await pilot.press("end", *" typed")
            await settled(app, pilot)
            assert dialogs(app) == ["FieldsDialog"]
            assert services.kept_draft("plan", f"P{plan_id}/dialog") is not None
            # What the editor's loading worker does once the plan is read again.
            await asyncio.to_thread(screen.reopen_dialog)
            await settled(app, pilot)
            assert dialogs(app) == ["FieldsDialog"]
            assert app.screen.query_one("#field-reason", Input).value.endswith(" typed")

    run(go())


def test_the_top_screen_still_opens_its_dialogs(
        make_app: Callable[[], PlanwiseApp], services: Services, plan_id: int) -> None:
    """The guard is about screens under a dialog only: the screen on top, by its keys or
    the app's, still opens one (F1's help, n's new-client prompt)."""

    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(app, pilot)
            await pilot.press("f1")
            await settle(app, pilot)
            assert type(app.screen).__name__ == "HelpScreen"
            await pilot.press("escape")
            await settle(app, pilot)
            await pilot.press("n")
            await settle(app, pilot)
            assert isinstance(app.screen, TextPrompt)

    run(go())
