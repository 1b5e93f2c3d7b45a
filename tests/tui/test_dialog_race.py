"""Keys arrive in bursts over SSH. When a key opens a dialog, what the plan editor was
already sent (a second key, an Enter its tree turned into a selection) is handled after
the dialog is on top: it must not open a second dialog over the first (the monkey test
found two edit dialogs stacked, the kept draft holding only one of them)."""

from __future__ import annotations

from collections.abc import Callable

from planwise.store.plans import load_doc_for
from planwise.tui.app import PlanwiseApp
from planwise.tui.screens.dialogs import TextPrompt
from planwise.tui.screens.plan import PlanScreen
from planwise.tui.services import Services
from planwise.tui.widgets.plan_item_dialogs import FieldsDialog
from tests.tui.conftest import run, settle
from tests.tui.test_editing import cursor_to, open_plan


def dialogs(app: PlanwiseApp) -> list[str]:
    return [type(s).__name__ for s in app.screen_stack if isinstance(s, (FieldsDialog,
                                                                         TextPrompt))]


def test_a_second_edit_sent_before_the_first_dialog_opens_no_second_dialog(
        make_app: Callable[[], PlanwiseApp], services: Services, plan_id: int) -> None:
    referral = load_doc_for(services.conn(), plan_id).referrals[0]

    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_plan(app, pilot, plan_id)
            await cursor_to(app, pilot, screen, referral.key or "")
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
