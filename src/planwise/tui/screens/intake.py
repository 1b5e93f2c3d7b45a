"""A new intake, one step per view: screening, assessments, instruments, suicide risk,
history and context; then Ctrl+R hands the intake to the proposal review.

Everything entered lives in an `IntakeState` (widgets/intake_state.py); each
change saves the whole intake, with the step and the item in focus, as the
client's intake draft (in a worker), and opening the screen again restores it.
The screen keeps the state, the draft and the way through the steps; steps 3-5
are widgets of their own (widgets/intake_forms.py, intake_risk.py,
intake_context.py) that edit the state and say so (StepEdited). The proposal
review is opened through the app (it opens this screen for a what-if, and this
screen does not import it back).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import ContentSwitcher, Footer, Header, Input, SelectionList, Static
from textual.widgets.selection_list import Selection

from planwise.errors import InputError
from planwise.kb.loader import KnowledgeBase
from planwise.tui import keymap
from planwise.tui.crash_drafts import OpenDraft
from planwise.tui.screens.intake_dialogs import LeaveIntakeDialog, SkipRiskDialog
from planwise.tui.services import today
from planwise.tui.widgets.instrument_form import InstrumentForm
from planwise.tui.widgets.intake_context import ContextStep
from planwise.tui.widgets.intake_controls import TickList
from planwise.tui.widgets.intake_forms import FormsStep
from planwise.tui.widgets.intake_layout import (
    FIELD_PLACES,
    StepEdited,
    local_time,
    row_of,
    steps_text,
)
from planwise.tui.widgets.intake_risk import RiskStep
from planwise.tui.widgets.intake_state import (
    ASSESSMENTS,
    CONTEXT,
    INSTRUMENTS,
    RISK,
    SCREENING,
    IntakeState,
    scope_check,
)

__all__ = ["IntakeScreen", "LeaveIntakeDialog", "SkipRiskDialog", "steps_text"]


class IntakeScreen(Screen[dict[str, Any] | None]):
    """A new intake for `client_id`; given `data` (the proposal review's what-if), it
    starts from those answers and Ctrl+R hands the changed answers back (dismiss)."""

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

    @property
    def kb(self) -> KnowledgeBase:
        return self.app.services.kb  # type: ignore[attr-defined, no-any-return]

    @property
    def forms(self) -> list[InstrumentForm]:
        return self.query_one(FormsStep).forms

    # -- layout ----------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        kb = self.kb
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
            yield FormsStep(id="step-2", classes="intake-step")
            yield RiskStep(id="step-3", classes="intake-step")
            yield ContextStep(id="step-4", classes="intake-step")
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
        self.query_one(RiskStep).show(state)
        self.query_one(ContextStep).show(state)
        self.ready = True
        if state.suggested is None or state.suggested_for != state.concerns:
            self.compute_suggestions(list(state.concerns))
        self.go(state.step, save=False)
        if recovered_at is not None:
            # In the title line, where it stays while the intake is open: a toast is gone
            # in seconds, covered the form line at 80x24, and the clinician must know
            # these answers are a recovered draft.
            when = local_time(recovered_at)
            self.sub_title = f"C{self.client_id}: Recovered unsaved intake from {when}"

    def changed(self) -> None:
        """Something was entered: save the whole intake as the draft, in a worker."""
        if not self.ready:
            return
        payload = self.state.to_draft(self.kb, today())
        self.save_draft(payload, time.monotonic_ns())

    @work(thread=True, exit_on_error=False, group="intake-draft")
    def save_draft(self, payload: dict[str, Any], seq: int) -> None:
        self.app.services.save_intake_draft(self.client_id, payload, seq)  # type: ignore[attr-defined]

    def unsaved_draft(self) -> OpenDraft | None:
        """The whole intake as its draft, now (crash.py saves it when the interface fails)."""
        if not self.ready or self.given is not None:
            return None  # answers given to it are a what-if copy, handed back, never a draft
        return OpenDraft("intake", f"C{self.client_id}", self.state.to_draft(self.kb, today()),
                         self.client_id, f"the new intake of C{self.client_id}")

    @on(StepEdited)
    def step_edited(self, event: StepEdited) -> None:
        event.stop()
        self._show_steps()
        self.changed()

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
            self.query_one(RiskStep).refresh_risk()
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
                self.ready = False  # no save after this one
                self.discard_draft()

        self.app.push_screen(LeaveIntakeDialog(), chosen)

    @work(thread=True, exit_on_error=False, group="intake-draft")
    def discard_draft(self) -> None:
        self.app.services.delete_intake_draft(self.client_id)  # type: ignore[attr-defined]
        self.app.call_from_thread(self._discarded)

    def _discarded(self) -> None:
        self.notify("Intake draft discarded.")
        if self in self.app.screen_stack:
            while self.app.screen_stack[-1] is not self:  # a dialog opened meanwhile goes
                self.app.pop_screen()                     # too: leaving was asked
            self.dismiss(None)

    # -- the suicide-risk decision ---------------------------------------------------------
    def _ask_skip(self, then: Callable[[], None]) -> None:
        _, _, reasons = self.state.screen(self.kb)

        def decided(skip: bool | None) -> None:
            if skip:
                self.state.risk_skipped = True
                self.state.risk_recorded = False
                self.query_one(RiskStep).show(self.state)
                self._show_steps()
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
        if self not in self.app.screen_stack:
            return  # left while the intake was being checked
        if not self.is_current:  # a dialog opened meanwhile: it stays where the user is
            self.notify("The intake is complete: Ctrl+R shows the proposal.")
            return
        if self.given is not None:
            self.dismiss(data)  # answers given to it (the review's what-if): hand them back
            return
        self.app.review_new_intake(self.client_id, data)  # type: ignore[attr-defined]

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
                form.move_to(row_of(form, rest[len(inst):]))
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

    @on(Input.Changed, "#summary")
    def summary_changed(self, event: Input.Changed) -> None:
        if self.ready and self.state.summary != event.value:
            self.state.summary = event.value
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
        before, choice = self.state.chosen(self.kb), dict(self.state.choice)
        for inst, _, _ in self.state.offered(self.kb):
            self.state.choice.pop(inst, None)
            if (inst in self.state.chosen(self.kb)) != (inst in ticked):
                self.state.choice[inst] = inst in ticked
        if self.state.chosen(self.kb) != before:
            self._show_steps()
        if self.state.chosen(self.kb) != before or self.state.choice != choice:
            self.changed()  # the ticks are the draft's, even when the forms stay the same

    # -- step 3: instruments (widgets/intake_forms.py) -------------------------------------
    def _sync_forms(self) -> None:
        self.query_one(FormsStep).sync(self.state, self.kb)
        self._show_form(self.state.form_index)

    def _show_form(self, index: int) -> None:
        self.query_one(FormsStep).show_form(self.state, index,
                                            focus=self.state.step == INSTRUMENTS)

    def action_next_form(self) -> None:
        if self.state.form_index < len(self.forms) - 1:
            self._show_form(self.state.form_index + 1)
            self.changed()
        else:
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
        self.query_one(FormsStep).show_bar(self.state)
        self._show_steps()
        self.changed()
