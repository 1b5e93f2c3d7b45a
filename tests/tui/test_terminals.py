"""Terminals (issue 11, item 5): usable at 60x20 (no dialog cut off, no control one letter
a line), NO_COLOR sends no colour codes at all, and notifications are short, out of the
way and never stale.

The screens are read from what the compositor would send: `screen_text` for the words,
`terminal_output` for the bytes with their escape codes (a 256-colour console, so any
colour the app keeps shows as a code)."""

from __future__ import annotations

import io
import os
import re
import select
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from textual.screen import ModalScreen
from textual.widgets import Select
from textual.widgets._toast import Toast, ToastRack

from planwise.config import Chosen, Origin
from planwise.store import plans
from planwise.store.clients import add_client, list_intakes
from planwise.store.measures import add_measure
from planwise.tui import toasts
from planwise.tui.app import PlanwiseApp
from planwise.tui.screens.help import HelpScreen
from planwise.tui.screens.scores import ScoresScreen
from planwise.tui.screens.why import WhyScreen
from planwise.tui.services import Services
from tests.tui.conftest import EXAMPLES, TODAY, run

PLANWISE = Path(sys.executable).with_name("planwise")
SGR = re.compile(r"\x1b\[([0-9;:]*)m")
COLOUR_PARAMS = {*range(30, 40), *range(40, 50), *range(90, 98), *range(100, 108)}


def screen_text(app: PlanwiseApp) -> list[str]:
    """The screen's rows as text (dialogs over their background screens)."""
    strips = app.screen._compositor.render_strips()  # noqa: SLF001 - the rows as sent
    return [strip.text for strip in strips]


def terminal_output(app: PlanwiseApp) -> str:
    """What the app would write for a full repaint, with its escape codes."""
    console = Console(color_system="256", force_terminal=True, file=io.StringIO(),
                      legacy_windows=False, width=app.size.width)
    update = app.screen._compositor.render_update(  # noqa: SLF001
        full=True, screen_stack=app._background_screens)  # noqa: SLF001
    assert update is not None
    return update.render_segments(console)  # type: ignore[union-attr]


def colour_codes(output: str) -> list[str]:
    """Every SGR sequence that sets a colour (foreground, background, default)."""
    found = []
    for match in SGR.finditer(output):
        params = [int(p) for p in re.split("[;:]", match.group(1)) if p.isdigit()]
        if any(p in COLOUR_PARAMS for p in params[:1]) or any(
                p in (38, 48) for p in params):
            found.append(match.group(0))
    return found


async def settle(pilot: Any) -> None:
    for _ in range(3):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


@pytest.fixture()
def course(services: Services) -> dict[str, int]:
    c = services.conn()
    client_id = add_client(c, "Alex Morgan (fictional)")
    plan_id = plans.draft(c, client_id, str(EXAMPLES / "depression-alcohol.toml"),
                          services.kb, None)
    intake_id = int(list_intakes(c, client_id)[0]["id"])
    add_measure(c, client_id, "phq9", [1, 1, 0, 1, 0, 1, 0, 0, 0], TODAY,
                services.kb.instruments)
    return {"client": client_id, "plan": plan_id, "intake": intake_id}


def screens(app: PlanwiseApp, ids: dict[str, int]) -> list[tuple[str, Callable[[], Any],
                                                             tuple[str, ...]]]:
    """Every main screen and dialog: (name, how to open it, keys pressed once it is open)."""
    client, plan, intake = ids["client"], ids["plan"], ids["intake"]
    return [
        ("caseload", lambda: None, ()),
        ("help", lambda: app.push_screen(HelpScreen(["proposal", "plan", "intake"])), ()),
        ("new client", lambda: None, ("n",)),
        ("client", lambda: app.open_client(client), ()),
        ("intake", lambda: app.new_intake(client), ()),
        ("intake context", lambda: app.new_intake(client), ("ctrl+n",) * 4),
        ("leave intake", lambda: app.new_intake(client), ("space", "escape")),
        ("proposal", lambda: app.open_intake_proposal(client, intake), ()),
        ("reject", lambda: app.open_intake_proposal(client, intake), ("down", "r")),
        ("why", lambda: app.open_intake_proposal(client, intake), ("down", "w")),
        ("plan", lambda: app.open_plan(plan), ()),
        ("objective editor", lambda: app.open_plan(plan), ("down",) * 4 + ("e",)),
        ("sign", lambda: app.open_plan(plan), ("ctrl+g",)),
        ("session", lambda: app.new_session(plan), ()),
        ("scores", lambda: app.push_screen(ScoresScreen(client)), ()),
        ("review", lambda: app.review_plan(plan), ()),
        ("export", lambda: app.export_plan(plan), ()),
    ]


