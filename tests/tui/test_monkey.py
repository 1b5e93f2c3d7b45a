"""Monkey test (issue 11): random keys on every screen, as a hurried typist over SSH would
send them, must never crash the interface or lose a draft.

Each screen of the interface is opened on the demo's caseload (Ash has an intake, a plan
with eight sessions and scores), then gets rounds of random keys: letters, digits,
arrows, Tab, Enter, Space, Esc, Backspace, function keys and the screens' Ctrl keys
(not Ctrl+Q or Ctrl+P: quitting or the palette would end the round), one at a time or
in bursts of up to 30 sent with no pause between them, the next burst sometimes
straight behind, sometimes after a pause, sometimes once every worker has finished.
Where the keys
lead (a dialog, another screen) is part of the test; each round starts again on the
screen it is about. After every round:

- no error reached the app (no crash screen, nothing for Pilot to raise);
- the app is still running (nothing here quits it);
- no draft was lost: every draft stored before the round is still there (the same or
  newer) unless a save or an explicit discard removed it (through the services' three
  delete calls), and the work of every open screen is what its draft holds.

Seeded and reproducible: PLANWISE_MONKEY_SEED (default below) picks every key; a failure
names the seed, the screen, the round and its keys (timing can differ from run to run:
a race may need the same seed more than once). PLANWISE_MONKEY_KEYS sets the keys per
screen: 200 by default, 3,600 keys in all, the file in about 55 s on two cores (each key
is delivered and handled before the next, the interface's own type-ahead); 2000 for a
long run (about ten minutes).
"""

from __future__ import annotations

import os
import random
import shutil
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual import events
from textual.worker import WorkerCancelled, WorkerFailed

from planwise.kb import load_knowledge
from planwise.kb.loader import KnowledgeBase
from planwise.store.db import Store
from planwise.store.drafts import load_draft
from planwise.tui.app import PlanwiseApp
from planwise.tui.crash_drafts import open_drafts
from planwise.tui.demo import seed
from planwise.tui.services import Services

SEED = int(os.environ.get("PLANWISE_MONKEY_SEED", "20261129"))
KEYS_PER_SCREEN = int(os.environ.get("PLANWISE_MONKEY_KEYS", "200"))
ROUND = 100  # keys per round: each round starts again on its screen
CHUNKS = (1, 1, 1, 2, 3, 5, 8, 13, 21, 30)  # keys sent together; 1: one at a time

CLIENT, PLAN, INTAKE = 1, 1, 1  # the demo's Ash: I1, P1 with eight sessions

# (key, weight): keys that stay on a screen and work it are common, keys that leave it
# (Esc) or cover it (F1) rare, so that the keys explore the screen rather than the help.
KEYS: list[tuple[str, float]] = (
    [(c, 1.0) for c in "abcdefghijklmnopqrstuvwxyz"]
    + [(c, 1.0) for c in "0123456789"]
    + [(k, 1.0) for k in ("A", "Z", "plus", "minus", "slash", "full_stop", "semicolon")]
    + [(k, 5.0) for k in ("up", "down", "tab", "space", "enter")]
    + [(k, 2.0) for k in ("left", "right", "shift+tab", "backspace", "home", "end",
                          "pageup", "pagedown", "delete")]
    + [("escape", 1.5), ("f1", 0.4)]
    + [(f"f{n}", 0.3) for n in range(2, 13)]
    + [(k, 0.8) for k in ("ctrl+n", "ctrl+b", "ctrl+r", "ctrl+s", "ctrl+g", "ctrl+e",
                          "ctrl+t", "ctrl+o", "ctrl+f", "ctrl+d")]
)
_NAMES, _WEIGHTS = zip(*KEYS, strict=True)
_CHARS = {"space": " ", "plus": "+", "minus": "-", "slash": "/", "full_stop": ".",
          "semicolon": ";"}


def random_keys(rng: random.Random, n: int) -> list[str]:
    return rng.choices(_NAMES, weights=_WEIGHTS, k=n)


