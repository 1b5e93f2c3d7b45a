"""What the review screen shows, as plain functions (tested without an app): a change's
one-line headline, its explanation (the rules with what they say and their sources, the
facts they matched), and the plan's timeline in a few lines.

Objectives are named by their text, never by their key: `texts` maps the plan's
objective keys to their text (services.review_view), and `in_words` puts the text in
place of a key in a rule's words."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Mapping
from typing import Any

from planwise.clinical.review_facts import change_headline
from planwise.clinical.timeline import Timeline
from planwise.kb.loader import KnowledgeBase
from planwise.models.review import ProposedChange, Review

WIDTH = 76
LINE = 74  # a headline after the list's "[x] " and its margins, at 80 columns


def short(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[:width - 1].rstrip() + "\u2026"


def in_words(text: str, texts: Mapping[str, str] | None) -> str:
    """`text` with every objective key it names replaced by the objective's text, quoted."""
    if not texts:
        return text
    keys = sorted((k for k in texts if k and k in text), key=len, reverse=True)
    if not keys:
        return text
    pattern = re.compile("|".join(rf"(?<![\w.#]){re.escape(k)}(?![\w#])" for k in keys))
    return pattern.sub(lambda m: f"\u201c{texts[m.group(0)]}\u201d", text)


def headline(ch: ProposedChange, kb: KnowledgeBase,
             texts: Mapping[str, str] | None = None) -> str:
    """What accepting the change does to the plan, in one line (fits 80 columns), in words:
    an objective by its text, an intervention by its text, a condition by its name."""
    if ch.kind == "revise_objective" and texts and ch.subject in texts:
        what = ": mark it met" if ch.item == "met" else ": new target date"
        return f"Objective \u201c{short(texts[ch.subject], LINE - 13 - len(what))}\u201d{what}"
    if ch.kind == "add_intervention":
        found = kb.interventions.get(ch.item)
        if found is not None:
            return "Add: " + short(found[0].text, LINE - 5)
    if ch.kind == "change_intervention" and ch.subject:
        condition = kb.label("conditions", ch.subject)
        return short(f"Change the approach for {condition.lower()}: "
                     f"{kb.label('modalities', ch.item)}", LINE)
    return short(change_headline(ch, kb, short=True), LINE)


def _para(text: str, first: str = "  ", rest: str = "    ") -> list[str]:
    return textwrap.wrap(text, WIDTH, initial_indent=first, subsequent_indent=rest) or [first]


def why_lines(ch: ProposedChange, review: Review, kb: KnowledgeBase,
              texts: Mapping[str, str] | None = None) -> list[str]:
    """The explanation of one proposed change, plain text (no markup)."""
    lines = [f"Why: {headline(ch, kb, texts)}", f"  (change {ch.id})", ""]
    lines += _para(f"Reason: {in_words(ch.reason, texts)}")
    lines.append("")
    for rid in ch.because:
        rule = kb.rule(rid)
        lines.append(f"rule {rid}")
        if ch.facts:
            lines += _para("Because " + "; and ".join(in_words(f.rstrip("."), texts)
                                                      for f in ch.facts) + ",")
        if rule is None:
            lines += _para("(the rule is not in the loaded knowledge)")
        else:
            lines += _para(f"the rule says: {rule.entry.says}")
            lines += _para(f"Source: {rule.entry.source}")
        lines.append("")
    lines.append("Progress so far (every fact the review read)")
    for fact in review.facts:
        lines += _para(f"- {in_words(fact, texts)}", "  ", "    ")
    return lines


def course_line(course: Any, state: str = "") -> str:
    """'version 2 partly signed, 8 sessions of 12 used' (the state when given)."""
    limit = f" of {course.session_limit}" if course.session_limit is not None else ""
    shown = f" {state.replace('_', ' ')}" if state else ""
    return (f"version {course.version}{shown}, {course.sessions_used} session"
            f"{'' if course.sessions_used == 1 else 's'}{limit} used")


def timeline_lines(tl: Timeline, texts: Mapping[str, str] | None = None) -> list[str]:
    """Sessions used and left, the warning first when there is one, the open objectives
    soonest first (OVERDUE marked), each by its text; plain text, each line under 78
    columns."""
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
        lines += _para(f"! WARNING: {in_words(w, texts)}", "", "  ")
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
            name = (texts or {}).get(o.key) or o.key
            lines.append(f"  {when:<25} {short(name, 77 - 28)}")
    else:
        lines.append(f"No open objectives ({tl.closed} closed)")
    return lines