async def visit(app: PlanwiseApp, pilot: Any, ids: dict[str, int],
                check: Callable[[str], None]) -> list[str]:
    """Open each screen in turn, run `check(name)` on it, go back to the caseload."""
    seen = []
    await settle(pilot)
    for name, open_, keys in screens(app, ids):
        open_()
        await settle(pilot)
        for key in keys:
            await pilot.press(key)
            await settle(pilot)
        check(name)
        seen.append(name)
        while len(app.screen_stack) > 2:
            app.pop_screen()
            await settle(pilot)
        if len(app.screen_stack) == 2 and isinstance(app.screen, ModalScreen):
            app.pop_screen()
            await settle(pilot)
    return seen


# -- NO_COLOR --------------------------------------------------------------------------

def test_no_color_sends_no_colour_codes_on_any_screen(monkeypatch: pytest.MonkeyPatch,
                                                      make_app: Callable[[], PlanwiseApp],
                                                      course: dict[str, int]) -> None:
    """Textual alone turned colours grey under NO_COLOR and still sent 256-colour codes."""
    monkeypatch.setenv("NO_COLOR", "1")

    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            def check(name: str) -> None:
                output = terminal_output(app)
                assert "\x1b[" in output  # the console does send codes (bold, reverse)
                found = colour_codes(output)
                assert not found, f"{name}: colour codes {sorted(set(found))[:5]}"

            seen = await visit(app, pilot, course, check)
            assert len(seen) == len(screens(app, course))

    run(go())


def test_no_color_marks_the_cursor_by_reverse_video(monkeypatch: pytest.MonkeyPatch,
                                                    make_app: Callable[[], PlanwiseApp],
                                                    course: dict[str, int]) -> None:
    """Without colour the highlighted row of a list must still show: in reverse video."""
    monkeypatch.setenv("NO_COLOR", "1")

    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            app.open_plan(course["plan"])
            await settle(pilot)
            reverse = [m for m in SGR.finditer(terminal_output(app))
                       if "7" in m.group(1).split(";")]
            assert reverse, "no reverse video on the plan editor's tree"

    run(go())


def test_the_colour_check_sees_colours_when_there_are_some(
        make_app: Callable[[], PlanwiseApp], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)

    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            assert colour_codes(terminal_output(app))

    run(go())


def _read_until(fd: int, needle: bytes, seen: bytearray, timeout: float) -> None:
    end = time.monotonic() + timeout
    while needle not in seen:
        left = end - time.monotonic()
        if left <= 0:
            raise AssertionError(f"{needle!r} never appeared: {bytes(seen[-400:])!r}")
        ready, _, _ = select.select([fd], [], [], min(left, 0.2))
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                raise AssertionError(f"the program ended before {needle!r}") from None
            seen.extend(chunk)


