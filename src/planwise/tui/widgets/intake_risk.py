"""Step 4 of the new intake: the suicide screen's result, the structured assessment
(ideation, method, intent, plan, behaviour) and the contract's risk level, live."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Checkbox, Label, RadioButton, RadioSet, Static

from planwise.kb.loader import KnowledgeBase
from planwise.tui.widgets.intake_layout import StepEdited
from planwise.tui.widgets.intake_state import IntakeState
from planwise.tui.widgets.plan_toggles import PlainCheckbox as Tick
from planwise.tui.widgets.plan_toggles import PlainRadioButton as Dot

IDEATION = ("none", "passive", "active")
BEHAVIOUR = ("none", "past", "recent")
BEHAVIOUR_LABELS = ("None", "Past (>3 months)", "Recent (<3 months)")
RISK_SWITCHES = ("method", "intent", "plan")
RISK_SWITCH_LABELS = {"method": "Method (thought of or has access)", "intent": "Intent",
                      "plan": "Plan"}


class RiskStep(VerticalScroll):
    """Shows and edits the risk part of the screen's IntakeState (`state`, None until
    the screen has shown its state: changes before that are the screen's own)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.state: IntakeState | None = None

    @property
    def kb(self) -> KnowledgeBase:
        return self.app.services.kb  # type: ignore[attr-defined, no-any-return]

    def compose(self) -> ComposeResult:
        yield Static("", id="screen-status")
        yield Tick("Structured assessment done: record it in this intake", id="risk-recorded")
        with Horizontal(classes="risk-row"):
            yield Label("Ideation ", classes="risk-label")
            with RadioSet(id="ideation"):
                for i, name in enumerate(("None", "Passive", "Active")):
                    yield Dot(name, value=i == 0)
        with Horizontal(classes="risk-row"):
            yield Label("", classes="risk-label")
            for name in RISK_SWITCHES:
                yield Tick(RISK_SWITCH_LABELS[name], id=f"risk-{name}")
        with Horizontal(classes="risk-row"):
            yield Label("Behaviour", classes="risk-label")
            with RadioSet(id="behaviour"):
                for i, name in enumerate(BEHAVIOUR_LABELS):
                    yield Dot(name, value=i == 0)
        yield Static("", id="risk-level")
        yield Static("", id="risk-warning")
        yield Static("", id="risk-error", classes="field-error")

    def show(self, state: IntakeState) -> None:
        """Set every control from the state."""
        self.state = state
        risk = state.risk
        self.query_one("#risk-recorded", Tick).value = state.risk_recorded
        _press(self.query_one("#ideation", RadioSet), IDEATION.index(risk["ideation"]))
        _press(self.query_one("#behaviour", RadioSet), BEHAVIOUR.index(risk["behaviour"]))
        for name in RISK_SWITCHES:
            self.query_one(f"#risk-{name}", Tick).value = bool(risk[name])
        self.refresh_risk()

    def refresh_risk(self) -> None:
        """The screen's result, the risk level and the skipped-assessment warning."""
        if self.state is None:
            return
        positive, _, reasons = self.state.screen(self.kb)
        if positive:
            screen = ("Suicide screen POSITIVE: " + "; ".join(reasons) + ". This assessment "
                      "cannot be skipped silently.")
        else:
            screen = ("Suicide screen not positive (or not given). The assessment is still "
                      "offered: record it, or go on (the proposal then warns).")
        self.query_one("#screen-status", Static).update(Text(screen))
        level, why = self.state.risk_level(self.kb)
        self.query_one("#risk-level", Static).update(
            Text.assemble("RISK LEVEL: ", (level.upper(), "bold"), f" ({why})"))
        warning = ""
        if self.state.risk_skipped:
            warning = ("WARNING: assessment skipped for now. The intake has no risk section: "
                       "risk UNASSESSED. Tick the box above to record it.")
        self.query_one("#risk-warning", Static).update(Text(warning))

    @on(Checkbox.Changed)
    def tick_changed(self, event: Checkbox.Changed) -> None:
        event.stop()
        state = self.state
        if state is None:
            return
        wid = event.checkbox.id or ""
        if wid == "risk-recorded":
            if event.value != state.risk_recorded:
                state.risk_recorded = event.value
                if event.value:
                    state.risk_skipped = False
                self._edited()
        elif wid.startswith("risk-"):
            self._risk_value(wid[len("risk-"):], event.value)

    @on(RadioSet.Changed)
    def radio_changed(self, event: RadioSet.Changed) -> None:
        event.stop()
        names = {"ideation": IDEATION, "behaviour": BEHAVIOUR}.get(event.radio_set.id or "")
        if self.state is None or names is None:
            return
        self._risk_value(event.radio_set.id or "", names[event.index])

    def _risk_value(self, key: str, value: Any) -> None:
        assert self.state is not None
        if self.state.risk.get(key) == value:
            return
        self.state.risk[key] = value
        if not self.state.risk_recorded:  # answering is assessing
            self.state.risk_recorded = True
            self.state.risk_skipped = False
            self.query_one("#risk-recorded", Tick).value = True
        self._edited()

    def _edited(self) -> None:
        self.refresh_risk()
        self.post_message(StepEdited())


def _press(radio_set: RadioSet, index: int) -> None:
    buttons = list(radio_set.query(RadioButton))
    if 0 <= index < len(buttons) and not buttons[index].value:
        buttons[index].value = True
