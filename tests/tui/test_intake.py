"""The new intake, by keyboard: screening -> assessments -> instruments -> risk -> context."""

from __future__ import annotations

import sys
import time
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.screen import Screen
from textual.widgets import OptionList, Select, Static

from planwise.intake_io import intake_from_data
from planwise.kb import load_knowledge
from planwise.models.profile import Profile
from planwise.store.clients import add_client
from planwise.store.db import Store
from planwise.tui.app import PlanwiseApp
from planwise.tui.screens.intake import IntakeScreen, LeaveIntakeDialog, SkipRiskDialog
from planwise.tui.services import Services
from planwise.tui.widgets.instrument_form import InstrumentForm
from planwise.tui.widgets.intake_state import IntakeState
from tests.tui.conftest import TODAY, run
from tests.tui.test_tmux import PLANWISE, Tmux, app_env, needs_tmux


class FakeProposal(Screen[None]):
    """Stands in for the proposal review: records what the intake hands over."""

    received: list[tuple[int, dict[str, Any]]] = []

    def __init__(self, client_id: int, intake_data: dict[str, Any]) -> None:
        super().__init__()
        FakeProposal.received.append((client_id, intake_data))

    def compose(self) -> ComposeResult:
        yield Static("fake proposal")


@pytest.fixture()
def fake_proposal(monkeypatch: pytest.MonkeyPatch) -> type[FakeProposal]:
    module = types.ModuleType("planwise.tui.screens.proposal")
    module.ProposalScreen = FakeProposal  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "planwise.tui.screens.proposal", module)
    FakeProposal.received = []
    return FakeProposal


async def settle(pilot: Any) -> None:
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def text_of(app: App[Any], selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


async def open_intake(pilot: Any, client_id: int) -> IntakeScreen:
    pilot.app.open_client(client_id)
    await settle(pilot)
    await pilot.press("i")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, IntakeScreen)
    return screen


def test_whole_intake_by_keyboard(services: Services, make_app: Callable[[], PlanwiseApp],
                                  fake_proposal: type[FakeProposal]) -> None:
    cid = add_client(services.conn(), "Sam Example (fictional)")

    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_intake(pilot, cid)
            # 1 Screening: Depression is the first concern; a summary.
            await pilot.press("space", "tab", *"Low mood")
            await settle(pilot)
            assert screen.state.concerns == ["depression"]
            assert "every condition counts as in scope" in text_of(app, "#scope")
            # 2 Assessments: the engine asks for the PHQ-9, ticked.
            await pilot.press("ctrl+n")
            await settle(pilot)
            assert screen.state.step == 1
            assert screen.state.chosen(services.kb) == ["phq9"]
            assert "calls for 1 instrument" in text_of(app, "#assess-status")
            # 3 Instruments: digits answer and advance; total and band live.
            await pilot.press("ctrl+n")
            await settle(pilot)
            form = app.screen.query_one("#form-phq9", InstrumentForm)
            assert app.focused is form
            await pilot.press(*"12101201")
            status = str(form.query_one(".form-status", Static).render())
            assert "Answered 8 of 9; running sum 8" in status
            await pilot.press("0")
            status = str(form.query_one(".form-status", Static).render())
            assert "TOTAL 8 of 27" in status and "Mild (5-9)" in status
            await pilot.press("backspace")  # clear item 9 (the cursor stays on the last) ...
            assert form.values[8] is None and "Answered 8 of 9" in str(
                form.query_one(".form-status", Static).render())
            await pilot.press("3")  # ... and answer it again: 11, moderate
            status = str(form.query_one(".form-status", Static).render())
            assert "TOTAL 11 of 27" in status and "Moderate (10-14)" in status
            assert "Item 9" in status  # the item 9 flag, live
            # 4 Risk: the screen is positive; passive ideation is recorded -> LOW.
            await pilot.press("ctrl+n")
            await settle(pilot)
            assert screen.state.step == 3
            assert "POSITIVE" in text_of(app, "#screen-status")
            assert "UNASSESSED" in text_of(app, "#risk-level")
            await pilot.press("tab", "right", "space")
            await pilot.pause()
            assert screen.state.risk_recorded and screen.state.risk["ideation"] == "passive"
            assert "RISK LEVEL: LOW" in text_of(app, "#risk-level")
            # 5 History and context.
            await pilot.press("ctrl+n")
            await settle(pilot)
            assert screen.state.step == 4
            await pilot.press("space", "tab", "tab", *"CBT; IPT")
            await pilot.press("tab", *"SSRI")
            await pilot.press("tab", *"12")
            await pilot.pause()
            # Ctrl+R: checked, then handed to the proposal review.
            await pilot.press("ctrl+r")
            await settle(pilot)
            assert isinstance(app.screen, FakeProposal)

    run(go())
    assert len(fake_proposal.received) == 1
    client_id, data = fake_proposal.received[0]
    assert client_id == cid
    scored = intake_from_data(data, services.kb)
    intake = scored.intake
    assert data["schema"] == "planwise.intake/1" and data["date"] == TODAY
    assert intake.screening.concerns == ["depression"]
    assert intake.screening.summary == "Low mood"
    assert data["instruments"] == {"phq9": [1, 2, 1, 0, 1, 2, 0, 1, 3]}
    assert scored.scores[0].total == 11 and scored.scores[0].band == "moderate"
    assert data["risk"]["ideation"] == "passive"
    assert intake.history.trauma is True
    assert intake.history.prior_treatment == ["CBT", "IPT"]
    assert intake.history.medications == ["SSRI"]
    assert intake.context.session_limit == 12


