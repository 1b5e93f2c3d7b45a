"""A new intake, one step per view: screening, assessments, instruments, suicide risk,
history and context; then Ctrl+R hands the intake to the proposal review.

Everything entered lives in an `IntakeState` (widgets/intake_state.py); each
change saves the whole intake, with the step and the item in focus, as the
client's intake draft (in a worker), and opening the screen again restores it.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import (
    Checkbox,
    ContentSwitcher,
    Footer,
    Header,
    Input,
    Label,
    RadioButton,
    RadioSet,
    Select,
    SelectionList,
    Static,
)
from textual.widgets.selection_list import Selection

from planwise.errors import InputError
from planwise.kb.loader import KnowledgeBase
from planwise.tui import keymap
from planwise.tui.services import today
from planwise.tui.widgets.instrument_form import InstrumentForm
from planwise.tui.widgets.intake_controls import TickList
from planwise.tui.widgets.intake_state import (
    ASSESSMENTS,
    CONTEXT,
    INSTRUMENTS,
    RISK,
    SCREENING,
    STEPS,
    IntakeState,
    scope_check,
)
from planwise.tui.widgets.plan_toggles import PlainCheckbox as Tick
from planwise.tui.widgets.plan_toggles import PlainRadioButton as Dot

IDEATION = ("none", "passive", "active")
BEHAVIOUR = ("none", "past", "recent")
BEHAVIOUR_LABELS = ("None", "Past (>3 months)", "Recent (<3 months)")
EMPLOYMENT = (("Employed", "employed"), ("Unemployed", "unemployed"), ("Student", "student"),
              ("Unable to work", "unable_to_work"))
HOUSING = (("Stable housing", "stable"), ("Unstable housing", "unstable"))
SEVERITIES = (("mild", "mild"), ("moderate", "moderate"), ("severe", "severe"))
RISK_SWITCHES = ("method", "intent", "plan")
RISK_SWITCH_LABELS = {"method": "Method (thought of or has access)", "intent": "Intent",
                      "plan": "Plan"}

# Where an InputError's field path is shown: (prefix, step, error widget id, widget to focus).
FIELD_PLACES: tuple[tuple[str, int, str, str], ...] = (
    ("screening", SCREENING, "screening-error", "#concerns"),
    ("risk", RISK, "risk-error", "#risk-recorded"),
    ("clinician", CONTEXT, "impressions-error", "#impressions"),
    ("history.prior_treatment", CONTEXT, "prior-error", "#prior-treatment"),
    ("history.medications", CONTEXT, "medications-error", "#medications"),
    ("history", CONTEXT, "history-error", "#trauma"),
    ("context.session_limit", CONTEXT, "limit-error", "#session-limit"),
    ("context.client_goals", CONTEXT, "goals-error", "#client-goals"),
    ("context", CONTEXT, "limit-error", "#session-limit"),
)


def steps_text(current: int, risk_flag: str = "", width: int = 80) -> Text:
    """The step indicator; the separators narrow to fit the width (80 columns)."""
    full = sum(len(f"{i + 1} {n}") for i, n in enumerate(STEPS)) + 2 + len(risk_flag)
    sep = " > " if full + 3 * (len(STEPS) - 1) <= width else ">"
    text = Text()
    for i, name in enumerate(STEPS):
        if i:
            text.append(sep)
        label = f"{i + 1} {name}"
        if i == RISK and risk_flag:
            label += risk_flag
        if i == current:
            text.append(f"[{label}]", style="bold reverse")
        else:
            text.append(label)
    return text


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


class IntakeScreen(Screen[dict[str, Any] | None]):
    HELP_AREA = "intake"
    BINDINGS = keymap.bindings("intake")
    HELP_TEXT = ("A new intake in five steps: Ctrl+N next, Ctrl+B previous, Ctrl+R the "
                 "proposal. Every change is saved as a draft. On a checklist Space ticks; "
                 "on an instrument form digits answer and move on.")

    DEFAULT_CSS = """
    IntakeScreen #steps { height: 1; background: $boost; }
    IntakeScreen .field-error { height: auto; color: $error; text-style: bold; }
    IntakeScreen .field-error:empty { display: none; }
    IntakeScreen #step-switcher { height: 1fr; }
    IntakeScreen .intake-step { height: 1fr; }
    IntakeScreen .step-help { color: $text-muted; }
    IntakeScreen #concerns { height: 1fr; }
    IntakeScreen #scope { height: auto; max-height: 5; padding: 0 1; border-top: solid $accent; }
    IntakeScreen #assessments { height: 1fr; }
    IntakeScreen #forms-bar { height: auto; }
    IntakeScreen #forms { height: 1fr; }
    IntakeScreen #no-forms { padding: 1 2; }
    IntakeScreen .risk-row, IntakeScreen .switch-row, IntakeScreen .context-row,
    IntakeScreen .severity-row { height: auto; }
    IntakeScreen RadioSet { layout: horizontal; }
    IntakeScreen .risk-label { width: 10; padding: 1 0 0 1; }
    IntakeScreen .switch-label { padding: 1 2 0 1; }
    IntakeScreen #risk-level { text-style: bold; padding: 0 1; border: round $accent; }
    IntakeScreen #risk-warning { color: $warning; text-style: bold; }
    IntakeScreen #session-limit { width: 21; }
    IntakeScreen #employment { width: 28; }
    IntakeScreen #housing { width: 1fr; }
    IntakeScreen #impressions { height: 8; }
    IntakeScreen .severity-label { width: 40; padding: 1 0 0 1; }
    IntakeScreen .severity-row Select { width: 1fr; }
    """

    def __init__(self, client_id: int, data: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.client_id = client_id
        self.given = data
        self.state = IntakeState.from_intake(data) if data is not None else IntakeState()
        self.ready = data is not None  # False until the draft (if any) has been looked up
        self.forms: list[InstrumentForm] = []
        self._form_ids: list[str] = []
        self._form_cache: dict[str, InstrumentForm] = {}

    @property
    def kb(self) -> KnowledgeBase:
        return self.app.services.kb  # type: ignore[attr-defined, no-any-return]

    # -- layout ----------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        kb = self.app.services.kb  # type: ignore[attr-defined]
        yield Header()
        yield Static(steps_text(SCREENING), id="steps")
        yield Static("", id="intake-error", classes="field-error")
        with ContentSwitcher(initial="step-0", id="step-switcher"):
            with Vertical(id="step-0", classes="intake-step"):
                yield Static("Concerns raised at screening (Space ticks; Tab to the summary)",
                             classes="step-help")
                concerns = [Selection(e.label, cid) for cid, e in kb.vocab["conditions"].items()
                            if e.intake]
                concerns += [Selection(e.label, cid) for cid, e in kb.vocab["concerns"].items()]
                yield TickList(*concerns, id="concerns")
                yield Input(placeholder="One-line summary of the screening", id="summary")
                yield Static("", id="screening-error", classes="field-error")
                yield Static("", id="scope")
            with Vertical(id="step-1", classes="intake-step"):
                yield Static("Computing the assessments the screening calls for...",
                             id="assess-status", classes="step-help")
                yield TickList(id="assessments")
            with Vertical(id="step-2", classes="intake-step"):
                yield Static("", id="forms-bar")
                yield Static("No instruments chosen: Ctrl+B to choose some, or Ctrl+N to go on.",
                             id="no-forms")
                yield Vertical(id="forms")
            with VerticalScroll(id="step-3", classes="intake-step"):
                yield Static("", id="screen-status")
                yield Tick("Structured assessment done: record it in this intake",
                               id="risk-recorded")
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
            with VerticalScroll(id="step-4", classes="intake-step"):
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
                    yield Select(list(EMPLOYMENT), prompt="Employment",
                                 id="employment")
                    yield Select(list(HOUSING), prompt="Housing", id="housing")
                yield Static("", id="limit-error", classes="field-error")
                yield Input(placeholder="Client's goals in their words (separate with ;)",
                            id="client-goals")
                yield Static("", id="goals-error", classes="field-error")
                yield Static("Clinician impressions: conditions you confirm (Space ticks)",
                             classes="step-help")
                impressions = [Selection(e.label, cid)
                               for cid, e in kb.vocab["conditions"].items() if e.intake]
                yield TickList(*impressions, id="impressions")
                yield Static("", id="impressions-error", classes="field-error")
                yield Vertical(id="severities")
        yield Footer()

    def on_mount(self) -> None:
        self.title = "planwise"
        self.sub_title = f"New intake for C{self.client_id}"
        if self.given is not None:
            self.apply_state(recovered_at=None)
        else:
            self.load_draft()

    # -- draft: load, restore, save --------------------------------------------------------
    @work(thread=True, exit_on_error=False, group="intake-load")
    def load_draft(self) -> None:
        draft = self.app.services.load_intake_draft(self.client_id)  # type: ignore[attr-defined]
        self.app.call_from_thread(self._draft_loaded, draft)

    def _draft_loaded(self, draft: dict[str, Any] | None) -> None:
        when = None
        if draft is not None:
            self.state = IntakeState.from_draft(draft)
            when = str(draft.get("_updated_at") or "")
        self.apply_state(recovered_at=when)

    def apply_state(self, recovered_at: str | None) -> None:
        """Show the state in every widget, then go to its step (restores exactly)."""
        state = self.state
        concerns = self.query_one("#concerns", SelectionList)
        concerns.deselect_all()
        for c in state.concerns:
            concerns.select(c)
        self.query_one("#summary", Input).value = state.summary
        self._show_scope()
        self._fill_assessments()
        self._set_risk_widgets()
        self.query_one("#trauma", Tick).value = state.trauma
        self.query_one("#withdrawal", Tick).value = state.withdrawal_complications
        self.query_one("#prior-treatment", Input).value = state.prior_treatment
        self.query_one("#medications", Input).value = state.medications
        self.query_one("#session-limit", Input).value = state.session_limit
        self.query_one("#employment", Select).value = state.employment or Select.NULL
        self.query_one("#housing", Select).value = state.housing or Select.NULL
        self.query_one("#client-goals", Input).value = state.client_goals
        impressions = self.query_one("#impressions", SelectionList)
        impressions.deselect_all()
        for c in state.impressions:
            impressions.select(c)
        self._sync_severities()
        self.ready = True
        if state.suggested is None or state.suggested_for != state.concerns:
            self.compute_suggestions(list(state.concerns))
        self.go(state.step, save=False)
        if recovered_at is not None:
            self.notify(f"Recovered unsaved intake from {_local_time(recovered_at)}.",
                        title="Draft restored")

    def changed(self) -> None:
        """Something was entered: save the whole intake as the draft, in a worker."""
        if not self.ready:
            return
        payload = self.state.to_draft(self.kb, today())
        self.save_draft(payload, time.monotonic_ns())

    @work(thread=True, exit_on_error=False, group="intake-draft")
    def save_draft(self, payload: dict[str, Any], seq: int) -> None:
        self.app.services.save_intake_draft(self.client_id, payload, seq)  # type: ignore[attr-defined]

    # -- the contract intake (also used by the proposal review) ----------------------------
    def intake_data(self) -> dict[str, Any]:
        """The intake as a contract dict (planwise.intake/1), dated today unless given."""
        return self.state.to_intake(self.kb, today())

    # -- steps -----------------------------------------------------------------------------
    def go(self, step: int, save: bool = True) -> None:
        step = max(SCREENING, min(CONTEXT, step))
        self.state.step = step
        self.query_one("#step-switcher", ContentSwitcher).current = f"step-{step}"
        if step == INSTRUMENTS:
            self._sync_forms()
        if step == RISK:
            self._show_risk()
        self._show_steps()
        self._focus_step()
        if save:
            self.changed()

    def _focus_step(self) -> None:
        step = self.state.step
        if step == SCREENING:
            self.query_one("#concerns").focus()
        elif step == ASSESSMENTS:
            self.query_one("#assessments").focus()
        elif step == INSTRUMENTS:
            if self.forms:
                self.forms[self.state.form_index].focus()
            else:
                self.set_focus(None)
        elif step == RISK:
            self.query_one("#risk-recorded").focus()
        else:
            self.query_one("#trauma").focus()

    def _show_steps(self) -> None:
        flag = ""
        if self.state.risk_skipped or self.state.needs_risk_decision(self.kb):
            flag = " (!)"
        self.query_one("#steps", Static).update(
            steps_text(self.state.step, flag, self.app.size.width))

    def action_next_step(self) -> None:
        step = self.state.step
        if step == INSTRUMENTS and self.state.form_index < len(self.forms) - 1:
            self.action_next_form()
            return
        if step == RISK and self.state.needs_risk_decision(self.kb):
            self._ask_skip(lambda: self.go(CONTEXT))
            return
        if step == CONTEXT:
            self.notify("This is the last step: Ctrl+R shows the proposal.")
            return
        self.go(step + 1)

    def action_previous_step(self) -> None:
        if self.state.step == INSTRUMENTS and self.state.form_index > 0:
            self.action_previous_form()
            return
        if self.state.step == SCREENING:
            return
        self.go(self.state.step - 1)

    def action_back(self) -> None:
        def chosen(answer: str | None) -> None:
            if answer == "keep":
                self.changed()
                self.dismiss(None)
            elif answer == "discard":
                self.discard_draft()

        self.app.push_screen(LeaveIntakeDialog(), chosen)

    @work(thread=True, exit_on_error=False, group="intake-draft")
    def discard_draft(self) -> None:
        self.ready = False
        self.app.services.delete_intake_draft(self.client_id)  # type: ignore[attr-defined]
        self.app.call_from_thread(self._discarded)

    def _discarded(self) -> None:
        self.notify("Intake draft discarded.")
        self.dismiss(None)

    # -- the suicide-risk decision ---------------------------------------------------------
    def _ask_skip(self, then: Any) -> None:
        _, _, reasons = self.state.screen(self.kb)

        def decided(skip: bool | None) -> None:
            if skip:
                self.state.risk_skipped = True
                self.state.risk_recorded = False
                self._set_risk_widgets()
                self._show_risk()
                self.notify("Suicide-risk assessment skipped for now: risk is UNASSESSED.",
                            severity="warning", timeout=8)
                self.changed()
                then()
            else:
                self.go(RISK)

        self.app.push_screen(SkipRiskDialog(reasons), decided)

    # -- the proposal ----------------------------------------------------------------------
    def action_propose(self) -> None:
        if self.state.needs_risk_decision(self.kb):
            if self.state.step != RISK:
                self.go(RISK)
            self._ask_skip(self._propose)
            return
        self._propose()

    def _propose(self) -> None:
        self._clear_errors()
        self.check(self.intake_data())

    @work(thread=True, exit_on_error=False, group="intake-check")
    def check(self, data: dict[str, Any]) -> None:
        try:
            self.app.services.check_intake(data)  # type: ignore[attr-defined]
        except InputError as exc:
            self.app.call_from_thread(self.show_input_error, exc)
            return
        self.app.call_from_thread(self._open_proposal, data)

    def _open_proposal(self, data: dict[str, Any]) -> None:
        try:
            from planwise.tui.screens.proposal import ProposalScreen
        except ImportError:
            self.notify("The proposal review is not available in this build.",
                        severity="error")
            return
        stack = self.app.screen_stack
        below = stack[-2] if len(stack) >= 2 and stack[-1] is self else None
        from_proposal = getattr(self, "proposal_screen", None) is not None or (
            self.given is not None and isinstance(below, ProposalScreen))
        if from_proposal:
            self.dismiss(data)  # "change answers" from the proposal: hand the answers back
            return
        self.app.push_screen(ProposalScreen(self.client_id, data))  # type: ignore[call-arg]

    def _clear_errors(self) -> None:
        for widget in self.query(".field-error"):
            if isinstance(widget, Static):
                widget.update("")
        for form in self.forms:
            if form.message:
                form.message = ""
                form.refresh_form()

    def show_input_error(self, exc: InputError) -> None:
        """Show the error next to the field it names; the answers stay as they are."""
        field = exc.field or ""
        text = Text(f"{field}: {exc.message}" if field else exc.message)
        if field.startswith("instruments."):
            rest = field[len("instruments."):]
            inst = rest.split("[", 1)[0].split(".", 1)[0]
            self.go(INSTRUMENTS)
            ids = [f.inst.id for f in self.forms]
            if inst in ids:
                self._show_form(ids.index(inst))
                form = self.forms[ids.index(inst)]
                form.move_to(_row_of(form, rest[len(inst):]))
                form.message = f"Not ready: {exc.message}"
                form.refresh_form()
            self.query_one("#intake-error", Static).update(text)
            return
        for prefix, step, error_id, focus in FIELD_PLACES:
            if field == prefix or field.startswith(prefix + ".") or field.startswith(prefix + "["):
                self.go(step)
                self.query_one(f"#{error_id}", Static).update(text)
                self.query_one(focus).focus()
                return
        self.query_one("#intake-error", Static).update(text)

    # -- step 1: screening -----------------------------------------------------------------
    @on(SelectionList.SelectedChanged, "#concerns")
    def concerns_changed(self) -> None:
        if not self.ready:
            return
        ticked = set(self.query_one("#concerns", SelectionList).selected)
        order = [*self.kb.vocab["conditions"], *self.kb.vocab["concerns"]]
        concerns = [c for c in order if c in ticked]
        if concerns == self.state.concerns:
            return
        self.state.concerns = concerns
        self._show_scope()
        self.compute_suggestions(concerns)
        self.changed()

    def _show_scope(self) -> None:
        profile = self.app.services.profile  # type: ignore[attr-defined]
        self.query_one("#scope", Static).update(
            Text(scope_check(self.state.concerns, profile, self.kb)))

    @on(Input.Changed)
    def text_changed(self, event: Input.Changed) -> None:
        if not self.ready:
            return
        attr = {"summary": "summary", "prior-treatment": "prior_treatment",
                "medications": "medications", "session-limit": "session_limit",
                "client-goals": "client_goals"}.get(event.input.id or "")
        if attr and getattr(self.state, attr) != event.value:
            setattr(self.state, attr, event.value)
            self.changed()

    # -- step 2: assessments ---------------------------------------------------------------
    @work(thread=True, exclusive=True, exit_on_error=False, group="intake-suggest")
    def compute_suggestions(self, concerns: list[str]) -> None:
        suggestions = self.app.services.intake_suggestions(concerns)  # type: ignore[attr-defined]
        self.app.call_from_thread(self._suggested, concerns, suggestions)

    def _suggested(self, concerns: list[str], suggestions: list[tuple[str, str]]) -> None:
        if concerns != self.state.concerns:
            return  # an older screening's answer
        self.state.suggested = suggestions
        self.state.suggested_for = concerns
        self._fill_assessments()
        if self.state.step == INSTRUMENTS:
            self._sync_forms()
        self._show_steps()
        self.changed()

    def _fill_assessments(self) -> None:
        status = self.query_one("#assess-status", Static)
        if self.state.suggested is None:
            status.update("Computing the assessments the screening calls for...")
        else:
            n = len(self.state.suggested)
            status.update(
                f"The screening calls for {n} instrument{'s' if n != 1 else ''} (ticked). "
                "Space ticks or unticks; add any other.")
        chosen = set(self.state.chosen(self.kb))
        listing = self.query_one("#assessments", SelectionList)
        highlighted = listing.highlighted
        listing.clear_options()
        listing.add_options([
            Selection(Text(f"{self.kb.instruments[inst].name}: {why}"), inst, inst in chosen)
            for inst, why, _ in self.state.offered(self.kb)])
        if highlighted is not None and highlighted < listing.option_count:
            listing.highlighted = highlighted
        elif listing.option_count:
            listing.highlighted = 0  # so the first Space ticks something

    @on(SelectionList.SelectedChanged, "#assessments")
    def assessments_changed(self) -> None:
        if not self.ready:
            return
        ticked = set(self.query_one("#assessments", SelectionList).selected)
        before = self.state.chosen(self.kb)
        for inst, _, _ in self.state.offered(self.kb):
            self.state.choice.pop(inst, None)
            if (inst in self.state.chosen(self.kb)) != (inst in ticked):
                self.state.choice[inst] = inst in ticked
        if self.state.chosen(self.kb) != before:
            self._show_steps()
            self.changed()

    # -- step 3: instruments ---------------------------------------------------------------
    def _sync_forms(self) -> None:
        chosen = self.state.chosen(self.kb)
        if chosen != self._form_ids:
            # Forms are made once per instrument and kept (hidden when unticked):
            # removing and re-mounting raced with the removal (duplicate ids), and
            # a form ticked again keeps its answers and position.
            holder = self.query_one("#forms", Vertical)
            fresh = []
            for inst in chosen:
                if inst not in self._form_cache:
                    form = InstrumentForm(self.kb.instruments[inst], self.state.answers.get(inst),
                                          self.state.positions.get(inst, 0), id=f"form-{inst}")
                    self._form_cache[inst] = form
                    fresh.append(form)
            self.forms = [self._form_cache[inst] for inst in chosen]
            for inst, form in self._form_cache.items():
                if inst not in chosen:
                    form.display = False
            self._form_ids = chosen
            if fresh:
                holder.mount_all(fresh)
        self.state.form_index = max(0, min(self.state.form_index, len(self.forms) - 1))
        self.query_one("#no-forms").display = not self.forms
        self._show_form(self.state.form_index)

    def _show_form(self, index: int) -> None:
        self.state.form_index = index
        for i, form in enumerate(self.forms):
            form.display = i == index
        self._show_forms_bar()
        if self.forms and self.state.step == INSTRUMENTS:
            self.forms[index].focus()

    def _show_forms_bar(self) -> None:
        text = Text()
        if self.forms:
            text.append(f"Form {self.state.form_index + 1} of {len(self.forms)} "
                        "(Tab/Ctrl+N next, Shift+Tab/Ctrl+B back): ")
        for i, form in enumerate(self.forms):
            need = len(form.required_rows())
            done = "done" if form.complete() else f"{form.answered()}/{need}"
            label = f"{form.inst.name} {done}"
            if i == self.state.form_index:
                text.append(f"[{label}]", style="bold reverse")
            else:
                text.append(label)
            text.append(" ")
        self.query_one("#forms-bar", Static).update(text)

    def action_next_form(self) -> None:
        if self.state.form_index < len(self.forms) - 1:
            self._show_form(self.state.form_index + 1)
            self.changed()
        else:
            self.action_next_step_after_forms()

    def action_next_step_after_forms(self) -> None:
        self.go(RISK)

    def action_previous_form(self) -> None:
        if self.state.form_index > 0:
            self._show_form(self.state.form_index - 1)
            self.changed()
        else:
            self.go(ASSESSMENTS)

    @on(InstrumentForm.Changed)
    def form_changed(self, event: InstrumentForm.Changed) -> None:
        inst = event.form.inst.id
        self.state.answers[inst] = event.form.data()
        self.state.positions[inst] = event.form.position
        self._show_forms_bar()
        self._show_steps()
        self.changed()

    # -- step 4: suicide risk --------------------------------------------------------------
    def _set_risk_widgets(self) -> None:
        risk = self.state.risk
        self.query_one("#risk-recorded", Tick).value = self.state.risk_recorded
        _press(self.query_one("#ideation", RadioSet), IDEATION.index(risk["ideation"]))
        _press(self.query_one("#behaviour", RadioSet), BEHAVIOUR.index(risk["behaviour"]))
        for name in RISK_SWITCHES:
            self.query_one(f"#risk-{name}", Tick).value = bool(risk[name])
        self._show_risk()

    def _show_risk(self) -> None:
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
        self._show_steps()

    @on(Checkbox.Changed)
    def tick_changed(self, event: Checkbox.Changed) -> None:
        if not self.ready:
            return
        wid = event.checkbox.id or ""
        if wid.startswith("risk-") and wid != "risk-recorded":
            self._risk_value(wid[len("risk-"):], event.value)
        elif wid == "trauma" and self.state.trauma != event.value:
            self.state.trauma = event.value
            self.changed()
        elif wid == "withdrawal" and self.state.withdrawal_complications != event.value:
            self.state.withdrawal_complications = event.value
            self.changed()
        elif wid == "risk-recorded" and event.value != self.state.risk_recorded:
            self.risk_recorded_changed(event.value)

    def risk_recorded_changed(self, value: bool) -> None:
        self.state.risk_recorded = value
        if value:
            self.state.risk_skipped = False
        self._show_risk()
        self.changed()

    @on(RadioSet.Changed)
    def radio_changed(self, event: RadioSet.Changed) -> None:
        if not self.ready:
            return
        names = {"ideation": IDEATION, "behaviour": BEHAVIOUR}.get(event.radio_set.id or "")
        if names is None:
            return
        self._risk_value(event.radio_set.id or "", names[event.index])

    def _risk_value(self, key: str, value: Any) -> None:
        if self.state.risk.get(key) == value:
            return
        self.state.risk[key] = value
        if not self.state.risk_recorded:  # answering is assessing
            self.state.risk_recorded = True
            self.state.risk_skipped = False
            self.query_one("#risk-recorded", Tick).value = True
        self._show_risk()
        self.changed()

    # -- step 5: history and context -------------------------------------------------------
    @on(Select.Changed)
    def select_changed(self, event: Select.Changed) -> None:
        if not self.ready:
            return
        wid = event.select.id or ""
        value = None if event.value is Select.NULL else str(event.value)
        if wid in ("employment", "housing"):
            if getattr(self.state, wid) != value:
                setattr(self.state, wid, value)
                self.changed()
        elif wid.startswith("severity-"):
            cond = wid[len("severity-"):]
            if self.state.severity.get(cond) != value:
                if value is None:
                    self.state.severity.pop(cond, None)
                else:
                    self.state.severity[cond] = value
                self.changed()

    @on(SelectionList.SelectedChanged, "#impressions")
    def impressions_changed(self) -> None:
        if not self.ready:
            return
        ticked = set(self.query_one("#impressions", SelectionList).selected)
        impressions = [c for c in self.kb.vocab["conditions"] if c in ticked]
        if impressions != self.state.impressions:
            self.state.impressions = impressions
            self._sync_severities()
            self.changed()

    def _sync_severities(self) -> None:
        holder = self.query_one("#severities", Vertical)
        have = {w.id[len("sevrow-"):] for w in holder.children if w.id}
        want = self.state.impressions
        if set(want) == have:
            return
        holder.remove_children()
        rows = []
        for cond in want:
            value = self.state.severity.get(cond)
            rows.append(Horizontal(
                Label(f"Severity: {self.kb.label('conditions', cond)}", classes="severity-label"),
                Select(list(SEVERITIES), prompt="(engine decides)", id=f"severity-{cond}",
                       value=value if value else Select.NULL),
                id=f"sevrow-{cond}", classes="severity-row"))
        holder.mount_all(rows)


def _press(radio_set: RadioSet, index: int) -> None:
    buttons = list(radio_set.query(RadioButton))
    if 0 <= index < len(buttons) and not buttons[index].value:
        buttons[index].value = True


def _row_of(form: InstrumentForm, rest: str) -> int:
    """The form row an error path names: `[3]` is item 3, `.better_off_dead` a key."""
    if rest.startswith("["):
        try:
            return int(rest[1:].split("]", 1)[0]) - 1
        except ValueError:
            return 0
    key = rest.lstrip(".")
    n = form.inst.scoring.items
    if key.startswith("symptoms["):
        try:
            return int(key[len("symptoms["):].split("]", 1)[0]) - 1
        except ValueError:
            return 0
    if key == "same_period":
        return n
    if key == "impairment":
        return n + 1
    for item in form.inst.items:
        if item.key == key:
            return item.number - 1
    return 0


def _local_time(stamp: str) -> str:
    try:
        when = dt.datetime.fromisoformat(stamp)
    except ValueError:
        return stamp or "an earlier session"
    return when.astimezone().strftime("%Y-%m-%d %H:%M")
