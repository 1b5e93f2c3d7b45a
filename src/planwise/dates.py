"""Today's date for planwise: the system's, or PLANWISE_TODAY (YYYY-MM-DD) so that tests,
snapshots and worked examples give the same output on any day. One definition for the
interface and every command.

Also the range of a record's date. A record (an intake, a session, a measure, a
recorded review, a plan's start, a signature) is dated when it happens, so never
after today, and never before FLOOR: a date like 9999-12-31 or 0001-01-01 is a
typo that would otherwise order every later record after it (a session dated
2207 blocked every later session of its plan) or overflow date arithmetic.
`check_record_date` gives every such refusal the same shape.
"""

from __future__ import annotations

import datetime as dt
import os

from planwise.errors import InputError

FLOOR = dt.date(1900, 1, 1)
LOOK_AHEAD_DAYS = 36524  # a hundred years


def today() -> dt.date:
    fixed = os.environ.get("PLANWISE_TODAY")
    if not fixed:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(fixed.strip())
    except ValueError:
        raise InputError("PLANWISE_TODAY must be a date like 2027-01-10") from None


def parse_date(text: str, option: str = "--date") -> dt.date:
    """A date given on the command line (YYYY-MM-DD); InputError naming the option."""
    try:
        return dt.date.fromisoformat(str(text).strip())
    except ValueError:
        raise InputError(f"{option} must be a date like 2027-01-10") from None


def check_record_date(day: dt.date, *, option: str | None = None,
                      why: str = "a record is dated on or before the day it is made",
                      file: str | None = None, field: str | None = None) -> dt.date:
    """`day` when it is between FLOOR and today, else InputError naming the option (or the
    file and field): `--date 2031-01-01 is after today (2027-06-01): <why>`."""
    label = f"{option} " if option else ""
    now = today()
    if day > now:
        raise InputError(f"{label}{day} is after today ({now}): {why}", file=file, field=field)
    if day < FLOOR:
        raise InputError(f"{label}{day} is before {FLOOR}, the earliest date planwise records",
                         file=file, field=field)
    return day


def check_view_date(day: dt.date, option: str = "--date") -> dt.date:
    """A day to look from (a timeline, a review, the caseload as of then) may be ahead, but
    within a century: 9999-12-31 overflowed the timeline's date arithmetic."""
    now = today()
    if day < FLOOR or (day - now).days > LOOK_AHEAD_DAYS:
        raise InputError(f"{option} {day} is out of range: give a date from {FLOOR} to "
                         f"{now + dt.timedelta(days=LOOK_AHEAD_DAYS)}")
    return day
