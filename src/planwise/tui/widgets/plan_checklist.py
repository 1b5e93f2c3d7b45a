"""The session note's checklist: the plan's open objectives, each addressed or not, with a
progress rating 0-10 (digit keys rate 0-9, + and - step to 10)."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from planwise.tui import keymap
from planwise.tui.widgets.jump import TypeToJump

RATING_MAX = 10


def prompt(text: str, addressed: bool, rating: int | None, current: bool = False) -> Text:
    """'> [x]  7/10  text': '>' marks the cursor (readable without colour)."""
    box = "[x]" if addressed else "[ ]"
    shown = "  -  " if rating is None else f"{rating:>2}/10"
    out = Text(f"{'>' if current else ' '}{box} {shown}  ", style="bold" if addressed else "")
    out.append(text)
    return out


class ObjectiveChecklist(TypeToJump, OptionList):
    """Typing an objective's first letters jumps to it (widgets/jump.py)."""

    HELP_AREA = "session_objectives"
    BINDINGS = keymap.bindings("session_objectives")

    def jump_texts(self) -> list[str]:
        return [text for _key, text in self.items]

    @dataclass
    class Changed(Message):
        checklist: ObjectiveChecklist

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.items: list[tuple[str, str]] = []          # (key, text)
        self.addressed: dict[str, int | None] = {}      # key -> rating (None: not rated)
        self._marked: str | None = None                 # the key under the cursor

    def set_items(self, items: list[tuple[str, str]], addressed: dict[str, int | None]) -> None:
        self.items = items
        keys = {k for k, _ in items}
        self.addressed = {k: r for k, r in addressed.items() if k in keys}
        self.clear_options()
        self._marked = items[0][0] if items else None
        self.add_options([Option(self._prompt(k, t), id=k) for k, t in items])
        if items:
            self.highlighted = 0

    def _prompt(self, key: str, text: str) -> Text:
        return prompt(text, key in self.addressed, self.addressed.get(key),
                      key == self._marked)

    @on(OptionList.OptionHighlighted)
    def moved(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        old, self._marked = self._marked, self._current()
        for i, (k, text) in enumerate(self.items):
            if k in (old, self._marked):
                self.replace_option_prompt_at_index(i, self._prompt(k, text))

    def _current(self) -> str | None:
        if self.highlighted is None or not self.items:
            return None
        return self.items[self.highlighted][0]

    def _redraw(self, key: str) -> None:
        for i, (k, text) in enumerate(self.items):
            if k == key:
                self.replace_option_prompt_at_index(i, self._prompt(k, text))
        self.post_message(self.Changed(self))

    def action_toggle_addressed(self) -> None:
        key = self._current()
        if key is None:
            return
        if key in self.addressed:
            del self.addressed[key]
        else:
            self.addressed[key] = None
        self._redraw(key)

    @on(OptionList.OptionSelected)
    def selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.action_toggle_addressed()

    def action_rate(self, n: int) -> None:
        key = self._current()
        if key is not None:
            self.addressed[key] = max(0, min(RATING_MAX, n))
            self._redraw(key)

    def action_more(self) -> None:
        key = self._current()
        if key is not None:
            now = self.addressed.get(key)
            self.action_rate(0 if now is None else now + 1)

    def action_less(self) -> None:
        key = self._current()
        if key is not None:
            now = self.addressed.get(key)
            self.action_rate(0 if now is None else now - 1)
