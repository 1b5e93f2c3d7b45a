"""A plan's timeline: sessions used and left against the authorised limit, the open
objectives with their anticipated dates, and whether the sessions left can cover them.

`timeline(course) -> Timeline` is pure (it reads a `planwise.clinical.course.Course`);
`render_text(tl)` writes it for the terminal. `planwise timeline PLAN` prints it.

An objective is *overdue* as the review and the caseload count it
(planwise.clinical.review_facts): its date has passed and its last progress rating is
low (or there is none). One last rated 10/10 is shown but not counted below.

The coverage check: at the plan's frequency (sessions per week), the sessions
left last `ceil(left / frequency)` weeks from today (the next session a week
away). When the latest anticipated date of an open objective falls after the
week of the last session, the
remaining sessions cannot cover the plan as written, and the timeline says so
(with the sessions that would be needed). When the limit is used up while
objectives are still open, it says that instead. Without a recorded limit there
is nothing to check.
"""

from __future__ import annotations

import datetime as dt
import math

from pydantic import BaseModel, ConfigDict

from planwise.clinical.course import Course
from planwise.clinical.review_facts import MET_RATING, OPEN_STATUSES, OVERDUE_RATING_BELOW

__all__ = ["OPEN_STATUSES", "OpenObjective", "Timeline", "render_text", "timeline"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)


class OpenObjective(_Model):
    key: str
    condition: str = ""
    status: str = "open"
    target_date: dt.date | None = None
    overdue: bool = False    # past its date with a low last rating (or none): as the review
    days: int | None = None  # days from today to the target date (negative: past it)
    last_rating: int | None = None
    rated_met: bool = False  # last rated 10/10: the review proposes marking it met


class Timeline(_Model):
    plan: str
    today: dt.date
    start_date: dt.date
    weeks_in: int
    sessions_used: int
    session_limit: int | None = None
    sessions_left: int | None = None       # negative: over the limit
    frequency_per_week: int = 1
    last_session_by: dt.date | None = None  # when the sessions left run out at the frequency
    sessions_needed: int | None = None     # to reach the latest open objective's date
    objectives: list[OpenObjective] = []   # open ones, soonest first, undated last
    closed: int = 0                        # objectives met, not met, discontinued, ...
    warnings: list[str] = []


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def timeline(course: Course) -> Timeline:
    today = course.today
    open_: list[OpenObjective] = []
    closed = 0
    for o in course.objectives:
        if o.status not in OPEN_STATUSES:
            closed += 1
            continue
        days = None if o.target_date is None else (o.target_date - today).days
        last = o.ratings[-1] if o.ratings else None
        met = last is not None and last >= MET_RATING
        low = last is None or last < OVERDUE_RATING_BELOW
        open_.append(OpenObjective(
            key=o.key, condition=o.condition, status=o.status, target_date=o.target_date,
            overdue=days is not None and days < 0 and low and not met, days=days,
            last_rating=last, rated_met=met))
    open_.sort(key=lambda o: (o.target_date is None, o.target_date or today, o.key))
    freq = max(1, course.frequency_per_week)
    limit = course.session_limit
    left = None if limit is None else limit - course.sessions_used
    dated = [o.target_date for o in open_ if o.target_date is not None and not o.rated_met]
    latest = max(dated) if dated else None
    warnings: list[str] = []
    last_by = needed = None
    if left is not None:
        if left > 0:
            last_by = today + dt.timedelta(weeks=math.ceil(left / freq))
        if latest is not None and latest > today:
            weeks = math.ceil((latest - today).days / 7)
            needed = weeks * freq
        if left <= 0 and open_:
            over = "" if left == 0 else f", {_plural(-left, 'session')} over"
            warnings.append(
                f"the authorised limit is used up ({course.sessions_used} of {limit}{over}) "
                f"with {_plural(len(open_), 'objective')} still open: ask the payer for more "
                "sessions, or plan the ending")
        elif left > 0 and latest is not None and last_by is not None and needed is not None \
                and needed > left:
            key = next(o.key for o in reversed(open_)
                       if o.target_date == latest and not o.rated_met)
            warnings.append(
                f"the {_plural(left, 'session')} left at {freq} a week run out by about "
                f"{last_by}, before the latest open objective ({key}, due {latest}); "
                f"reaching it needs about {needed}: ask for more sessions, bring the dates "
                "forward, or revise the objectives")
    return Timeline(
        plan=course.plan, today=today, start_date=course.start_date,
        weeks_in=max(0, (today - course.start_date).days // 7),
        sessions_used=course.sessions_used, session_limit=limit, sessions_left=left,
        frequency_per_week=course.frequency_per_week, last_session_by=last_by,
        sessions_needed=needed, objectives=open_, closed=closed, warnings=warnings)


def render_text(tl: Timeline) -> str:
    lines = [f"{tl.plan} timeline on {tl.today}: week {tl.weeks_in} since the start "
             f"({tl.start_date}), {tl.frequency_per_week} session"
             f"{'' if tl.frequency_per_week == 1 else 's'} a week"]
    if tl.session_limit is None:
        lines.append(f"sessions: {tl.sessions_used} used; no authorised limit recorded")
    else:
        left = tl.sessions_left or 0
        state = (f"{left} left" if left >= 0 else f"{-left} over the limit")
        lines.append(f"sessions: {tl.sessions_used} of {tl.session_limit} used, {state}"
                     + (f" (at this frequency the last one is around {tl.last_session_by})"
                        if tl.last_session_by else ""))
    if tl.objectives:
        lines.append(f"open objectives ({len(tl.objectives)}; {tl.closed} closed), soonest first:")
        for o in tl.objectives:
            if o.target_date is None:
                when = "no anticipated date"
            elif o.overdue:
                when = f"due {o.target_date}  OVERDUE by {_plural(-(o.days or 0), 'day')}"
            elif o.days is not None and o.days < 0:
                when = f"due {o.target_date}  {_plural(-o.days, 'day')} ago"
            else:
                soon = f"in {_plural(o.days, 'day')}" if o.days else "today"
                when = f"due {o.target_date}  {soon}"
            if o.last_rating is not None:
                when += f", last rated {o.last_rating}/10" + (
                    " (mark it met)" if o.rated_met else "")
            status = "" if o.status == "open" else f" ({o.status.replace('_', ' ')})"
            lines.append(f"  {o.key}{status}\t{when}")
    else:
        lines.append(f"no open objectives ({tl.closed} closed)")
    for w in tl.warnings:
        lines.append(f"warning: {w}")
    return "\n".join(lines)
