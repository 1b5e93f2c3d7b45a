"""Step 5 of the new intake: history and context, the clinician's impressions and a
severity for each.

The severity rows follow the ticked impressions. A row, once made, is kept and
hidden when its impression is unticked: removing the rows and mounting them
again (the removal not awaited) mounted `sevrow-depression` while the old one
was still there, and a second quick tick (Space, Down, Space) killed the app
with DuplicateIds. A row ticked again shows the rating it had, as the intake
keeps it.
"""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widget import Widget
from textual.widgets import Checkbox, Input, Label, Select, SelectionList, Static
from textual.widgets.selection_list import Selection

from planwise.kb.loader import KnowledgeBase
from planwise.tui.widgets.intake_controls import TickList
from planwise.tui.widgets.intake_layout import StepEdited
from planwise.tui.widgets.intake_state import IntakeState
from planwise.tui.widgets.plan_toggles import PlainCheckbox as Tick

EMPLOYMENT = (("Employed", "employed"), ("Unemployed", "unemployed"), ("Student", "student"),
              ("Unable to work", "unable_to_work"))
HOUSING = (("Stable housing", "stable"), ("Unstable housing", "unstable"))
SEVERITIES = (("mild", "mild"), ("moderate", "moderate"), ("severe", "severe"))
# Input id -> IntakeState attribute.
TEXTS = {"prior-treatment": "prior_treatment", "medications": "medications",
         "session-limit": "session_limit", "client-goals": "client_goals"}


class SeverityRows(Vertical):
    """One row (label, severity select) per ticked impression, in the vocabulary's order."""

    # As tall as its rows: a Vertical takes the rest of the scroll (one line here), and
    # the rows below that line were cut off, Tab then focusing a select nobody saw.
    DEFAULT_CSS = "SeverityRows { height: auto; }"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rows: dict[str, Horizontal] = {}

    def show(self, ticked: list[str], ratings: dict[str, str], order: list[str],
             label: Any) -> None:
        for cond in ticked:
            if cond in self.rows:
                continue
            value = ratings.get(cond)
            row = Horizontal(
                Label(f"Severity: {label(cond)}", classes="severity-label"),
                Select(list(SEVERITIES), prompt="(engine decides)", id=f"severity-{cond}",
                       value=value if value else Select.NULL),
                id=f"sevrow-{cond}", classes="severity-row")
            self.rows[cond] = row
            self.mount(row, before=self._row_after(cond, order))
        for cond, row in self.rows.items():
            row.display = cond in ticked

    def _row_after(self, cond: str, order: list[str]) -> Widget | None:
        rank = {c: i for i, c in enumerate(order)}
        later = [(rank.get(c, len(order)), row) for c, row in self.rows.items()
                 if c != cond and rank.get(c, len(order)) > rank.get(cond, len(order))]
        return min(later, key=lambda pair: pair[0])[1] if later else None


class ContextStep(VerticalScroll):
    """Shows and edits history, context and impressions of the screen's IntakeState
    (`state`, None until the screen has shown its state)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.state: IntakeState | None = None

    @property
    def kb(self) -> KnowledgeBase:
        return self.app.services.kb  # type: ignore[attr-defined, no-any-return]

    def compose(self) -> ComposeResult:
        with Horizontal(classes="switch-row"):
            yield Tick("Trauma history", id="trauma")
            yield Tick("Withdrawal complications (seizures, DTs)", id="withdrawal")
        yield Static("", id="history-error", classes="field-error")
        yield Input(placeholder="Prior treatment (separate entries with ;)",
                    id="prior-treatment")
        yield Static("", id="prior-error", classes="field-error")
        yield Input(placeholder="Medications (separate entries with ;)", id="medications")
        yield Static("", id="medications-error", classes="field-error")
        with Horizontal(classes="context-row"):
            yield Input(placeholder="Session limit", id="session-limit", type="integer")
            yield Select(list(EMPLOYMENT), prompt="Employment", id="employment")
            yield Select(list(HOUSING), prompt="Housing", id="housing")
        yield Static("", id="limit-error", classes="field-error")
        yield Input(placeholder="Client's goals in their words (separate with ;)",
                    id="client-goals")
        yield Static("", id="goals-error", classes="field-error")
        yield Static("Clinician impressions: conditions you confirm (Space ticks)",
                     classes="step-help")
        kb = self.kb
        yield TickList(*[Selection(e.label, cid) for cid, e in kb.vocab["conditions"].items()
                         if e.intake], id="impressions")
        yield Static("", id="impressions-error", classes="field-error")
        yield SeverityRows(id="severities")

    def show(self, state: IntakeState) -> None:
        """Set every control from the state."""
        self.state = state
        self.query_one("#trauma", Tick).value = state.trauma
        self.query_one("#withdrawal", Tick).value = state.withdrawal_complications
        for wid, attr in TEXTS.items():
            self.query_one(f"#{wid}", Input).value = getattr(state, attr)
        self.query_one("#employment", Select).value = state.employment or Select.NULL
        self.query_one("#housing", Select).value = state.housing or Select.NULL
        impressions = self.query_one("#impressions", SelectionList)
        impressions.deselect_all()
        for c in state.impressions:
            impressions.select(c)
        self._show_severities()

    def _show_severities(self) -> None:
        assert self.state is not None
        self.query_one(SeverityRows).show(
            self.state.impressions, self.state.severity, list(self.kb.vocab["conditions"]),
            lambda cond: self.kb.label("conditions", cond))

    def _edited(self) -> None:
        self.post_message(StepEdited())

    @on(Checkbox.Changed)
    def tick_changed(self, event: Checkbox.Changed) -> None:
        event.stop()
        attr = {"trauma": "trauma", "withdrawal": "withdrawal_complications"}.get(
            event.checkbox.id or "")
        if self.state is not None and attr and getattr(self.state, attr) != event.value:
            setattr(self.state, attr, event.value)
            self._edited()

    @on(Input.Changed)
    def text_changed(self, event: Input.Changed) -> None:
        event.stop()
        attr = TEXTS.get(event.input.id or "")
        if self.state is not None and attr and getattr(self.state, attr) != event.value:
            setattr(self.state, attr, event.value)
            self._edited()

    @on(Select.Changed)
    def select_changed(self, event: Select.Changed) -> None:
        event.stop()
        state = self.state
        if state is None:
            return
        wid = event.select.id or ""
        value = None if event.value is Select.NULL else str(event.value)
        if wid in ("employment", "housing"):
            if getattr(state, wid) != value:
                setattr(state, wid, value)
                self._edited()
        elif wid.startswith("severity-"):
            cond = wid[len("severity-"):]
            if state.severity.get(cond) != value:
                if value is None:
                    state.severity.pop(cond, None)
                else:
                    state.severity[cond] = value
                self._edited()

    @on(SelectionList.SelectedChanged, "#impressions")
    def impressions_changed(self, event: SelectionList.SelectedChanged[str]) -> None:
        event.stop()
        if self.state is None:
            return
        ticked = set(self.query_one("#impressions", SelectionList).selected)
        impressions = [c for c in self.kb.vocab["conditions"] if c in ticked]
        if impressions != self.state.impressions:
            self.state.impressions = impressions
            self._show_severities()
            self._edited()
