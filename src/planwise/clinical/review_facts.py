"""A plan's course as progress facts: what the review rules read, and the caseload flags.

    progress_facts(course, kb) -> list of facts (planwise.facts: course, problem,
        measure, feedback, objective_progress, goal_progress, risk_signal,
        modality, referral_made)
    attention_flags(course, kb) -> the caseload's reasons to look at this client
    describe_fact(fact, kb=None) -> the fact in words

The definitions (docs/review-rules.md):
- a measure is *primary* when it is the primary measure of one of the plan's
  problems (knowledge/review/measures.toml); its change class compares the
  latest total with the first (planwise.clinical.progress.classify); a measure given only
  once is `baseline_only`;
- *not on track*: a primary measure with no reliable change after
  NOT_ON_TRACK_SESSIONS sessions or more;
- *deteriorated*: a primary measure reliably worse than its baseline;
- *risk re-emerging*: a total after the baseline (and on or after the last
  review) raised a risk flag, while that instrument's baseline did not or the
  plan's risk level is none or low;
- *review due*: whole weeks since the last review (or the start) at least the
  plan's review interval;
- an objective is *overdue* when it is open, its target date has passed and
  its last progress rating is under OVERDUE_RATING_BELOW (or there is none);
  *met* when its status is met or its last rating is MET_RATING;
- *session limit near*: SESSION_LIMIT_NEAR or fewer authorised sessions left
  while objectives are open;
- *risk low weeks*: whole weeks since the plan's risk level was last above low
  (its risk history) or a total last raised a risk flag, whichever is later; 0
  while the level is moderate, high or unassessed;
- a *safety objective* is one of the suicide-risk problem or of a suicide_risk
  goal; *safety open*: one of them not met yet (open, partially met or not met);
- *remission streak*: the latest totals in a row in remission as the instrument
  defines it (planwise.clinical.progress.in_remission); *held* at two or more.

Pure domain code: no storage, no rule engine. `attention_flags` builds no
facts and no explanations, so that a caseload of 10,000 clients stays cheap.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from planwise.clinical.course import Course, ObjectiveCourse, Point
from planwise.clinical.feedback import load_form, summarise
from planwise.clinical.instruments import Instrument
from planwise.clinical.progress import change_class_of, classify, in_remission
from planwise.errors import InputError
from planwise.facts import make_fact

if TYPE_CHECKING:
    from planwise.kb.loader import KnowledgeBase
    from planwise.models.review import ProposedChange

__all__ = [
    "ATTENTION_FLAGS", "MET_RATING", "NOT_ON_TRACK_SESSIONS", "OPEN_STATUSES",
    "OVERDUE_RATING_BELOW", "SESSION_LIMIT_NEAR", "attention", "attention_flags",
    "describe_fact", "progress_facts",
]

NOT_ON_TRACK_SESSIONS = 6   # review.not_on_track.* (Lambert: not on track early in care)
SESSION_LIMIT_NEAR = 2      # review.session_limit.near
OVERDUE_RATING_BELOW = 5    # review.objective.overdue
MET_RATING = 10             # review.objective.met
OPEN_STATUSES = ("open", "partially_met")
CLOSED_STATUSES = ("revised", "discontinued")  # not counted for a goal's completion
LOW_RISK_LEVELS = ("none", "low")
SAFETY_CONDITION = "suicide_risk"  # its objectives are the safety objectives
# A safety objective still to be reached: "not_met" closes an objective without
# reaching it, and an unwritten safety plan stays a reason not to end.
SAFETY_PENDING = ("open", "partially_met", "not_met")

ATTENTION_FLAGS = ("risk_reemerging", "deteriorated", "not_on_track", "objectives_overdue",
                   "session_limit_near", "review_due")

Fact = dict[str, Any]


def _weeks(days: int) -> int:
    return max(days // 7, 0)


def _points(series_points: list[Point]) -> list[Point]:
    # By date; on the same day by session number (a baseline has none).
    return sorted(series_points, key=lambda p: (p.date, p.session if p.session is not None
                                                else -1))


def _instrument(kb: KnowledgeBase, instrument: str) -> Instrument:
    inst = kb.instruments.get(instrument)
    if inst is None:
        raise InputError(f"unknown instrument {instrument!r} in the course's measures",
                         field=f"measures.{instrument}")
    return inst


def _sessions_between(first: Point, last: Point, sessions_used: int) -> int:
    start = first.session or 0
    end = last.session if last.session is not None else sessions_used
    return max(end - start, 0)


def _yes_no(value: bool | None) -> str:
    return "unknown" if value is None else "yes" if value else "no"


def _objective_state(o: ObjectiveCourse, course: Course) -> tuple[bool, bool, bool, int, int]:
    """open, met, overdue, weeks overdue, last rating (-1: none)."""
    last = o.ratings[-1] if o.ratings else -1
    is_open = o.status in OPEN_STATUSES
    met = o.status == "met" or last >= MET_RATING
    past = o.target_date is not None and o.target_date < course.today
    overdue = is_open and past and not met and last < OVERDUE_RATING_BELOW
    weeks = _weeks((course.today - o.target_date).days) if past and o.target_date else 0
    return is_open, met, overdue, weeks, last


def _overdue_by(o: ObjectiveCourse, course: Course) -> str:
    """'3 days' or '2 weeks': how long past its target date ('' when it is not)."""
    if o.target_date is None or o.target_date >= course.today:
        return ""
    days = (course.today - o.target_date).days
    return _plural(days, "day") if days < 7 else _plural(days // 7, "week")


def _sessions_left(course: Course) -> int:
    if course.session_limit is None:
        return -1
    return max(course.session_limit - course.sessions_used, 0)


def _risk_low_since(course: Course, kb: KnowledgeBase) -> dt.date | None:
    """The day from which risk has been low or none with no risk flag since; None while
    the plan's risk level is above low (or unassessed)."""
    if course.risk_level not in LOW_RISK_LEVELS:
        return None
    since: dt.date | None
    if course.risk_history:
        since = None
        for i, entry in enumerate(sorted(course.risk_history, key=lambda e: e.date)):
            if entry.level not in LOW_RISK_LEVELS:
                since = None
            elif since is None:
                since = min(entry.date, course.start_date) if i == 0 else entry.date
        # History ending above low while the plan says low: the change is undated.
        since = since or course.today
    elif course.version > 1:
        # An earlier version's level is not known: count from the revision (or the
        # review after it), never from a start that may have been at higher risk.
        since = course.last_review or course.today
    else:
        since = course.start_date
    for series in course.measures:
        risky = kb.risk_flags.get(series.instrument, frozenset())
        flagged = [p.date for p in series.points if not risky.isdisjoint(p.flags)]
        if flagged:
            since = max(since, max(flagged))
    return since


