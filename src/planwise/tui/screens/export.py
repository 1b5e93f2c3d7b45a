"""Export a plan: Markdown (to read and share), TOML (to edit and import), JSON (for other
programs), PDF (the clinical record, or the client's copy in plain language). Written with
mode 0600: a plan is health data."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, RadioSet, Static

from planwise.tui import keymap
from planwise.tui.widgets.plan_toggles import PlainRadioButton

FORMATS = (("markdown", "Markdown", "md"), ("toml", "TOML (edit and import)", "toml"),
           ("json", "JSON", "json"), ("pdf", "PDF: clinical record", "pdf"),
           ("pdf-client", "PDF: client's copy (plain language)", "client.pdf"))
EXT = {f: e for f, _, e in FORMATS}


def default_path(plan_id: int, version: int | None, fmt: str) -> str:
    v = f"-v{version}" if version is not None else ""
    return f"~/planwise-P{plan_id}{v}.{EXT[fmt]}"


class ExportDialog(ModalScreen[str | None]):
    HELP_AREA = "export"
    BINDINGS = keymap.bindings("export")
    DEFAULT_CSS = """
    ExportDialog .plan-dialog { height: auto; border: round $accent; background: $surface;
        padding: 0 1; }
    ExportDialog #export-dialog { width: 72; }
    ExportDialog #export-formats { height: auto; width: auto; }
    ExportDialog .field { height: auto; }
    ExportDialog .field Label { width: 6; }
    ExportDialog #export-path { width: 1fr; }
    """

    def __init__(self, plan_id: int) -> None:
        super().__init__()
        self.plan_id = plan_id
        self.version: int | None = None
        self.writing = False  # one write at a time: Enter twice wrote twice, closed twice

    def compose(self) -> ComposeResult:
        with Vertical(classes="plan-dialog", id="export-dialog"):
            yield Label(f"Export plan P{self.plan_id}", classes="dialog-title")
            yield Static("The current version, with the client's information, signatures, "
                         "SMART check and sessions.", classes="dialog-note")
            with RadioSet(id="export-formats", compact=True):
                for i, (fmt, label, _ext) in enumerate(FORMATS):
                    yield PlainRadioButton(label, value=i == 0, name=fmt)
            with Horizontal(classes="field"):
                yield Label("File")
                yield Input(default_path(self.plan_id, None, "markdown"), id="export-path",
                            compact=True)
            yield Static("Written readable by you only (mode 0600).", id="export-result")
            yield Static("Up/Down: format | Tab: file | Enter: write | Esc: cancel",
                         classes="dialog-keys")

    def on_mount(self) -> None:
        self.query_one("#export-formats", RadioSet).focus()
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="export-load")
    def load(self) -> None:
        versions = self.app.services.plan_history(self.plan_id)  # type: ignore[attr-defined]
        self.app.call_from_thread(self._loaded, versions[-1]["version"] if versions else None)

    def _loaded(self, version: int | None) -> None:
        path = self.query_one("#export-path", Input)
        if path.value == default_path(self.plan_id, self.version, self.fmt()):
            path.value = default_path(self.plan_id, version, self.fmt())
        self.version = version
        self.query_one(".dialog-title", Label).update(
            f"Export plan P{self.plan_id}" + (f" version {version}" if version else ""))

    def fmt(self) -> str:
        pressed = self.query_one("#export-formats", RadioSet).pressed_button
        return (pressed.name if pressed is not None else None) or "markdown"

    @on(RadioSet.Changed, "#export-formats")
    def format_changed(self, event: RadioSet.Changed) -> None:
        path = self.query_one("#export-path", Input)
        new = self.fmt()
        # Longest extension first: "client.pdf" also ends in ".pdf".
        for fmt, _label, ext in sorted(FORMATS, key=lambda f: -len(f[2])):
            if fmt != new and path.value.endswith("." + ext):
                path.value = path.value[: -len(ext)] + EXT[new]
                break

    @on(Input.Submitted, "#export-path")
    def submitted(self) -> None:
        self.action_write()

    def action_enter(self) -> None:
        formats = self.query_one("#export-formats", RadioSet)
        if self.focused is formats:
            formats.action_toggle_button()  # the highlighted format, as Space chooses it
            # After the choice has changed the file name (RadioSet.Changed).
            self.call_after_refresh(self.call_after_refresh, self.action_write)
            return
        self.action_write()

    def action_write(self) -> None:
        path = self.query_one("#export-path", Input).value.strip()
        if not path:
            self.notify("Give a file name.", severity="warning")
            return
        if self.writing:
            return
        self.writing = True
        self.write(self.fmt(), path)

    @work(thread=True, exit_on_error=False, group="export")
    def write(self, fmt: str, path: str) -> None:
        try:
            written = self.app.services.plan_export(  # type: ignore[attr-defined]
                self.plan_id, fmt, path)
        except BaseException:
            self.app.call_from_thread(setattr, self, "writing", False)
            raise
        self.app.call_from_thread(self._written, written)

    def _written(self, written: str) -> None:
        self.app.notify(f"Written to {written} (mode 0600).", title="Exported", timeout=10)
        while self.app.screen_stack[-1] is not self:  # help opened meanwhile: closed too
            self.app.pop_screen()
        self.dismiss(written)

    def action_cancel(self) -> None:
        self.dismiss(None)
