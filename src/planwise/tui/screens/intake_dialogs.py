"""The new intake's two questions: skip the suicide-risk assessment after a positive
screen, and leave the intake (keep or discard its draft)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from planwise.tui import keymap


class SkipRiskDialog(ModalScreen[bool]):
    """After a positive screen: assess now, or skip explicitly (risk stays unassessed)."""

    HELP_AREA = "intake_skip"
    BINDINGS = keymap.bindings("intake_skip")

    def __init__(self, reasons: list[str]) -> None:
        super().__init__()
        self.reasons = reasons

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("The suicide screen is positive", classes="dialog-title")
            yield Static(Text(
                "; ".join(self.reasons) + ".\nA structured suicide-risk assessment is needed. "
                "If you skip it for now, the intake has no risk section: the risk is "
                "UNASSESSED and the proposal says so."), classes="dialog-note")
            yield Static("a  Assess now\ns  Skip the assessment for now\nEsc  Back to the "
                         "assessment", classes="dialog-keys", id="skip-keys")

    def action_assess(self) -> None:
        self.dismiss(False)

    def action_skip(self) -> None:
        self.dismiss(True)


class LeaveIntakeDialog(ModalScreen[str]):
    """Esc on the intake: keep the draft (the default) or discard it, or stay."""

    HELP_AREA = "intake_leave"
    BINDINGS = keymap.bindings("intake_leave")

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Leave this intake?", classes="dialog-title")
            yield Static("Your answers are saved as a draft; opening a new intake for this "
                         "client restores them.", classes="dialog-note")
            yield Static("k  Keep the draft and leave (default)\nd  Discard the draft and "
                         "leave\nEsc  Stay", classes="dialog-keys")

    def action_keep(self) -> None:
        self.dismiss("keep")

    def action_discard(self) -> None:
        self.dismiss("discard")

    def action_stay(self) -> None:
        self.dismiss("stay")
