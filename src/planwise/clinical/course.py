"""A plan's course so far: what the review rules read.

`Course` is everything the progress review needs about one plan on one day,
gathered from the store (`planwise.store.course.load_course`) or written by
hand in a trajectory fixture (`tests/fixtures/trajectories/*.toml`). The review
(`planwise.review`) turns it into progress facts and runs the review rules over
them; nothing here touches the database or the rule engine.
"""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)


class Point(_Model):
    """One score of one instrument on one day (the first point is the baseline)."""

    date: dt.date
    total: int
    band: str = ""
    flags: list[str] = []
    session: int | None = None  # the session number it was given at, when it was


class Series(_Model):
    instrument: str
    points: list[Point] = Field(min_length=1)


class ObjectiveCourse(_Model):
    """An objective of the plan's current version and what the sessions said of it."""

    key: str
    goal: str = ""
    condition: str = ""
    target_date: dt.date | None = None  # the anticipated completion date
    status: str = "open"                # open | met | partially_met | not_met | revised | ...
    ratings: list[int] = []             # progress ratings 0-10, in session order


class RiskEntry(_Model):
    """The plan's risk level from a day on: one plan version's date and its level."""

    date: dt.date
    level: str  # none | low | moderate | high | unassessed


class FeedbackEntry(_Model):
    """End-of-session feedback: item id -> 0..10 (knowledge/feedback.toml)."""

    session: int
    answers: dict[str, int]


class Course(_Model):
    plan: str = "P0"
    today: dt.date
    start_date: dt.date
    version: int = 1
    sessions_used: int = 0
    session_limit: int | None = None
    frequency_per_week: int = 1
    level_of_care: str = "outpatient"
    review_weeks: int = 12
    last_review: dt.date | None = None       # the current version's date when it is a revision
    sessions_since_review: int | None = None  # held after the last review; None: all of them
    risk_level: str = "none"                 # the plan's risk level
    # The plan's risk level by version, oldest first, as the store keeps it; empty when
    # only `risk_level` is known (planwise.clinical.review_facts then counts from the start, or
    # for a revision from `last_review`, the conservative reading).
    risk_history: list[RiskEntry] = []
    problems: dict[str, str] = {}            # condition -> severity
    modalities: list[str] = []               # modalities of the plan's interventions
    referrals: list[str] = []                # referral kinds already in the plan
    objectives: list[ObjectiveCourse] = []
    measures: list[Series] = []
    feedback: list[FeedbackEntry] = []
