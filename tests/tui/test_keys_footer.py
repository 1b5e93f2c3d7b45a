"""Every screen's footer at 80x24: the keys it shows are whole (none cut by the edge or the
palette key), F1 is on every one, and the keys each screen needs most are there (issue 11:
the footer cut off Review, Why, Esc Back and F1 on the client page, the plan editor, the
proposal and the intake). What the footer leaves out is in F1 and the command palette."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

from planwise.tui import demo, keymap
from planwise.tui.app import PlanwiseApp
from planwise.tui.services import Services
from tests.tui.conftest import run, settle
from tests.tui.test_tmux import PLANWISE, TMUX, Tmux, app_env, needs_tmux


def footer_keys(app: PlanwiseApp) -> tuple[list[str], list[str]]:
    """(the footer's keys shown whole, those cut) as 'key description'."""
    footer = app.screen.query_one(Footer)
    keys = [k for k in footer.query(FooterKey) if "-command-palette" not in k.classes]
    palette = [k for k in footer.query(FooterKey) if "-command-palette" in k.classes]
    right = min([p.region.x for p in palette] + [footer.region.right])
    whole, cut = [], []
    for k in keys:
        text = f"{k.key_display} {k.description}"
        (whole if k.region.width and k.region.right <= right else cut).append(text)
    return whole, cut


@pytest.fixture()
def demo_services(services: Services) -> Services:
    demo.seed(services)
    return services


def ash(services: Services) -> tuple[int, int, int]:
    """Ash's client id, plan id and intake id (the demo's client with a course)."""
    c = services.conn()
    row = c.one("SELECT p.id, p.client_id, p.intake_id FROM plans p JOIN clients c ON "
                "c.id = p.client_id WHERE c.name LIKE 'Ash%'")
    assert row is not None
    return row["client_id"], row["id"], row["intake_id"]


Opener = Callable[[PlanwiseApp, Any, tuple[int, int, int]], Awaitable[None]]


async def _caseload(app: PlanwiseApp, pilot: Any, ids: tuple[int, int, int]) -> None:
    return None


async def _client(app: PlanwiseApp, pilot: Any, ids: tuple[int, int, int]) -> None:
    app.open_client(ids[0])


async def _plan(app: PlanwiseApp, pilot: Any, ids: tuple[int, int, int]) -> None:
    app.open_plan(ids[1])


async def _proposal(app: PlanwiseApp, pilot: Any, ids: tuple[int, int, int]) -> None:
    app.open_intake_proposal(ids[0], ids[2])


async def _intake(app: PlanwiseApp, pilot: Any, ids: tuple[int, int, int]) -> None:
    app.new_intake(ids[0])


async def _intake_form(app: PlanwiseApp, pilot: Any, ids: tuple[int, int, int]) -> None:
    app.new_intake(ids[0])
    await settle(app, pilot)
    await pilot.press("space", "ctrl+n", "ctrl+n")   # a concern, its instruments, a form


async def _session(app: PlanwiseApp, pilot: Any, ids: tuple[int, int, int]) -> None:
    app.new_session(ids[1])


async def _review(app: PlanwiseApp, pilot: Any, ids: tuple[int, int, int]) -> None:
    app.review_plan(ids[1])


SCREENS: dict[str, tuple[Opener, tuple[str, ...]]] = {
    "caseload": (_caseload, ("n New client", "/ Search", "a Needs attention", "^q Quit")),
    "client": (_client, ("esc Back", "i Intake", "p Plan", "s Session", "r Review",
                         "a Attention")),
    "plan": (_plan, ("esc Back", "e Edit", "t Status", "w Why", "r Review", "^g Sign",
                     "x Export")),
    "proposal": (_proposal, ("a Accept", "r Reject", "e Edit", "w Why", "c What-if",
                             "^s Save", "esc Back")),
    "intake": (_intake, ("esc Back", "^n Next", "^b Prev", "^r Proposal")),
    "intake_form": (_intake_form, ("esc Back", "^r Proposal", "tab Next form")),
    "session": (_session, ("esc Back", "^s Save", "^t Measure", "space Tick")),
    "review": (_review, ("esc Back", "w Why", "^s Accept", "n No changes")),
}


@pytest.mark.parametrize("name", list(SCREENS))
def test_footer_keys_are_whole_at_80_columns(make_app: Callable[[], PlanwiseApp],
                                             demo_services: Services, name: str) -> None:
    opener, needed = SCREENS[name]

    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(app, pilot)
            await opener(app, pilot, ash(demo_services))
            await settle(app, pilot)
            whole, cut = footer_keys(app)
            assert not cut, f"{name}: cut at 80 columns: {cut}; shown: {whole}"
            assert "f1 Help" in whole, whole
            for key in needed:
                assert key in whole, f"{name}: {key!r} not in the footer {whole}"

    run(go())


def test_every_key_left_out_of_a_footer_is_in_f1_and_the_palette(
        make_app: Callable[[], PlanwiseApp], demo_services: Services) -> None:
    """A key not in the footer (e.g. the client page's g Scores, the plan editor's
    - Reject) is listed by F1 and offered by the command palette."""
    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(app, pilot)
            app.open_plan(ash(demo_services)[1])
            await settle(app, pilot)
            whole, _cut = footer_keys(app)
            hidden = [k for k in keymap.KEYMAP["plan"] if not k.show]
            assert {k.id for k in hidden} >= {"plan.reject", "plan.add", "plan.history"}
            assert not any(k.description in " ".join(whole) for k in hidden
                           if len(k.description) > 8)
            commands = [c.title for c in app.get_system_commands(app.screen)]
            for k in hidden:
                assert k.description in commands, k.id
            await pilot.press("f1")
            await pilot.pause()
            help_text = str(app.screen.query_one("#help-text").render())
            for k in hidden:
                assert k.description in help_text, k.id
            assert "Ctrl+Q" in help_text and "Quit" in help_text

    run(go())


@pytest.fixture()
def tmux() -> Iterator[Tmux]:
    if TMUX is None:
        pytest.skip("tmux is not installed")
    t = Tmux()
    try:
        yield t
    finally:
        t.kill_server()


@needs_tmux
def test_footer_keys_in_a_real_terminal_at_80x24(tmux: Tmux, tmp_path: Path) -> None:
    """The demo in tmux at 80x24: the footer (the last line) of the caseload, the client
    page, the plan editor, the proposal review and the intake carries their keys whole."""
    tmux.start(f"{PLANWISE} demo", app_env(tmp_path))

    def footer(*keys: str) -> str:
        screen = tmux.wait_for(*keys)
        last = screen.rstrip("\n").splitlines()[-1]
        for key in keys:
            assert key in last, f"{key!r} not whole in the footer: {last!r}"
        assert len(last) <= 80
        return last

    tmux.wait_for("Ash Demo (fictional)", "New client")
    footer("a Needs attention", "^q Quit", "f1 Help")
    time.sleep(1.0)  # see test_tmux.py: keys in the first instant of the first frame
    tmux.keys("Enter")
    tmux.wait_for("Trauma and significant events", "Plan P")
    footer("esc Back", "i Intake", "s Session", "r Review", "a Attention", "f1 Help")
    tmux.keys("p")
    tmux.wait_for("S M A R T")
    footer("esc Back", "e Edit", "t Status", "w Why", "r Review", "^g Sign", "f1 Help")
    tmux.keys("Escape")
    tmux.wait_for("Records (Enter to open)")
    tmux.keys("Down", "Enter")                          # the intake: its proposal review
    tmux.wait_for("SUICIDE RISK")
    footer("a Accept", "r Reject", "w Why", "c What-if", "esc Back", "f1 Help")
    tmux.keys("Escape")
    tmux.wait_for("Records (Enter to open)")
    tmux.keys("i")
    tmux.wait_for("Screening")
    footer("esc Back", "^n Next", "^r Proposal", "f1 Help")
    tmux.keys("C-q")