def _demo_bytes(tmp_path: Path, no_color: bool) -> bytes:
    """`planwise demo` in a pseudo-terminal at 80x24: the caseload, one client's page,
    quit; every byte it wrote."""
    import fcntl
    import struct
    import termios

    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "PLANWISE_THEME")}
    env.update({"TERM": "xterm-256color", "COLORTERM": "truecolor",
                "PLANWISE_CONFIG_DIR": str(tmp_path / "config"), "PLANWISE_TODAY": TODAY,
                "PLANWISE_CACHE_DIR": str(tmp_path / "cache"), "TMPDIR": str(tmp_path)})
    env.pop("PLANWISE_PROFILE", None)
    if no_color:
        env["NO_COLOR"] = "1"
    proc = subprocess.Popen([str(PLANWISE), "demo"], stdin=slave, stdout=slave, stderr=slave,
                            env=env, start_new_session=True, close_fds=True)
    os.close(slave)
    seen = bytearray()
    try:
        _read_until(master, b"Caseload", seen, 60)
        _read_until(master, b"needs attention", seen, 30)
        os.write(master, b"\r")  # open the first client
        _read_until(master, b"Trauma", seen, 30)
        os.write(master, b"\x11")  # Ctrl+Q
        end = time.monotonic() + 30
        while proc.poll() is None and time.monotonic() < end:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    seen.extend(os.read(master, 65536))
                except OSError:
                    break
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    return bytes(seen)


def test_no_color_in_a_real_terminal(tmp_path: Path) -> None:
    """Every byte `planwise demo` sends to a real (pseudo) terminal: colour codes without
    NO_COLOR (so the check can see them), none at all with it."""
    coloured = _demo_bytes(tmp_path, no_color=False).decode("utf-8", "replace")
    assert len(colour_codes(coloured)) > 100
    plain = _demo_bytes(tmp_path, no_color=True).decode("utf-8", "replace")
    found = colour_codes(plain)
    assert not found, f"{len(found)} colour codes, e.g. {sorted(set(found))[:5]}"


# -- 60x20 ------------------------------------------------------------------------------

def test_every_screen_fits_60x20(make_app: Callable[[], PlanwiseApp],
                                 course: dict[str, int]) -> None:
    """No dialog wider or taller than the terminal (its border and keys line visible, or
    scrolling inside), no select narrower than its prompt or taller than one field."""

    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(60, 20)) as pilot:
            def check(name: str) -> None:
                screen = app.screen
                if isinstance(screen, ModalScreen):
                    boxes = [w for w in screen.children
                             if w.display and not isinstance(w, ToastRack)]
                    assert boxes, name
                    for box in boxes:
                        r = box.region
                        assert r.x >= 0 and r.y >= 0 and r.right <= 60 and r.bottom <= 20, \
                            f"{name}: the dialog {r} is cut off at 60x20"
                        if box.virtual_size.height > box.size.height:
                            assert box.styles.overflow_y in ("auto", "scroll"), \
                                f"{name}: the dialog's content is cut, not scrolled"
                for select_ in screen.query(Select):
                    if select_.region.area:
                        assert select_.region.width >= 16 and select_.region.height <= 3, \
                            f"{name}: #{select_.id} is {select_.region}"

            await visit(app, pilot, course, check)

    run(go())


def test_the_housing_select_is_one_line_at_60x20(make_app: Callable[[], PlanwiseApp],
                                                 course: dict[str, int]) -> None:
    """Before, 'Housing' printed one letter a line at 60 columns."""

    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(60, 20)) as pilot:
            await settle(pilot)
            app.new_intake(course["client"])
            await settle(pilot)
            for _ in range(4):
                await pilot.press("ctrl+n")
                await settle(pilot)
            housing = app.screen.query_one("#housing", Select)
            housing.scroll_visible(animate=False)
            await settle(pilot)
            assert housing.region.height == 3 and housing.region.width >= 16
            rows = screen_text(app)
            assert any("Housing" in row for row in rows), rows
            # The current step is named in full, not cut at the edge.
            assert "History & context]" in " ".join(rows)

    run(go())


