"""A session note: date, the plan's open objectives addressed with a progress rating each,
the note, the end-of-session feedback (all items or none), measures given at the session,
and the count against the payer's limit. Autosaved as a draft as you type."""

from __future__ import annotations

import time
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Footer, Header, Input, Label, Static, TextArea

from planwise.clinical.feedback import load_form
from planwise.store.measures import change_words
from planwise.store.sessions import count_text
from planwise.tui import keymap
from planwise.tui.services import today
from planwise.tui.widgets import plan_model as pm
from planwise.tui.widgets.feedback_list import FeedbackList
from planwise.tui.widgets.feedback_list import status as feedback_status
from planwise.tui.widgets.plan_checklist import ObjectiveChecklist


def measure_text(result: dict[str, Any]) -> str:
    """'PHQ-9 9 (Mild (5-9)), baseline 16: 7 points better, reliably improved' from one of
    add_session's measure results; the first score of an instrument is the baseline."""
    out = f"{result.get('name') or result['instrument']} {result['total']}"
    if result.get("band_label") or result.get("band"):
        out += f" ({result.get('band_label') or result['band']})"
    change = result.get("change")
    if not change:
        return f"{out}: the baseline"
    return f"{out}, baseline {change['baseline']}: {change_words(change)}"


def feedback_text(summary: dict[str, Any]) -> str:
    """'Feedback: mean 5.0, lowest 4 (LOW: a signal to talk about with the client).' from
    add_session's feedback summary (low and falling by knowledge/feedback.toml)."""
    text = f"Feedback: mean {float(summary['mean']):.1f}, lowest {summary['lowest']}"
    signs = [w for w, on_ in (("LOW", summary.get("low")), ("FALLING since the last session",
                                                           summary.get("falling"))) if on_]
    if signs:
        text += f" ({', '.join(signs)}: a signal to talk about with the client)"
    return text + "."


