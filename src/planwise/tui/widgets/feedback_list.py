"""The end-of-session feedback form (knowledge/feedback.toml) as a keyboard list: each
item answered 0-10. A digit answers the item under the cursor and moves to the next,
+ and - step (up to 10), Backspace clears; Up and Down move."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from planwise.clinical.feedback import ANSWER_MAX, ANSWER_MIN, FeedbackForm
from planwise.tui import keymap

LABEL_WIDTH = 14


def prompt(label: str, question: str, answer: int | None, current: bool = False) -> Text:
    """'> Heard          [ 8]  Today I felt heard...': '>' marks the cursor (no colour needed)."""
    shown = " -" if answer is None else f"{answer:>2}"
    out = Text(f"{'>' if current else ' '}{label[:LABEL_WIDTH]:<{LABEL_WIDTH}} [{shown}]  ",
               style="bold" if answer is not None else "")
    out.append(question)
    return out


def status(answers: dict[str, int], form: FeedbackForm) -> str:
    """'not given', 'all 4 answered, mean 7.5' or 'incomplete: 2 of 4 (all or none)'."""
    n = len(form.items)
    k = sum(1 for i in form.ids if i in answers)
    if k == 0:
        return "not given"
    if k < n:
        return f"incomplete: {k} of {n} answered (answer all or none)"
    mean = sum(answers[i] for i in form.ids) / n
    return f"all {n} answered, mean {mean:.1f}"


class FeedbackList(OptionList):
    HELP_AREA = "session_feedback"
    BINDINGS = keymap.bindings("session_feedback")

    @dataclass
    class Changed(Message):
        feedback: FeedbackList

    def __init__(self, form: FeedbackForm, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.form = form
        self.answers: dict[str, int] = {}
        self._marked: str | None = None

    def on_mount(self) -> None:
        self.set_answers({})

    def set_answers(self, answers: dict[str, int]) -> None:
        self.answers = {k: int(v) for k, v in answers.items() if k in self.form.ids
                        and ANSWER_MIN <= int(v) <= ANSWER_MAX}
        self.clear_options()
        self._marked = self.form.ids[0]
        self.add_options([Option(self._prompt(i.id), id=i.id) for i in self.form.items])
        self.highlighted = 0

    def _prompt(self, item_id: str) -> Text:
        item = next(i for i in self.form.items if i.id == item_id)
        return prompt(item.label, item.question, self.answers.get(item_id),
                      item_id == self._marked)

    def _current(self) -> str | None:
        if self.highlighted is None:
            return None
        return self.form.ids[self.highlighted]

    @on(OptionList.OptionHighlighted)
    def moved(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        old, self._marked = self._marked, self._current()
        for i, item_id in enumerate(self.form.ids):
            if item_id in (old, self._marked):
                self.replace_option_prompt_at_index(i, self._prompt(item_id))

    @on(OptionList.OptionSelected)
    def selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()  # Enter does nothing here: digits answer

    def _redraw(self, item_id: str) -> None:
        index = self.form.ids.index(item_id)
        self.replace_option_prompt_at_index(index, self._prompt(item_id))
        self.post_message(self.Changed(self))

    def action_answer(self, n: int) -> None:
        item_id = self._current()
        if item_id is None:
            return
        self.answers[item_id] = max(ANSWER_MIN, min(ANSWER_MAX, n))
        self._redraw(item_id)
        if self.highlighted is not None and self.highlighted < len(self.form.ids) - 1:
            self.highlighted += 1

    def _step(self, by: int) -> None:
        item_id = self._current()
        if item_id is None:
            return
        now = self.answers.get(item_id)
        self.answers[item_id] = max(ANSWER_MIN, min(ANSWER_MAX, (0 if now is None else now + by)))
        self._redraw(item_id)

    def action_more(self) -> None:
        self._step(1)

    def action_less(self) -> None:
        self._step(-1)

    def action_clear(self) -> None:
        item_id = self._current()
        if item_id is not None and item_id in self.answers:
            del self.answers[item_id]
            self._redraw(item_id)
