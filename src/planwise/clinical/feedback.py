"""planwise's end-of-session feedback form (knowledge/feedback.toml).

Four questions answered 0-10. `summarise` reduces one session's answers to
what the review rules read: the mean, the lowest answer, whether any answer is
low, and whether the mean fell from the previous session's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from planwise.errors import InputError
from planwise.paths import shipped_knowledge_dir
from planwise.tomlfile import find_field_line, read_toml

ANSWER_MIN, ANSWER_MAX = 0, 10


class FeedbackItem(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str = Field(min_length=1)
    question: str = Field(min_length=1)
    low: str = Field(min_length=1)
    high: str = Field(min_length=1)


class FeedbackForm(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    about: str = ""
    low_below: int = Field(ge=1, le=10)
    falling_by: int = Field(ge=1, le=10)
    items: list[FeedbackItem] = Field(min_length=1)

    @property
    def ids(self) -> list[str]:
        return [i.id for i in self.items]


@lru_cache(maxsize=4)
def load_form(path: Path | None = None) -> FeedbackForm:
    path = path or shipped_knowledge_dir() / "feedback.toml"
    data, text = read_toml(path)
    try:
        return FeedbackForm.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        line = find_field_line(text, loc) if loc else None
        raise InputError(err["msg"], file=str(path), field=loc, line=line) from None


def parse_answers(text: str, form: FeedbackForm | None = None) -> dict[str, int]:
    """`heard=8,mattered=7,approach=9,overall=8` (every item, each 0-10)."""
    form = form or load_form()
    answers: dict[str, int] = {}
    for part in [p.strip() for p in text.split(",") if p.strip()]:
        m = re.fullmatch(r"([a-z_]+)\s*=\s*(\S+)", part)
        if not m:
            raise InputError(f"--feedback: {part!r} is not ITEM=ANSWER (items: "
                             f"{', '.join(form.ids)})")
        if m.group(1) in answers:
            raise InputError(f"--feedback: {m.group(1)} is given twice")
        answers[m.group(1)] = _answer(m.group(1), m.group(2), form)
    return check_answers(answers, form)


def _answer(item: str, raw: str, form: FeedbackForm) -> int:
    if item not in form.ids:
        raise InputError(f"--feedback: unknown item {item!r} (items: {', '.join(form.ids)})")
    if not re.fullmatch(r"\d+", raw) or not ANSWER_MIN <= int(raw) <= ANSWER_MAX:
        raise InputError(f"--feedback {item}: the answer must be a whole number from "
                         f"{ANSWER_MIN} to {ANSWER_MAX}")
    return int(raw)


def check_answers(answers: dict[str, int], form: FeedbackForm | None = None) -> dict[str, int]:
    """Every item answered once, 0-10; returned in the form's order."""
    form = form or load_form()
    for item, value in answers.items():
        _answer(item, str(value), form)
    missing = [i for i in form.ids if i not in answers]
    if missing:
        raise InputError(f"--feedback: no answer for {', '.join(missing)} (every item is "
                         "asked; 0-10)")
    return {i: answers[i] for i in form.ids}


@dataclass(frozen=True)
class FeedbackSummary:
    mean: float
    lowest: int
    low: bool          # an answer below the form's low_below
    falling: bool      # the mean fell by falling_by or more since the previous session


def summarise(answers: dict[str, int], previous: dict[str, int] | None = None,
              form: FeedbackForm | None = None) -> FeedbackSummary:
    form = form or load_form()
    mean = sum(answers.values()) / len(answers)
    falling = False
    if previous:
        falling = sum(previous.values()) / len(previous) - mean >= form.falling_by
    lowest = min(answers.values())
    return FeedbackSummary(round(mean, 2), lowest, lowest < form.low_below, falling)