def _remission_streak(inst: Instrument, points: list[Point]) -> int:
    """The latest totals in a row in remission; -1 when the instrument defines none."""
    streak = 0
    for p in reversed(points):
        remitted = in_remission(inst, p.total)
        if remitted is None:
            return -1
        if not remitted:
            break
        streak += 1
    return streak


def _safety(o: ObjectiveCourse, met: bool, kb: KnowledgeBase) -> tuple[bool, bool]:
    """Whether the objective is a safety objective, and one still to reach (one definition
    for objective_progress.safety_open and course.safety_open)."""
    goal = kb.goals.get(o.goal)
    is_safety = o.condition == SAFETY_CONDITION or (goal is not None
                                                    and goal.condition == SAFETY_CONDITION)
    return is_safety, is_safety and o.status in SAFETY_PENDING and not met


def progress_facts(course: Course, kb: KnowledgeBase) -> list[Fact]:
    """Every progress fact of the course, in a stable order."""
    facts: list[Fact] = []
    since = course.last_review or course.start_date
    weeks_since = _weeks((course.today - since).days)
    states = [(o, _objective_state(o, course)) for o in course.objectives]
    open_objectives = sum(1 for _o, (is_open, met, *_rest) in states if is_open and not met)
    safety = [_safety(o, met, kb) for o, (_open, met, *_rest) in states]
    low_since = _risk_low_since(course, kb)
    facts.append(make_fact(
        "course",
        sessions_used=course.sessions_used,
        session_limit=course.session_limit if course.session_limit is not None else -1,
        sessions_left=_sessions_left(course),
        weeks_in=_weeks((course.today - course.start_date).days),
        weeks_since_review=weeks_since,
        sessions_since_review=(course.sessions_used if course.sessions_since_review is None
                               else course.sessions_since_review),
        review_weeks=course.review_weeks,
        review_due=weeks_since >= course.review_weeks,
        frequency_per_week=course.frequency_per_week,
        level_of_care=course.level_of_care,
        version=course.version,
        risk_level=course.risk_level,
        open_objectives=open_objectives,
        session_limit_near=0 <= _sessions_left(course) <= SESSION_LIMIT_NEAR,
        risk_low_weeks=_weeks((course.today - low_since).days) if low_since else 0,
        safety_open=any(pending for _safe, pending in safety),
    ))
    facts += [make_fact("problem", condition=c, severity=s) for c, s in course.problems.items()]

    for series in course.measures:
        inst = _instrument(kb, series.instrument)
        points = _points(series.points)
        first, last = points[0], points[-1]
        risky = kb.risk_flags.get(series.instrument, frozenset())
        base_flag = bool(risky & set(first.flags))
        attrs: dict[str, Any] = {
            "instrument": series.instrument, "name": inst.name, "baseline": first.total,
            "latest": last.total,
            "sessions": _sessions_between(first, last, course.sessions_used),
            "weeks": _weeks((last.date - first.date).days), "points": len(points),
            "risk_flag": bool(risky & set(last.flags)), "baseline_risk_flag": base_flag,
        }
        streak = _remission_streak(inst, points)
        attrs.update(remission_streak=streak, remission_held=streak >= 2)
        if len(points) > 1:
            result = classify(inst, first.total, last.total)
            attrs.update(change_class=result.change_class, improvement=result.improvement or 0,
                         not_on_track=(result.change_class == "no_reliable_change"
                                       and attrs["sessions"] >= NOT_ON_TRACK_SESSIONS),
                         recovered=_yes_no(result.recovered), response=_yes_no(result.response),
                         remission=_yes_no(result.remission))
        conditions = [c for c in course.problems if kb.primary_measures.get(c) == inst.id]
        for condition in conditions or [""]:
            facts.append(make_fact("measure", condition=condition, primary=bool(condition),
                                   **attrs))
        reemerged = not base_flag or course.risk_level in LOW_RISK_LEVELS
        for later in points[1:]:
            if course.last_review is not None and later.date < course.last_review:
                continue  # seen at the last review
            for flag in sorted(risky & set(later.flags)):
                facts.append(make_fact("risk_signal", source=inst.id, name=inst.name, flag=flag,
                                       session=later.session if later.session is not None else -1,
                                       reemerged=reemerged))

    if course.feedback:
        form = load_form()
        entries = sorted(course.feedback, key=lambda e: e.session)
        latest = entries[-1]
        previous = entries[-2].answers if len(entries) > 1 else None
        summary = summarise(latest.answers, previous, form)
        facts.append(make_fact(
            "feedback", sessions=len(entries), latest_mean=float(summary.mean),
            lowest=summary.lowest, low=summary.low, falling=summary.falling,
            sessions_low=sum(1 for e in entries
                             if e.answers and min(e.answers.values()) < form.low_below)))

    goals: dict[tuple[str, str], list[bool]] = {}
    for (is_safety, pending), (o, (is_open, met, overdue, weeks, rating)) in zip(
            safety, states, strict=True):
        facts.append(make_fact(
            "objective_progress", item=o.key, goal=o.goal, condition=o.condition,
            status=o.status, open=is_open, met=met, overdue=overdue, weeks_overdue=weeks,
            overdue_by=_overdue_by(o, course),
            last_rating=rating, ratings=len(o.ratings), safety=is_safety,
            safety_open=pending))
        if o.goal and o.status not in CLOSED_STATUSES:
            goals.setdefault((o.goal, o.condition), []).append(met)
    for (goal, condition), mets in goals.items():
        facts.append(make_fact("goal_progress", goal=goal, condition=condition,
                               objectives=len(mets), met=sum(mets), all_met=all(mets)))

    facts += [make_fact("modality", name=m) for m in dict.fromkeys(course.modalities)]
    facts += [make_fact("referral_made", kind=k) for k in dict.fromkeys(course.referrals)]
    return facts


