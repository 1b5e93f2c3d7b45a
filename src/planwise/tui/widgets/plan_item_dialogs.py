"""A compact form for one plan item (a referral, the treatment block, an intervention, an
assessment): one line per field, so six fields fit at 80x24. Used by the proposal review
and the plan editor. Enter moves to the next field and accepts on the last; Ctrl+S
accepts from anywhere; a wrong value is named under the fields and the cursor goes to
the field; Esc cancels."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from planwise.tui import keymap
from planwise.tui.dialog_drafts import DialogKeep, KeepsTyped
from planwise.tui.widgets.item_fields import FIELD_LABELS, SHORT_LABELS, field_of, shown

Check = Callable[[dict[str, Any]], tuple[dict[str, Any], str | None]]


class FieldsDialog(KeepsTyped, ModalScreen[dict[str, Any] | None]):
    HELP_AREA = "item_dialog"
    BINDINGS = keymap.bindings("item_dialog")
    DEFAULT_CSS = """
    FieldsDialog #fields-dialog { width: 76; height: auto; max-height: 22;
        border: round $accent; background: $surface; padding: 0 1; }
    FieldsDialog .field-row { height: 1; margin-bottom: 1; }
    FieldsDialog .field-row Label { width: 16; }
    FieldsDialog .field-row Input { width: 1fr; }
    FieldsDialog #fields-error { color: $error; text-style: bold; height: auto; }
    FieldsDialog #fields-error:empty { display: none; }
    """

    def __init__(self, title: str, fields: tuple[str, ...], values: dict[str, Any],
                 check: Check, note: str = "", keep_as: DialogKeep | None = None,
                 typed: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.dialog_title = title
        self.fields = fields
        # What was typed before a crash or hangup (the draft) over the item's own values.
        self.values = {**values, **{k: v for k, v in (typed or {}).items() if k in fields}}
        self.check = check
        self.note = note
        self.keep_as = keep_as
        self.recovered = typed is not None   # typing goes on after the text brought back
        self._opened: dict[str, str] | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="fields-dialog"):
            yield Label(self.dialog_title, classes="dialog-title", markup=False)
            if self.note:
                yield Static(self.note, classes="dialog-note", markup=False)
            for name in self.fields:
                with Horizontal(classes="field-row"):
                    yield Label(SHORT_LABELS.get(name, FIELD_LABELS.get(name, name)
                                                 .split(" (")[0]))
                    yield Input(value=shown(self.values.get(name, "")), id=f"field-{name}",
                                placeholder=FIELD_LABELS.get(name, name), compact=True,
                                select_on_focus=not self.recovered)
            yield Static("", id="fields-error", markup=False)
            yield Static("Enter: next field, accept on the last; Ctrl+S: accept; Esc: cancel",
                         classes="dialog-keys")

    def on_mount(self) -> None:
        self.query_one(f"#field-{self.fields[0]}", Input).focus()
        self._opened = self.typed()

    def _raw(self) -> dict[str, Any]:
        return dict(self.typed())

    def typed(self) -> dict[str, str]:
        return {n: self.query_one(f"#field-{n}", Input).value for n in self.fields}

    def changed_since_open(self) -> bool:
        return self._opened is not None and self.typed() != self._opened

    @on(Input.Changed)
    def changed(self) -> None:
        self.typed_changed()

    @on(Input.Submitted)
    def submitted(self, event: Input.Submitted) -> None:
        name = (event.input.id or "").removeprefix("field-")
        idx = self.fields.index(name)
        if idx + 1 < len(self.fields):
            self.query_one(f"#field-{self.fields[idx + 1]}", Input).focus()
            return
        self.action_save()

    def action_save(self) -> None:
        values, problem = self.check(self._raw())
        if problem:
            self.show_problem(problem)
            name = field_of(problem, self.fields)
            if name is not None:
                self.query_one(f"#field-{name}", Input).focus()
            return
        self.close_with(values)

    def show_problem(self, problem: str) -> None:
        self.query_one("#fields-error", Static).update(problem)

    def action_cancel(self) -> None:
        self.close_with(None)
