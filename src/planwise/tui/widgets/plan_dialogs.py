"""The plan editor's dialogs: why an item is in the plan (the rules' own words), one
objective's fields with its SMART letters as you type, and the decision on a problem
found on a screen alone (confirm it, or reject it with a reason).

What is typed into the objective dialog is part of the plan's work in progress: every
change is kept as a draft (kind "plan", key "P<plan>/objective") until the dialog closes,
and the plan editor opens the dialog again with it after a crash or a hangup
(`ObjectiveEditing`)."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from pydantic import ValidationError
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
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


# The objective dialog's fields: (field, widget id), in the focus order.
OBJECTIVE_FIELDS = (("text", "obj-text"), ("tasks", "obj-tasks"), ("measure", "obj-measure"),
                    ("anticipated", "obj-anticipated"), ("actual", "obj-actual"),
                    ("status", "obj-status"))
_MODEL_FIELD = {"client_tasks": "tasks"}  # an ObjectiveItem field -> the dialog's


def objective_draft_key(plan_id: int) -> str:
    """The draft key of a plan's open objective dialog (kind "plan")."""
    return f"P{plan_id}/objective"


class ObjectiveDialog(ModalScreen[ObjectiveItem | None]):
    """Edit one objective; its SMART letters update as you type. With `plan` (plan id,
    version, client id) every change is kept as a draft; `typed` restores one."""

    HELP_AREA = "objective"
    BINDINGS = keymap.bindings("objective")
    AUTO_FOCUS = "#obj-text"  # focused as the dialog composes: type-ahead lands there
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
                 min_weeks: dict[str, int], instruments: list[str], *,
                 plan: tuple[int, int, int] | None = None,
                 typed: dict[str, str] | None = None, recovered: str = "") -> None:
        super().__init__()
        self.doc = doc
        self.problem = problem
        self.goal = goal
        self.objective = objective
        self.min_weeks = min_weeks
        self.instruments = instruments
        self.plan = plan
        self.initial = typed or {}
        self.recovered = recovered  # when the typed fields were kept, for the note
        self._composed = False

    def _start(self, name: str, value: str) -> str:
        return str(self.initial.get(name, value))

    def compose(self) -> ComposeResult:
        o = self.objective
        status = self.initial.get("status", o.status)
        if status not in pm.STATUSES:
            status = o.status
        with Vertical(classes="plan-dialog", id="objective-dialog"):
            yield Label(f"Objective {o.key}", classes="dialog-title", markup=False)
            if self.recovered:
                yield Static(f"Recovered your unsaved edit from {self.recovered}.",
                             classes="dialog-note", id="objective-recovered")
            yield Static("", id="objective-smart")
            with Horizontal(classes="field"):
                yield Label("Objective")
                yield Input(self._start("text", o.text), id="obj-text", compact=True)
            with Horizontal(classes="field"):
                yield Label("Client tasks")
                yield TextArea(self._start("tasks", "\n".join(o.client_tasks)), id="obj-tasks",
                               compact=True,
                               placeholder="One task per line: what the client will do")
            with Horizontal(classes="field"):
                yield Label("Measure")
                yield Input(self._start("measure", o.measure), id="obj-measure", compact=True)
            with Horizontal(classes="field"):
                yield Label("Anticipated")
                yield Input(self._start("anticipated", str(o.anticipated or "")),
                            id="obj-anticipated", compact=True, placeholder="YYYY-MM-DD")
                yield Label("  Actual", id="obj-actual-label")
                yield Input(self._start("actual", str(o.actual or "")), id="obj-actual",
                            compact=True, placeholder="YYYY-MM-DD")
            with Horizontal(classes="field"):
                yield Label("Status")
                yield Select([(pm.status_label(s), s) for s in pm.STATUSES], value=status,
                             allow_blank=False, id="obj-status", compact=True)
            yield Static("Tab next field | Ctrl+S keep | Esc cancel", classes="dialog-keys")

    def on_mount(self) -> None:
        self.update_smart()
        self._composed = True

    def typed(self) -> dict[str, str]:
        """Every field as typed (the draft)."""
        status = self.query_one("#obj-status", Select).value
        return {"text": self.query_one("#obj-text", Input).value,
                "tasks": self.query_one("#obj-tasks", TextArea).text,
                "measure": self.query_one("#obj-measure", Input).value,
                "anticipated": self.query_one("#obj-anticipated", Input).value,
                "actual": self.query_one("#obj-actual", Input).value,
                "status": status if isinstance(status, str) else self.objective.status}

    def _fields(self) -> dict[str, Any]:
        t = self.typed()
        return {"text": t["text"].strip(),
                "client_tasks": [x.strip() for x in t["tasks"].splitlines() if x.strip()],
                "measure": t["measure"].strip(),
                "anticipated": t["anticipated"], "actual": t["actual"], "status": t["status"]}

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
        self.keep()

    @on(Select.Changed, "#obj-status")
    def status_changed(self, event: Select.Changed) -> None:
        actual = self.query_one("#obj-actual", Input)
        if event.value == "met" and not actual.value.strip():
            actual.value = str(today())
        self.update_smart()
        self.keep()

    # -- the draft -------------------------------------------------------------------------
    def keep(self) -> None:
        """Keep what is typed as a draft (each change, as it is made)."""
        if self.plan is None or not self._composed:
            return
        plan_id, version, client_id = self.plan
        payload = {"base_version": version, "objective": self.objective.key,
                   "fields": self.typed()}
        self._keep(plan_id, client_id, payload, time.monotonic_ns())

    @work(thread=True, exit_on_error=False, group="objective-draft")
    def _keep(self, plan_id: int, client_id: int, payload: dict[str, Any], seq: int) -> None:
        self.app.services.keep_draft("plan", objective_draft_key(plan_id),  # type: ignore
                                     payload, seq, client_id)

    def unsaved_draft(self) -> Any:
        """What is typed, for the crash handler to save (planwise.tui.crash_drafts)."""
        from planwise.tui.crash_drafts import OpenDraft

        if self.plan is None or not self._composed:
            return None
        plan_id, version, client_id = self.plan
        return OpenDraft("plan", objective_draft_key(plan_id),
                         {"base_version": version, "objective": self.objective.key,
                          "fields": self.typed()}, client_id,
                         f"the edit of objective {self.objective.key} on P{plan_id}")

    def _close(self, result: ObjectiveItem | None) -> None:
        if self.plan is not None:
            # A worker of the app: this dialog's own end with it.
            drop = partial(self.app.services.drop_draft, "plan",  # type: ignore[attr-defined]
                           objective_draft_key(self.plan[0]))
            self.app.run_worker(drop, thread=True, group="objective-draft",
                                exit_on_error=False)
        self.dismiss(result)

    # -- keep or cancel ----------------------------------------------------------------------
    def refuse(self, field: str, message: str) -> None:
        """Say what is wrong and put the focus on the field it names."""
        widget = dict(OBJECTIVE_FIELDS).get(field, "obj-text")
        self.query_one(f"#{widget}").focus()
        self.notify(message, severity="error")

    @on(Input.Submitted)
    def next_field(self) -> None:
        self.focus_next()

    def action_save(self) -> None:
        f = self._fields()
        for name in ("anticipated", "actual"):
            try:
                f[name] = _date(f[name])
            except ValueError:
                self.refuse(name, f"The {name} date must look like 2026-12-31.")
                return
        for name, field, what in (("text", "text", "its text"),
                                  ("client_tasks", "tasks", "at least one client task"),
                                  ("measure", "measure", "a measure")):
            if not f[name]:
                self.refuse(field, f"An objective needs {what} (text, at least one client "
                                   "task and a measure).")
                return
        try:
            new = ObjectiveItem.model_validate({**self.objective.model_dump(), **f})
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(x) for x in first["loc"])
            head = str(first["loc"][0]) if first["loc"] else "text"
            self.refuse(_MODEL_FIELD.get(head, head), f"{where}: {first['msg']}")
            return
        self._close(new)

    def action_cancel(self) -> None:
        self._close(None)


