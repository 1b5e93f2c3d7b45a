"""What the new intake's steps share: the step indicator, where an error's field is
shown, the message a step sends when something was entered, small helpers."""

from __future__ import annotations

import datetime as dt

from rich.text import Text
from textual.message import Message

from planwise.tui.widgets.instrument_form import InstrumentForm
from planwise.tui.widgets.intake_state import CONTEXT, RISK, SCREENING, STEPS

# Where an InputError's field path is shown: (prefix, step, error widget id, widget to focus).
FIELD_PLACES: tuple[tuple[str, int, str, str], ...] = (
    ("screening", SCREENING, "screening-error", "#concerns"),
    ("risk", RISK, "risk-error", "#risk-recorded"),
    ("clinician", CONTEXT, "impressions-error", "#impressions"),
    ("history.prior_treatment", CONTEXT, "prior-error", "#prior-treatment"),
    ("history.medications", CONTEXT, "medications-error", "#medications"),
    ("history", CONTEXT, "history-error", "#trauma"),
    ("context.session_limit", CONTEXT, "limit-error", "#session-limit"),
    ("context.client_goals", CONTEXT, "goals-error", "#client-goals"),
    ("context", CONTEXT, "limit-error", "#session-limit"),
)


class StepEdited(Message):
    """A step changed the intake state: the screen saves the draft and updates the
    step indicator."""


def steps_text(current: int, risk_flag: str = "", width: int = 80) -> Text:
    """The step indicator; the separators narrow to fit the width (80 columns)."""
    full = sum(len(f"{i + 1} {n}") for i, n in enumerate(STEPS)) + 2 + len(risk_flag)
    sep = " > " if full + 3 * (len(STEPS) - 1) <= width else ">"
    text = Text()
    for i, name in enumerate(STEPS):
        if i:
            text.append(sep)
        label = f"{i + 1} {name}"
        if i == RISK and risk_flag:
            label += risk_flag
        if i == current:
            text.append(f"[{label}]", style="bold reverse")
        else:
            text.append(label)
    return text


def row_of(form: InstrumentForm, rest: str) -> int:
    """The form row an error path names: `[3]` is item 3, `.better_off_dead` a key."""
    if rest.startswith("["):
        try:
            return int(rest[1:].split("]", 1)[0]) - 1
        except ValueError:
            return 0
    key = rest.lstrip(".")
    n = form.inst.scoring.items
    if key.startswith("symptoms["):
        try:
            return int(key[len("symptoms["):].split("]", 1)[0]) - 1
        except ValueError:
            return 0
    if key == "same_period":
        return n
    if key == "impairment":
        return n + 1
    for item in form.inst.items:
        if item.key == key:
            return item.number - 1
    return 0


def local_time(stamp: str) -> str:
    try:
        when = dt.datetime.fromisoformat(stamp)
    except ValueError:
        return stamp or "an earlier session"
    return when.astimezone().strftime("%Y-%m-%d %H:%M")