def send_burst(app: PlanwiseApp, keys: list[str]) -> None:
    """Keys as they arrive over SSH: all at once, nothing handled in between."""
    assert app._driver is not None
    for key in keys:
        char = _CHARS.get(key, key if len(key) == 1 else None)
        event = events.Key(key, char)
        event.set_sender(app)
        app._driver.send_message(event)


async def handled(app: PlanwiseApp, pilot: Any) -> None:
    """Every message sent so far handled and the screen drawn. Pilot's own pause also
    waits for the process to idle in 20 ms steps: most of this test's time, and nothing
    here needs it."""
    await pilot._wait_for_screen()
    # (drawing happens on its own timer meanwhile: an error while drawing counts too)


async def settle(app: PlanwiseApp, pilot: Any) -> None:
    """Handled, and every worker (and what it called back, which may start another)
    finished."""
    for _ in range(20):
        await app.keys_settled()    # every key delivered (type_ahead.py holds some)
        await handled(app, pilot)
        running = [w for w in app.workers if not w.is_finished]
        if not running and not app.typing_ahead:
            return
        for worker in running:
            try:
                await worker.wait()
            except (WorkerCancelled, WorkerFailed):
                pass  # cancelled: superseded; failed: the app reports it (checked after)


# -- the screens --------------------------------------------------------------------------
async def _intake_at(app: PlanwiseApp, pilot: Any, step: int) -> None:
    app.new_intake(CLIENT)
    await settle(app, pilot)
    screen: Any = app.screen
    if getattr(screen, "ready", False):
        screen.go(step)


def _intake_step(step: int) -> Opener:
    async def opener(app: PlanwiseApp, pilot: Any) -> None:
        await _intake_at(app, pilot, step)

    return opener


async def _proposal(app: PlanwiseApp, pilot: Any) -> None:
    app.open_intake_proposal(CLIENT, INTAKE)
    await settle(app, pilot)


async def _why(app: PlanwiseApp, pilot: Any) -> None:
    await _proposal(app, pilot)
    await pilot.press("down", "w")


async def _plan_dialog(app: PlanwiseApp, pilot: Any, key: str) -> None:
    app.open_plan(PLAN)
    await settle(app, pilot)
    await pilot.press("down", "down", "down", key)


async def _scores(app: PlanwiseApp, pilot: Any) -> None:
    from planwise.tui.screens.scores import ScoresScreen

    app.push_screen(ScoresScreen(CLIENT))


async def _help(app: PlanwiseApp, pilot: Any) -> None:
    app.open_plan(PLAN)
    await settle(app, pilot)
    app.action_help()


Opener = Callable[[PlanwiseApp, Any], Awaitable[None]]


def _search_screen(text: str, client_id: int | None = None) -> Any:
    """Full-text search (Ctrl+F on the caseload, on a client's page: that client's)."""
    from planwise.tui.screens.search import SearchScreen

    return SearchScreen(text) if client_id is None else SearchScreen(client_id=client_id)


async def _nothing(app: PlanwiseApp, pilot: Any) -> None:
    """The caseload: the screen every round starts from anyway."""


def _call(open_it: Callable[[PlanwiseApp], None]) -> Opener:
    async def opener(app: PlanwiseApp, pilot: Any) -> None:
        open_it(app)

    return opener


SCREENS: dict[str, Opener] = {
    "caseload": _nothing,
    "client": _call(lambda app: app.open_client(CLIENT)),
    **{f"intake-step-{n + 1}": _intake_step(n) for n in range(5)},
    "proposal": _proposal,
    "why": _why,
    "plan-editor": _call(lambda app: app.open_plan(PLAN)),
    "plan-edit-dialog": lambda app, pilot: _plan_dialog(app, pilot, "e"),
    "plan-sign-dialog": lambda app, pilot: _plan_dialog(app, pilot, "ctrl+g"),
    "plan-history": lambda app, pilot: _plan_dialog(app, pilot, "h"),
    "session-note": _call(lambda app: app.new_session(PLAN)),
    "review": _call(lambda app: app.review_plan(PLAN)),
    "scores": _scores,
    "client-information": _call(lambda app: app.edit_client_info(CLIENT)),
    "help": _help,
    "search-notes": _call(lambda app: app.push_screen(_search_screen("panic"))),
    "search-client": _call(lambda app: app.push_screen(_search_screen("", CLIENT))),
}


