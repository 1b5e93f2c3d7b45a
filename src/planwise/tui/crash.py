"""Never a traceback: what the interface does with an error nothing else handled.

Textual's own answer to an error in a handler, a worker, a message or a mount is
to close and print a traceback with every local variable: a client's answers
and notes on the screen, the work since the last autosave gone, exit status 0
from `planwise`. Instead (PlanwiseApp._handle_exception calls `handle`):

1. every open screen's work in progress is saved as its draft (crash_drafts.py),
   so opening the same thing again restores it as after any interruption;
2. the error goes to a private log file (planwise.crashlog: 0600 in a 0700
   folder, no local variables, messages scrubbed of anything but code and ids);
3. one screen says what happened, what was saved and where the log is; Enter
   (or q, Esc, Ctrl+Q) closes planwise, and `planwise` exits 1 with the same
   few lines on the terminal.

A second error while this is under way (the crash screen itself failing) closes
at once: the log and the drafts are written before anything is shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static
from textual.worker import Worker, WorkerState
from textual.worker_manager import WorkerManager

from planwise.crashlog import describe, root_cause, write_log
from planwise.errors import PlanwiseError
from planwise.tui.crash_drafts import DraftOutcome, open_drafts, save_drafts


@dataclass
class CrashReport:
    summary: str                       # "KeyError in intake.py line 12 (go)", scrubbed
    log: Path | None
    drafts: list[DraftOutcome] = field(default_factory=list)
    later_errors: int = 0

    def lines(self) -> list[str]:
        """What happened, what was saved, where the log is: the screen and the terminal."""
        out = ["planwise stopped on an internal error (a fault in planwise, not in "
               "anything you did):", f"  {self.summary}"]
        saved = [d for d in self.drafts if d.saved]
        lost = [d for d in self.drafts if not d.saved]
        if saved:
            out.append("Your work is saved as drafts and comes back when you open it again:")
            out += [f"  ✓ {d.what}" for d in saved]
        elif not lost:
            out.append("No unsaved work was open: everything entered so far was already saved.")
        if lost:
            out.append("Could NOT be saved (the last edits there may be missing):")
            out += [f"  ✗ {d.what} ({d.why})" for d in lost]
        if self.log is not None:
            out += ["The error is written to a private log (no client information beyond "
                    "record ids):", f"  {self.log}"]
        else:
            out.append("The error log could not be written (the log folder is not writable).")
        return out


class InterfaceCrashed(PlanwiseError):
    """The interface stopped on an internal error; the message says what was saved."""

    exit_code = 1


class CrashScreen(Screen[None]):
    """The one screen after an internal error: nothing on it can fail or do harm."""

    AUTO_FOCUS = None
    BINDINGS = [Binding(k, "close", "Close planwise", priority=True)
                for k in ("enter", "q", "escape", "ctrl+q")]
    DEFAULT_CSS = """
    CrashScreen { align: center middle; }
    CrashScreen #crash-box { width: 100%; max-width: 96; height: auto; max-height: 100%;
        border: heavy $error; padding: 0 1; }
    CrashScreen #crash-title { text-style: bold; }
    """

    def __init__(self, report: CrashReport) -> None:
        super().__init__()
        self.report = report

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="crash-box"):
            yield Static(Text("planwise must close"), id="crash-title")
            yield Static(Text("\n".join(self.report.lines())), id="crash-text")
            yield Static(Text("Enter (or q, Esc): close planwise"), id="crash-keys")

    def action_close(self) -> None:
        self.app.exit(return_code=1)


class ReportingWorkers(WorkerManager):
    """The app's workers, with every failure reported to `app.worker_failed`.

    Textual tells a worker's failure only to the widget that started it, in a message
    that does not bubble, and only when it exits on error; the screens' workers do not
    (exit_on_error=False), so their failures went unseen: an edit not saved, a screen
    left "Loading..." for good."""

    def _remove_worker(self, worker: Worker[Any]) -> None:
        super()._remove_worker(worker)
        if worker.state == WorkerState.ERROR and not worker.exit_on_error:
            try:
                self._app.worker_failed(worker)  # type: ignore[attr-defined]
            except Exception as exc:
                handle(self._app, exc)


def handle(app: Any, error: BaseException) -> None:
    """Save the open work, log the error, say so on one screen; then planwise exits 1.
    Called for every error Textual would otherwise print; never raises."""
    if getattr(app, "_exit", False) and app.crash is None:
        return  # after a normal quit: nothing left to lose, nothing to say
    try:
        late = app.crash is None and on_a_closed_widget(error)
    except Exception:
        late = False
    if late:
        return  # late work on a widget whose screen has closed: nothing left to show it on
    app._return_code = 1
    # Under Pilot the first error is raised again when the test ends, as Textual does.
    if app._exception is None and isinstance(error, Exception):
        app._exception = error
        app._exception_event.set()
    if app.crash is not None:  # an error while handling one: close now
        app.crash.later_errors += 1
        write_log(error, _context(app), _allowed(app))
        app.exit(return_code=1)
        return
    report = CrashReport(summary="an internal error", log=None)
    app.crash = report
    try:
        report.summary = describe(root_cause(error), _allowed(app))
    except Exception:
        report.summary = type(root_cause(error)).__name__
    try:
        drafts, unreadable = open_drafts(list(app.screen_stack))
        report.drafts = save_drafts(app.services, drafts) + unreadable
    except Exception as exc:
        report.drafts = [DraftOutcome("the open work", False, type(exc).__name__)]
    report.log = write_log(error, _context(app), _allowed(app))
    try:
        app.push_screen(CrashScreen(report))
    except Exception:
        app.exit(return_code=1)


def on_a_closed_widget(error: BaseException) -> bool:
    """A widget looked for (NoMatches) from a widget no longer on screen: the work (a
    title watcher, a dialog's mount, a worker's result) arrived after the user closed
    its screen, and there is nowhere left to show it. Only that: any other error, on a
    closed screen or not, is a fault to report."""
    from textual.css.query import NoMatches
    from textual.dom import DOMNode

    if not isinstance(root_cause(error), NoMatches):
        return False
    tb = root_cause(error).__traceback__
    while tb is not None:
        node = tb.tb_frame.f_locals.get("self")  # read to decide, never written anywhere
        if isinstance(node, DOMNode) and _closed(node):
            return True
        tb = tb.tb_next
    return False


def _closed(node: Any) -> bool:
    if not node.is_attached:
        return True
    return any(getattr(n, "_closing", False) or getattr(n, "_closed", False)
               or getattr(n, "_pruning", False) for n in node.ancestors_with_self)


def allows(app: Any, action: str) -> bool:
    """After an error only closing is possible (no help, palette or navigation on top
    of the crash screen)."""
    return app.crash is None or action in ("quit", "close")


def _context(app: Any) -> dict[str, str]:
    """Where the interface was: screen classes with the ids they are about."""
    try:
        stack = []
        for screen in reversed(list(app.screen_stack)):
            ids = [f"{prefix}{getattr(screen, name)}"
                   for name, prefix in (("client_id", "C"), ("plan_id", "P"))
                   if isinstance(getattr(screen, name, None), int)]
            stack.append(type(screen).__name__ + (f" ({', '.join(ids)})" if ids else ""))
        context = {"screens, top first": " < ".join(stack)}
        crash = getattr(app, "crash", None)
        if crash is not None and crash.drafts:
            context["drafts"] = "; ".join(
                f"{d.what}: {'saved' if d.saved else 'NOT saved ' + d.why}"
                for d in crash.drafts)
        return context
    except Exception:
        return {}


def _allowed(app: Any) -> set[str]:
    """Words that are ids, not client data: the knowledge's conditions, concerns and
    instruments (widget ids are made of them: `sevrow-depression`, `form-phq9`)."""
    try:
        kb = getattr(app.services, "_kb", None)  # never loaded here: that may be what failed
        if kb is None:
            return set()
        words = set(kb.instruments)
        for table in kb.vocab.values():
            words.update(table)
        return words
    except Exception:
        return set()


def exit_message(report: CrashReport) -> str:
    """The same lines for the terminal, after `planwise: error: `."""
    return "\n".join(["the interface stopped on an internal error:", *report.lines()[1:]])
