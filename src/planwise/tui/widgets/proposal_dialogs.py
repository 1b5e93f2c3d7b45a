"""The proposal review's form dialog: edit or add an item (one line per field)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from planwise.tui import keymap
from planwise.tui.widgets.item_fields import field_of
from planwise.tui.widgets.proposal_model import FIELD_LABELS

Check = Callable[[dict[str, Any]], tuple[dict[str, Any], str | None]]


class ItemDialog(ModalScreen[dict[str, Any] | None]):
    """Fields of one item; Enter moves to the next field and, on the last, accepts. A
    problem found on accepting moves the focus to the field it names."""

    HELP_AREA = "dialog"
    BINDINGS = keymap.bindings("dialog")
    AUTO_FOCUS = "Input"  # the first field, as the dialog composes: type-ahead lands there

    def __init__(self, title: str, fields: tuple[str, ...], values: dict[str, Any],
                 check: Check, note: str = "") -> None:
        super().__init__()
        self.dialog_title = title
        self.fields = fields
        self.values = values
        self.check = check
        self.note = note

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog proposal-dialog"):
            yield Label(self.dialog_title, classes="dialog-title")
            if self.note:
                yield Static(self.note, classes="dialog-note")
            for name in self.fields:
                yield Label(FIELD_LABELS.get(name, name))
                yield Input(value=str(self.values.get(name, "")), id=f"field-{name}")
            yield Static("Enter: next field, then accept; Esc: cancel", classes="dialog-keys")

    def _raw(self) -> dict[str, Any]:
        return {n: self.query_one(f"#field-{n}", Input).value for n in self.fields}

    @on(Input.Submitted)
    def submitted(self, event: Input.Submitted) -> None:
        name = (event.input.id or "").removeprefix("field-")
        idx = self.fields.index(name)
        if idx + 1 < len(self.fields):
            self.query_one(f"#field-{self.fields[idx + 1]}", Input).focus()
            return
        values, problem = self.check(self._raw())
        if problem:
            named = field_of(problem, self.fields)
            if named is not None:
                self.query_one(f"#field-{named}", Input).focus()
            self.notify(problem, severity="warning")
            return
        self.dismiss(values)

    def action_cancel(self) -> None:
        self.dismiss(None)