# -- the database: the demo's, seeded once, copied for each screen -------------------------
@pytest.fixture(scope="module")
def knowledge() -> KnowledgeBase:
    return load_knowledge()


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory, knowledge: KnowledgeBase) -> Path:
    path = tmp_path_factory.mktemp("monkey") / "demo.db"
    # Seeded as the tests will run; set only while seeding, so that it does not leak into
    # the tests that run after this module in the same process (xdist workers).
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PLANWISE_TODAY", "2026-11-29")
        services = Services(Store(path), knowledge, None)
        try:
            seed(services)
        finally:
            services.close()
    return path


@pytest.fixture()
def monkey_services(demo_db: Path, tmp_path: Path, knowledge: KnowledgeBase,
                    monkeypatch: pytest.MonkeyPatch) -> Iterator[Services]:
    # Exports go to ~/planwise-... or a typed name (relative to the current folder): a
    # home and a folder of the test's own. Crash logs too.
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PLANWISE_LOG_DIR", str(tmp_path / "logs"))
    (tmp_path / "home").mkdir()
    db = tmp_path / "planwise.db"
    shutil.copy(demo_db, db)
    services = Services(Store(db), knowledge, None)
    yield services
    services.close()


class Deletions:
    """The drafts removed on purpose (a save, an explicit discard, a stored intake's
    draft): each through one of the services' three delete calls, recorded here."""

    def __init__(self, services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
        self.done: list[tuple[str, str]] = []
        for name, kind in (("delete_intake_draft", "intake"),
                           ("delete_proposal_draft", "proposal")):
            original = getattr(services, name)
            monkeypatch.setattr(services, name, self._wrap(original, kind))
        drop = services.drop_draft

        def drop_draft(kind: str, key: str) -> None:
            self.done.append((kind, key))
            drop(kind, key)

        monkeypatch.setattr(services, "drop_draft", drop_draft)

    def _wrap(self, original: Callable[[int], None], kind: str) -> Callable[[int], None]:
        def deleting(client_id: int) -> None:
            self.done.append((kind, f"C{client_id}"))
            original(client_id)

        return deleting


def stored_drafts(services: Services) -> dict[tuple[str, str], str]:
    rows = services.conn().query("SELECT kind, key, updated_at FROM drafts")
    return {(r["kind"], r["key"]): r["updated_at"] for r in rows}


def lost_drafts(services: Services, before: dict[tuple[str, str], str],
                deletions: Deletions) -> list[str]:
    """Drafts stored before the round that are gone (or older) without a save or a
    discard, and open screens whose work is not what their draft holds."""
    after = stored_drafts(services)
    problems = []
    for key, when in before.items():
        if key in deletions.done:
            continue
        if key not in after:
            problems.append(f"the {key[0]} draft {key[1]} disappeared")
        elif after[key] < when:
            problems.append(f"the {key[0]} draft {key[1]} went back to an older one")
    return problems


def unsaved_work(app: PlanwiseApp, services: Services) -> list[str]:
    """Open screens whose current work differs from the draft their autosave wrote."""
    drafts, unreadable = open_drafts(list(app.screen_stack))
    problems = [f"{d.what}: the open work could not be read ({d.why})" for d in unreadable]
    for d in drafts:
        stored = load_draft(services.conn(), d.kind, d.key)
        if stored is not None:
            stored.pop("_updated_at", None)
        if stored != d.payload:
            problems.append(f"{d.what}: the screen holds work its draft does not "
                            f"({_difference(stored, d.payload)})")
    return problems


def _difference(stored: dict[str, Any] | None, shown: dict[str, Any]) -> str:
    if stored is None:
        return "no draft stored"
    return "; ".join(f"{path}: stored {a!r}, on screen {b!r}"
                     for path, a, b in _paths(stored, shown, ""))


_MISSING = "(missing)"


def _paths(a: Any, b: Any, at: str) -> Iterator[tuple[str, Any, Any]]:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b), key=str):
            if a.get(k, _MISSING) != b.get(k, _MISSING):
                yield from _paths(a.get(k, _MISSING), b.get(k, _MISSING), f"{at}.{k}")
    elif a != b:
        yield at, a, b


