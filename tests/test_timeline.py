"""The plan timeline: sessions used and left, open objectives by date, coverage warning."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from planwise.clinical.course import Course, ObjectiveCourse
from planwise.clinical.timeline import render_text, timeline
from tests.test_store_helpers import Runner, with_drafted_plan

TODAY = dt.date(2027, 1, 4)


def course(used: int, limit: int | None, dues: list[dt.date | None], freq: int = 1,
           statuses: list[str] | None = None) -> Course:
    statuses = statuses or ["open"] * len(dues)
    return Course(plan="P1", today=TODAY, start_date=dt.date(2026, 11, 30), sessions_used=used,
                  session_limit=limit, frequency_per_week=freq,
                  objectives=[ObjectiveCourse(key=f"o{n}", target_date=d, status=s)
                              for n, (d, s) in enumerate(zip(dues, statuses, strict=True))])


def weeks(n: int) -> dt.date:
    return TODAY + dt.timedelta(weeks=n)


def test_enough_sessions_no_warning_and_objectives_sorted() -> None:
    tl = timeline(course(4, 12, [weeks(6), dt.date(2026, 12, 21), None, weeks(2)]))
    assert (tl.sessions_used, tl.session_limit, tl.sessions_left) == (4, 12, 8)
    assert tl.weeks_in == 5
    assert [o.key for o in tl.objectives] == ["o1", "o3", "o0", "o2"]  # undated last
    assert [o.overdue for o in tl.objectives] == [True, False, False, False]
    assert tl.objectives[0].days == -14
    assert tl.sessions_needed == 6 and tl.last_session_by == weeks(8)
    assert tl.warnings == []
    text = render_text(tl)
    assert "sessions: 4 of 12 used, 8 left" in text
    assert "o1\tdue 2026-12-21  OVERDUE by 14 days" in text
    assert "o2\tno anticipated date" in text and "warning" not in text


def test_sessions_left_cannot_reach_the_latest_objective() -> None:
    tl = timeline(course(10, 12, [weeks(1), weeks(6)]))
    assert tl.sessions_left == 2 and tl.sessions_needed == 6
    assert len(tl.warnings) == 1
    w = tl.warnings[0]
    assert "2 sessions left at 1 a week" in w and "o1, due 2027-02-15" in w
    assert "needs about 6" in w
    assert "warning: " in render_text(tl)


def test_frequency_counts_sessions_per_week() -> None:
    # 4 sessions left at 2 a week last 2 weeks; an objective 3 weeks away needs 6.
    tl = timeline(course(8, 12, [weeks(3)], freq=2))
    assert tl.last_session_by == weeks(2) and tl.sessions_needed == 6
    assert tl.warnings and "at 2 a week" in tl.warnings[0]
    assert timeline(course(8, 12, [weeks(2)], freq=2)).warnings == []


def test_limit_used_up_with_open_objectives() -> None:
    tl = timeline(course(13, 12, [weeks(2)]))
    assert tl.sessions_left == -1
    assert tl.warnings == ["the authorised limit is used up (13 of 12, 1 session over) with "
                           "1 objective still open: ask the payer for more sessions, or plan "
                           "the ending"]
    assert "1 over the limit" in render_text(tl)


def test_closed_objectives_and_no_limit_give_no_warning() -> None:
    tl = timeline(course(12, 12, [weeks(4), weeks(9)], statuses=["met", "discontinued"]))
    assert tl.objectives == [] and tl.closed == 2 and tl.warnings == []
    tl = timeline(course(30, None, [weeks(40)]))
    assert tl.sessions_left is None and tl.warnings == []
    assert "no authorised limit recorded" in render_text(tl)


@pytest.mark.parametrize("status", ["open", "partially_met"])
def test_open_statuses(status: str) -> None:
    tl = timeline(course(0, 12, [weeks(1)], statuses=[status]))
    assert [o.status for o in tl.objectives] == [status]


def test_timeline_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLANWISE_TODAY", "2026-12-31")  # sessions are not dated ahead
    run: Runner = with_drafted_plan(tmp_path, monkeypatch)
    for n in range(10):
        run.ok("session", "add", "P1", "--date", f"2026-12-{1 + n:02d}", "--objective",
               "depression.activity.monitor:3", "--note", "n")
    out = run.ok("timeline", "P1", "--date", "2026-12-20")
    assert out.startswith("P1 timeline on 2026-12-20: week 3 since the start (2026-11-29)")
    assert "sessions: 10 of 12 used, 2 left" in out
    assert "suicide_risk.safety_plan.write\tdue 2026-12-06  OVERDUE by 14 days" in out
    assert "warning: the 2 sessions left at 1 a week" in out
    data = json.loads(run.ok("timeline", "P1", "--date", "2026-12-05", "--format", "json"))
    assert data["sessions_used"] == 5 and data["sessions_left"] == 7  # later ones left out
    assert data["objectives"][0]["key"] == "suicide_risk.safety_plan.write"
    assert data["objectives"][0]["overdue"] is False
    assert data["warnings"]  # 7 left cannot reach the last objective (2027-02-21)
    assert "before session" not in run.fails("timeline", "P1", "--date", "someday")


def test_overdue_as_the_review_counts_it() -> None:
    past, later = dt.date(2026, 12, 21), weeks(20)
    co = course(2, 12, [past, past, past, later])
    co.objectives[0].ratings = [7, 3]   # last rating low: overdue
    co.objectives[1].ratings = [3, 6]   # past its date but on the way: not overdue
    co.objectives[3].ratings = [10]     # rated met: shown, not counted for coverage
    tl = timeline(co)
    by_key = {o.key: o for o in tl.objectives}
    assert [by_key[k].overdue for k in ("o0", "o1", "o2")] == [True, False, True]
    assert by_key["o3"].rated_met and by_key["o3"].last_rating == 10
    assert tl.warnings == []  # the objective 20 weeks away is rated met
    text = render_text(tl)
    assert "o1\tdue 2026-12-21  14 days ago, last rated 6/10" in text
    assert "o0\tdue 2026-12-21  OVERDUE by 14 days, last rated 3/10" in text
    assert "last rated 10/10 (mark it met)" in text
