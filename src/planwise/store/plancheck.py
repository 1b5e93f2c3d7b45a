"""Plan files checked like intakes, before anything is saved.

`check_plan_doc` runs after the model's own validation (types, required fields)
and refuses, with an InputError naming the field (never echoing a value: plan
text may hold anything a therapist typed, names included):

- values outside the loaded knowledge's vocabularies: risk level, conditions,
  modalities, level of care, instruments, referral kinds, urgencies, warning kinds;
- impossible numbers: sessions_min at least 1, sessions_max not below it, at most
  7 sessions a week, a review interval of 1 to 104 weeks;
- dates out of order or out of range: the start date not after today and not
  before 1900, the review date and every objective's dates not before the start,
  and no date more than 10 years after it;
- text that is too long (4,000 characters; 200 for keys, ids and rule names) or
  holds control characters (NUL, ESC and the rest of C0 and C1 except tab and
  newline in free text; none at all in keys and ids) or bidi overrides.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Any

from planwise.errors import InputError

if TYPE_CHECKING:
    from planwise.kb.loader import KnowledgeBase
    from planwise.store.models import PlanDoc

MAX_TEXT = 4000
DATE_FLOOR = dt.date(1900, 1, 1)  # as planwise.dates' record dates
MAX_SHORT = 200
MAX_YEARS_AHEAD = 10
MAX_SESSIONS = 1000
MAX_REVIEW_WEEKS = 104

# Control characters a terminal acts on, and the bidi controls that reorder what is shown.
_BIDI = "\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c"
_CONTROL_TEXT = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}]")   # tab, newline allowed
_CONTROL_LINE = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI}]")
# Free-text fields; every other string is a key, an id or a rule name (one short line).
_FREE_TEXT = {"text", "measure", "reason", "message", "rejection_reason", "client_tasks",
              "until"}


def check_text(value: str, field: str, *, file: str | None = None, free: bool = True,
               limit: int | None = None) -> None:
    """Length and control characters of one string; the message names the field only."""
    limit = limit if limit is not None else (MAX_TEXT if free else MAX_SHORT)
    if len(value) > limit:
        raise InputError(f"longer than {limit} characters", file=file, field=field)
    bad = (_CONTROL_TEXT if free else _CONTROL_LINE).search(value)
    if bad:
        raise InputError(f"holds a control character (U+{ord(bad.group()):04X}); remove it",
                         file=file, field=field)


def _check_strings(value: Any, parts: list[str | int], leaf: str, file: str | None) -> None:
    """Every string in a dumped document; `leaf` is the field a string (or list) is in.
    The field's path is built only for a string that fails (most never do)."""
    if isinstance(value, str):
        free = leaf in _FREE_TEXT
        if len(value) > (MAX_TEXT if free else MAX_SHORT) or \
                (_CONTROL_TEXT if free else _CONTROL_LINE).search(value):
            path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts)
            check_text(value, path.lstrip("."), file=file, free=free)
    elif isinstance(value, dict):
        for k, v in value.items():
            parts.append(k)
            _check_strings(v, parts, k, file)
            parts.pop()
    elif isinstance(value, list):
        for i, v in enumerate(value):
            parts.append(i)
            _check_strings(v, parts, leaf, file)
            parts.pop()


def _vocab(kb: KnowledgeBase, kind: str, value: str, field: str, what: str,
           file: str | None, memo: dict[str, set[str]]) -> None:
    allowed = memo.get(kind)
    if allowed is None:
        allowed = memo[kind] = kb.allowed(kind)
    if value not in allowed:
        listed = ", ".join(sorted(allowed)) if len(allowed) <= 8 else \
            "see `planwise knowledge list`"
        raise InputError(f"not a {what} planwise knows ({listed})", file=file, field=field)


