"""The proposal review's form dialog: edit or add an item (the plan item form of
widgets/plan_item_dialogs.py, laid out with a label above each field)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Label, Static

from planwise.tui import keymap
from planwise.tui.widgets.plan_item_dialogs import FieldsDialog
from planwise.tui.widgets.proposal_model import FIELD_LABELS


class ItemDialog(FieldsDialog):
    """The proposal review's layout of the same form: a label above each field; a
    problem found on accepting is a notice and moves the focus to the field it names."""

    HELP_AREA = "dialog"
    BINDINGS = keymap.bindings("dialog")
    AUTO_FOCUS = "Input"  # the first field, as the dialog composes: type-ahead lands there

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog proposal-dialog"):
            yield Label(self.dialog_title, classes="dialog-title")
            if self.note:
                yield Static(self.note, classes="dialog-note")
            for name in self.fields:
                yield Label(FIELD_LABELS.get(name, name))
                yield Input(value=str(self.values.get(name, "")), id=f"field-{name}",
                            select_on_focus=not self.recovered)
            yield Static("Enter: next field, then accept; Esc: cancel", classes="dialog-keys")

    def show_problem(self, problem: str) -> None:
        self.notify(problem, severity="warning")