def test_positive_asq_cannot_be_skipped_silently(
        services: Services, make_app: Callable[[], PlanwiseApp],
        fake_proposal: type[FakeProposal]) -> None:
    cid = add_client(services.conn(), "Alex Example (fictional)")

    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_intake(pilot, cid)
            await pilot.press("ctrl+n")  # no concerns: the ASQ is still offered, ticked
            await settle(pilot)
            assert screen.state.chosen(services.kb) == ["asq"]
            await pilot.press("ctrl+n")
            await settle(pilot)
            await pilot.press("y", "n", "n", "n", "n")  # wish_dead yes: positive, not acute
            await pilot.pause()
            assert screen.state.answers["asq"] == {"wish_dead": True, "better_off_dead": False,
                                                   "thoughts": False, "attempt_ever": False,
                                                   "thoughts_now": False}
            await pilot.press("ctrl+n")  # the only form: on to the risk step
            await settle(pilot)
            assert screen.state.step == 3
            # Leaving forward asks; "assess now" stays.
            await pilot.press("ctrl+n")
            await pilot.pause()
            assert isinstance(app.screen, SkipRiskDialog)
            await pilot.press("a")
            await pilot.pause()
            assert app.screen is screen and screen.state.step == 3
            # Ctrl+R asks too; nothing is handed over without an answer.
            await pilot.press("ctrl+r")
            await pilot.pause()
            assert isinstance(app.screen, SkipRiskDialog)
            assert fake_proposal.received == []
            await pilot.press("s")  # explicit: skip for now
            await settle(pilot)
            assert screen.state.risk_skipped
            assert "WARNING: assessment skipped" in str(
                screen.query_one("#risk-warning", Static).render())
            assert isinstance(app.screen, FakeProposal)

    run(go())
    data = fake_proposal.received[0][1]
    assert "risk" not in data  # the risk stays unassessed
    assert data["instruments"]["asq"]["wish_dead"] is True
    intake_from_data(data, services.kb)


def test_incomplete_form_is_shown_at_its_item_and_nothing_is_lost(
        services: Services, make_app: Callable[[], PlanwiseApp],
        fake_proposal: type[FakeProposal]) -> None:
    cid = add_client(services.conn(), "Robin Example (fictional)")

    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_intake(pilot, cid)
            await pilot.press("space", "ctrl+n")
            await settle(pilot)
            await pilot.press("ctrl+n")
            await settle(pilot)
            await pilot.press(*"0000")  # PHQ-9 items 1-4 only
            await pilot.press("ctrl+b", "ctrl+b", "ctrl+b")  # back to screening
            await pilot.press("ctrl+r")
            await settle(pilot)
            assert fake_proposal.received == []
            assert screen.state.step == 2  # taken to the field the check names
            form = screen.query_one("#form-phq9", InstrumentForm)
            assert form.position == 4  # item 5, the first unanswered
            assert "instruments.phq9[5]" in text_of(app, "#intake-error")
            assert "Not ready" in str(form.query_one(".form-status", Static).render())
            assert form.values[:4] == [0, 0, 0, 0]

    run(go())


