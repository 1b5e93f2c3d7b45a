"""Races in Textual itself that random keys reach (tests/tui/test_monkey.py), put right
here until Textual does; each with the test that shows it.

- OptionList's Page Up / Page Down before the list has been laid out (a list filled
  by a worker a moment earlier, or not shown yet) looked up the line of the
  highlighted option in a map that was still empty: KeyError: 0. Textual's own
  scroll_to_highlight guards the same lookup; paging now does too.
"""

from __future__ import annotations

from typing import Any

from textual.widgets import OptionList

_move_page = OptionList._move_page


def _guarded_move_page(self: OptionList, direction: Any) -> None:
    if self.highlighted is not None and self.highlighted not in self._index_to_line:
        return  # not laid out yet: no page to move by
    _move_page(self, direction)


def apply() -> None:
    OptionList._move_page = _guarded_move_page  # type: ignore[method-assign]
