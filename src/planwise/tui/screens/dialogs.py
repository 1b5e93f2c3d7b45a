"""Small modal dialogs: a line of text (a name, a reason), a yes/no question."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from planwise.tui import keymap
from planwise.tui.dialog_drafts import DialogKeep, KeepsTyped


class TextPrompt(KeepsTyped, ModalScreen[str | None]):
    """Ask for one line of text; Enter accepts (when not empty), Esc cancels. With
    `keep_as`, what is typed is kept as a draft until the prompt closes."""

    HELP_AREA = "dialog"
    BINDINGS = keymap.bindings("dialog")

    def __init__(self, title: str, *, placeholder: str = "", value: str = "",
                 required: bool = True, note: str = "",
                 keep_as: DialogKeep | None = None, recovered: bool = False) -> None:
        super().__init__()
        # Text brought back after a crash: typing goes on after it instead of replacing it.
        self.recovered = recovered
        self.prompt_title = title
        self.placeholder = placeholder
        self.initial = value
        self.required = required
        self.note = note
        self.keep_as = keep_as

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.prompt_title, classes="dialog-title")
            if self.note:
                yield Static(self.note, classes="dialog-note")
            yield Input(value=self.initial, placeholder=self.placeholder, id="prompt-input",
                        select_on_focus=not self.recovered)
            yield Static("Enter to accept, Esc to cancel", classes="dialog-keys")

    def typed(self) -> dict[str, str]:
        return {"text": self.query_one("#prompt-input", Input).value}

    def changed_since_open(self) -> bool:
        return self.typed()["text"] != self.initial

    @on(Input.Changed)
    def changed(self) -> None:
        self.typed_changed()

    @on(Input.Submitted)
    def accept(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if self.required and not text:
            self.notify("This cannot be empty.", severity="warning")
            return
        self.close_with(text)

    def action_cancel(self) -> None:
        self.close_with(None)
