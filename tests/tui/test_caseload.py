"""Caseload: empty state, search as you type, new client, keyboard only."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from textual.widgets import DataTable, Static

from planwise.store.clients import add_client
from planwise.tui.app import PlanwiseApp
from planwise.tui.screens.caseload import CaseloadScreen
from planwise.tui.screens.client import ClientScreen
from planwise.tui.screens.help import HelpScreen
from planwise.tui.services import Services
from tests.tui.conftest import run, settle


def test_empty_caseload_explains_how_to_start(make_app: Callable[[], PlanwiseApp]) -> None:
    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            await app.workers.wait_for_complete()
            await pilot.pause()
            empty = app.screen.query_one("#empty", Static)
            assert empty.display
            assert "Press n to add your first client" in str(empty.render()).replace("\n", " ")

    run(go())


def test_search_as_you_type_narrows_the_list(services: Services,
                                              make_app: Callable[[], PlanwiseApp]) -> None:
    c = services.conn()
    for name in ("Alex Morgan", "Sam Morgan", "Robin Lee"):
        add_client(c, name)

    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await app.workers.wait_for_complete()
            await pilot.pause()
            table = app.screen.query_one(DataTable)
            assert table.row_count == 3
            await pilot.press("slash", *"morg")
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert table.row_count == 2
            count = app.screen.query_one("#count", Static)
            assert "2 clients matching 'morg'" in str(count.render())

    run(go())


def test_new_client_from_the_keyboard_opens_its_page(make_app: Callable[[], PlanwiseApp],
                                                      services: Services) -> None:
    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("n")
            await pilot.pause()
            await pilot.press(*"Jo Example", "enter")
            # The client is created in a worker, which then opens its page.
            for _ in range(100):
                await app.workers.wait_for_complete()
                await pilot.pause(0.02)
                if isinstance(app.screen, ClientScreen):
                    break
            assert isinstance(app.screen, ClientScreen)
            assert services.caseload("Jo")[1] == 1
            await pilot.press("escape")
            await pilot.pause()
            assert isinstance(app.screen, CaseloadScreen)

    run(go())


def test_f1_lists_the_keys_of_the_area_in_focus(make_app: Callable[[], PlanwiseApp]) -> None:
    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("f1")
            await pilot.pause()
            assert isinstance(app.screen, HelpScreen)
            text = str(app.screen.query_one("#help-text", Static).render())
            assert "Caseload" in text and "New client" in text and "Everywhere" in text
            await pilot.press("escape")
            await pilot.pause()
            assert isinstance(app.screen, CaseloadScreen)

    run(go())


def test_caseload_marks_clients_needing_attention_and_filters_them(
        services: Services, make_app: Callable[[], PlanwiseApp], plan_id: int) -> None:
    from planwise.store.sessions import add_session

    c = services.conn()
    add_client(c, "Robin Lee (fictional)")
    # the PHQ-9 16 at intake, 24 now: reliably deteriorated
    add_session(c, plan_id, "2026-11-29", ["suicide_risk.safety_plan.write:2"], "Session.",
                measures=[("phq9", [3, 3, 3, 3, 3, 3, 3, 3, 0])],
                instruments=services.kb.instruments)
    flagged = c.one("SELECT client_id FROM plans WHERE id = ?", [plan_id])["client_id"]

    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(app, pilot)
            screen = app.screen
            assert isinstance(screen, CaseloadScreen)
            assert list(screen.attention) == [flagged]
            assert "deteriorated" in screen.attention[flagged]["flags"]
            table = screen.query_one(DataTable)
            ids = [str(table.get_row_at(i)[0]) for i in range(table.row_count)]
            assert ids == [f"!C{flagged}", f" C{flagged + 1}"]
            line = screen.query_one("#attention", Static)
            assert line.display
            assert str(line.render()).startswith(f"! C{flagged} needs attention: deteriorated "
                                                 "(PHQ-9 16 -> 24")
            count = str(screen.query_one("#count", Static).render())
            assert count == "2 clients; 1 needs attention (a: only those)"
            await pilot.press("down")
            await pilot.pause()
            assert not line.display  # Robin needs nothing
            await pilot.press("a")
            await settle(app, pilot)
            assert table.row_count == 1 and str(table.get_row_at(0)[0]) == f"!C{flagged}"
            assert str(screen.query_one("#count", Static).render()) == \
                "1 client needing attention (a: every client)"
            await pilot.press("a")
            await settle(app, pilot)
            assert table.row_count == 2

    run(go())


def test_demo_has_a_course_to_follow(services: Services) -> None:
    """Ash's eight demo sessions: PHQ-9 given four times, flat within its band, feedback
    falling: scores to chart, a review to propose, a caseload flag."""
    from planwise.store.sessions import list_sessions
    from planwise.tui.demo import seed

    seed(services)
    sessions = list_sessions(services.conn(), 1)
    assert len(sessions) == 8
    assert [s["feedback"]["mean"] for s in sessions] == [8, 8, 7, 7, 6, 6, 5, 5]
    phq9 = services.scores(1)["phq9"]
    assert [m["total"] for m in phq9] == [16, 15, 15, 16, 16]
    assert {m["change"]["change_class"] for m in phq9[1:]} == {"no_reliable_change"}
    assert "not_on_track" in services.attention()[1]["flags"]
    assert services.review_view(1)["review"].changes


def test_sessions_over_the_limit_read_as_over() -> None:
    from planwise.tui.screens.caseload import row_cells
    from planwise.tui.services import CaseRow

    over = CaseRow(client_id=7, name="Client", risk=None, review_date=None, sessions_used=14,
                   session_limit=12)
    assert row_cells(over)[-1] == "14/12, 2 over"
    within = CaseRow(client_id=7, name="Client", risk=None, review_date=None, sessions_used=8,
                     session_limit=12)
    assert row_cells(within)[-1] == "8/12, 4 left"


def test_the_row_text_of_sessions_left_is_the_stores() -> None:
    from planwise.store.sessions import left_text as stores
    from planwise.tui.screens.caseload import left_text

    for left in (-3, -1, 0, 1, 12):
        assert left_text(left) == stores(left)


def test_names_are_shown_as_typed(services: Services,
                                  make_app: Callable[[], PlanwiseApp]) -> None:
    """A name is text, never markup: '[b]' stays in it, and '[/]' (markup's "close the
    last style", which has nothing to close) does not stop the caseload."""
    names = ["Ana [b]Bold[/b] (fictional)", "Bo [/] Stray (fictional)"]
    for name in names:
        add_client(services.conn(), name)

    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(app, pilot)
            assert isinstance(app.screen, CaseloadScreen)
            table = app.screen.query_one(DataTable)
            shown = [str(table.get_row_at(i)[1]) for i in range(table.row_count)]
            assert shown == names
            assert "[b]Bold[/b]" in "\n".join(
                "".join(s.text for s in table.render_line(y)) for y in range(table.size.height))

    run(go())


def test_the_footer_is_built_once_and_follows_the_keys(
        services: Services, make_app: Callable[[], PlanwiseApp]) -> None:
    """Issue 12: the caseload's footer builds its keys once for the first page (Textual's
    own rebuilt them at each change of bindings, three times before the first paint),
    and still shows the keys in force: the search box takes letters, so no `n` or `a`."""
    from textual.widgets import Footer
    from textual.widgets._footer import FooterKey

    add_client(services.conn(), "Robin Lee (fictional)")

    def shown(app: PlanwiseApp) -> list[tuple[str, str]]:
        footer = app.screen.query_one(Footer)
        return [(k.key_display, k.description) for k in footer.query(FooterKey)]

    def in_force(app: PlanwiseApp) -> list[tuple[str, str]]:
        bindings = app.screen.active_bindings
        keys = [(app.get_key_display(b), b.description) for _n, b, _e, _t in bindings.values()
                if b.show]
        return keys + [(app.get_key_display(bindings[app.COMMAND_PALETTE_BINDING][1]),
                        "palette")]

    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(app, pilot)
            footer = app.screen.query_one(Footer)
            first = list(footer.query(FooterKey))
            assert shown(app) == in_force(app)
            assert ("n", "New client") in shown(app)
            app.screen.refresh_bindings()  # the same keys: nothing rebuilt
            await pilot.pause()
            assert list(footer.query(FooterKey)) == first
            await pilot.press("slash")
            await pilot.pause()
            assert ("n", "New client") not in shown(app)
            assert shown(app) == in_force(app)
            await pilot.press("enter")  # back to the list
            await pilot.pause()
            assert ("n", "New client") in shown(app)

    run(go())


def test_first_page_before_the_warm_up_and_flags_after(services: Services) -> None:
    """Issue 12: the caseload's first rows come before the modules the workers use are
    imported; the attention flags wait for them, then come; another screen opened early
    finishes the warm-up first (no worker may import while the interface thread does)."""
    import asyncio

    from planwise.kb import load_knowledge
    from planwise.store.db import Store
    from planwise.tui.messages import AttentionLoaded, CaseloadLoaded

    for name in ("Alex Morgan", "Robin Lee"):
        add_client(services.conn(), name)
    seen: list[tuple[str, bool]] = []

    async def go(open_early: bool) -> None:
        fresh = Services(Store(services.db_path), load_knowledge(), None)
        assert not fresh.warmed

        def hook(message: object) -> None:
            if isinstance(message, CaseloadLoaded | AttentionLoaded):
                seen.append((type(message).__name__, fresh.warmed))

        app = PlanwiseApp(fresh, blink=False)
        async with app.run_test(size=(80, 24), message_hook=hook) as pilot:
            if open_early:
                await pilot.pause()
                app.push_screen(HelpScreen([], ""))
                assert fresh.warmed  # finished before the screen opened
                await pilot.press("escape")
            for _ in range(3):
                await app.workers.wait_for_complete()
                await pilot.pause()
            assert fresh.warmed
            assert app.screen.query_one(DataTable).row_count == 2
        fresh.close()

    asyncio.run(go(False))
    assert seen[0] == ("CaseloadLoaded", False)
    assert ("AttentionLoaded", True) in seen
    assert all(warm for kind, warm in seen if kind == "AttentionLoaded")
    seen.clear()
    asyncio.run(go(True))
    assert ("AttentionLoaded", True) in seen



def test_screens_are_drawn_up_to_120_times_a_second(tmp_path: Path) -> None:
    """A keystroke's new rows wait for the next frame: 120 a second, not Textual's 60
    (issue 12); TEXTUAL_FPS set by the user still decides."""
    import os
    import subprocess
    import sys

    code = ("import textual.screen, planwise.tui.app; "
            "print(round(1 / textual.screen.UPDATE_PERIOD))")
    env = {k: v for k, v in os.environ.items() if k != "TEXTUAL_FPS"}
    ours = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=60, cwd=tmp_path)
    theirs = subprocess.run([sys.executable, "-c", code], env={**env, "TEXTUAL_FPS": "30"},
                            capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert ours.stdout.split() == ["120"], ours.stderr
    assert theirs.stdout.split() == ["30"], theirs.stderr
