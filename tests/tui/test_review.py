"""Plan review in the interface: proposed changes with reasons, why, ticking and accepting
(the reason asked, a new plan version for a signed plan), and the timeline panel."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.widgets import Input, OptionList, Static

from planwise.clinical.timeline import Timeline
from planwise.kb import load_knowledge
from planwise.store.plans import history, sign
from planwise.store.sessions import add_session
from planwise.tui.app import PlanwiseApp
from planwise.tui.screens.dialogs import TextPrompt
from planwise.tui.screens.plan import PlanScreen
from planwise.tui.screens.review import ReviewScreen, ReviewWhyScreen
from planwise.tui.services import Services
from planwise.tui.widgets.review_model import timeline_lines
from tests.tui.conftest import TODAY, run, settle

FLAT_PHQ9 = [2, 2, 2, 2, 2, 2, 2, 2, 0]  # 16, as at the intake: no change


def eight_flat_sessions(services: Services, plan_id: int) -> None:
    """Eight sessions with the PHQ-9 given four times, flat at 16, and low feedback."""
    c = services.conn()
    for i in range(8):
        add_session(c, plan_id, TODAY, ["suicide_risk.safety_plan.write:2"], "Session.",
                    feedback={"heard": 5, "mattered": 5, "approach": 5, "overall": 5},
                    measures=[("phq9", FLAT_PHQ9)] if i % 2 else None,
                    instruments=services.kb.instruments)


def sign_in_full(c: Any, plan_id: int) -> None:
    """Signed by the therapist (and the supervisor when the plan needs one): a change makes
    the next version."""
    sign(c, plan_id, "therapist", "Dr Example", True)
    if c.one("SELECT requires_supervisor FROM plans WHERE id = ?", [plan_id])[
            "requires_supervisor"]:
        sign(c, plan_id, "supervisor", "Dr Super", True)


def test_review_accept_makes_version_2_with_the_reason(
        make_app: Callable[[], PlanwiseApp], services: Services, plan_id: int) -> None:
    eight_flat_sessions(services, plan_id)
    c = services.conn()
    sign_in_full(c, plan_id)

    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(app, pilot)
            app.open_plan(plan_id)
            await settle(app, pilot)
            await pilot.press("r")
            await settle(app, pilot)
            screen = app.screen
            assert isinstance(screen, ReviewScreen)
            assert screen.review is not None
            ids = [ch.id for ch in screen.review.changes]
            assert "refer:depression:psychiatry" in ids
            head = str(screen.query_one("#review-head", Static).render())
            assert "8 sessions of 12 used" in head and f"{len(ids)} changes proposed" in head
            # the first change's reason under the list
            detail = str(screen.query_one("#review-detail", Static).render())
            assert screen.review.changes[0].reason[:40] in detail
            # why: the rule, what it says, its source, the facts
            index = ids.index("refer:depression:psychiatry")
            screen.query_one("#review-changes", OptionList).highlighted = index
            await pilot.press("w")
            await pilot.pause()
            assert isinstance(app.screen, ReviewWhyScreen)
            why = str(app.screen.query_one("#review-why-text", Static).render())
            assert "rule review.depression.no_change_psychiatry" in why
            assert "the rule says:" in why and "Source: NICE NG222" in why
            assert "16 at baseline, 16 now" in why
            await pilot.press("escape")
            await pilot.pause()
            assert app.screen is screen
            # nothing ticked: Ctrl+S asks for a tick
            await pilot.press("ctrl+s")
            await pilot.pause()
            assert any("Tick the changes" in str(n.message) for n in app._notifications)
            await pilot.press("space")
            await pilot.pause()
            assert screen.ticked == {"refer:depression:psychiatry"}
            assert "[x] Refer to" in str(
                screen.query_one("#review-changes", OptionList).get_option_at_index(
                    index).prompt)
            await pilot.press("ctrl+s")
            await pilot.pause()
            assert isinstance(app.screen, TextPrompt)
            await pilot.press(*"no change after 8", "enter")
            await settle(app, pilot)
            assert app.screen is screen
            assert any("version 2 saved with the reason" in str(n.message)
                       for n in app._notifications)
            # the review ran again against version 2: the referral is in the plan now
            assert screen.review is not None
            assert "refer:depression:psychiatry" not in [ch.id for ch in screen.review.changes]
            await pilot.press("escape")
            await settle(app, pilot)
            assert isinstance(app.screen, PlanScreen)
            assert app.screen.view is not None and app.screen.view.version == 2

    run(go())
    versions = history(services.conn(), plan_id)
    assert [v["version"] for v in versions] == [1, 2]
    assert versions[-1]["reason"] == "no change after 8"
    doc_referrals = services.conn().query(
        "SELECT data FROM plan_items pi JOIN plan_versions pv ON pv.id = pi.version_id "
        "WHERE pv.plan_id = ? AND pv.version = 2 AND pi.kind = 'referral'", [plan_id])
    assert any("psychiatry" in r["data"] for r in doc_referrals)


def test_review_reason_is_required_and_cancel_saves_nothing(
        make_app: Callable[[], PlanwiseApp], services: Services, plan_id: int) -> None:
    eight_flat_sessions(services, plan_id)

    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(app, pilot)
            app.review_plan(plan_id)
            await settle(app, pilot)
            screen = app.screen
            assert isinstance(screen, ReviewScreen) and screen.review is not None
            await pilot.press("a")
            await pilot.pause()
            assert len(screen.ticked) == len(screen.review.changes)
            await pilot.press("ctrl+s")
            await pilot.pause()
            assert isinstance(app.screen, TextPrompt)
            await pilot.press("enter")  # empty: refused
            await pilot.pause()
            assert isinstance(app.screen, TextPrompt)
            assert app.screen.query_one(Input).value == ""
            await pilot.press("escape")
            await settle(app, pilot)
            assert app.screen is screen
            await pilot.press("a")
            await pilot.pause()
            assert screen.ticked == set()

    run(go())
    assert [v["version"] for v in history(services.conn(), plan_id)] == [1]
    assert services.conn().one("SELECT count(*) AS n FROM audit WHERE action = "
                               "'plan.review'")["n"] == 0


def test_timeline_panel_lines() -> None:
    import datetime as dt

    from planwise.clinical.timeline import OpenObjective

    tl = Timeline(plan="P1", today=dt.date(2027, 1, 10), start_date=dt.date(2026, 11, 29),
                  weeks_in=6, sessions_used=12, session_limit=12, sessions_left=0,
                  objectives=[OpenObjective(key="depression.activity.monitor",
                                            target_date=dt.date(2026, 12, 13), overdue=True,
                                            days=-28),
                              OpenObjective(key="depression.thinking.balance")],
                  warnings=["the authorised limit is used up (12 of 12) with 2 objectives "
                            "still open: ask the payer for more sessions, or plan the ending"])
    lines = timeline_lines(tl)
    assert lines[0] == "Sessions: 12 of 12 used, 0 left"
    assert lines[1].startswith("! WARNING: the authorised limit is used up")
    assert "2026-12-13 OVERDUE 28d" in "\n".join(lines)
    assert lines[-1].split() == ["no", "date", "depression.thinking.balance"]  # no text
    assert all(len(line) <= 78 for line in lines)
    named = timeline_lines(tl, {"depression.thinking.balance": "Weigh the evidence for "
                                "and against one upsetting thought each week, in writing"})
    assert named[-1].split()[:4] == ["no", "date", "Weigh", "the"]
    assert named[-1].endswith("\u2026") and len(named[-1]) <= 78
    assert load_knowledge() is not None


def test_course_from_the_plan_through_sessions_and_scores_to_an_accepted_review(
        make_app: Callable[[], PlanwiseApp], services: Services, plan_id: int) -> None:
    """The whole course by keyboard: eight session notes (feedback each time, the PHQ-9
    every other one), the scores chart, the review, its referral accepted into v2."""
    from planwise.store.sessions import list_sessions
    from planwise.tui.screens.client import ClientScreen
    from planwise.tui.screens.measure import MeasureScreen
    from planwise.tui.screens.scores import ScoresScreen
    from planwise.tui.screens.session import SessionScreen

    c = services.conn()
    client_id = c.one("SELECT client_id FROM plans WHERE id = ?", [plan_id])["client_id"]
    sign_in_full(c, plan_id)

    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(app, pilot)
            app.open_client(client_id)
            await settle(app, pilot)
            for n in range(1, 9):
                await pilot.press("s")
                await settle(app, pilot)
                assert isinstance(app.screen, SessionScreen)
                await pilot.press("5", "ctrl+f", "5", "5", "6", "5")
                if n % 2 == 0:
                    await pilot.press("ctrl+t")
                    await settle(app, pilot)
                    assert isinstance(app.screen, MeasureScreen)
                    choice = app.screen.query_one("#measure-choice", OptionList)
                    choice.highlighted = next(i for i in range(choice.option_count)
                                              if choice.get_option_at_index(i).id == "phq9")
                    await pilot.press("enter", *"222222220", "ctrl+s")
                    await settle(app, pilot)
                await pilot.press("ctrl+n", *f"Session {n}.", "ctrl+s")
                await settle(app, pilot)
                assert isinstance(app.screen, ClientScreen), n
            await pilot.press("g")
            await settle(app, pilot)
            assert isinstance(app.screen, ScoresScreen)
            assert "[PHQ-9 (5)]" in str(app.screen.query_one("#scores-tabs", Static).render())
            await pilot.press("escape", "r")
            await settle(app, pilot)
            screen = app.screen
            assert isinstance(screen, ReviewScreen) and screen.review is not None
            ids = [ch.id for ch in screen.review.changes]
            assert "refer:depression:psychiatry" in ids and "review_alliance::" in ids
            screen.query_one("#review-changes", OptionList).highlighted = ids.index(
                "refer:depression:psychiatry")
            await pilot.press("space", "ctrl+s", *"no reliable change after 8", "enter")
            await settle(app, pilot)
            assert any("version 2 saved with the reason" in str(n.message)
                       for n in app._notifications)

    run(go())
    sessions = list_sessions(c, plan_id)
    assert len(sessions) == 8
    assert all(s["feedback"]["answers"]["approach"] == 6 for s in sessions)
    assert [len(s["measures"]) for s in sessions] == [0, 1] * 4
    versions = history(c, plan_id)
    assert [v["version"] for v in versions] == [1, 2]
    assert versions[-1]["reason"] == "no reliable change after 8"


def test_review_recorded_with_no_changes(
        make_app: Callable[[], PlanwiseApp], services: Services, plan_id: int) -> None:
    eight_flat_sessions(services, plan_id)

    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(app, pilot)
            app.open_plan(plan_id)
            await settle(app, pilot)
            await pilot.press("r")
            await settle(app, pilot)
            screen = app.screen
            assert isinstance(screen, ReviewScreen)
            await pilot.press("n")
            await pilot.pause()
            assert isinstance(app.screen, TextPrompt)
            await pilot.press("escape")                 # cancelled: nothing recorded
            await settle(app, pilot)
            assert services.conn().query(
                "SELECT * FROM audit WHERE action = 'plan.review'") == []
            await pilot.press("n")
            await pilot.pause()
            await pilot.press("enter")
            await settle(app, pilot)
            assert app.screen is screen
            assert any("review recorded, no changes" in str(n.message)
                       for n in app._notifications)

    run(go())
    rows = services.conn().query("SELECT detail FROM audit WHERE action = 'plan.review'")
    assert len(rows) == 1 and '"accepted": []' in rows[0]["detail"]
    assert [v["version"] for v in history(services.conn(), plan_id)] == [1]


def ash(services: Services) -> int:
    """The demo's Ash: nine weeks into the plan, objectives overdue, PHQ-9 flat; signed."""
    from planwise.tui.demo import seed

    seed(services)
    sign(services.conn(), 1, "therapist", "Dr Example", True)
    return 1


