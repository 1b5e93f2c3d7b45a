"""The walk-through: `planwise explain` for the plan's intake, in the interface (W in the
plan editor), or for the answers under review (W in the proposal review, what-if changes
included). How the engine reached its proposal, step by step, the way a supervisor
would take a trainee through it: what is known, then each rule that fired with the facts
it matched, what it says, its source and what it concluded; the order of the plan; the
totals. The engine runs in a worker on the stored intake (planwise.explain.explain),
which gives it one line a paragraph; the screen wraps it to its own width (78 columns at
most, as the command line does), keeping each paragraph's indent."""

from __future__ import annotations

import textwrap
from typing import Any

from rich.text import Text
from textual import events, work
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from planwise.tui import keymap

WIDTH = 78  # `planwise explain`'s own width


def wrapped(text: str, width: int) -> str:
    """Each paragraph (line) wrapped to `width` with its own indent on every line."""
    out = []
    for line in text.splitlines():
        indent = line[:len(line) - len(line.lstrip())]
        out.append(textwrap.fill(line.strip(), width, initial_indent=indent,
                                 subsequent_indent=indent, break_on_hyphens=False)
                   if line.strip() else "")
    return "\n".join(out)


class WalkthroughScreen(Screen[None]):
    HELP_AREA = "walkthrough"
    BINDINGS = keymap.bindings("walkthrough")
    HELP_TEXT = ("How planwise reached the proposal this plan was drafted from, rule by rule "
                 "(the same text as `planwise explain`): the facts each rule matched, what "
                 "it says, its source, what it concluded. The plan may differ from the "
                 "proposal where it was edited; w on an item in the plan editor explains "
                 "that item alone.")
    DEFAULT_CSS = """
    WalkthroughScreen #walkthrough-scroll { height: 1fr; padding: 0 0 0 1;
        scrollbar-size-vertical: 1; }
    """

    def __init__(self, plan_id: int | None, intake_id: int | None,
                 data: dict[str, Any] | None = None, what: str = "") -> None:
        super().__init__()
        self.plan_id = plan_id
        self.intake_id = intake_id
        self.data = data     # answers held in memory (the proposal review's), else stored
        self.what = what or f"P{plan_id}, intake I{intake_id}"
        self.text: str | None = None   # as the engine gave it: one line a paragraph
        self.width = WIDTH

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="walkthrough-scroll"):
            yield Static("Running the engine on the intake...", id="walkthrough-text")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = f"Walk-through: {self.what}"
        self.query_one("#walkthrough-scroll").focus()
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="walkthrough")
    def load(self) -> None:
        services = self.app.services  # type: ignore[attr-defined]
        if self.data is not None:
            text = services.walkthrough_of(self.data)
        else:
            text = services.walkthrough(self.intake_id)
        self.app.call_from_thread(self.show, text)

    def show(self, text: str) -> None:
        self.text = text
        self.query_one("#walkthrough-text", Static).update(Text(wrapped(text, self.width)))

    def on_resize(self, event: events.Resize) -> None:
        # The indents follow the terminal: at 60 columns as clean as at 80.
        self.width = max(30, min(WIDTH, event.size.width - 2))
        if self.text is not None:
            self.show(self.text)

    def action_back(self) -> None:
        self.app.pop_screen()
