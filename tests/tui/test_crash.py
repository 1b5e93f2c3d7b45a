"""Never a traceback (issue 11): an error nothing handled, wherever it happens, saves the
open work as drafts, goes to a private log without client data, is said on one screen,
and planwise exits 1. The CLI's internal errors are logged and scrubbed the same way."""

from __future__ import annotations

import stat
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input, Static, TextArea

from planwise.crashlog import format_error, scrub, write_log
from planwise.errors import PlanwiseError
from planwise.store.clients import add_client
from planwise.store.db import Store
from planwise.store.drafts import load_draft
from planwise.tui.app import PlanwiseApp
from planwise.tui.crash import CrashScreen
from planwise.tui.screens.intake import IntakeScreen
from planwise.tui.services import Services
from tests.tui.conftest import run, settle
from tests.tui.test_tmux import Tmux, app_env, needs_tmux

# A client's words: never in a log, never on the terminal. Made at run time: a word in
# the source of a traceback's frames counts as code, and this file is one of them.
SECRET = " ".join(w[::-1] for w in ("nadroJ", "rehtaeflliuQ"))
FIRST, LAST = SECRET.split()


@pytest.fixture(autouse=True)
def log_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "logs"
    monkeypatch.setenv("PLANWISE_LOG_DIR", str(folder))
    return folder


def only_log(folder: Path) -> str:
    logs = list(folder.glob("crash-*.log"))
    assert len(logs) == 1, logs
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(logs[0].stat().st_mode) == 0o600
    return logs[0].read_text()


def crash_text(app: PlanwiseApp) -> str:
    assert isinstance(app.screen, CrashScreen), app.screen
    return str(app.screen.query_one("#crash-text", Static).render())


# -- the log: no locals, messages scrubbed to code and ids ---------------------------------
def test_scrub_keeps_code_and_ids_and_drops_the_rest() -> None:
    allowed = {"sevrow", "depression", "widget", "with", "ID", "Tried", "to", "insert", "a",
               "for"}
    text = scrub("Tried to insert a widget with ID 'sevrow-depression' for C12 P3: "
                 f"'{SECRET}' born 1984-02-29, jq@example.org, 07700 900123, {LAST}",
                 allowed)
    assert "Tried to insert a widget with ID 'sevrow-depression' for C12 P3" in text
    for secret in (FIRST, LAST, "1984", "jq@", "07700"):
        assert secret not in text, text
    assert "'<text:19>'" in text  # a quoted string with a space: gone whole


def test_log_has_the_frames_and_no_local_variable(log_dir: Path) -> None:
    def failing(answers: dict[str, str]) -> None:
        note = answers["note"]  # a local holding client text
        raise ValueError(f"cannot read {note!r} for C7")

    try:
        failing({"note": SECRET})
    except ValueError as exc:
        path = write_log(exc, {"screens, top first": "SessionScreen (P2)"})
    assert path is not None
    text = only_log(log_dir)
    assert "in failing" in text and 'raise ValueError(f"cannot read {note!r} for C7")' in text
    assert "ValueError: cannot read '<text:19>' for C7" in text
    assert "SessionScreen (P2)" in text
    assert FIRST not in text and LAST not in text


def test_chained_errors_and_notes_are_scrubbed_too() -> None:
    try:
        try:
            raise KeyError(SECRET)
        except KeyError as inner:
            err = RuntimeError("while saving")
            err.add_note(f"client said {SECRET}")
            raise err from inner
    except RuntimeError as exc:
        text = format_error(exc)
    assert "KeyError" in text and "RuntimeError: while saving" in text
    assert FIRST not in text and LAST not in text


# -- the interface: anywhere an error happens ----------------------------------------------
def _raise_secret(*_: Any, **__: Any) -> Any:
    raise KeyError(f"{SECRET} said so")


PLACES: dict[str, Callable[[pytest.MonkeyPatch], None]] = {
    # A message handler (the concern list's SelectedChanged) fails half way, after the
    # state changed and before its autosave ran.
    "message": lambda mp: mp.setattr("planwise.tui.screens.intake.scope_check",
                                     _raise_secret),
    # A key's action.
    "action": lambda mp: mp.setattr(IntakeScreen, "action_next_step", _raise_secret),
    # A worker (the assessments the screening calls for).
    "worker": lambda mp: mp.setattr(Services, "intake_suggestions", _raise_secret),
}


