"""The passphrase, asked once per start before the caseload (docs/store.md, Encryption).

Two cases: an encrypted database with no PLANWISE_PASSPHRASE_FILE (type the
passphrase; a wrong one is said and nothing is opened or changed), and a first run
on a new database (choose one, twice; both empty keeps a plain database, which the
interface then says). The key derivation takes about a quarter of a second, so it
runs in a worker. Esc quits.
"""

from __future__ import annotations

from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, Header, Input, Label, Static

from planwise.errors import PlanwiseError
from planwise.tui import keymap

MIN_PASSPHRASE = 8

WRONG = ("Wrong passphrase (or not a planwise database): nothing was opened or changed. "
         "Try again, or Esc to quit.")


class PassphraseScreen(Screen[bool]):
    HELP_AREA = "dialog"
    BINDINGS = keymap.bindings("dialog")
    HELP_TEXT = ("The database is encrypted: its passphrase opens it. Esc quits without "
                 "opening it.")

    def __init__(self, path: Path, *, first_run: bool = False) -> None:
        super().__init__()
        self.path = path
        self.first_run = first_run
        self.working = False

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(classes="dialog"):
            if self.first_run:
                yield Label("Choose a passphrase", classes="dialog-title")
                yield Static(f"A new database, {self.path}, will be encrypted with it "
                             "(SQLCipher). Without the passphrase nobody can open it, you "
                             "included: keep it safe. Both empty: plain SQLite, only for an "
                             "encrypted disk.", classes="dialog-note")
            else:
                yield Label("Passphrase", classes="dialog-title")
                yield Static(f"{self.path} is encrypted (SQLCipher).", classes="dialog-note")
            yield Input(password=True, placeholder="Passphrase", id="passphrase")
            if self.first_run:
                yield Input(password=True, placeholder="The same again", id="repeat")
            yield Static("", id="passphrase-message")
            yield Static("Enter to open, Esc to quit", classes="dialog-keys")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "Passphrase"
        self.query_one("#passphrase", Input).focus()

    def say(self, text: str) -> None:
        self.query_one("#passphrase-message", Static).update(text)

    @on(Input.Submitted)
    def submitted(self, event: Input.Submitted) -> None:
        if self.working:
            return
        if self.first_run and event.input.id == "passphrase":
            self.query_one("#repeat", Input).focus()
            return
        passphrase = self.query_one("#passphrase", Input).value
        if self.first_run:
            repeat = self.query_one("#repeat", Input).value
            if passphrase != repeat:
                self._again("The two do not match: type them again.")
                return
            if passphrase and len(passphrase) < MIN_PASSPHRASE:
                self._again(f"At least {MIN_PASSPHRASE} characters (or both empty for a "
                            "plain database).")
                return
        elif not passphrase:
            self.say("Type the passphrase (Esc quits).")
            return
        self.working = True
        for field in self.query(Input):
            field.disabled = True
        self.say("Opening...")
        if passphrase:
            # sqlcipher3 imported here, on the interface thread: no worker imports a module
            # while this thread may be importing others (app.py, the warm-up).
            from planwise.store import crypto

            crypto.load()
        self.open_with(passphrase)

    def _again(self, why: str) -> None:
        for field in self.query(Input):
            field.value = ""
            field.disabled = False
        self.working = False
        self.say(why)
        self.query_one("#passphrase", Input).focus()

    @work(thread=True, exit_on_error=False, group="unlock")
    def open_with(self, passphrase: str) -> None:
        from planwise.store.keys import WrongPassphrase

        try:
            self.app.services.unlock(passphrase)  # type: ignore[attr-defined]
        except WrongPassphrase:
            self.app.call_from_thread(self._again, WRONG)
            return
        except PlanwiseError as exc:  # a damaged file, another application's, busy
            self.app.call_from_thread(self._again, str(exc))
            return
        self.app.call_from_thread(self.dismiss, True)

    def action_cancel(self) -> None:
        self.app.exit()
