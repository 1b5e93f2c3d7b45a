"""Give a measure at a session: choose an instrument, then fill it in with the same form
the intake uses (widgets/instrument_form.py). Ctrl+S keeps the complete answers with the
session note (they are stored when the session is saved); Esc cancels. An instrument
already given at this session opens with its answers, and Ctrl+D takes it out again.

The picker lists the client's own instruments first (those with a score: the intake's,
earlier measures), then every other one by name; typing a name's first letters jumps
to it (widgets/jump.py)."""

from __future__ import annotations

from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer, Header, OptionList, Static
from textual.widgets.option_list import Option

from planwise.clinical.instruments import Instrument
from planwise.tui import keymap
from planwise.tui.widgets.instrument_form import InstrumentForm
from planwise.tui.widgets.jump import TypeToJump


class InstrumentPicker(TypeToJump, OptionList):
    """The instruments, the client's own first; typing jumps (p h q: PHQ-9)."""

    def jump_texts(self) -> list[str]:
        # The instrument's short name is what people type; its title is the fallback.
        return [str(o.prompt).split("  (", 1)[0] if not o.disabled else ""
                for o in (self.get_option_at_index(i) for i in range(self.option_count))]


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
                 given: dict[str, Any] | None = None, *, client_id: int | None = None,
                 own: list[str] | None = None) -> None:
        super().__init__()
        self.instruments = instruments
        self.given = dict(given or {})  # instrument -> answers already kept with the note
        self.client_id = client_id
        self.own = [i for i in (own or []) if i in instruments]  # the client's, listed first
        self.chosen: str | None = None
        self.form: InstrumentForm | None = None

    def options(self) -> list[Option]:
        def option(i: Instrument, mine: bool) -> Option:
            return Option(f"{i.name:<10} {i.title}"
                          + ("  (this client's)" if mine else "")
                          + ("  (given: Enter to change)" if i.id in self.given else ""),
                          id=i.id)

        others = sorted((i for k, i in self.instruments.items() if k not in self.own),
                        key=lambda i: i.name.lower())
        out = [option(self.instruments[k], True) for k in self.own]
        if out and others:
            out.append(Option("Every other instrument:", disabled=True))
        return out + [option(i, False) for i in others]

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Choose the instrument to give (Enter; type its name to jump)",
                     id="measure-hint", classes="section-title")
        yield InstrumentPicker(*self.options(), id="measure-choice")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "Give a measure"
        picker = self.query_one("#measure-choice", OptionList)
        picker.highlighted = 0
        picker.focus()
        if self.client_id is not None and not self.own:
            self.load_own(self.client_id)

    @work(thread=True, exit_on_error=False, group="measure-own")
    def load_own(self, client_id: int) -> None:
        series = self.app.services.scores(client_id)  # type: ignore[attr-defined]
        # Most scores first: the instrument the course is followed with leads.
        own = sorted(series, key=lambda k: -len(series[k]))
        self.app.call_from_thread(self._own_loaded, own)

    def _own_loaded(self, own: list[str]) -> None:
        self.own = [i for i in own if i in self.instruments]
        picker = self.query_one("#measure-choice", OptionList)
        if not self.own or self.chosen is not None:
            return
        was = picker.highlighted
        keep = picker.get_option_at_index(was).id if was is not None and was > 0 else None
        picker.clear_options()
        picker.add_options(self.options())
        index = next((n for n in range(picker.option_count)
                      if keep and picker.get_option_at_index(n).id == keep), 0)
        picker.highlighted = index

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
