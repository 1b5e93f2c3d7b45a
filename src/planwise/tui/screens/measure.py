"""Give a measure at a session: choose an instrument, then fill it in with the same form
the intake uses (widgets/instrument_form.py). Ctrl+S keeps the complete answers with the
session note (they are stored when the session is saved); Esc cancels. An instrument
already given at this session opens with its answers, and Ctrl+D takes it out again."""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer, Header, OptionList, Static
from textual.widgets.option_list import Option

from planwise.instruments import Instrument
from planwise.tui import keymap
from planwise.tui.widgets.instrument_form import InstrumentForm


class MeasureScreen(Screen[tuple[str, Any] | None]):
    """Dismissed with (instrument, answers) to keep, (instrument, None) to take out, or
    None (cancelled)."""

    HELP_AREA = "measure"
    BINDINGS = keymap.bindings("measure")
    HELP_TEXT = ("Choose the instrument (Up/Down, Enter), then answer it: digits answer the "
                 "current item and move on. Ctrl+S keeps the answers with the session note; "
                 "they are stored when the note is saved.")
    DEFAULT_CSS = """
    MeasureScreen #measure-choice { height: 1fr; }
    MeasureScreen #measure-hint { height: 1; padding: 0 1; }
    """

    def __init__(self, instruments: dict[str, Instrument],
                 given: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.instruments = instruments
        self.given = dict(given or {})  # instrument -> answers already kept with the note
        self.chosen: str | None = None
        self.form: InstrumentForm | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Choose the instrument to give (Enter)", id="measure-hint",
                     classes="section-title")
        ordered = sorted(self.instruments.values(), key=lambda i: i.name.lower())
        yield OptionList(*[Option(f"{i.name:<10} {i.title}"
                                  + (" (given: Enter to change)" if i.id in self.given else ""),
                                  id=i.id) for i in ordered], id="measure-choice")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "Give a measure"
        self.query_one("#measure-choice", OptionList).focus()

    @on(OptionList.OptionSelected, "#measure-choice")
    def choose(self, event: OptionList.OptionSelected) -> None:
        if event.option.id:
            self.show_form(event.option.id, self.given.get(event.option.id))

    def show_form(self, instrument: str, data: Any) -> None:
        self.chosen = instrument
        self.query_one("#measure-choice", OptionList).display = False
        self.query_one("#measure-hint", Static).update(
            "Answer every item; Ctrl+S keeps it with the session, Esc cancels"
            + ("; Ctrl+D takes it out" if instrument in self.given else ""))
        inst = self.instruments[instrument]
        self.form = InstrumentForm(inst, data, id="measure-form")
        self.mount(self.form, before=self.query_one(Footer))
        self.set_focus(self.form)

    def action_keep(self) -> None:
        form = self.form
        if form is None or self.chosen is None:
            self.notify("Choose an instrument first (Enter).", severity="warning")
            return
        if not form.complete():
            self.notify(f"{form.inst.name}: answered {form.answered()} of "
                        f"{len(form.required_rows())}; answer every item, or Esc to cancel.",
                        severity="warning")
            return
        self.dismiss((self.chosen, form.data()))

    def action_remove(self) -> None:
        if self.chosen is None or self.chosen not in self.given:
            self.notify("Only a measure already given at this session can be taken out.",
                        severity="warning")
            return
        self.dismiss((self.chosen, None))

    def action_cancel(self) -> None:
        self.dismiss(None)
