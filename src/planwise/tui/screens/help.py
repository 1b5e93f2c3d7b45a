"""F1: the keys of the area in focus, then the screen's, then the app's."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from planwise.tui import keymap

TITLES = {
    "app": "Everywhere",
    "caseload": "Caseload",
    "client": "Client",
    "intake": "Intake",
    "instrument": "Instrument form",
    "proposal": "Proposal review",
    "plan": "Plan editor",
    "session": "Session note",
    "dialog": "Dialog",
    "why": "Why (explanation)",
    "walkthrough": "Walk-through (planwise explain)",
    "intake_skip": "Skipping the risk assessment",
    "intake_leave": "Leaving the intake",
    "objective": "Objective editor",
    "item_dialog": "Referral, treatment, intervention or assessment",
    "sign": "Sign dialog",
    "history": "History and diff",
    "session_objectives": "Session objectives",
    "session_feedback": "Session feedback",
    "measure": "Give a measure",
    "scores": "Scores over time",
    "review": "Plan review",
    "review_why": "Why (review)",
    "export": "Export",
    "client_edit": "Client information",
    "screen_decision": "A problem found on a screen alone",
}


class HelpScreen(ModalScreen[None]):
    BINDINGS = [*keymap.bindings("dialog")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 64; height: auto; max-height: 90%;
        border: round $accent; padding: 0 1; background: $surface; }
    """

    def __init__(self, areas: list[str], intro: str = "") -> None:
        super().__init__()
        self.areas = list(dict.fromkeys([*areas, "app"]))
        self.intro = intro

    def compose(self) -> ComposeResult:
        lines: list[str] = []
        if self.intro:
            lines += [self.intro, ""]
        for area in self.areas:
            keys = keymap.describe(area)
            if not keys:
                continue
            lines.append(f"[b]{TITLES.get(area, area)}[/b]")
            lines += [f"  {key:<12} {text}" for key, text in keys]
            lines.append("")
        lines.append("Ctrl+P opens the command palette. Esc closes this help.")
        with VerticalScroll():
            yield Static("\n".join(lines), id="help-text")

    def action_cancel(self) -> None:
        self.dismiss()