@pytest.mark.parametrize("size", [(80, 24), (60, 20)])
def test_the_why_text_wraps_to_the_terminal(size: tuple[int, int],
                                            make_app: Callable[[], PlanwiseApp],
                                            course: dict[str, int]) -> None:
    """Wrapped once, to the width, with its hanging indents (it was wrapped at 76 and then
    again by the terminal at 60: every long line broke in two)."""
    from rich.text import Text

    async def go() -> None:
        app = make_app()
        async with app.run_test(size=size) as pilot:
            await settle(pilot)
            app.open_intake_proposal(course["client"], course["intake"])
            await settle(pilot)
            await pilot.press("down", "w")
            await settle(pilot)
            assert isinstance(app.screen, WhyScreen)
            lines = Text.from_markup(app.screen.text).plain.splitlines()
            assert max(len(line) for line in lines) <= size[0] - 4
            continued = [line for line in lines if line.startswith("    ")]
            assert continued, "no hanging indent"

    run(go())


# -- notifications ---------------------------------------------------------------------

def test_toasts_are_short(make_app: Callable[[], PlanwiseApp]) -> None:
    """Screens asked for 8 to 12 seconds; none stays longer than 4 (the tamper warning
    aside)."""

    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            for severity in ("information", "warning", "error"):
                app.notify("Recovered unsaved plan edits from 2026-11-29 10:00.",
                           severity=severity, timeout=12)  # type: ignore[arg-type]
                await pilot.pause()
                (n,) = list(app._notifications)  # noqa: SLF001
                assert toasts.MIN_SECONDS <= n.timeout <= toasts.MAX_SECONDS
            app.notify("Saved.")
            await pilot.pause()
            assert [n.timeout for n in app._notifications] == [2.0]  # noqa: SLF001

    run(go())


def test_a_new_toast_replaces_a_stale_error(make_app: Callable[[], PlanwiseApp]) -> None:
    """An empty name is refused (a warning); the name given, the client is added: the
    warning goes at once, not 8 seconds later beside 'Client C1 added.'"""

    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24), notifications=True) as pilot:
            await settle(pilot)
            await pilot.press("n")
            await settle(pilot)
            await pilot.press("enter")
            await settle(pilot)
            assert [n.message for n in app._notifications] == [  # noqa: SLF001
                "This cannot be empty."]
            await pilot.press(*"Sam", "enter")
            await settle(pilot)
            assert [n.message for n in app._notifications] == [  # noqa: SLF001
                "Client C1 added."]
            assert len(app.screen.query(Toast)) == 1

    run(go())


def test_toasts_leave_the_hint_lines_alone(make_app: Callable[[], PlanwiseApp],
                                           course: dict[str, int]) -> None:
    """The bottom of the screen (the line under the list, the count, the footer) reads the
    same with a toast up; the toast sits at the top right."""

    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24), notifications=True) as pilot:
            await settle(pilot)
            before = screen_text(app)
            app.notify("Not saved: the name is longer than 200 characters, which is more "
                       "than a name needs.", title="Not saved", severity="error")
            await settle(pilot)
            (toast,) = app.screen.query(Toast)
            assert toast.region.y == 0 and toast.region.right == 80
            assert toast.region.bottom <= 6
            after = screen_text(app)
            assert after[-8:] == before[-8:]
            assert "1 client" in " ".join(after[-3:])

    run(go())


def test_the_tamper_warning_stays_beside_later_toasts(
        make_app: Callable[[], PlanwiseApp]) -> None:
    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            app._records_broken(["sessions #3: content changed"])  # noqa: SLF001
            await pilot.pause()
            app.notify("Client C1 added.")
            await pilot.pause()
            kept = sorted(n.timeout for n in app._notifications)  # noqa: SLF001
            assert kept[-1] == toasts.STAY_SECONDS and len(kept) == 2

    run(go())


# -- the theme from the settings --------------------------------------------------------

def test_the_theme_from_the_settings(services: Services, tmp_path: Path) -> None:
    from planwise.errors import InputError

    app = PlanwiseApp(services, theme=Chosen("ansi", Origin(field="--theme")))
    assert app.theme == "ansi-dark"
    with pytest.raises(InputError) as exc:
        PlanwiseApp(services, theme=Chosen("neon", Origin(str(tmp_path / "config.toml"),
                                                         "theme", 3)))
    assert str(exc.value).startswith(f"{tmp_path / 'config.toml'}:3: theme: 'neon' is not")