def option_texts(screen: ReviewScreen) -> list[str]:
    changes = screen.query_one("#review-changes", OptionList)
    return [str(changes.get_option_at_index(i).prompt) for i in range(changes.option_count)]


def test_review_names_objectives_by_their_text(
        make_app: Callable[[], PlanwiseApp], services: Services) -> None:
    """Before: "Objective depression.activity.monitor: revise it", and the timeline listed
    objective keys."""
    plan_id = ash(services)
    doc = services.plan_view(plan_id).doc
    texts = {o.key: o.text for p in doc.problems for g in p.goals for o in g.objectives}

    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(app, pilot)
            app.review_plan(plan_id)
            await settle(app, pilot)
            screen = app.screen
            assert isinstance(screen, ReviewScreen) and screen.review is not None
            ids = [ch.id for ch in screen.changes]
            revise = "revise_objective:depression.activity.monitor:revise"
            assert revise in ids
            shown = option_texts(screen)
            line = shown[ids.index(revise)]
            assert line.startswith("[ ] Objective \u201cRecord daily activities")
            assert line.endswith(": new target date") and len(line) <= 76
            assert not [s for s in shown for key in texts if key in s]
            screen.query_one("#review-changes", OptionList).highlighted = ids.index(revise)
            await pilot.pause()
            detail = str(screen.query_one("#review-detail", Static).render())
            assert f"Objective \u201c{texts['depression.activity.monitor']}\u201d is " in detail
            timeline = str(screen.query_one("#review-timeline-text", Static).render())
            assert texts["depression.activity.monitor"][:30] in timeline
            assert not [key for key in texts if key in timeline]
            await pilot.press("w")
            await pilot.pause()
            why = str(app.screen.query_one("#review-why-text", Static).render())
            assert why.startswith("Why: Objective \u201cRecord daily activities")

    run(go())


