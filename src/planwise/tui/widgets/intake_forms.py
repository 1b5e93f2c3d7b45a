"""Step 3 of the new intake: one form per chosen instrument, one shown at a time,
with the bar that lists them (answered/total)."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from planwise.kb.loader import KnowledgeBase
from planwise.tui.widgets.instrument_form import InstrumentForm
from planwise.tui.widgets.intake_state import IntakeState


class FormsStep(Vertical):
    """Forms are made once per instrument and kept (hidden when unticked): removing and
    re-mounting raced with the removal (duplicate ids), and a form ticked again keeps
    its answers and position."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.forms: list[InstrumentForm] = []   # the chosen instruments' forms, in order
        self._form_ids: list[str] = []
        self._cache: dict[str, InstrumentForm] = {}

    def compose(self) -> ComposeResult:
        yield Static("", id="forms-bar")
        yield Static("No instruments chosen: Ctrl+B to choose some, or Ctrl+N to go on.",
                     id="no-forms")
        yield Vertical(id="forms")

    def sync(self, state: IntakeState, kb: KnowledgeBase) -> None:
        """One form per chosen instrument; keeps `state.form_index` in range."""
        chosen = state.chosen(kb)
        if chosen != self._form_ids:
            fresh = []
            for inst in chosen:
                if inst not in self._cache:
                    form = InstrumentForm(kb.instruments[inst], state.answers.get(inst),
                                          state.positions.get(inst, 0), id=f"form-{inst}")
                    self._cache[inst] = form
                    fresh.append(form)
            self.forms = [self._cache[inst] for inst in chosen]
            for inst, form in self._cache.items():
                if inst not in chosen:
                    form.display = False
            self._form_ids = chosen
            if fresh:
                self.query_one("#forms", Vertical).mount_all(fresh)
        state.form_index = max(0, min(state.form_index, len(self.forms) - 1))
        self.query_one("#no-forms").display = not self.forms

    def show_form(self, state: IntakeState, index: int, focus: bool) -> None:
        state.form_index = index
        for i, form in enumerate(self.forms):
            form.display = i == index
        self.show_bar(state)
        if self.forms and focus:
            self.forms[index].focus()

    def show_bar(self, state: IntakeState) -> None:
        text = Text()
        if self.forms:
            text.append(f"Form {state.form_index + 1} of {len(self.forms)} "
                        "(Tab/Ctrl+N next, Shift+Tab/Ctrl+B back): ")
        for i, form in enumerate(self.forms):
            need = len(form.required_rows())
            done = "done" if form.complete() else f"{form.answered()}/{need}"
            label = f"{form.inst.name} {done}"
            if i == state.form_index:
                text.append(f"[{label}]", style="bold reverse")
            else:
                text.append(label)
            text.append(" ")
        self.query_one("#forms-bar", Static).update(text)
