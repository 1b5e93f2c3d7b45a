"""Type-to-jump for long lists: typing the first letters of an entry moves the highlight
to it (p h q jumps to PHQ-9). Letters typed within a second of each other make one
prefix; the same letter again goes on to the next entry starting with it. A key that
is bound (a screen's or the list's own) keeps its meaning: only unbound printable keys
jump. Matching ignores case, spaces and punctuation, and falls back to the start of
any word ('dis' finds 'Panic disorder').

`TypeToJump` is mixed into an OptionList (or a SelectionList, which is one); the list
may override `jump_texts` to say what each row is called.
"""

from __future__ import annotations

import re
import time
from typing import cast

from textual import events
from textual.widgets import OptionList

PAUSE = 1.0          # seconds: a longer pause starts a new prefix


def _norm(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", text.lower())


def find(texts: list[str], typed: str, start: int = 0) -> int | None:
    """The first row from `start` (wrapping) whose text starts with `typed`, else whose
    word starts with it."""
    want = _norm(typed)
    if not want or not texts:
        return None
    order = [(start + i) % len(texts) for i in range(len(texts))]
    for i in order:
        if _norm(texts[i]).startswith(want):
            return i
    for i in order:
        if any(_norm(w).startswith(want) for w in texts[i].split()):
            return i
    return None


class TypeToJump:
    """Mixin: an OptionList's unbound printable keys move the highlight."""

    _jump_typed = ""
    _jump_at = 0.0

    def _list(self) -> OptionList:
        return cast(OptionList, self)

    def jump_texts(self) -> list[str]:
        """What each row is called (default: the row's prompt as plain text)."""
        out = []
        lst = self._list()
        for i in range(lst.option_count):
            option = lst.get_option_at_index(i)
            prompt = option.prompt
            out.append("" if option.disabled else getattr(prompt, "plain", str(prompt)))
        return out

    def on_key(self, event: events.Key) -> None:
        char = event.character
        if not char or len(char) != 1 or not char.isprintable() or char == " ":
            return
        lst = self._list()
        if event.key in lst.screen.active_bindings:
            return
        event.stop()
        event.prevent_default()
        now = time.monotonic()
        repeat = False
        if now - self._jump_at > PAUSE:
            self._jump_typed = char
        elif self._jump_typed == char * len(self._jump_typed):
            repeat = True               # p, p: the next entry starting with p
            self._jump_typed = char
        else:
            self._jump_typed += char
        self._jump_at = now
        current = lst.highlighted
        start = 0 if current is None else current + (1 if repeat else 0)
        found = find(self.jump_texts(), self._jump_typed, start)
        if found is None:
            lst.app.bell()
            return
        lst.highlighted = found
        self._jumped(found)

    def _jumped(self, index: int) -> None:
        """After a jump (hook for lists that draw their own cursor mark)."""