class SessionScreen(Screen[None]):
    HELP_AREA = "session"
    BINDINGS = keymap.bindings("session")
    HELP_TEXT = ("Tick each objective the session worked on (Space) and rate its progress "
                 "0-10 (digits 0-9; + and - step up to 10). A session that worked on no "
                 "objective needs an unplanned reason. At the end, the client's feedback "
                 "(Ctrl+F): every item 0-10, or none. Ctrl+T gives a measure (an instrument "
                 "again) with the session. The note is kept as a draft as you type.")
    DEFAULT_CSS = """
    SessionScreen #session-head { height: auto; padding: 0 1; }
    SessionScreen .field { height: 1; padding: 0 1; }
    SessionScreen .field Label { width: auto; padding: 0 1 0 0; }
    SessionScreen #session-date { width: 12; }
    SessionScreen #session-unplanned { width: 1fr; }
    SessionScreen #session-objectives { height: 1fr; min-height: 4; }
    SessionScreen #session-note { height: 5; }
    SessionScreen #session-feedback { height: 4; border: none; padding: 0; }
    SessionScreen #session-measures { height: 1; padding: 0 1; }
    """

    def __init__(self, plan_id: int) -> None:
        super().__init__()
        self.plan_id = plan_id
        self.loaded: dict[str, Any] | None = None
        self._last: dict[str, Any] | None = None
        self._saving = False
        self.form = load_form()
        self.measures: dict[str, Any] = {}  # instrument -> answers, given at this session

    @property
    def key(self) -> str:
        return f"P{self.plan_id}"

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Loading...", id="session-head")
        with Horizontal(classes="field"):
            yield Label("Date")
            yield Input(str(today()), id="session-date", compact=True, placeholder="YYYY-MM-DD")
            yield Label(" Unplanned")
            yield Input("", id="session-unplanned", compact=True,
                        placeholder="reason, only when no objective was worked on")
        yield Static("Objectives worked on (Space tick, 0-9 rate, +/- up to 10)",
                     classes="section-title")
        yield ObjectiveChecklist(id="session-objectives")
        yield Static("Note", classes="section-title")
        yield TextArea("", id="session-note", placeholder="What happened in the session")
        yield Static("", id="session-feedback-title", classes="section-title")
        yield FeedbackList(self.form, id="session-feedback")
        yield Static("", id="session-measures")
        yield Footer()

    def on_mount(self) -> None:
        self.title = "planwise"
        self.sub_title = f"Session note, plan {self.key}"
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="session-load")
    def load(self) -> None:
        data = self.app.services.session_view(self.plan_id)  # type: ignore[attr-defined]
        self.app.call_from_thread(self.show, data)

    def show(self, data: dict[str, Any]) -> None:
        self.loaded = data
        checklist = self.query_one(ObjectiveChecklist)
        draft = data["draft"]
        if draft is not None:
            self.query_one("#session-date", Input).value = str(draft.get("date", today()))
            self.query_one("#session-unplanned", Input).value = str(draft.get("unplanned", ""))
            note = self.query_one("#session-note", TextArea)
            note.text = str(draft.get("note", ""))
            note.move_cursor(note.document.end)  # typing goes on after the recovered text
            addressed = {str(k): (None if r is None else int(r))
                         for k, r in dict(draft.get("addressed", {})).items()}
            checklist.set_items(data["objectives"], addressed)
            self.query_one(FeedbackList).set_answers(
                {str(k): int(v) for k, v in dict(draft.get("feedback", {})).items()})
            self.measures = {str(m[0]): m[1] for m in draft.get("measures", [])
                             if str(m[0]) in self.app.services.kb.instruments}  # type: ignore[attr-defined]
            self.notify("Recovered unsaved session note from "
                        f"{pm.when_text(str(draft.get('_updated_at', '')))}.", timeout=8)
        else:
            checklist.set_items(data["objectives"], {})
        self._last = self.payload()
        self.show_head()
        checklist.focus()

    def payload(self) -> dict[str, Any]:
        return {"date": self.query_one("#session-date", Input).value,
                "unplanned": self.query_one("#session-unplanned", Input).value,
                "note": self.query_one("#session-note", TextArea).text,
                "addressed": dict(self.query_one(ObjectiveChecklist).addressed),
                "feedback": dict(self.query_one(FeedbackList).answers),
                "measures": [[k, v] for k, v in self.measures.items()]}

    def show_head(self) -> None:
        data = self.loaded
        if data is None:
            return
        number = data["used"] + 1
        addressed = self.query_one(ObjectiveChecklist).addressed
        rated = sum(1 for r in addressed.values() if r is not None)
        objectives = len(data["objectives"])
        text = (f"Plan {self.key} v{data['version']} | [b]{count_text(number, data['limit'])}"
                f"[/b]\n{len(addressed)} of {objectives} open objective(s) worked on, "
                f"{rated} rated")
        if data["last_date"]:
            text += f" | last session {data['last_date']}"
        self.query_one("#session-head", Static).update(text)
        answers = self.query_one(FeedbackList).answers
        self.query_one("#session-feedback-title", Static).update(
            f"Feedback, 0 {self.form.items[0].low} .. 10 {self.form.items[0].high} "
            f"(Ctrl+F): {feedback_status(answers, self.form)}")
        self.query_one("#session-measures", Static).update(self.measures_line())

    def measures_line(self) -> str:
        if not self.measures:
            return "Measures: none given (Ctrl+T gives one)"
        kb = self.app.services.kb  # type: ignore[attr-defined]
        bits = []
        for instrument, answers in self.measures.items():
            inst = kb.instruments[instrument]
            try:
                result = inst.score(answers)
            except Exception:  # answers from a draft the instrument no longer takes
                bits.append(f"{inst.name} (answers to check)")
                continue
            bits.append(f"{inst.name} {result.total} {result.band_label}")
        return "Measures: " + "; ".join(bits) + " (Ctrl+T another)"

    # -- autosave ----------------------------------------------------------------------
    @on(Input.Changed)
    @on(TextArea.Changed)
    @on(ObjectiveChecklist.Changed)
    @on(FeedbackList.Changed)
    def edited(self) -> None:
        if self.loaded is None or self._saving:
            return
        self.show_head()
        payload = self.payload()
        if payload == self._last:
            return
        self._last = payload
        self.keep(payload, time.monotonic_ns())

    @work(thread=True, exit_on_error=False, group="session-draft")
    def keep(self, payload: dict[str, Any], seq: int) -> None:
        client_id = self.loaded["client_id"] if self.loaded else None
        self.app.services.keep_draft("session", self.key, payload, seq,  # type: ignore[attr-defined]
                                     client_id)

    # -- saving ------------------------------------------------------------------------
    def action_save(self) -> None:
        if self.loaded is None or self._saving:
            return
        p = self.payload()
        addressed: dict[str, int | None] = p["addressed"]
        unplanned = p["unplanned"].strip()
        if not p["note"].strip():
            self.notify("Write the note first (Ctrl+N goes to it).", severity="warning")
            self.query_one("#session-note", TextArea).focus()
            return
        if not addressed and not unplanned:
            self.notify("Not saved: a session works on at least one objective of the plan. "
                        "Tick one (Space), or give the reason for an unplanned session.",
                        severity="warning", timeout=8)
            return
        if addressed and unplanned:
            self.notify("Not saved: 'unplanned' is only for a session that worked on no "
                        "objective; clear it or untick the objectives.", severity="warning")
            return
        feedback: dict[str, int] = p["feedback"]
        if feedback and len(feedback) < len(self.form.items):
            self.notify(f"Not saved: feedback is {feedback_status(feedback, self.form)}. "
                        "Answer the rest (Ctrl+F), or clear them (Backspace).",
                        severity="warning", timeout=8)
            self.set_focus(self.query_one(FeedbackList))
            return
        objectives = [k if r is None else f"{k}:{r}" for k, r in addressed.items()]
        measures = [(k, v) for k, v in self.measures.items()]
        self._saving = True
        self.save(p["date"].strip(), objectives, p["note"], unplanned or None,
                  feedback or None, measures or None)

    @work(thread=True, exit_on_error=False, group="session-save")
    def save(self, date: str, objectives: list[str], note: str, unplanned: str | None,
             feedback: dict[str, int] | None = None,
             measures: list[tuple[str, Any]] | None = None) -> None:
        try:
            out = self.app.services.session_add(  # type: ignore[attr-defined]
                self.plan_id, date, objectives, note, unplanned, feedback, measures)
        except Exception:
            self.app.call_from_thread(self._not_saved)
            raise
        self.app.call_from_thread(self._saved, out)

    def _not_saved(self) -> None:
        self._saving = False
        self.edited()  # what was typed while it was being saved: in the draft now

    def _saved(self, out: dict[str, Any]) -> None:
        text = f"Session saved: {count_text(out['number'], out['limit'])}."
        scores = [measure_text(m) for m in out.get("measures") or []]
        if scores:
            text += " " + "; ".join(scores) + "."
        if out.get("feedback"):
            text += " " + feedback_text(out["feedback"])
        self.notify(text, timeout=12)
        self.app.pop_screen()

    # set_focus moves focus at once, so keys typed right after go to the new place.
    def action_focus_objectives(self) -> None:
        self.set_focus(self.query_one(ObjectiveChecklist))

    def action_focus_note(self) -> None:
        self.set_focus(self.query_one("#session-note", TextArea))

    def action_focus_feedback(self) -> None:
        self.set_focus(self.query_one(FeedbackList))

    def action_give_measure(self) -> None:
        from planwise.tui.screens.measure import MeasureScreen

        if self.loaded is None or self._saving:
            return

        def given(result: tuple[str, Any] | None) -> None:
            if result is None:
                return
            instrument, answers = result
            if answers is None:
                self.measures.pop(instrument, None)
            else:
                self.measures[instrument] = answers
            self.edited()

        self.app.push_screen(MeasureScreen(self.app.services.kb.instruments,  # type: ignore[attr-defined]
                                           self.measures, client_id=self.loaded["client_id"]),
                             given)

    def action_back(self) -> None:
        if self._last and (self._last["note"].strip() or self._last["addressed"]
                           or self._last["feedback"] or self._last["measures"]):
            self.notify("The unsaved note is kept as a draft; it will be here next time.")
        self.app.pop_screen()
