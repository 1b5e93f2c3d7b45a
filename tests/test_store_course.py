"""A plan's Course from the store: objectives, treatment, sessions, ratings, scores, feedback."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from planwise.store import Store, plans
from planwise.store.course import load_course
from tests.test_store_helpers import Runner, with_drafted_plan

OBJ = "depression.activity.monitor"
OBJ2 = "suicide_risk.safety_plan.write"
FEEDBACK = "heard=8,mattered=7,approach=9,overall=8"


@pytest.fixture()
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Runner:
    monkeypatch.setenv("PLANWISE_TODAY", "2027-06-01")  # the measures below are in the past
    r = with_drafted_plan(tmp_path, monkeypatch)
    r.ok("session", "add", "P1", "--date", "2026-12-06", "--objective", f"{OBJ}:3",
         "--objective", OBJ2, "--note", "n", "--feedback", FEEDBACK,
         "--measure", "phq9=2,2,2,2,1,2,2,1,0")
    r.ok("session", "add", "P1", "--date", "2026-12-13", "--objective", f"{OBJ2}:9",
         "--objective", f"{OBJ}:5", "--note", "n", "--feedback",
         "heard=4,mattered=7,approach=9,overall=8")
    r.ok("measure", "add", "C1", "phq9", "--answers", "1,1,1,1,1,1,1,1,0", "--date",
         "2026-12-20")
    r.ok("session", "add", "P1", "--date", "2027-01-10", "--objective", f"{OBJ}:8",
         "--note", "n", "--measure", "gad7=1,1,1,1,1,1,1")
    return r


def course(run: Runner, day: str = "2027-01-31", plan: int = 1):  # type: ignore[no-untyped-def]
    with Store(run.db).connect() as c:
        return load_course(c, plan, dt.date.fromisoformat(day))


def test_course_of_a_drafted_plan(run: Runner) -> None:
    co = course(run)
    assert (co.plan, co.today, co.start_date, co.version) == ("P1", dt.date(2027, 1, 31),
                                                              dt.date(2026, 11, 29), 1)
    assert co.last_review is None
    assert (co.sessions_used, co.session_limit) == (3, 12)
    assert (co.frequency_per_week, co.level_of_care, co.review_weeks) == (1, "outpatient", 6)
    assert co.risk_level == "low"
    assert co.problems == {"suicide_risk": "mild", "depression": "severe",
                           "alcohol_use": "moderate"}
    assert {"cbt", "behavioural_activation", "safety_planning"} <= set(co.modalities)
    assert co.referrals == ["primary_care", "mutual_help"]
    objectives = {o.key: o for o in co.objectives}
    with Store(run.db).connect() as c:
        doc = plans.load_doc_for(c, 1)
    assert len(objectives) == sum(len(g.objectives) for p in doc.problems for g in p.goals) > 20
    o = objectives[OBJ]
    assert (o.goal, o.condition, o.status) == ("depression.activity", "depression", "open")
    assert o.target_date == dt.date(2026, 12, 13)  # the plan's anticipated date
    assert o.ratings == [3, 5, 8]  # session order; an unrated mention adds nothing
    assert objectives[OBJ2].ratings == [9]


def test_scores_per_instrument_with_session_numbers(run: Runner) -> None:
    series = {s.instrument: s for s in course(run).measures}
    assert set(series) == {"phq9", "gad7", "audit", "asq"}
    phq9 = series["phq9"].points
    assert [(p.date.isoformat(), p.total, p.session) for p in phq9] == [
        ("2026-11-29", 16, None), ("2026-12-06", 14, 1), ("2026-12-20", 8, None)]
    assert phq9[0].flags == ["item9_positive"] and phq9[1].flags == []
    assert phq9[1].band == "moderate"
    assert [(p.total, p.session) for p in series["gad7"].points] == [(7, 3)]


def test_feedback_in_session_order(run: Runner) -> None:
    fb = course(run).feedback
    assert [f.session for f in fb] == [1, 2]
    assert fb[1].answers == {"heard": 4, "mattered": 7, "approach": 9, "overall": 8}


def test_records_after_today_are_left_out(run: Runner) -> None:
    co = course(run, "2026-12-13")
    assert co.sessions_used == 2
    assert {o.key: o.ratings for o in co.objectives}[OBJ] == [3, 5]
    assert [p.total for s in co.measures if s.instrument == "phq9" for p in s.points] == [16, 14]
    assert "gad7" not in {s.instrument for s in co.measures}
    assert len(course(run, "2026-12-01").feedback) == 0


def test_rejected_items_and_a_revision(run: Runner) -> None:
    with Store(run.db).connect() as c:
        doc = plans.load_doc_for(c, 1)
        for p in doc.problems:
            for g in p.goals:
                if g.key == "depression.activity":
                    g.origin, g.rejection_reason = "proposed_rejected", "not now"
        doc.referrals[0].origin = "proposed_rejected"
        doc.referrals[0].rejection_reason = "has a GP already"
        assert doc.treatment is not None
        doc.treatment.frequency_per_week = 2
        plans.save_doc(c, 1, doc)
    run.ok("plan", "sign", "P1", "--role", "therapist", "--name", "A. Clinician", "--force")
    co = course(run)
    keys = {o.key for o in co.objectives}
    assert OBJ not in keys and "depression.activity.schedule" not in keys and OBJ2 in keys
    assert co.referrals == ["mutual_help"] and co.frequency_per_week == 2
    assert co.last_review is None and co.version == 1
    with Store(run.db).connect() as c:
        doc = plans.load_doc_for(c, 1)
        doc.risk_level = "moderate"
        plans.save_doc(c, 1, doc, "risk reassessed")
    co = course(run)
    assert co.version == 2 and co.risk_level == "moderate"
    assert co.last_review == dt.date.fromisoformat(
        run.rows("SELECT created_at FROM plan_versions WHERE version = 2")[0]["created_at"][:10])


def test_unknown_plan(run: Runner) -> None:
    from planwise.errors import InputError

    with pytest.raises(InputError, match="no plan P9"), Store(run.db).connect() as c:
        load_course(c, 9, dt.date(2027, 1, 1))


def test_risk_history_gives_each_versions_level_from_the_day_it_took_effect(
        run: Runner, monkeypatch: pytest.MonkeyPatch) -> None:
    assert [(e.date, e.level) for e in course(run).risk_history] == [
        (dt.date(2026, 11, 29), "low")]
    with Store(run.db).connect() as c:
        plans.sign(c, 1, "therapist", "A. Clinician", force=True)
        plans.sign(c, 1, "client", "J. Client", force=True)
        doc = plans.load_doc_for(c, 1)
        doc.risk_level = "none"
        plans.save_doc(c, 1, doc, reason="risk reassessed: no ideation for six weeks")
    history = course(run, "2027-06-01").risk_history
    assert [e.level for e in history] == ["low", "none"]
    assert history[0].date == dt.date(2026, 11, 29)
    assert history[1].date >= history[0].date