@pytest.mark.parametrize("place", list(PLACES))
def test_an_error_anywhere_saves_the_work_logs_it_and_says_so(
        place: str, services: Services, make_app: Callable[[], PlanwiseApp],
        monkeypatch: pytest.MonkeyPatch, log_dir: Path) -> None:
    cid = add_client(services.conn(), "Morgan Example (fictional)")
    shown: dict[str, Any] = {}

    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            app.new_intake(cid)
            await settle(app, pilot)
            screen = app.screen
            assert isinstance(screen, IntakeScreen)
            # The summary, typed and autosaved, holds the client's words.
            screen.query_one("#summary", Input).focus()
            await pilot.press(*SECRET)
            await settle(app, pilot)
            screen.query_one("#concerns").focus()
            PLACES[place](monkeypatch)
            await pilot.press("space")           # Depression: then the error
            await settle(app, pilot)
            if place == "action":
                await pilot.press("ctrl+n")
                await settle(app, pilot)
            shown["text"] = crash_text(app)
            # Nothing else can be opened on top of it; Enter closes planwise with 1.
            await pilot.press("f1", "ctrl+p", "i")
            await pilot.pause()
            assert isinstance(app.screen, CrashScreen)
            await pilot.press("enter")
            await pilot.pause()
            shown["app"] = app

    with pytest.raises(KeyError):  # Pilot raises the app's first error when the test ends
        run(go())
    assert shown["app"].return_code == 1
    text = shown["text"]
    assert "planwise stopped on an internal error" in text
    assert "KeyError" in text and SECRET not in text and FIRST not in text
    assert f"✓ the new intake of C{cid}" in text
    assert str(log_dir) in text
    log = only_log(log_dir)
    assert "Traceback (most recent call last)" in log
    assert FIRST not in log and LAST not in log
    assert f"IntakeScreen (C{cid})" in log
    # The newest edit is in the draft, also when its own autosave never ran.
    draft = load_draft(services.conn(), "intake", f"C{cid}")
    assert draft is not None
    assert draft["intake"]["screening"]["summary"] == SECRET
    assert draft["intake"]["screening"]["concerns"] == ["depression"]


def test_an_error_in_mount_is_said_too(services: Services, make_app: Callable[[], PlanwiseApp],
                                       monkeypatch: pytest.MonkeyPatch, log_dir: Path) -> None:
    from planwise.tui.screens.client import ClientScreen

    monkeypatch.setattr(ClientScreen, "on_mount", _raise_secret)
    cid = add_client(services.conn(), "Lee Example (fictional)")

    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            app.open_client(cid)
            await settle(app, pilot)
            text = crash_text(app)
            assert "No unsaved work was open" in text and FIRST not in text

    with pytest.raises(KeyError):
        run(go())
    assert "ClientScreen (C" in only_log(log_dir)


def test_a_planwise_error_in_a_worker_is_a_notice_not_a_crash(
        services: Services, make_app: Callable[[], PlanwiseApp],
        monkeypatch: pytest.MonkeyPatch, log_dir: Path) -> None:
    def refuse(*_: Any) -> Any:
        raise PlanwiseError("the database is read-only")

    monkeypatch.setattr(Services, "intake_suggestions", refuse)
    cid = add_client(services.conn(), "Ira Example (fictional)")

    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            app.new_intake(cid)
            await settle(app, pilot)
            await pilot.press("space")
            await settle(app, pilot)
            assert app.crash is None and isinstance(app.screen, IntakeScreen)
            assert any(n.message == "the database is read-only" for n in app._notifications)

    run(go())
    assert not log_dir.exists()


# -- every editing screen's work is saved: the readers of crash_drafts.py ------------------
def test_open_session_note_and_client_information_are_saved(
        services: Services, make_app: Callable[[], PlanwiseApp], plan_id: int) -> None:
    """The screens below the top one count too: the session note under the client
    information it was left for."""
    from planwise.store.plans import get_plan

    cid = get_plan(services.conn(), plan_id)["client_id"]

    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            app.new_session(plan_id)
            await settle(app, pilot)
            note = app.screen.query_one("#session-note", TextArea)
            note.focus()
            await pilot.press(*"Slept better")
            app.edit_client_info(cid)
            await settle(app, pilot)
            app.screen.query_one("#pronouns", Input).value = "they/them"
            await pilot.pause()
            app._handle_exception(RuntimeError("boom"))
            await pilot.pause()
            text = crash_text(app)
            assert f"✓ the session note on P{plan_id}" in text
            assert f"✓ the information of C{cid}" in text

    with pytest.raises(RuntimeError):
        run(go())
    session = load_draft(services.conn(), "session", f"P{plan_id}")
    assert session is not None and session["note"] == "Slept better"
    info = load_draft(services.conn(), "client", f"C{cid}")
    assert info is not None and info["values"]["pronouns"] == "they/them"


def test_plan_revision_and_proposal_review_are_saved(
        services: Services, make_app: Callable[[], PlanwiseApp], plan_id: int) -> None:
    """A signed plan's edit (kept as the plan draft) and a decision on a proposal review
    open above it: both saved as the drafts their screens restore."""
    import tomllib

    from planwise.store import plans
    from planwise.tui.screens.plan import PlanScreen
    from planwise.tui.screens.proposal import ProposalScreen
    from tests.tui.conftest import EXAMPLES

    plans.sign(services.conn(), plan_id, "therapist", "Dr Example")
    cid = plans.get_plan(services.conn(), plan_id)["client_id"]
    data = tomllib.loads((EXAMPLES / "depression-alcohol.toml").read_text())
    seen: dict[str, Any] = {}

    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            app.open_plan(plan_id)
            await settle(app, pilot)
            plan = app.screen
            assert isinstance(plan, PlanScreen)
            plan.query_one("#plan-tree").focus()
            await pilot.press("t")   # a signed version: the edit is kept as a draft
            await pilot.pause()
            seen["doc"] = plan.doc.model_dump(mode="json", by_alias=True) if plan.doc else None
            review = ProposalScreen(cid, data)
            app.push_screen(review)
            await settle(app, pilot)
            await settle(app, pilot)
            review.query_one("#proposal-tree").focus()
            await pilot.press("down", "a")
            await pilot.pause()
            seen["review"] = review.review.to_json()
            app._handle_exception(RuntimeError("boom"))
            await pilot.pause()
            text = crash_text(app)
            assert f"✓ the edits of P{plan_id}" in text
            assert f"✓ the proposal review of C{cid}" in text

    with pytest.raises(RuntimeError):
        run(go())
    kept = load_draft(services.conn(), "plan", f"P{plan_id}")
    assert kept is not None and kept["doc"] == seen["doc"] and kept["base_version"] == 1
    review = load_draft(services.conn(), "proposal", f"C{cid}")
    assert review is not None and review["review"] == seen["review"]


