"""Session note: objectives rated by keyboard, counted against the payer's limit, refused
without an objective, the note kept as a draft and recovered."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.widgets import Input, OptionList, Static, TextArea

from planwise.store.drafts import load_draft
from planwise.store.measures import list_measures
from planwise.store.sessions import list_sessions
from planwise.tui.app import PlanwiseApp
from planwise.tui.screens.measure import MeasureScreen
from planwise.tui.screens.session import SessionScreen, feedback_text
from planwise.tui.services import Services
from planwise.tui.widgets.feedback_list import FeedbackList
from planwise.tui.widgets.plan_checklist import ObjectiveChecklist
from tests.tui.conftest import run, settle


async def open_session(app: PlanwiseApp, pilot: Any, plan_id: int) -> SessionScreen:
    await settle(app, pilot)
    app.new_session(plan_id)
    await settle(app, pilot)
    assert isinstance(app.screen, SessionScreen)
    return app.screen


def head(app: PlanwiseApp) -> str:
    return str(app.screen.query_one("#session-head", Static).render())


def test_session_with_two_rated_objectives_is_saved_and_counted(
        make_app: Callable[[], PlanwiseApp], services: Services, plan_id: int) -> None:
    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_session(app, pilot, plan_id)
            assert "session 1 of 12, 11 left" in head(app)
            assert screen.query_one("#session-date", Input).value == "2026-11-29"
            checklist = screen.query_one(ObjectiveChecklist)
            assert app.focused is checklist
            first, second = checklist.items[0][0], checklist.items[1][0]
            await pilot.press("7", "down", "space", "4", "plus")
            await pilot.pause()
            assert checklist.addressed == {first: 7, second: 5}
            n = len(checklist.items)
            assert n > 2
            assert f"2 of {n} open objective(s) worked on, 2 rated" in head(app)
            await pilot.press("ctrl+n", *"Went well.", "ctrl+s")
            await settle(app, pilot)
            assert not isinstance(app.screen, SessionScreen)
            assert any("session 1 of 12, 11 left" in str(n.message)
                       for n in app._notifications)
            saved = list_sessions(services.conn(), plan_id)
            assert len(saved) == 1
            assert saved[0]["note"] == "Went well." and saved[0]["date"] == "2026-11-29"
            assert [(o["key"], o["rating"]) for o in saved[0]["objectives"]] == [
                (first, 7), (second, 5)]
            assert load_draft(services.conn(), "session", f"P{plan_id}") is None
            # the next note counts on
            await open_session(app, pilot, plan_id)
            assert "session 2 of 12, 10 left" in head(app)

    run(go())


def test_session_without_objective_is_refused_unless_unplanned(
        make_app: Callable[[], PlanwiseApp], services: Services, plan_id: int) -> None:
    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_session(app, pilot, plan_id)
            screen.query_one("#session-note", TextArea).text = "Crisis call."
            await pilot.press("ctrl+s")
            await settle(app, pilot)
            assert isinstance(app.screen, SessionScreen)
            assert any("Not saved" in str(n.message) for n in app._notifications)
            assert list_sessions(services.conn(), plan_id) == []
            screen.query_one("#session-unplanned", Input).value = "housing crisis"
            await pilot.press("ctrl+s")
            await settle(app, pilot)
            assert not isinstance(app.screen, SessionScreen)
            saved = list_sessions(services.conn(), plan_id)
            assert saved[0]["unplanned_reason"] == "housing crisis"
            assert saved[0]["objectives"] == []

    run(go())


def test_session_note_draft_is_recovered(make_app: Callable[[], PlanwiseApp],
                                         services: Services, plan_id: int) -> None:
    async def first() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await open_session(app, pilot, plan_id)
            await pilot.press("3", "ctrl+n", *"Half")
            await settle(app, pilot)
            # the terminal dies here: nothing saved but the draft

    run(first())
    draft = load_draft(services.conn(), "session", f"P{plan_id}")
    assert draft is not None and draft["note"] == "Half"
    assert list_sessions(services.conn(), plan_id) == []

    async def second() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_session(app, pilot, plan_id)
            assert screen.query_one("#session-note", TextArea).text == "Half"
            checklist = screen.query_one(ObjectiveChecklist)
            assert checklist.addressed == {checklist.items[0][0]: 3}
            assert any("Recovered unsaved session note from" in str(n.message)
                       for n in app._notifications)

    run(second())


def test_feedback_answered_by_digits_and_all_or_none(
        make_app: Callable[[], PlanwiseApp], services: Services, plan_id: int) -> None:
    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_session(app, pilot, plan_id)
            feedback = screen.query_one(FeedbackList)
            await pilot.press("space", "ctrl+f", "8", "7")
            await pilot.pause()
            assert app.focused is feedback
            assert feedback.answers == {"heard": 8, "mattered": 7}
            title = str(screen.query_one("#session-feedback-title", Static).render())
            assert "incomplete: 2 of 4 answered" in title
            await pilot.press("ctrl+n", *"Talked.", "ctrl+s")
            await settle(app, pilot)
            # two of four: refused, nothing stored, focus back on the feedback
            assert isinstance(app.screen, SessionScreen)
            assert any("Not saved: feedback is incomplete" in str(n.message)
                       for n in app._notifications)
            assert app.focused is feedback
            assert list_sessions(services.conn(), plan_id) == []
            await pilot.press("up", "backspace", "up", "backspace")
            await pilot.pause()
            assert feedback.answers == {}
            await pilot.press("9", "9", "up", "plus", "down", "9", "9")
            await pilot.pause()
            assert feedback.answers == {"heard": 9, "mattered": 10, "approach": 9,
                                        "overall": 9}
            assert "all 4 answered, mean 9.2" in str(
                screen.query_one("#session-feedback-title", Static).render())
            draft = load_draft(services.conn(), "session", f"P{plan_id}")
            assert draft is not None and draft["feedback"]["mattered"] == 10

    run(go())


def test_feedback_and_measure_are_recovered_from_the_draft(
        make_app: Callable[[], PlanwiseApp], services: Services, plan_id: int) -> None:
    async def first() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await open_session(app, pilot, plan_id)
            await pilot.press("ctrl+f", "6", "5", "ctrl+t")
            await settle(app, pilot)
            assert isinstance(app.screen, MeasureScreen)
            choice = app.screen.query_one("#measure-choice", OptionList)
            choice.highlighted = next(i for i in range(choice.option_count)
                                      if choice.get_option_at_index(i).id == "phq9")
            await pilot.press("enter", "1", "1", "2", "1", "ctrl+s")
            await settle(app, pilot)
            # an unfinished form is not kept
            assert isinstance(app.screen, MeasureScreen)
            assert any("answered 4 of 9" in str(n.message) for n in app._notifications)
            await pilot.press(*"21010", "ctrl+s")
            await settle(app, pilot)
            assert isinstance(app.screen, SessionScreen)
            line = str(app.screen.query_one("#session-measures", Static).render())
            assert "PHQ-9 9 Mild (5-9)" in line

    run(first())
    draft = load_draft(services.conn(), "session", f"P{plan_id}")
    assert draft is not None
    assert draft["feedback"] == {"heard": 6, "mattered": 5}
    assert draft["measures"] == [["phq9", [1, 1, 2, 1, 2, 1, 0, 1, 0]]]

    async def second() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_session(app, pilot, plan_id)
            assert screen.query_one(FeedbackList).answers == {"heard": 6, "mattered": 5}
            assert screen.measures == {"phq9": [1, 1, 2, 1, 2, 1, 0, 1, 0]}
            assert "PHQ-9 9" in str(screen.query_one("#session-measures", Static).render())

    run(second())


def test_session_with_feedback_and_a_phq9_is_stored_with_its_change(
        make_app: Callable[[], PlanwiseApp], services: Services, plan_id: int) -> None:
    c = services.conn()
    client_id = c.one("SELECT client_id FROM plans WHERE id = ?", [plan_id])["client_id"]
    baseline = [m for m in list_measures(c, client_id) if m["instrument"] == "phq9"]
    assert len(baseline) == 1 and baseline[0]["source"] == "intake"

    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_session(app, pilot, plan_id)
            await pilot.press("space", "6", "ctrl+f", "8", "7", "9", "8", "ctrl+t")
            await settle(app, pilot)
            choice = app.screen.query_one("#measure-choice", OptionList)
            choice.highlighted = next(i for i in range(choice.option_count)
                                      if choice.get_option_at_index(i).id == "phq9")
            await pilot.press("enter", *"110101000", "ctrl+s")
            await settle(app, pilot)
            assert app.screen is screen
            await pilot.press("ctrl+n", *"Planned activities.", "ctrl+s")
            await settle(app, pilot)
            assert not isinstance(app.screen, SessionScreen)
            saved = [str(n.message) for n in app._notifications
                     if "Session saved" in str(n.message)]
            assert saved and "PHQ-9 4 (Minimal (0-4))" in saved[0]
            assert (f"PHQ-9 4 (Minimal (0-4)), baseline {baseline[0]['total']}: 12 points "
                    "better, reliably improved; recovered") in saved[0]
            assert "Feedback: mean 8.0, lowest 7." in saved[0]

    run(go())
    sessions = list_sessions(c, plan_id)
    assert len(sessions) == 1
    assert sessions[0]["feedback"]["answers"] == {"heard": 8, "mattered": 7, "approach": 9,
                                                  "overall": 8}
    assert [(m["instrument"], m["total"]) for m in sessions[0]["measures"]] == [("phq9", 4)]
    phq9 = [m for m in list_measures(c, client_id) if m["instrument"] == "phq9"]
    assert [m["source"] for m in phq9] == ["intake", "session"]
    assert phq9[1]["answers"] == [1, 1, 0, 1, 0, 1, 0, 0, 0]
    assert load_draft(c, "session", f"P{plan_id}") is None


def test_feedback_text_names_low_and_falling() -> None:
    assert feedback_text({"mean": 8, "lowest": 7, "low": False, "falling": False}) == \
        "Feedback: mean 8.0, lowest 7."
    assert feedback_text({"mean": 5.25, "lowest": 4, "low": True, "falling": True}) == (
        "Feedback: mean 5.2, lowest 4 (LOW, FALLING since the last session: a signal to talk "
        "about with the client).")


def test_a_measure_given_can_be_changed_or_taken_out(
        make_app: Callable[[], PlanwiseApp], services: Services, plan_id: int) -> None:
    async def choose_phq9(app: PlanwiseApp, pilot: Any) -> None:
        await pilot.press("ctrl+t")
        await settle(app, pilot)
        choice = app.screen.query_one("#measure-choice", OptionList)
        choice.highlighted = next(i for i in range(choice.option_count)
                                  if choice.get_option_at_index(i).id == "phq9")
        await pilot.press("enter")
        await settle(app, pilot)

    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_session(app, pilot, plan_id)
            await choose_phq9(app, pilot)
            await pilot.press("ctrl+d")  # not given yet: nothing to take out
            await pilot.pause()
            assert isinstance(app.screen, MeasureScreen)
            await pilot.press(*"111111111", "ctrl+s")
            await settle(app, pilot)
            assert screen.measures == {"phq9": [1] * 9}
            # again: the form opens with the answers; change the first and keep
            await choose_phq9(app, pilot)
            assert isinstance(app.screen, MeasureScreen)
            form = app.screen.form
            assert form is not None and form.values == [1] * 9
            await pilot.press("up", "up", "up", "up", "up", "up", "up", "up", "3", "ctrl+s")
            await settle(app, pilot)
            assert screen.measures == {"phq9": [3] + [1] * 8}
            # and take it out
            await choose_phq9(app, pilot)
            await pilot.press("ctrl+d")
            await settle(app, pilot)
            assert app.screen is screen and screen.measures == {}
            assert "none given" in str(screen.query_one("#session-measures", Static).render())

    run(go())