def check_plan_doc(doc: PlanDoc, kb: KnowledgeBase | None = None, file: str | None = None
                   ) -> None:
    """Raise InputError for the first problem in an edited plan document (see above).
    `kb` None: the shipped knowledge."""
    if kb is None:
        from planwise.kb.loader import load_knowledge

        kb = load_knowledge([])
    memo: dict[str, set[str]] = {}
    _check_strings(doc.model_dump(mode="json", by_alias=True), [], "", file)
    _vocab(kb, "risk_levels", doc.risk_level, "risk_level", "risk level", file, memo)
    from planwise.dates import today

    start, now = doc.start_date, today()
    if start > now:  # worded like planwise.dates' other record dates
        raise InputError(f"{start} is after today ({now}): a plan starts on or before the day "
                         "it is written", file=file, field="start_date")
    if start < DATE_FLOOR:
        raise InputError(f"{start} is before {DATE_FLOOR}, the earliest date planwise records",
                         file=file, field="start_date")
    try:
        ceiling = start.replace(year=start.year + MAX_YEARS_AHEAD)
    except ValueError:  # 29 February
        ceiling = start.replace(year=start.year + MAX_YEARS_AHEAD, day=28)

    def in_range(day: dt.date | None, field: str) -> None:
        if day is None:
            return
        if day < start:
            raise InputError(f"is before the plan's start date ({start})", file=file,
                             field=field)
        if day > ceiling:
            raise InputError(f"is more than {MAX_YEARS_AHEAD} years after the plan's start "
                             "date", file=file, field=field)

    in_range(doc.review_date, "review_date")
    for i, p in enumerate(doc.problems):
        _vocab(kb, "conditions", p.condition, f"problems[{i}].condition", "condition", file,
               memo)
        if p.code is not None:
            from planwise import icd

            icd.check(p.code, file=file, field=f"problems[{i}].code")
        for j, g in enumerate(p.goals):
            gp = f"problems[{i}].goals[{j}]"
            for k, o in enumerate(g.objectives):
                in_range(o.anticipated, f"{gp}.objectives[{k}].anticipated")
                in_range(o.actual, f"{gp}.objectives[{k}].actual")
            for k, iv in enumerate(g.interventions):
                _vocab(kb, "modalities", iv.modality, f"{gp}.interventions[{k}].modality",
                       "modality", file, memo)
    t = doc.treatment
    if t is not None:
        for k, m in enumerate(t.modalities):
            _vocab(kb, "modalities", m, f"treatment.modalities[{k}]", "modality", file,
                   memo)
        _vocab(kb, "levels_of_care", t.level_of_care, "treatment.level_of_care",
               "level of care", file, memo)
        if not 1 <= t.sessions_min <= MAX_SESSIONS:
            raise InputError(f"must be 1 to {MAX_SESSIONS}", file=file,
                             field="treatment.sessions_min")
        if not t.sessions_min <= t.sessions_max <= MAX_SESSIONS:
            raise InputError(f"must be at least sessions_min ({t.sessions_min}) and at most "
                             f"{MAX_SESSIONS}", file=file, field="treatment.sessions_max")
        if not 1 <= t.frequency_per_week <= 7:
            raise InputError("must be 1 to 7 sessions a week", file=file,
                             field="treatment.frequency_per_week")
        if not 1 <= t.review_weeks <= MAX_REVIEW_WEEKS:
            raise InputError(f"must be 1 to {MAX_REVIEW_WEEKS} weeks", file=file,
                             field="treatment.review_weeks")
    for i, r in enumerate(doc.referrals):
        _vocab(kb, "referral_kinds", r.kind, f"referrals[{i}].kind", "referral kind", file,
               memo)
        _vocab(kb, "urgencies", r.urgency, f"referrals[{i}].urgency", "urgency", file, memo)
    for i, a in enumerate(doc.assessments):
        _vocab(kb, "instruments", a.instrument, f"assessments[{i}].instrument", "instrument",
               file, memo)
    for i, w in enumerate(doc.warnings):
        _vocab(kb, "warning_kinds", w.kind, f"warnings[{i}].kind", "warning kind", file, memo)
