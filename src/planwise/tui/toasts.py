"""Notifications (toasts): short, out of the way, never stale.

- They last 2 to 4 seconds by length (an error 4); what they say is also on the screen
  (a status line, an error under the field) or is a passing confirmation.
- A new one replaces those before it: an old error never stays beside the state that
  followed it.
- They show at the top right, over the title line (styles/app.tcss), never over the hint
  and status lines at the bottom.

The one exception is the start-up warning that records were changed outside planwise
(tamper evidence): it stays two minutes, beside any later toast.
"""

from __future__ import annotations

MIN_SECONDS = 2.0
MAX_SECONDS = 4.0
INFO_SECONDS = 3.0
STAY_SECONDS = 120.0
WORDS_PER_SECOND = 4.0  # a reader's pace for a short message, after the first second


def seconds(severity: str, title: str, message: str) -> float:
    if severity == "error":
        return MAX_SECONDS
    words = len(f"{title} {message}".split())
    return max(MIN_SECONDS, min(MAX_SECONDS, 1.0 + words / WORDS_PER_SECOND))


def passing(timeout: float) -> bool:
    """A toast that a newer one replaces (every toast but the tamper warning)."""
    return timeout <= MAX_SECONDS