class ObjectiveEditing(Screen[None]):
    """The plan editor's part in the objective dialog: opening it with the draft kept,
    and opening it again, as it was, when the plan is opened after a crash or hangup."""

    plan_id: int
    view: pm.PlanView | None
    doc: PlanDoc | None
    # Supplied by the plan editor.
    apply: Callable[[ObjectiveItem], None]
    _editable: Callable[[], bool]

    def edit_objective(self, problem: Any, goal: Any, objective: ObjectiveItem,
                       typed: dict[str, str] | None = None, recovered: str = "") -> None:
        assert self.doc is not None and self.view is not None
        v = self.view

        def done(new: ObjectiveItem | None) -> None:
            if new is not None and new != objective:
                self.apply(new)

        self.app.push_screen(ObjectiveDialog(
            self.doc, problem, goal, objective, v.min_weeks, v.instruments,
            plan=(self.plan_id, v.version, v.client_id), typed=typed, recovered=recovered),
            done)

    @work(thread=True, exclusive=True, exit_on_error=False, group="objective-restore")
    def reopen_objective_dialog(self) -> None:
        """After the plan is shown: an objective dialog left open, opened again."""
        services = self.app.services  # type: ignore[attr-defined]
        draft = services.kept_draft("plan", objective_draft_key(self.plan_id))
        if draft is not None:
            self.app.call_from_thread(self._reopen, draft)

    def _reopen(self, draft: dict[str, Any]) -> None:
        if self.app.screen is not self:
            return  # the dialog is open (this was a reload under it), or another screen
        v, doc = self.view, self.doc
        found = pm.find_objective(doc, str(draft.get("objective"))) if doc else None
        if v is None or found is None or draft.get("base_version") != v.version:
            self.notify("An unsaved edit of an objective was made on a version that has "
                        "changed since; it was not opened.", severity="warning")
            self.app.run_worker(partial(self.app.services.drop_draft,  # type: ignore
                                        "plan", objective_draft_key(self.plan_id)),
                                thread=True, exit_on_error=False)
            return
        if not self._editable():
            return
        when = pm.when_text(str(draft.get("_updated_at", "")))
        self.notify(f"Recovered your unsaved edit of objective {found[2].key} from {when}.",
                    title="Recovered")
        self.edit_objective(*found, typed=dict(draft.get("fields") or {}), recovered=when)


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
