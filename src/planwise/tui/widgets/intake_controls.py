"""Tick boxes that read without colour: an X when ticked, a blank when not.

Textual's SelectionList, Checkbox and RadioButton draw the same "X" whether
ticked or not and tell them apart by colour only; with NO_COLOR or a 16-colour
theme that is unreadable. These subclasses change only the mark.
"""

from __future__ import annotations

from rich.segment import Segment
from textual.strip import Strip
from textual.widgets import SelectionList
from textual.widgets._toggle_button import ToggleButton
from textual.widgets.option_list import OptionDoesNotExist

from planwise.tui.widgets.jump import TypeToJump


class TickList(TypeToJump, SelectionList[str]):
    """A SelectionList whose ticked rows show X and unticked rows a blank; typing a
    row's first letters jumps to it (widgets/jump.py)."""

    def render_line(self, y: int) -> Strip:
        strip = super().render_line(y)
        segments = list(strip)
        if len(segments) < 3 or segments[1].text != ToggleButton.BUTTON_INNER:
            return strip
        try:
            selection = self.get_option_at_index(self.scroll_offset.y + y)
        except OptionDoesNotExist:
            return strip
        mark = "X" if selection.value in self._selected else " "
        segments[1] = Segment(mark, segments[1].style, segments[1].control)
        return Strip(segments, strip.cell_length)
