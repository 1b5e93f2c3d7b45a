"""Full-text search in the interface: Ctrl+F on the caseload and on a client's page,
results as you type with the words found, the whole text below, Enter opens the client."""

from __future__ import annotations

from collections.abc import Callable

from textual.widgets import Input, OptionList, Static

from planwise.store.clients import add_client
from planwise.store.plans import current_version, load_doc_for
from planwise.store.sessions import add_session
from planwise.tui.app import PlanwiseApp
from planwise.tui.screens.caseload import CaseloadScreen
from planwise.tui.screens.client import ClientScreen
from planwise.tui.screens.help import HelpScreen
from planwise.tui.screens.search import SearchScreen
from planwise.tui.services import Services
from planwise.tui.widgets.plan_model import open_objectives
from tests.tui.conftest import run, settle

NOTES = ["Reviewed the activity log; slept badly.",
         "We talked about the panic attack at work on Monday and what came before it.",
         "Panic attacks again, two at work. Paced breathing helped."]


def seed(services: Services, plan_id: int) -> int:
    c = services.conn()
    objective = open_objectives(load_doc_for(c, plan_id))[0].key
    start = current_version(c, plan_id)["start_date"]
    for note in NOTES:
        add_session(c, plan_id, start, [objective], note)
    other = add_client(c, "Robin Panicker (fictional)")
    return other


def text_of(app: PlanwiseApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


def test_ctrl_f_searches_the_notes_as_you_type_and_enter_opens_the_client(
        services: Services, plan_id: int, make_app: Callable[[], PlanwiseApp]) -> None:
    other = seed(services, plan_id)

    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(app, pilot)
            await pilot.press("ctrl+f", *"panic attack at wor")
            await settle(app, pilot)
            assert isinstance(app.screen, SearchScreen)
            assert app.screen.query_one("#fts-query", Input).value == "panic attack at wor"
            listing = app.screen.query_one("#fts-results", OptionList)
            assert listing.option_count == 2  # both notes with every word; not the name
            first = str(listing.get_option_at_index(0).prompt)
            assert "session 3 of P" in first and "Alex Example" in first
            assert "Panic attacks again" in first
            assert "2 of 2 matching, best first" in text_of(app, "#fts-count")
            assert "Paced breathing helped." in text_of(app, "#fts-detail")
            await pilot.press("down", "down")  # to the results, then the second
            await settle(app, pilot)
            assert "on Monday" in text_of(app, "#fts-detail")
            await pilot.press("enter")
            await settle(app, pilot)
            assert isinstance(app.screen, ClientScreen)
            await pilot.press("escape", "escape")
            await settle(app, pilot)
            assert isinstance(app.screen, CaseloadScreen)
            # The name filter's text goes with Ctrl+F; a name is found too.
            await pilot.press("slash", *"panick", "ctrl+f")
            await settle(app, pilot)
            hits = app.screen.results.hits  # type: ignore[attr-defined]
            assert [(h.kind, h.client_id) for h in hits] == [("client", other)]

    run(go())


def test_on_a_client_page_only_that_clients_records(
        services: Services, plan_id: int, make_app: Callable[[], PlanwiseApp]) -> None:
    other = seed(services, plan_id)

    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(app, pilot)
            app.open_client(other)
            await settle(app, pilot)
            await pilot.press("ctrl+f", *"attack")
            await settle(app, pilot)
            assert isinstance(app.screen, SearchScreen)
            assert f"C{other}'s records" in text_of(app, "#fts-scope")
            assert app.screen.query_one("#fts-results", OptionList).option_count == 0
            assert "No records match in this client's records" in text_of(app, "#fts-count")
            await pilot.press("escape")
            await settle(app, pilot)
            assert isinstance(app.screen, ClientScreen) and app.screen.client_id == other

    run(go())


def test_query_syntax_is_words_and_nothing_breaks(
        services: Services, plan_id: int, make_app: Callable[[], PlanwiseApp]) -> None:
    seed(services, plan_id)

    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(app, pilot)
            await pilot.press("ctrl+f", *'"NOT (panic OR* ^:', "quotation_mark")
            await settle(app, pilot)
            assert isinstance(app.screen, SearchScreen)
            assert "No records match" in text_of(app, "#fts-count")
            await pilot.press("ctrl+u", *"panic")
            await settle(app, pilot)
            assert app.screen.query_one("#fts-results", OptionList).option_count == 3
            await pilot.press("f1")
            await settle(app, pilot)
            assert isinstance(app.screen, HelpScreen)

    run(go())


def test_footer_and_help_at_80_columns(services: Services, plan_id: int,
                                       make_app: Callable[[], PlanwiseApp]) -> None:
    from tests.tui.test_keys_footer import footer_keys

    seed(services, plan_id)

    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(app, pilot)
            whole, cut = footer_keys(app)
            assert "^f Notes" in whole and not cut
            await pilot.press("ctrl+f", *"panic")
            await settle(app, pilot)
            whole, cut = footer_keys(app)
            assert {"esc Back", "^f Words", "f1 Help"} <= set(whole) and not cut
            await pilot.press("down")  # in the results (the count line says Enter opens)
            await settle(app, pilot)
            assert "Enter opens the client" in text_of(app, "#fts-count")
            await pilot.press("ctrl+f")  # back to the words
            assert app.screen.focused is app.screen.query_one("#fts-query", Input)

    run(go())