def test_an_untouched_screen_leaves_no_draft(services: Services,
                                              make_app: Callable[[], PlanwiseApp],
                                              plan_id: int) -> None:
    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            app.new_session(plan_id)
            await settle(app, pilot)
            app._handle_exception(RuntimeError("boom"))
            await pilot.pause()
            assert "No unsaved work was open" in crash_text(app)

    with pytest.raises(RuntimeError):
        run(go())
    assert load_draft(services.conn(), "session", f"P{plan_id}") is None


# -- the command line ----------------------------------------------------------------------
def test_cli_internal_error_is_scrubbed_and_logged(monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str],
                                                   log_dir: Path) -> None:
    import planwise.store.verify
    from planwise.cli import main

    monkeypatch.delenv("PLANWISE_DEBUG", raising=False)

    def broken(*_: Any, **__: Any) -> Any:
        secret = SECRET  # noqa: F841 - a local that must not be printed
        raise ValueError(f"bad name {SECRET!r}")

    monkeypatch.setattr(planwise.store.verify, "verify", broken)
    db = log_dir.parent / "cli.db"
    Store(db).connect().close()
    with pytest.raises(SystemExit) as done:
        main(["--db", str(db), "verify"])
    assert done.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("planwise: internal error: ValueError: bad name '<text:19>'")
    assert "Traceback" not in err and FIRST not in err
    assert str(log_dir) in err
    log = only_log(log_dir)
    assert "command: planwise verify" in log and FIRST not in log


CRASHING_PLANWISE = """
import sys
from planwise.tui.screens.intake import IntakeScreen
def boom(self):
    secret = "".join(reversed({reversed_secret!r}))
    raise KeyError(secret)
IntakeScreen.action_next_step = boom
from planwise.cli import main
main(sys.argv[1:])
"""


@needs_tmux
def test_planwise_in_a_terminal_shows_no_traceback_and_exits_1(tmp_path: Path) -> None:
    """The real thing: `planwise` in tmux, an error on a key; the crash screen, then the
    terminal has a few lines saying what was saved and where the log is, exit status 1."""
    script = tmp_path / "crashing.py"
    script.write_text(CRASHING_PLANWISE.format(reversed_secret=SECRET[::-1]))
    status = tmp_path / "status"
    db = tmp_path / "crash.db"
    c = Store(db).connect()
    try:
        cid = add_client(c, "Casey Example (fictional)")
    finally:
        c.close()
    env = {**app_env(tmp_path), "PLANWISE_LOG_DIR": str(tmp_path / "logs")}
    tmux = Tmux()
    try:
        tmux.start(f"{sys.executable} {script} --db {db}; echo $? > {status}", env,
                   remain=True)
        tmux.wait_for("Casey Example (fictional)", "1 client")
        time.sleep(1.0)  # keys in the first instant can be lost (see test_tmux.py)
        tmux.keys("Enter")
        tmux.wait_for("Records (Enter to open)")
        tmux.keys("i")
        tmux.wait_for("[1 Screening]", "counts as in scope")
        time.sleep(0.5)
        tmux.keys("Space")
        tmux.wait_for("X▌ Depression")
        tmux.keys("C-n")
        screen = tmux.wait_for("planwise must close", "planwise stopped on an internal error",
                               f"✓ the new intake of C{cid}")
        assert FIRST not in screen
        tmux.keys("Enter")
        end = time.monotonic() + 10
        while time.monotonic() < end and not (status.exists() and status.read_text().strip()):
            time.sleep(0.05)
        assert status.read_text().strip() == "1", tmux.screen()
        screen = tmux.tmux("capture-pane", "-p", "-S", "-200", "-t", "main")  # and scrollback
        assert "planwise: error: the interface stopped on an internal error" in screen
        assert "Traceback" not in screen and FIRST not in screen and "locals" not in screen
        assert str(tmp_path / "logs") in screen
    finally:
        tmux.kill_server()
    c = Store(db).connect()
    try:
        draft = load_draft(c, "intake", f"C{cid}")
    finally:
        c.close()
    assert draft is not None and draft["intake"]["screening"]["concerns"] == ["depression"]