def attention(course: Course, kb: KnowledgeBase) -> dict[str, str]:
    """Why a caseload should look at this client now: flag -> one short reason, in
    ATTENTION_FLAGS order. The same definitions as the progress facts and the shipped
    review rules (module doc), computed without building facts or explanations."""
    found: dict[str, str] = {}
    primary = {kb.primary_measures.get(c) for c in course.problems}
    for series in course.measures:
        inst = kb.instruments.get(series.instrument)
        if inst is None or len(series.points) < 2:
            continue
        points = _points(series.points)
        first, last = points[0], points[-1]
        if inst.id in primary:
            cls = change_class_of(inst, first.total, last.total)
            done = _sessions_between(first, last, course.sessions_used)
            if cls == "reliably_deteriorated":
                found.setdefault("deteriorated", f"{inst.name} {first.total} -> {last.total} "
                                                 "since the baseline, reliably worse")
            elif cls == "no_reliable_change" and done >= NOT_ON_TRACK_SESSIONS:
                found.setdefault("not_on_track", f"{inst.name} {first.total} -> {last.total} "
                                                 f"after {_plural(done, 'session')}, no "
                                                 "reliable change")
        risky = kb.risk_flags.get(inst.id)
        if risky and "risk_reemerging" not in found and (
                risky.isdisjoint(first.flags) or course.risk_level in LOW_RISK_LEVELS):
            hit = next((p for p in reversed(points[1:]) if not risky.isdisjoint(p.flags)
                        and (course.last_review is None or p.date >= course.last_review)),
                       None)
            if hit is not None:
                names = ", ".join(sorted(risky & set(hit.flags))).replace("_", " ")
                found["risk_reemerging"] = f"{inst.name} raised {names} on {hit.date}"
    since = course.last_review or course.start_date
    weeks = _weeks((course.today - since).days)
    if weeks >= course.review_weeks:
        what = "last review" if course.last_review else "start"
        found["review_due"] = (f"{_plural(weeks, 'week')} since the {what} ({since}); review "
                               f"every {course.review_weeks} weeks")
    open_objectives = 0
    dues: list[dt.date] = []
    for o in course.objectives:
        is_open, met, overdue, _weeks_over, _last = _objective_state(o, course)
        if overdue and o.target_date is not None:
            dues.append(o.target_date)
        if is_open and not met:
            open_objectives += 1
    if dues:
        found["objectives_overdue"] = (f"{_plural(len(dues), 'objective')} overdue, the "
                                       f"earliest due {min(dues)}")
    left = _sessions_left(course)
    if 0 <= left <= SESSION_LIMIT_NEAR and open_objectives:
        found["session_limit_near"] = (f"{left} of {course.session_limit} sessions left with "
                                       f"{_plural(open_objectives, 'objective')} open")
    return {f: found[f] for f in ATTENTION_FLAGS if f in found}


