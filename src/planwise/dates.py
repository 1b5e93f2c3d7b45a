"""Today's date for planwise: the system's, or PLANWISE_TODAY (YYYY-MM-DD) so that tests,
snapshots and worked examples give the same output on any day. One definition for the
interface and every command."""

from __future__ import annotations

import datetime as dt
import os

from planwise.errors import InputError


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