# -- the test -----------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(SCREENS))
def test_random_keys_never_crash_or_lose_a_draft(name: str, monkey_services: Services,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    services = monkey_services
    deletions = Deletions(services, monkeypatch)
    rng = random.Random(f"{SEED}-{name}")
    where: dict[str, Any] = {"round": 0, "keys": []}
    counts = {"keys": 0, "bursts": 0}

    def failure(what: str) -> str:
        stack = " < ".join(type(s).__name__ for s in reversed(where["app"].screen_stack)) \
            if where.get("app") and where["app"].is_running else "(closed)"
        return (f"{what}\nscreens, top first: {stack}\n"
                f"screen {name}, seed {SEED}, round {where['round']}; the round's "
                f"keys: {' '.join(where['keys'])}\nagain: PLANWISE_MONKEY_SEED={SEED} "
                f"pytest tests/tui/test_monkey.py -k '{name}'")

    async def go() -> None:
        app = PlanwiseApp(services, blink=False)
        where["app"] = app
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(app, pilot)
            for n in range(max(1, KEYS_PER_SCREEN // ROUND)):
                where["round"], where["keys"] = n, []
                while len(app.screen_stack) > 2:     # back to the caseload
                    app.pop_screen()
                await settle(app, pilot)
                await SCREENS[name](app, pilot)
                await settle(app, pilot)
                before = stored_drafts(services)
                deletions.done.clear()
                sent = 0
                while sent < ROUND:
                    keys = random_keys(rng, min(ROUND - sent, rng.choice(CHUNKS)))
                    send_burst(app, keys)
                    sent += len(keys)
                    counts["bursts"] += len(keys) > 1
                    wait = rng.random()
                    if wait < 0.15:      # the typist stops: everything finishes
                        where["keys"].extend(keys + ["||"])
                        await settle(app, pilot)
                    elif wait < 0.55:    # a short pause: the keys are handled
                        where["keys"].extend(keys + ["|"])
                        await handled(app, pilot)
                    else:                # straight on: the next keys come in behind
                        where["keys"].extend(keys)
                    assert app.crash is None and app._exception is None, failure(
                        f"crashed: {app.crash.summary if app.crash else app._exception!r}")
                    assert app.is_running, failure("the app stopped")
                await settle(app, pilot)
                counts["keys"] += sent
                problems = lost_drafts(services, before, deletions) + unsaved_work(app,
                                                                                   services)
                assert not problems, failure("; ".join(problems))
            await settle(app, pilot)  # no key still held when the app closes

    started = time.monotonic()
    try:
        asyncio_run(go())
    except AssertionError:
        raise
    except Exception as exc:  # what Pilot raises at the end: the app's first error
        logs = sorted((Path(os.environ["PLANWISE_LOG_DIR"])).glob("crash-*.log"))
        log = logs[0].read_text() if logs else "(no crash log)"
        raise AssertionError(failure(f"{type(exc).__name__}: {exc}\n{log}")) from exc
    logs = sorted((Path(os.environ["PLANWISE_LOG_DIR"])).glob("crash-*.log"))
    assert not logs, logs[0].read_text()
    print(f"{name}: {counts['keys']} keys ({counts['bursts']} bursts) in "
          f"{time.monotonic() - started:.1f} s")


def asyncio_run(coro: Awaitable[None]) -> None:
    from tests.tui.conftest import run

    run(coro)  # type: ignore[arg-type]


# -- what the monkey found, each kept as a test of its own -----------------------------------
def test_a_result_for_a_closed_screen_is_dropped(monkey_services: Services) -> None:
    """The client page's attention line arrived after Esc had closed the page:
    NoMatches '#client-attention' stopped the interface. A worker's result for a
    screen that has closed is now dropped (PlanwiseApp.call_from_thread)."""
    import threading

    from planwise.tui.screens.client import ClientScreen

    services = monkey_services
    outcome: dict[str, Any] = {}

    async def go() -> None:
        app = PlanwiseApp(services, blink=False)
        async with app.run_test(size=(80, 24)) as pilot:
            await handled(app, pilot)
            app.open_client(CLIENT)
            await settle(app, pilot)
            screen = app.screen
            assert isinstance(screen, ClientScreen)
            rows = services.attention()
            await pilot.press("escape")
            await settle(app, pilot)
            assert not isinstance(app.screen, ClientScreen)

            def late_result() -> None:   # what the attention worker does, too late
                try:
                    outcome["result"] = app.call_from_thread(screen.show_attention, rows)
                except Exception as exc:
                    outcome["error"] = exc

            thread = threading.Thread(target=late_result)
            thread.start()
            while thread.is_alive():
                await pilot.pause(0.01)
            assert app.crash is None and app.is_running

    asyncio_run(go())
    assert "error" not in outcome, outcome
    assert outcome["result"] is None


def test_page_up_on_a_list_not_laid_out_yet() -> None:
    """Page Up on the history's list of versions, filled a moment before it was laid
    out: KeyError: 0 inside Textual's OptionList (textual_fixes.py)."""
    from textual.app import App, ComposeResult
    from textual.widgets import OptionList

    import planwise.tui.app  # noqa: F401 - applies the fixes, as the interface does

    class ListApp(App[None]):
        def compose(self) -> ComposeResult:
            options = OptionList("v1", "v2", "v3", id="hidden")
            options.display = False   # not laid out: no lines yet
            yield options

    async def go() -> None:
        app = ListApp()
        async with app.run_test(size=(40, 10)) as pilot:
            options = app.query_one("#hidden", OptionList)
            options.highlighted = 1
            options.action_page_up()
            options.action_page_down()
            await pilot.pause()
            assert options.highlighted == 1

    asyncio_run(go())


def test_late_work_on_a_removed_widget_is_not_a_crash(monkey_services: Services) -> None:
    """A title watcher of a screen being closed found its header's title gone
    (NoMatches 'HeaderTitle' in Textual's Header): nothing is left to show it on, so
    it is not a fault. Any other error on a closed screen still is."""
    from textual.css.query import NoMatches
    from textual.widgets import Static

    from planwise.tui.crash import on_a_closed_widget

    class Late(Static):
        def look(self) -> None:
            self.query_one("#gone")

    async def go() -> None:
        app = PlanwiseApp(monkey_services, blink=False)
        async with app.run_test(size=(80, 24)) as pilot:
            await handled(app, pilot)
            late = Late("late")
            await app.screen.mount(late)
            with pytest.raises(NoMatches) as on_screen:
                late.look()
            assert not on_a_closed_widget(on_screen.value)
            await late.remove()
            with pytest.raises(NoMatches) as closed:
                late.look()
            assert on_a_closed_widget(closed.value)
            assert not on_a_closed_widget(KeyError("anything else"))
            app._handle_exception(closed.value)
            await handled(app, pilot)
            assert app.crash is None and app.is_running

    asyncio_run(go())


def test_typing_while_a_save_fails_stays_in_the_draft(monkey_services: Services,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Client information: keys typed while Ctrl+S was saving were never kept, and the
    save was refused: the screen showed them, the draft did not."""
    import threading

    from textual.widgets import Input

    from planwise.errors import InputError

    services = monkey_services
    saving = threading.Event()
    release = threading.Event()

    def refused(client_id: int, info: Any) -> bool:
        saving.set()
        release.wait(5)
        raise InputError("refused for the test", field="date_of_birth")

    monkeypatch.setattr(services, "client_info_save", refused)

    async def go() -> None:
        app = PlanwiseApp(services, blink=False)
        async with app.run_test(size=(80, 24)) as pilot:
            await handled(app, pilot)
            app.edit_client_info(CLIENT)
            await settle(app, pilot)
            pronouns = app.screen.query_one("#pronouns", Input)
            pronouns.focus()
            await pilot.press("ctrl+s")
            await handled(app, pilot)
            assert saving.wait(5)
            await pilot.press(*"they")            # typed while the save is under way
            await handled(app, pilot)
            release.set()
            await settle(app, pilot)
            assert app.crash is None
            assert pronouns.value.endswith("they")

    asyncio_run(go())
    draft = load_draft(services.conn(), "client", f"C{CLIENT}")
    assert draft is not None and draft["values"]["pronouns"].endswith("they")


def test_a_screen_opened_while_the_plan_saves_does_not_stay_behind(
        monkey_services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl+S on the review of a new intake, then F1 while the plan was being saved: the
    save closed the help instead of the review, and left the review and the new
    intake's form (its draft deleted: the intake was stored) under the plan."""
    import threading
    import tomllib

    from planwise.tui.screens.help import HelpScreen
    from planwise.tui.screens.intake import IntakeScreen
    from planwise.tui.screens.plan import PlanScreen
    from planwise.tui.screens.proposal import ProposalScreen
    from tests.tui.conftest import EXAMPLES

    services = monkey_services
    release = threading.Event()
    save = services.save_proposal_as_plan

    def slow_save(*args: Any) -> Any:
        release.wait(5)
        return save(*args)

    monkeypatch.setattr(services, "save_proposal_as_plan", slow_save)
    data = tomllib.loads((EXAMPLES / "depression-alcohol.toml").read_text())

    async def go() -> None:
        app = PlanwiseApp(services, blink=False)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(app, pilot)
            app.new_intake(5)            # the demo's Elm, who has no intake yet
            await settle(app, pilot)
            assert isinstance(app.screen, IntakeScreen)
            app.review_new_intake(5, data)
            await settle(app, pilot)
            assert isinstance(app.screen, ProposalScreen) and app.screen.loaded
            await pilot.press("ctrl+s")
            await handled(app, pilot)
            await pilot.press("f1")
            await handled(app, pilot)
            assert isinstance(app.screen, HelpScreen)
            release.set()
            await settle(app, pilot)
            assert app.crash is None
            kinds = [type(s).__name__ for s in app.screen_stack]
            assert isinstance(app.screen, PlanScreen), kinds
            assert "ProposalScreen" not in kinds and "IntakeScreen" not in kinds, kinds

    asyncio_run(go())


def test_enter_twice_in_the_export_dialog_writes_once(monkey_services: Services,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      tmp_path: Path) -> None:
    """Enter, Enter in the export dialog's file name: two writes, and the second closed
    the dialog a second time (InvalidStateError from its result)."""
    import threading

    from textual.widgets import Input

    from planwise.tui.screens.export import ExportDialog
    from planwise.tui.screens.plan import PlanScreen

    services = monkey_services
    release = threading.Event()
    calls: list[str] = []
    export = services.plan_export

    def slow_export(plan_id: int, fmt: str, path: str) -> str:
        calls.append(path)
        release.wait(5)
        return export(plan_id, fmt, path)

    monkeypatch.setattr(services, "plan_export", slow_export)

    async def go() -> None:
        app = PlanwiseApp(services, blink=False)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(app, pilot)
            app.open_plan(PLAN)
            await settle(app, pilot)
            app.export_plan(PLAN)
            await settle(app, pilot)
            dialog = app.screen
            assert isinstance(dialog, ExportDialog)
            dialog.query_one("#export-path", Input).value = str(tmp_path / "plan.md")
            dialog.query_one("#export-path", Input).focus()
            send_burst(app, ["enter", "enter"])
            await handled(app, pilot)
            release.set()
            await settle(app, pilot)
            assert app.crash is None and isinstance(app.screen, PlanScreen)

    asyncio_run(go())
    assert calls == [str(tmp_path / "plan.md")]
    assert (tmp_path / "plan.md").read_text().startswith("# Treatment plan P1")
