"""The caseload: every client, search as you type, and what needs attention: `!` before
the id marks a client the dashboard flags (planwise.store.dashboard.attention, computed
in a worker when the caseload loads); the line under the list says why for the
highlighted client; `a` lists only the clients needing attention."""

from __future__ import annotations

from functools import partial
from typing import Any

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Header, Input, Static

from planwise.tui import keymap
from planwise.tui.messages import AttentionLoaded, CaseloadLoaded
from planwise.tui.services import CaseRow
from planwise.tui.widgets.footer import QuietFooter

EMPTY_TEXT = (
    "No clients yet.\n\n"
    "Press [b]n[/b] to add your first client, then [b]i[/b] on the client to start an "
    "intake: screening, the instruments it calls for, a suicide-risk assessment, and a "
    "proposed plan you can accept, edit and sign.\n\n"
    "To look around first, quit (Ctrl+Q) and run [b]planwise demo[/b]: fictional clients "
    "in a temporary database. F1 shows the keys of whatever has focus."
)

RISK_SHOWN = {"high": "HIGH", "moderate": "moderate", "low": "low",
              "unassessed": "UNASSESSED", "none": "-"}


def left_text(left: int) -> str:
    """planwise.store.sessions.left_text (tests/tui keep them equal): importing the store's
    modules for it held back the first page; they load after it (app.py, when_warm)."""
    return f"{left} left" if left >= 0 else f"{-left} over"


def row_cells(row: CaseRow, flagged: bool = False) -> tuple[str, str, str, str, str]:
    risk = RISK_SHOWN.get(row.risk or "", "-")
    review = "-" if not row.review_date else ("DUE " if row.review_due else "") + row.review_date
    if row.session_limit is None:
        sessions = f"{row.sessions_used} (no limit)" if row.sessions_used else "-"
    else:
        left = left_text(row.session_limit - row.sessions_used)
        sessions = f"{row.sessions_used}/{row.session_limit}, {left}"
    return ("!" if flagged else " ") + row.ref, row.name, risk, review, sessions


def attention_text(ref: str, entry: dict[str, Any]) -> str:
    """'! C12 needs attention: deteriorated (PHQ-9 16 -> 22 ...); review due (...)'."""
    from planwise.store.dashboard import LABELS

    bits = [f"{LABELS.get(f, f)} ({entry['reasons'].get(f, '')})" for f in entry["flags"]]
    return f"! {ref} needs attention: " + "; ".join(bits)


class EmptyCaseload(Static, can_focus=True):
    """The empty state takes focus, so that `n` adds a client instead of typing
    into the search box."""


