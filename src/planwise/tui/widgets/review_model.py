"""What the review screen shows, as plain functions (tested without an app): a change's
one-line headline, its explanation (the rules with what they say and their sources, the
facts they matched), and the plan's timeline in a few lines."""

from __future__ import annotations

import textwrap
from typing import Any

from planwise.kb.loader import KnowledgeBase
from planwise.models.review import ProposedChange, Review
from planwise.review_facts import change_headline
from planwise.timeline import Timeline

WIDTH = 76


def headline(ch: ProposedChange, kb: KnowledgeBase) -> str:
    """What accepting the change does to the plan, in one line (fits 80 columns)."""
    return change_headline(ch, kb, short=True)


def _para(text: str, first: str = "  ", rest: str = "    ") -> list[str]:
    return textwrap.wrap(text, WIDTH, initial_indent=first, subsequent_indent=rest) or [first]


def why_lines(ch: ProposedChange, review: Review, kb: KnowledgeBase) -> list[str]:
    """The explanation of one proposed change, plain text (no markup)."""
    lines = [f"Why: {headline(ch, kb)}", f"  (change {ch.id})", ""]
    lines += _para(f"Reason: {ch.reason}")
    lines.append("")
    for rid in ch.because:
        rule = kb.rule(rid)
        lines.append(f"rule {rid}")
        if ch.facts:
            lines += _para("Because " + "; and ".join(f.rstrip(".") for f in ch.facts) + ",")
        if rule is None:
            lines += _para("(the rule is not in the loaded knowledge)")
        else:
            lines += _para(f"the rule says: {rule.entry.says}")
            lines += _para(f"Source: {rule.entry.source}")
        lines.append("")
    lines.append("Progress so far (every fact the review read)")
    for fact in review.facts:
        lines += _para(f"- {fact}", "  ", "    ")
    return lines


def course_line(course: Any) -> str:
    limit = f" of {course.session_limit}" if course.session_limit is not None else ""
    return (f"version {course.version}, {course.sessions_used} session"
            f"{'' if course.sessions_used == 1 else 's'}{limit} used")


def timeline_lines(tl: Timeline) -> list[str]:
    """Sessions used and left, the warning first when there is one, the open objectives
    soonest first (OVERDUE marked); plain text, each line under 78 columns."""
    lines: list[str] = []
    if tl.session_limit is None:
        lines.append(f"Sessions: {tl.sessions_used} used; no authorised limit recorded; "
                     f"week {tl.weeks_in}")
    else:
        left = tl.sessions_left or 0
        state = f"{left} left" if left >= 0 else f"{-left} OVER the limit"
        text = f"Sessions: {tl.sessions_used} of {tl.session_limit} used, {state}"
        if tl.last_session_by:
            text += f"; at {tl.frequency_per_week}/week the last is around {tl.last_session_by}"
        lines.append(text)
    for w in tl.warnings:
        lines += _para(f"! WARNING: {w}", "", "  ")
    if tl.objectives:
        lines.append(f"Open objectives ({len(tl.objectives)}; {tl.closed} closed), "
                     "soonest first:")
        for o in tl.objectives:
            if o.target_date is None:
                when = "no date"
            elif o.overdue:
                when = f"{o.target_date} OVERDUE {-(o.days or 0)}d"
            else:
                when = f"{o.target_date}"
            lines.append(f"  {when:<25} {o.key}")
    else:
        lines.append(f"No open objectives ({tl.closed} closed)")
    return lines