def test_scope_check_against_the_profile(tmp_path: Path) -> None:
    kb = load_knowledge()
    profile = Profile.model_validate({"therapist": {
        "name": "A. Clinician", "competencies": ["depression", "generalized_anxiety"]}})
    services = Services(Store(tmp_path / "scope.db"), kb, profile)
    cid = add_client(services.conn(), "Jo Example (fictional)")

    async def go() -> None:
        app = PlanwiseApp(services, blink=False)
        async with app.run_test(size=(80, 24)) as pilot:
            await open_intake(pilot, cid)
            await pilot.press("space")  # Depression: in scope
            await pilot.pause()
            assert "Within your competencies." in text_of(app, "#scope")
            await pilot.press("down", "down", "space")  # Panic disorder: outside
            await pilot.pause()
            assert ("Outside your competencies: Panic disorder — consider referring"
                    in text_of(app, "#scope"))
            await pilot.press("space")
            await pilot.pause()
            assert "Within your competencies." in text_of(app, "#scope")

    try:
        run(go())
    finally:
        services.close()


def test_draft_restored_after_the_app_is_closed_and_reopened(tmp_path: Path) -> None:
    db = tmp_path / "drafts.db"
    kb = load_knowledge()
    first = Services(Store(db), kb, None)
    cid = add_client(first.conn(), "Kim Example (fictional)")

    async def enter() -> None:
        app = PlanwiseApp(first, blink=False)
        async with app.run_test(size=(80, 24)) as pilot:
            await open_intake(pilot, cid)
            await pilot.press("space", "ctrl+n")
            await settle(pilot)
            await pilot.press("ctrl+n")
            await settle(pilot)
            await pilot.press(*"2130", "up")  # four answers, then back to item 4
            await settle(pilot)

    run(enter())
    first.close()
    again = Services(Store(db), kb, None)

    async def reopen() -> None:
        app = PlanwiseApp(again, blink=False)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_intake(pilot, cid)
            await settle(pilot)
            assert screen.state.concerns == ["depression"]
            assert screen.state.step == 2
            form = screen.query_one("#form-phq9", InstrumentForm)
            assert form.values == [2, 1, 3, 0, None, None, None, None, None]
            assert form.position == 3
            assert app.focused is form
            # Said in the title line, where it stays while the intake is open (a toast
            # there covered the form line in a real terminal).
            assert screen.sub_title.startswith("C1: Recovered unsaved intake from")
            # Esc asks; keeping (the default, Enter) keeps the draft.
            await pilot.press("escape")
            await pilot.pause()
            assert isinstance(app.screen, LeaveIntakeDialog)
            await pilot.press("enter")
            await settle(pilot)
            assert not isinstance(app.screen, IntakeScreen)
            assert again.load_intake_draft(cid) is not None
            # Discarding deletes it.
            await pilot.press("i")
            await settle(pilot)
            await pilot.press("escape", "d")
            await settle(pilot)
            assert again.load_intake_draft(cid) is None

    try:
        run(reopen())
    finally:
        again.close()


class FormApp(App[None]):
    def __init__(self, form: InstrumentForm) -> None:
        super().__init__()
        self.form = form

    def compose(self) -> ComposeResult:
        yield self.form

    def on_mount(self) -> None:
        self.form.focus()


def test_audit_items_9_and_10_take_only_0_2_4() -> None:
    kb = load_knowledge()
    form = InstrumentForm(kb.instruments["audit"])

    async def go() -> None:
        async with FormApp(form).run_test(size=(80, 24)) as pilot:
            await pilot.press(*"01234012")  # items 1-8
            assert form.position == 8
            await pilot.press("1")  # refused for item 9
            assert form.values[8] is None and form.position == 8
            assert "takes only 0, 2, 4" in form.status()
            await pilot.press("4", "2")
            assert form.complete()
            assert "TOTAL 19 of 40" in form.status()

    run(go())