def attention_flags(course: Course, kb: KnowledgeBase) -> list[str]:
    """The flags of `attention`, most urgent first."""
    return list(attention(course, kb))


# -- in words -------------------------------------------------------------------

def _name(kb: KnowledgeBase | None, instrument: str) -> str:
    if kb is not None and instrument in kb.instruments:
        return kb.instruments[instrument].name
    return instrument


def _label(kb: KnowledgeBase | None, kind: str, value: str) -> str:
    return kb.label(kind, value) if kb is not None else _words(value)


def change_headline(ch: ProposedChange, kb: KnowledgeBase, short: bool = False) -> str:
    """What accepting a proposed change does to the plan, in one line (`short` for the
    interface's 80 columns). Shared by `planwise review` and the review screen."""
    subject = ch.subject or "the plan"
    if ch.kind == "review_alliance":
        return "Review the working alliance with the session feedback"
    if ch.kind == "change_intervention":
        return f"Change the approach for {subject}: {kb.label('modalities', ch.item)}"
    if ch.kind == "add_intervention":
        entry = kb.interventions.get(ch.item)
        text = f" ({entry[0].text})" if entry and not short else ""
        return f"Add the intervention {ch.item}{text}"
    if ch.kind == "step_up_frequency":
        return f"Step up to {ch.item} session{'' if ch.item == '1' else 's'} a week"
    if ch.kind == "step_up_care":
        return f"Step up the level of care to {kb.label('levels_of_care', ch.item)}"
    if ch.kind == "refer":
        urgency = f" ({kb.label('urgencies', ch.urgency)})" if ch.urgency else ""
        return f"Refer to {kb.label('referral_kinds', ch.item)}{urgency}"
    if ch.kind == "revise_objective":
        if ch.item == "met":
            what = "mark it met"
        else:
            what = "revise it, new anticipated date" if short else \
                "revise it with a new anticipated date"
        return f"Objective {subject}: {what}"
    if ch.kind == "end_treatment":
        return "Plan the end of treatment (discharge planning)"
    if ch.kind == "reassess_risk":
        return "Reassess suicide risk now and review the safety plan"
    if ch.kind == "request_sessions":
        return "Ask the payer for more sessions, or plan to end within the limit"
    return ch.kind.replace("_", " ")


