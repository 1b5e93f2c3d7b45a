"""Radio buttons and check boxes whose state reads without colour: the mark is drawn only
when on (Textual's own draw the mark always and colour it)."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Checkbox, RadioButton


class PlainRadioButton(RadioButton):
    @property
    def _button(self) -> Content:
        self.BUTTON_INNER = "*" if self.value else " "
        return super()._button


class PlainCheckbox(Checkbox):
    @property
    def _button(self) -> Content:
        self.BUTTON_INNER = "X" if self.value else " "
        return super()._button