def test_mdq_form_has_its_own_mode() -> None:
    kb = load_knowledge()
    form = InstrumentForm(kb.instruments["mdq"])

    async def go() -> None:
        async with FormApp(form).run_test(size=(80, 24)) as pilot:
            await pilot.press(*"yyyyyyynnnnnn")  # 7 of 13
            await pilot.press("y")  # same period
            await pilot.press("5")  # impairment takes 0-3 only
            assert form.values[14] is None
            await pilot.press("2")  # moderate
            assert form.data() == {"symptoms": [True] * 7 + [False] * 6,
                                   "same_period": True, "impairment": "moderate"}
            assert "Positive screen" in form.status()

    run(go())


def test_state_round_trip_through_the_draft() -> None:
    kb = load_knowledge()
    state = IntakeState(concerns=["mood"], summary="s", answers={"phq9": [1, None] + [None] * 7},
                        risk_recorded=True, session_limit="10", employment="student",
                        impressions=["depression"], severity={"depression": "severe"},
                        step=2, form_index=0, positions={"phq9": 1})
    state.suggested = [("phq9", "why"), ("mdq", "why")]
    state.suggested_for = ["mood"]
    draft = state.to_draft(kb, __import__("datetime").date(2026, 1, 2))
    again = IntakeState.from_draft(draft)
    assert again.to_draft(kb, __import__("datetime").date(2026, 1, 2)) == draft
    assert "date" not in draft["intake"]  # a resumed draft is dated the day it is finished
    intake = state.to_intake(kb, __import__("datetime").date(2026, 1, 2))
    assert intake["date"] == "2026-01-02"
    assert intake["context"] == {"client_goals": [], "session_limit": 10,
                                 "employment": "student"}
    assert intake["clinician"]["severity"] == {"depression": "severe"}


def test_intake_round_trip_keeps_every_answer() -> None:
    """What-if reopens the intake from a dict: nothing may change on the way back."""
    import datetime as dt
    import tomllib

    from planwise.kb import load_knowledge
    from planwise.tui.widgets.intake_state import IntakeState
    from tests.tui.conftest import EXAMPLES

    data = tomllib.loads((EXAMPLES / "depression-alcohol.toml").read_text())
    back = IntakeState.from_intake(data).to_intake(load_knowledge(), dt.date(2026, 11, 29))
    assert back["clinician"]["severity"] == {"employment": "moderate"}
    assert back["history"]["prior_treatment"] == ["CBT, 2019, helpful"]
    for section in ("screening", "instruments", "risk", "clinician", "history", "context"):
        assert back[section] == data[section], section


def test_changing_the_screening_after_the_forms_never_duplicates_a_form(
        services: Services, make_app: Callable[[], PlanwiseApp]) -> None:
    """Found by hand: back to the screening, tick another concern, forward again
    used to crash the app (a new PHQ-9 form mounted while the old one was still
    being removed)."""
    cid = add_client(services.conn(), "Kim Example (fictional)")

    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_intake(pilot, cid)
            await pilot.press("space")  # depression -> PHQ-9
            await settle(pilot)
            await pilot.press("ctrl+n")
            await settle(pilot)
            await pilot.press("ctrl+n")
            await settle(pilot)
            await pilot.press(*"123")
            await pilot.press("ctrl+b", "ctrl+b")
            await settle(pilot)
            await pilot.press("ctrl+b")
            await settle(pilot)
            assert screen.state.step == 0
            for _ in range(14):  # down to Bipolar I: the MDQ joins the PHQ-9
                await pilot.press("down")
            await pilot.press("space")
            await settle(pilot)
            for _ in range(3):
                await pilot.press("ctrl+n")
                await settle(pilot)
            assert app.is_running and isinstance(app.screen, IntakeScreen)
            ids = [f.inst.id for f in screen.forms]
            assert "phq9" in ids and "mdq" in ids
            phq9 = screen.forms[ids.index("phq9")]
            assert phq9.values[:3] == [1, 2, 3]  # kept across the change
            assert len(app.screen.query("#form-phq9")) == 1

    run(go())


async def to_impressions(pilot: Any, client_id: int) -> IntakeScreen:
    """A new intake at step 5 with the focus on the clinician's impressions."""
    screen = await open_intake(pilot, client_id)
    for _ in range(4):
        await pilot.press("ctrl+n")
        await settle(pilot)
    assert screen.state.step == 4
    screen.query_one("#impressions").focus()
    await pilot.pause()
    return screen