def test_unticked_changes_stay_after_accepting_another_and_the_status_fits(
        make_app: Callable[[], PlanwiseApp], services: Services) -> None:
    """Before: accepting one change re-ran the review on the new version, which (the
    revision counting as a review) no longer proposed the alliance review left unticked:
    it vanished. And the status line, saying what was saved, ran past 80 columns and was
    cut off."""
    plan_id = ash(services)

    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(app, pilot)
            app.review_plan(plan_id)
            await settle(app, pilot)
            screen = app.screen
            assert isinstance(screen, ReviewScreen)
            before = [ch.id for ch in screen.changes]
            assert "review_alliance::" in before
            changes = screen.query_one("#review-changes", OptionList)
            changes.highlighted = before.index("refer:depression:psychiatry")
            await pilot.press("space", "ctrl+s", *"no change after 8", "enter")
            await settle(app, pilot)
            await settle(app, pilot)
            assert screen.saved is not None and screen.saved["version"] == 2
            after = [ch.id for ch in screen.changes]
            assert "review_alliance::" not in [ch.id for ch in screen.data["review"].changes]
            assert "review_alliance::" in after and "review_alliance::" in screen.carried
            assert set(before) - {"refer:depression:psychiatry"} <= set(after)
            assert screen.ticked == set()
            head = screen.query_one("#review-head", Static)
            lines = str(head.render()).splitlines()
            assert lines[-1] == ("Saved: 1 change accepted; P1 version 2 saved with the "
                                 "reason")
            assert "(1 from before the last accept)" in lines[1]
            assert len(lines) <= head.size.height
            assert all(len(line) <= head.size.width for line in lines)
            # the carried change is accepted like any other
            changes.highlighted = after.index("review_alliance::")
            await pilot.pause()
            assert str(screen.query_one("#review-detail", Static).render()).startswith(
                "(Proposed before the last accept.)")
            await pilot.press("space", "ctrl+s", *"the alliance first", "enter")
            await settle(app, pilot)
            await settle(app, pilot)
            assert screen.saved is not None and screen.saved["accepted"] == [
                "review_alliance::"]
            assert screen.saved["changed"] and screen.saved["version"] == 2  # a draft now

    run(go())
    versions = history(services.conn(), plan_id)
    assert [v["version"] for v in versions] == [1, 2]
    doc = services.plan_view(plan_id).doc
    assert any("alliance" in i.text.lower() for p in doc.problems for g in p.goals
               for i in g.interventions)