class CaseloadScreen(Screen[None]):
    HELP_AREA = "caseload"
    # As the screen is made, so that the header is drawn with them (set on mount, they
    # drew it twice more).
    TITLE = "planwise"
    SUB_TITLE = "Caseload"
    BINDINGS = keymap.bindings("caseload")
    # The list, as the screen composes (on_mount focuses it too): the default, the search
    # box first, moved the focus twice and rebuilt the footer's keys once more (issue 12).
    AUTO_FOCUS = "#caseload"

    def __init__(self) -> None:
        super().__init__()
        self._shown: list[tuple[str, str, str, str, str]] = []
        self.attention: dict[int, dict[str, Any]] = {}
        self.attention_only = False
        self._rows: dict[int, CaseRow] = {}
        self._attention_seq = 0
        self._attention_wanted = False
        self._last: CaseloadLoaded | None = None
        self._count_text: str | None = None
        self._attention_text: str | None = None
        self._resumed = False
        # The size classes (-narrow, -short: app.py's breakpoints) the first resize would
        # give, before anything is styled: set by that resize, they restyled every widget
        # once more before the first page (issue 12).
        width, height = self.app.size
        for breakpoints, cells in ((self.app.HORIZONTAL_BREAKPOINTS, width),
                                   (self.app.VERTICAL_BREAKPOINTS, height)):
            self.add_class(*self._get_breakpoint_classes(cells, breakpoints or []),
                           update=False)

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="caseload-body"):
            yield Input(placeholder="Search by name or id (C12)...", id="search")
            yield DataTable(id="caseload", cursor_type="row", zebra_stripes=True)
            yield EmptyCaseload(EMPTY_TEXT, id="empty")
            yield Static("", id="attention")
            yield Static("", id="count")
        yield QuietFooter()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_column("Id", key="id", width=7)  # '!' before the id: needs attention
        table.add_column("Name", key="name", width=26)
        table.add_column("Risk", key="risk", width=10)
        table.add_column("Review", key="review", width=14)
        table.add_column("Sessions", key="sessions")
        self.query_one("#empty").display = False
        self.query_one("#attention").display = False
        self.load("")  # the attention flags load on ScreenResume, sent on the first push too
        table.focus()

    @work(thread=True, exclusive=True, group="caseload")
    def load(self, search: str) -> None:
        only = sorted(self.attention) if self.attention_only else None
        rows, total = self.app.services.caseload(search, only=only)  # type: ignore[attr-defined]
        self.post_message(CaseloadLoaded(rows, total, search, only is not None))

    def load_attention(self) -> None:
        self._attention_seq += 1
        # Its worker imports the dashboard's modules: not before the app has (app.py).
        self.app.when_warm(  # type: ignore[attr-defined]
            partial(self._attention_worker, self._attention_seq))

    # Not exclusive: a cancelled thread worker still runs to its end; the sequence number
    # drops an older answer instead.
    @work(thread=True, exit_on_error=False, group="attention")
    def _attention_worker(self, seq: int) -> None:
        rows = self.app.services.attention()  # type: ignore[attr-defined]
        self.post_message(AttentionLoaded(rows, seq))

    @on(AttentionLoaded)
    def attention_loaded(self, message: AttentionLoaded) -> None:
        if message.seq != self._attention_seq:
            return
        self.attention = message.rows
        if self.attention_only:
            self.action_refresh()  # the set of clients listed changed
        elif self._last is not None:
            self._shown = []  # redraw the rows with their marks, no new query
            self.show_rows(self._last)

    @on(CaseloadLoaded)
    def show_rows(self, message: CaseloadLoaded) -> None:
        if message.search != self.query_one("#search", Input).value \
                or message.attention_only != self.attention_only:
            return  # an older keystroke's answer
        table = self.query_one(DataTable)
        self._last = message
        self._rows = {row.client_id: row for row in message.rows}
        cells = [row_cells(row, row.client_id in self.attention) for row in message.rows]
        if cells != self._shown:  # typing a common prefix often changes nothing
            self._shown = cells
            table.clear()
            for row, cell in zip(message.rows, cells, strict=True):
                # As text, not markup: a name is shown as typed ('[b]' and '[/]' in it
                # too: read as markup, they vanished or stopped the screen), and the
                # table does not parse 500 cells for markup on the first page (issue 12).
                table.add_row(*(Text(c, no_wrap=True, end="") for c in cell),
                              key=str(row.client_id))
        empty = message.total == 0 and not message.search
        self.query_one("#empty").display = empty
        table.display = not empty
        if empty:
            self.query_one("#empty").focus()
        elif self.focused is None or self.focused.id == "empty":
            table.focus()
        shown = len(message.rows)
        noun = "client" if message.total == 1 else "clients"
        text = f"{message.total} {noun}"
        if message.attention_only:
            text += " needing attention"
        if shown < message.total:
            text = f"{shown} of {text} shown: type to narrow the search"
        elif message.search:
            text += f" matching {message.search!r}"
        if self.attention and not message.attention_only:
            n = len(self.attention)
            text += f"; {n} need{'s' if n == 1 else ''} attention (a: only those)"
        elif message.attention_only:
            text += " (a: every client)"
        if text != self._count_text:  # an update lays the whole screen out again
            self._count_text = text
            self.query_one("#count", Static).update(text)
        self.show_attention()
        if self._attention_wanted:
            self._attention_wanted = False
            # Once the first rows are painted: the flags' worker (seconds of work on a large
            # caseload before its cache is filled) would hold the GIL during that paint.
            self.call_after_refresh(self.load_attention)

    @on(DataTable.RowHighlighted)
    def row_highlighted(self) -> None:
        self.show_attention()

    def show_attention(self) -> None:
        """Why the highlighted client needs attention, in one line (hidden when it does not)."""
        table = self.query_one(DataTable)
        line = self.query_one("#attention", Static)
        entry = None
        if table.row_count and table.display:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
            if key is not None:
                entry = self.attention.get(int(key))
        line.display = entry is not None
        if entry is not None:
            row = self._rows.get(entry["client_id"])
            text = attention_text(row.ref if row else entry["client"], entry)
            if text != self._attention_text:  # an update lays the whole screen out again
                self._attention_text = text
                line.update(text)

    def action_attention_only(self) -> None:
        self.attention_only = not self.attention_only
        self.action_refresh()

    @on(Input.Changed, "#search")
    def search_changed(self, event: Input.Changed) -> None:
        self.load(event.value)

    @on(Input.Submitted, "#search")
    def search_submitted(self) -> None:
        self.query_one(DataTable).focus()

    @on(DataTable.RowSelected)
    def row_selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is not None:
            self.app.open_client(int(event.row_key.value))  # type: ignore[attr-defined]

    def action_open_client(self) -> None:
        table = self.query_one(DataTable)
        if table.row_count:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
            if key.value is not None:
                self.app.open_client(int(key.value))  # type: ignore[attr-defined]

    def on_key(self, event: events.Key) -> None:
        """Typing on the list searches: an unbound letter goes to the search box (the
        caseload's type-to-jump; n, a and / keep their meaning)."""
        char = event.character
        table = self.query_one(DataTable)
        if self.focused is not table or not char or len(char) != 1 \
                or not char.isprintable() or char == " " or event.key in self.active_bindings:
            return
        event.stop()
        search = self.query_one("#search", Input)
        self.set_focus(search)
        search.insert_text_at_cursor(char)

    def action_search_notes(self) -> None:
        """Full-text search of the records, starting from what the search box holds."""
        from planwise.tui.screens.search import SearchScreen

        self.app.push_screen(SearchScreen(self.query_one("#search", Input).value))

    def action_focus_search(self) -> None:
        # set_focus at once: keys typed right after "/" must land in the box.
        self.set_focus(self.query_one("#search", Input))

    def action_refresh(self) -> None:
        self.load(self.query_one("#search", Input).value)

    def action_reload(self) -> None:
        self.action_refresh()
        self.load_attention()

    @on(events.ScreenResume)
    def _styled_as_mounted(self, event: events.ScreenResume) -> None:
        # Runs before Textual's own handler, which restyles every widget when a screen is
        # pushed: the first time, they were styled as they mounted a moment earlier, with
        # nothing changed since (5 ms of the first page, issue 12). Later resumes restyle.
        if not self._resumed:
            self._resumed = True
            event.refresh_styles = False

    def on_screen_resume(self) -> None:
        # Sessions, scores or reviews may have changed the flags. The first time, after
        # the first rows are on screen: the caseload takes keys before the flags arrive.
        if self._last is None:
            self._attention_wanted = True
        else:
            self.load_attention()

    def action_new_client(self) -> None:
        self.app.action_new_client()  # type: ignore[attr-defined]