def test_two_impressions_ticked_quickly(services: Services,
                                        make_app: Callable[[], PlanwiseApp]) -> None:
    """Issue 11: Space, Down, Space on the impressions killed the app with
    DuplicateIds: 'sevrow-depression' (the rows removed without waiting, then mounted
    again) and the second tick was lost."""
    cid = add_client(services.conn(), "Quinn Example (fictional)")

    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await to_impressions(pilot, cid)
            await pilot.press("space", "down", "space")
            await settle(pilot)
            assert app.is_running and app.crash is None and app.screen is screen
            assert screen.state.impressions == ["depression", "generalized_anxiety"]
            rows = [w.id for w in screen.query(".severity-row") if w.display]
            assert rows == ["sevrow-depression", "sevrow-generalized_anxiety"]
            # Tab reaches each severity, on screen (the rows were cut to one line).
            step = screen.query_one("#step-4").region
            for cond in ("depression", "generalized_anxiety"):
                await pilot.press("tab")
                await settle(pilot)
                assert app.focused is screen.query_one(f"#severity-{cond}", Select)
                assert step.contains_region(app.focused.region), (app.focused.region, step)
            screen.query_one("#impressions").focus()
            await settle(pilot)
            # Unticked and ticked again at once: the row comes back, once.
            await pilot.press("space", "space", "up", "space", "space")
            await settle(pilot)
            assert screen.state.impressions == ["depression", "generalized_anxiety"]
            assert len(screen.query("#sevrow-depression")) == 1
            assert [w.id for w in screen.query(".severity-row") if w.display] == rows
            # Untick the first: its row goes, the other stays.
            await pilot.press("space")
            await settle(pilot)
            assert [w.id for w in screen.query(".severity-row") if w.display] == rows[1:]

    run(go())
    draft = services.load_intake_draft(cid)
    assert draft is not None
    assert draft["intake"]["clinician"]["impressions"] == ["generalized_anxiety"]


def test_impressions_in_one_burst_keep_every_tick(services: Services,
                                                  make_app: Callable[[], PlanwiseApp]) -> None:
    """Keys arriving together (over SSH): three impressions ticked in one burst, none lost,
    each with its severity row in the vocabulary's order; a severity chosen is kept."""
    cid = add_client(services.conn(), "Rene Example (fictional)")

    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await to_impressions(pilot, cid)
            burst(app, "down", "down", "space", "up", "space", "up", "space")
            await settle(pilot)
            assert app.crash is None and app.screen is screen
            want = [c for c in services.kb.vocab["conditions"]
                    if services.kb.vocab["conditions"][c].intake][:3]
            assert screen.state.impressions == want
            assert [w.id for w in screen.query(".severity-row") if w.display] == [
                f"sevrow-{c}" for c in want]
            select = screen.query_one(f"#severity-{want[1]}", Select)
            select.value = "severe"
            await settle(pilot)
            assert screen.state.severity == {want[1]: "severe"}

    run(go())
    draft = services.load_intake_draft(cid)
    assert draft is not None and draft["severity"] == {
        [c for c in services.kb.vocab["conditions"]
         if services.kb.vocab["conditions"][c].intake][1]: "severe"}


def burst(app: App[Any], *keys: str) -> None:
    """Send keys the way a fast typist over SSH does: all at once, no waiting between."""
    from textual import events

    assert app._driver is not None
    for key in keys:
        char = " " if key == "space" else (key if len(key) == 1 else None)
        event = events.Key(key, char)
        event.set_sender(app)
        app._driver.send_message(event)


def test_client_page_lists_the_intake_draft(services: Services,
                                            make_app: Callable[[], PlanwiseApp]) -> None:
    """Issue 11: after the crash the client page said "No intakes yet" although a draft
    existed. It lists the draft; Enter continues it."""
    cid = add_client(services.conn(), "Sasha Example (fictional)")

    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await open_intake(pilot, cid)
            await pilot.press("space")
            await settle(pilot)
            await pilot.press("escape", "k")          # keep the draft, back to the client
            await settle(pilot)
            records = app.screen.query_one("#records", OptionList)
            texts = [str(records.get_option_at_index(i).prompt)
                     for i in range(records.option_count)]
            assert len(texts) == 1 and texts[0].startswith("Intake not finished (draft saved ")
            assert not any("No intakes yet" in t for t in texts)
            await pilot.press("enter")
            await settle(pilot)
            assert isinstance(app.screen, IntakeScreen)
            assert app.screen.state.concerns == ["depression"]

    run(go())


