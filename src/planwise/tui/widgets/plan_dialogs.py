"""The plan editor's dialogs: why an item is in the plan (the rules' own words), one
objective's fields with its SMART letters as you type, and the decision on a problem
found on a screen alone (confirm it, or reject it with a reason)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import ValidationError
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Select, Static, TextArea

from planwise.store.models import ObjectiveItem, PlanDoc, ProblemItem
from planwise.tui import keymap
from planwise.tui.services import today
from planwise.tui.widgets import plan_model as pm
from planwise.tui.widgets.plan_smart import failing, findings_text, smart_text


class RulesDialog(ModalScreen[None]):
    """Why an item is in the plan: the rules that proposed it, what they say, their source."""

    HELP_AREA = "dialog"
    BINDINGS = keymap.bindings("dialog")

    def __init__(self, title: str, because: list[str]) -> None:
        super().__init__()
        self.item_title = title
        self.because = because

    def compose(self) -> ComposeResult:
        kb = self.app.services.kb  # type: ignore[attr-defined]
        out = Text()
        for i, rid in enumerate(self.because):
            if i:
                out.append("\n\n")
            out.append(rid, style="bold")
            try:
                entry = kb.rule(rid).entry
                out.append(f"\n{entry.says}\nSource: {entry.source}")
            except Exception:
                out.append("\n(not in the loaded knowledge)")
        with Vertical(classes="plan-dialog", id="why-dialog"):
            yield Label("Why: " + self.item_title, classes="dialog-title", markup=False)
            with VerticalScroll(id="why-scroll"):
                yield Static(out)
            yield Static("Esc closes", classes="dialog-keys")

    DEFAULT_CSS = """
    RulesDialog .plan-dialog { height: auto; border: round $accent; background: $surface;
        padding: 0 1; }
    RulesDialog #why-dialog { width: 76; max-height: 22; }
    RulesDialog #why-scroll { height: auto; max-height: 16; }
    """

    def action_cancel(self) -> None:
        self.dismiss()


def _date(text: str) -> dt.date | None:
    text = text.strip()
    return dt.date.fromisoformat(text) if text else None


class ObjectiveDialog(ModalScreen[ObjectiveItem | None]):
    """Edit one objective; its SMART letters update as you type."""

    HELP_AREA = "objective"
    BINDINGS = keymap.bindings("objective")
    DEFAULT_CSS = """
    ObjectiveDialog .plan-dialog { height: auto; border: round $accent; background: $surface;
        padding: 0 1; }
    ObjectiveDialog #objective-dialog { width: 78; }
    ObjectiveDialog .field { height: auto; }
    ObjectiveDialog .field Label { width: 13; }
    ObjectiveDialog .field Input { width: 1fr; }
    ObjectiveDialog #obj-tasks { height: 3; width: 1fr; }
    ObjectiveDialog #obj-anticipated, ObjectiveDialog #obj-actual { width: 12; }
    ObjectiveDialog #obj-actual-label { width: 9; }
    ObjectiveDialog #obj-status { width: 24; }
    ObjectiveDialog #objective-smart { height: auto; max-height: 4; }
    """

    def __init__(self, doc: PlanDoc, problem: Any, goal: Any, objective: ObjectiveItem,
                 min_weeks: dict[str, int], instruments: list[str]) -> None:
        super().__init__()
        self.doc = doc
        self.problem = problem
        self.goal = goal
        self.objective = objective
        self.min_weeks = min_weeks
        self.instruments = instruments

    def compose(self) -> ComposeResult:
        o = self.objective
        with Vertical(classes="plan-dialog", id="objective-dialog"):
            yield Label(f"Objective {o.key}", classes="dialog-title", markup=False)
            yield Static("", id="objective-smart")
            with Horizontal(classes="field"):
                yield Label("Objective")
                yield Input(o.text, id="obj-text", compact=True)
            with Horizontal(classes="field"):
                yield Label("Client tasks")
                yield TextArea("\n".join(o.client_tasks), id="obj-tasks", compact=True,
                               placeholder="One task per line: what the client will do")
            with Horizontal(classes="field"):
                yield Label("Measure")
                yield Input(o.measure, id="obj-measure", compact=True)
            with Horizontal(classes="field"):
                yield Label("Anticipated")
                yield Input(str(o.anticipated or ""), id="obj-anticipated", compact=True,
                            placeholder="YYYY-MM-DD")
                yield Label("  Actual", id="obj-actual-label")
                yield Input(str(o.actual or ""), id="obj-actual", compact=True,
                            placeholder="YYYY-MM-DD")
            with Horizontal(classes="field"):
                yield Label("Status")
                yield Select([(pm.status_label(s), s) for s in pm.STATUSES], value=o.status,
                             allow_blank=False, id="obj-status", compact=True)
            yield Static("Tab next field | Ctrl+S keep | Esc cancel", classes="dialog-keys")

    def on_mount(self) -> None:
        self.update_smart()
        self.query_one("#obj-text", Input).focus()

    def _fields(self) -> dict[str, Any]:
        tasks = [t.strip() for t in self.query_one("#obj-tasks", TextArea).text.splitlines()
                 if t.strip()]
        status = self.query_one("#obj-status", Select).value
        return {"text": self.query_one("#obj-text", Input).value.strip(),
                "client_tasks": tasks,
                "measure": self.query_one("#obj-measure", Input).value.strip(),
                "anticipated": self.query_one("#obj-anticipated", Input).value,
                "actual": self.query_one("#obj-actual", Input).value,
                "status": status if isinstance(status, str) else self.objective.status}

    def update_smart(self) -> None:
        f = self._fields()
        notes: list[str] = []
        dates: dict[str, dt.date | None] = {}
        for name in ("anticipated", "actual"):
            try:
                dates[name] = _date(f[name])
            except ValueError:
                dates[name] = None
                notes.append(f"the {name} date is not a date like 2026-12-31")
        candidate = self.objective.model_copy(update={**f, **dates})
        found = pm.lint_one(self.doc, self.problem, self.goal, candidate, self.min_weeks,
                            self.instruments)
        out = Text("SMART ")
        out.append_text(smart_text(failing(found)))
        if found:
            out.append("\n")
            out.append_text(findings_text(found))
        for n in notes:
            out.append("\n" + n, style="bold")
        self.query_one("#objective-smart", Static).update(out)

    @on(Input.Changed)
    @on(TextArea.Changed)
    def changed(self) -> None:
        self.update_smart()

    @on(Select.Changed, "#obj-status")
    def status_changed(self, event: Select.Changed) -> None:
        actual = self.query_one("#obj-actual", Input)
        if event.value == "met" and not actual.value.strip():
            actual.value = str(today())
        self.update_smart()

    @on(Input.Submitted)
    def next_field(self) -> None:
        self.focus_next()

    def action_save(self) -> None:
        f = self._fields()
        try:
            f["anticipated"] = _date(f["anticipated"])
            f["actual"] = _date(f["actual"])
        except ValueError:
            self.notify("A date must look like 2026-12-31.", severity="error")
            return
        if not f["text"] or not f["measure"] or not f["client_tasks"]:
            self.notify("An objective needs its text, at least one client task and a measure.",
                        severity="error")
            return
        try:
            new = ObjectiveItem.model_validate({**self.objective.model_dump(), **f})
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(x) for x in first["loc"])
            self.notify(f"{where}: {first['msg']}", severity="error")
            return
        self.dismiss(new)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ScreenDecisionDialog(ModalScreen[str | None]):
    """A problem the engine found on a screen alone: the clinician confirms it, or rejects
    it (the plan editor then asks for the reason). Dismisses with "confirm", "reject",
    "undecide" or None (cancelled)."""

    HELP_AREA = "screen_decision"
    BINDINGS = keymap.bindings("screen_decision")
    DEFAULT_CSS = """
    ScreenDecisionDialog #screen-dialog { width: 76; height: auto; max-height: 20;
        border: round $accent; background: $surface; padding: 0 1; }
    ScreenDecisionDialog #screen-evidence { height: auto; max-height: 10; }
    """

    def __init__(self, problem: ProblemItem, name: str, evidence: list[str]) -> None:
        super().__init__()
        self.problem = problem
        self.name_shown = name
        self.evidence = evidence

    def compose(self) -> ComposeResult:
        p = self.problem
        if p.origin == "proposed_rejected":
            now = f"Now: rejected ({p.rejection_reason})."
        elif p.confirmed:
            now = "Now: confirmed by the clinician."
        else:
            now = "Now: NOT CONFIRMED. The plan cannot be signed until you decide."
        text = Text(f"{self.name_shown.capitalize()} ({p.severity}) was proposed on a screen "
                    "alone: a score over the instrument's cut-off that no concern, impression "
                    "or diagnosis names. Confirm it in a clinical interview, or reject it.\n")
        text.append(now, style="bold")
        for line in self.evidence:
            text.append(f"\n! {line}")
        with Vertical(id="screen-dialog"):
            yield Label(f"Screen only: {self.name_shown}", classes="dialog-title",
                        markup=False)
            with VerticalScroll(id="screen-evidence"):
                yield Static(text)
            yield Static("c confirm | r reject (with a reason) | u undecided | Esc cancel",
                         classes="dialog-keys")

    def action_confirm(self) -> None:
        self.dismiss("confirm")

    def action_reject(self) -> None:
        self.dismiss("reject")

    def action_undecide(self) -> None:
        self.dismiss("undecide")

    def action_cancel(self) -> None:
        self.dismiss(None)