def _words(value: str) -> str:
    return value.replace("_", " ")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def describe_fact(fact: Fact, kb: KnowledgeBase | None = None) -> str:
    """One progress fact as a sentence (for the review's `facts` and explanations)."""
    kind = fact["fact"]
    if kind == "course":
        if fact["session_limit"] >= 0:
            sessions = (f"{_plural(fact['sessions_used'], 'session')} used of "
                        f"{fact['session_limit']} authorised ({fact['sessions_left']} left)")
        else:
            sessions = f"{_plural(fact['sessions_used'], 'session')} used (no session limit)"
        due = "due" if fact["review_due"] else "not due yet"
        since = ""
        if fact["sessions_since_review"] != fact["sessions_used"]:
            since = f", {_plural(fact['sessions_since_review'], 'session')} since then"
        risk = f"plan risk level {fact['risk_level']}"
        if fact["risk_level"] in LOW_RISK_LEVELS:
            risk += (f" (none or low for {_plural(fact['risk_low_weeks'], 'week')}, no risk "
                     "flag since)")
        safety = ", a safety objective not met yet" if fact["safety_open"] else ""
        return (f"Plan version {fact['version']}: {sessions}; week {fact['weeks_in']}; "
                f"{_plural(fact['weeks_since_review'], 'week')} since the last review or the "
                f"start{since} (review every {fact['review_weeks']} weeks: {due}); "
                f"{fact['frequency_per_week']} a week, {_words(fact['level_of_care'])}; "
                f"{risk}; {_plural(fact['open_objectives'], 'objective')} open{safety}.")
    if kind == "problem":
        return f"Problem: {_words(fact['condition'])} ({fact['severity']})."
    if kind == "measure":
        name = _name(kb, fact["instrument"])
        role = (f" (primary measure of {_words(fact['condition'])})" if fact["primary"]
                else "")
        if fact["change_class"] == "baseline_only":
            return f"{name}{role}: {fact['baseline']} at baseline, not given again yet."
        imp = fact["improvement"]
        size = ("no change" if imp == 0 else
                f"{_plural(abs(imp), 'point')} {'better' if imp > 0 else 'worse'}")
        out = (f"{name}{role}: {fact['baseline']} at baseline, {fact['latest']} now, "
               f"{_plural(fact['sessions'], 'session')} later ({fact['points']} totals): "
               f"{size}, {_words(fact['change_class'])}")
        known = [f"{k} {fact[k]}" for k in ("response", "remission", "recovered")
                 if fact[k] != "unknown"]
        if fact["remission"] == "yes":
            held = (f" ({fact['remission_streak']} totals in a row)" if fact["remission_held"]
                    else " (the latest total only)")
            known = [k + held if k.startswith("remission") else k for k in known]
        if known:
            out += "; " + ", ".join(known)
        if fact["risk_flag"]:
            out += "; the latest total raised a risk flag"
        return out + "."
    if kind == "feedback":
        marks = [w for w, on in (("low", fact["low"]), ("falling", fact["falling"])) if on]
        state = f" ({' and '.join(marks)})" if marks else ""
        return (f"Session feedback at {_plural(fact['sessions'], 'session')}: latest mean "
                f"{fact['latest_mean']:g} of 10, lowest answer {fact['lowest']}{state}; "
                f"{_plural(fact['sessions_low'], 'session')} with a low answer.")
    if kind == "objective_progress":
        rating = (f"last rating {fact['last_rating']}/10" if fact["last_rating"] >= 0
                  else "no rating yet")
        state = _words(fact["status"])
        if fact["met"]:
            state += ", met"
        if fact["overdue"]:
            state += f", overdue by {fact['overdue_by']}"
        elif fact["overdue_by"]:
            state += f", target date passed {fact['overdue_by']} ago"
        return f"Objective {fact['item']} ({fact['goal'] or 'no goal'}): {state}; {rating}."
    if kind == "goal_progress":
        done = "all met" if fact["all_met"] else "not all met"
        return (f"Goal {fact['goal']}: {fact['met']} of "
                f"{_plural(fact['objectives'], 'objective')} met ({done}).")
    if kind == "risk_signal":
        when = f"at session {fact['session']}" if fact["session"] >= 0 else "after the baseline"
        why = (" where there was none at baseline or the plan's risk level is none or low"
               if fact["reemerged"] else ", already known at baseline")
        return f"{_name(kb, fact['source'])} raised {_words(fact['flag'])} {when}{why}."
    if kind == "modality":
        return f"The plan uses {_label(kb, 'modalities', fact['name'])}."
    if kind == "referral_made":
        return f"The plan already refers to {_label(kb, 'referral_kinds', fact['kind'])}."
    if kind == "change":
        return f"Proposed: {_words(fact['kind'])} {fact['subject']} {fact['item']}".rstrip() + "."
    attrs = ", ".join(f"{k}={v}" for k, v in fact.items() if k not in ("fact", "n"))
    return f"{kind}({attrs})"