def test_the_intake_does_not_import_the_proposal_screen() -> None:
    """The proposal review opens the intake (what-if); the intake reaches the review
    through the app, so neither screen module imports the other back (not even inside
    a function, as it did)."""
    import ast

    import planwise.tui.screens.intake as intake_module

    src = Path(intake_module.__file__).parent.parent
    modules = [src / "screens" / "intake.py", src / "screens" / "intake_dialogs.py",
               *sorted((src / "widgets").glob("intake_*.py"))]
    for path in modules:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                assert not (node.module or "").startswith(
                    ("planwise.tui.screens.proposal", "planwise.tui.screens.whatif")), path
                assert "ProposalScreen" not in [a.name for a in node.names], path


@needs_tmux
def test_impressions_ticked_fast_in_a_real_terminal(tmp_path: Path) -> None:
    """Issue 11 as found: planwise in tmux at 80x24, step 5, Space Down Space sent in one
    write. It used to die with DuplicateIds: 'sevrow-depression', print a traceback with
    the answers in its local variables and exit 0. Both impressions are ticked now,
    each with its severity row, and Ctrl+Q quits with 0."""
    db = tmp_path / "planwise.db"
    c = Store(db).connect()
    try:
        add_client(c, "Tmux Example (fictional)")
    finally:
        c.close()
    status = tmp_path / "status"
    tmux = Tmux()
    try:
        tmux.start(f"{PLANWISE} --db {db}; echo $? > {status}", app_env(tmp_path),
                   remain=True)
        tmux.wait_for("Tmux Example (fictional)", "1 client")
        time.sleep(1.0)  # keys in the first instant can be lost (see test_tmux.py)
        tmux.keys("Enter")
        tmux.wait_for("Records (Enter to open)")
        tmux.keys("i")
        tmux.wait_for("[1 Screening]", "counts as in scope")
        for step in ("[2 Assessments]", "[3 Instruments]", "[4 Suicide risk]",
                     "[5 History & context]"):
            tmux.keys("C-n")
            tmux.wait_for(step)
        tmux.keys(*["Tab"] * 8)        # trauma ... client's goals, then the impressions
        time.sleep(0.5)
        tmux.keys("Space", "Down", "Space")   # one write: the keys arrive together
        screen = tmux.wait_for("X▌ Depression", "X▌ Generalized anxiety")
        assert "Traceback" not in screen and "DuplicateIds" not in screen
        tmux.keys("Tab")               # to the severity rows, one per impression
        tmux.wait_for("Severity: Depression")
        tmux.keys("Tab")
        tmux.wait_for("Severity: Generalized anxiety")
        tmux.keys("C-q")
        end = time.monotonic() + 10
        while time.monotonic() < end and not (status.exists() and status.read_text().strip()):
            time.sleep(0.05)
        assert status.read_text().strip() == "0", tmux.screen()
        assert "Traceback" not in tmux.tmux("capture-pane", "-p", "-S", "-200", "-t", "main")
    finally:
        tmux.kill_server()


def test_discard_leaves_even_with_help_opened_meanwhile(
        services: Services, make_app: Callable[[], PlanwiseApp],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Esc, d, then F1 before the draft was deleted: the intake closed the help instead
    of itself (dismiss pops whatever is on top) and stayed open without its draft."""
    import threading

    from planwise.tui.screens.help import HelpScreen

    cid = add_client(services.conn(), "Toni Example (fictional)")
    release = threading.Event()
    delete = services.delete_intake_draft

    def slow_delete(client_id: int) -> None:
        release.wait(5)
        delete(client_id)

    monkeypatch.setattr(services, "delete_intake_draft", slow_delete)

    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await open_intake(pilot, cid)
            await pilot.press("space")
            await settle(pilot)
            await pilot.press("escape", "d")
            await pilot.pause()
            await pilot.press("f1")
            await pilot.pause()
            assert isinstance(app.screen, HelpScreen)
            release.set()
            await settle(pilot)
            assert app.crash is None
            kinds = [type(s).__name__ for s in app.screen_stack]
            assert "IntakeScreen" not in kinds and "HelpScreen" not in kinds, kinds

    run(go())
    assert services.load_intake_draft(cid) is None
