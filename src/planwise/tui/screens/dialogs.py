"""Small modal dialogs: a line of text (a name, a reason), a yes/no question."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from planwise.tui import keymap


class TextPrompt(ModalScreen[str | None]):
    """Ask for one line of text; Enter accepts (when not empty), Esc cancels."""

    HELP_AREA = "dialog"
    BINDINGS = keymap.bindings("dialog")

    def __init__(self, title: str, *, placeholder: str = "", value: str = "",
                 required: bool = True, note: str = "") -> None:
        super().__init__()
        self.prompt_title = title
        self.placeholder = placeholder
        self.initial = value
        self.required = required
        self.note = note

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.prompt_title, classes="dialog-title")
            if self.note:
                yield Static(self.note, classes="dialog-note")
            yield Input(value=self.initial, placeholder=self.placeholder, id="prompt-input")
            yield Static("Enter to accept, Esc to cancel", classes="dialog-keys")

    @on(Input.Submitted)
    def accept(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if self.required and not text:
            self.notify("This cannot be empty.", severity="warning")
            return
        self.dismiss(text)

    def action_cancel(self) -> None:
        self.dismiss(None)
