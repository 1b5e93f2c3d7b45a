"""Remote questionnaires from the client's page (docs/remote.md): `m` writes a request
packet through a dialog, `v` imports a sealed response pasted into a text area. The
store and the cryptography run in thread workers; a refusal is said in the dialog,
which stays open with what was typed."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from rich.markup import escape
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Checkbox, Input, Label, Static, TextArea

from planwise.errors import PlanwiseError
from planwise.tui import keymap


def default_path(client_id: int, day: dt.date) -> str:
    return f"~/questionnaire-C{client_id}-{day.isoformat()}.html"


def request_lines(rows: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(option id, text) for the client's requests not yet answered."""
    out = []
    for r in rows:
        if r["status"] == "used":
            continue
        what = ", ".join(r["instruments"]) + (" + feedback" if r["feedback"] else "")
        state = (f"pending until {r['expires']}" if r["status"] == "pending"
                 else f"EXPIRED {r['expires']}, not answered")
        out.append((f"remote:{r['id']}", f"Remote questionnaire {r['id']} ({what}): {state}"))
    return out


class _RemoteDialog(ModalScreen[Any]):
    DEFAULT_CSS = """
    _RemoteDialog { align: center middle; }
    _RemoteDialog .remote-dialog { height: auto; max-height: 100%; width: 76; max-width: 100%;
        border: round $accent; background: $surface; padding: 0 1; }
    _RemoteDialog .field { height: auto; }
    _RemoteDialog .field Label { width: 13; }
    _RemoteDialog .field Input { width: 1fr; }
    _RemoteDialog #remote-result { height: auto; }
    _RemoteDialog TextArea { height: 10; }
    """

    def __init__(self, client_id: int) -> None:
        super().__init__()
        self.client_id = client_id
        self.busy = False

    def say(self, text: str, error: bool = False) -> None:
        self.busy = False
        self.query_one("#remote-result", Static).update(
            f"[b]{escape(text)}[/b]" if error else escape(text))

    def finished(self, message: str, severity: str = "information") -> None:
        self.busy = False
        self.app.notify(message, severity=severity,  # type: ignore[arg-type]
                        timeout=10 if severity == "information" else 30)
        while self.app.screen_stack[-1] is not self:  # help opened meanwhile: closed too
            self.app.pop_screen()
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(None)


class RequestDialog(_RemoteDialog):
    """Write a questionnaire packet for this client (planwise measure request)."""

    HELP_AREA = "remote_request"
    BINDINGS = keymap.bindings("remote_request")

    def compose(self) -> ComposeResult:
        from planwise.dates import today

        with Vertical(classes="remote-dialog"):
            yield Label(f"Remote questionnaire for C{self.client_id}", classes="dialog-title")
            yield Static("One HTML file the client answers offline in any browser; the "
                         "answers come back sealed to the practice's key.",
                         classes="dialog-note")
            with Horizontal(classes="field"):
                yield Label("Instruments")
                yield Input("phq9", id="remote-instruments", compact=True,
                            placeholder="phq9,gad7")
            yield Checkbox("Add the session feedback form", id="remote-feedback",
                           compact=True)
            with Horizontal(classes="field"):
                yield Label("Expires in")
                yield Input("14d", id="remote-expires", compact=True,
                            placeholder="14d, 2w or a date")
            with Horizontal(classes="field"):
                yield Label("File")
                yield Input(default_path(self.client_id, today()), id="remote-path",
                            compact=True)
            yield Static("Instruments whose licence keeps their wording out are refused, "
                         "with the reason. The file holds no name (mode 0600).",
                         id="remote-result")
            yield Static("Tab: next field | Space: tick | Ctrl+S: write | Esc: cancel",
                         classes="dialog-keys")

    def on_mount(self) -> None:
        self.query_one("#remote-instruments", Input).focus()

    @on(Input.Submitted)
    def submitted(self) -> None:
        self.action_write()

    def action_write(self) -> None:
        if self.busy:
            return
        self.busy = True
        self.say("Writing...")
        self.write(self.query_one("#remote-instruments", Input).value,
                   self.query_one("#remote-feedback", Checkbox).value,
                   self.query_one("#remote-expires", Input).value,
                   self.query_one("#remote-path", Input).value.strip())

    @work(thread=True, exclusive=True, exit_on_error=False, group="remote-request")
    def write(self, instruments: str, feedback: bool, expires: str, path: str) -> None:
        from planwise.dates import today
        from planwise.remote.issue import issue, split_names

        services: Any = self.app.services  # type: ignore[attr-defined]
        try:
            if not path:
                raise PlanwiseError("give a file name")
            r = issue(services.conn(), self.client_id, split_names(instruments), feedback,
                      expires, Path(path).expanduser(), today(), services.kb.instruments)
        except PlanwiseError as exc:
            self.app.call_from_thread(self.say, f"Not written: {exc}", True)
            return
        self.app.call_from_thread(
            self.finished, f"{r['id']} written to {r['file']}; expires {r['expires']}. "
            f"Key fingerprint: {r['fingerprint']}")


class PasteDialog(_RemoteDialog):
    """Import a sealed response pasted from an email or a message."""

    HELP_AREA = "remote_paste"
    BINDINGS = keymap.bindings("remote_paste")

    def compose(self) -> ComposeResult:
        with Vertical(classes="remote-dialog"):
            yield Label("Paste a remote response", classes="dialog-title")
            yield Static("Paste the whole block, BEGIN and END lines included; text around "
                         "it is ignored.", classes="dialog-note")
            yield TextArea(id="remote-text", soft_wrap=True, show_line_numbers=False)
            yield Static("", id="remote-result")
            yield Static("Ctrl+S: import | Esc: cancel", classes="dialog-keys")

    def on_mount(self) -> None:
        self.query_one("#remote-text", TextArea).focus()

    def action_import(self) -> None:
        if self.busy:
            return
        text = self.query_one("#remote-text", TextArea).text
        if not text.strip():
            self.say("Nothing pasted yet.", True)
            return
        self.busy = True
        self.say("Opening...")
        self.do_import(text)

    @work(thread=True, exclusive=True, exit_on_error=False, group="remote-paste")
    def do_import(self, text: str) -> None:
        from planwise.dates import today
        from planwise.remote.importer import import_response
        from planwise.remote.requests import RISK_REASON

        services: Any = self.app.services  # type: ignore[attr-defined]
        try:
            result = import_response(services.conn(), text, today(), services.kb.instruments)
        except PlanwiseError as exc:
            self.app.call_from_thread(self.say, f"Refused, nothing saved: {exc}", True)
            return
        client = f"C{result['client_id']}"
        scores = ", ".join(f"{m['name']} {m['total']}" for m in result["measures"])
        if result["risk"]:
            self.app.call_from_thread(
                self.finished, f"{client}: {RISK_REASON}. Imported {scores} "
                f"({result['request']}).", "error")
        else:
            self.app.call_from_thread(
                self.finished, f"{client}: imported {scores} ({result['request']}), "
                f"completed {result['completed']}.")
