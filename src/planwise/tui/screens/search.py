"""Search the records' words: session notes, intake summaries and client names (Ctrl+F on
the caseload, or on a client's page for that client's records alone).

Searches as you type (the last word may be unfinished) in a worker; the best records
first, each on two lines, what it is and the words found in their context; under the
list the highlighted record's whole text. Enter opens the client. The store does the
work (planwise.store.search); the text shown is the client's, so it passes through
`printable` and is never written to a log.
"""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Input, OptionList, Static
from textual.widgets.option_list import Option

from planwise.store.search import RANKED, Hit, Results, search, snippet_parts
from planwise.text import printable
from planwise.tui import keymap

LIMIT = 50
FOUND = "bold underline"  # the words found: marked without colour too


def heading(hit: Hit) -> str:
    """'S40 2026-12-01 session 4 of P2 · C3 Ash Smith', 'I3 2026-11-02 intake · ...'."""
    who = f"{hit.client_ref} {' '.join(hit.client_name.split())}"
    if hit.kind == "client":
        return f"{who} · name"
    what = "intake summary" if hit.kind == "intake" else f"session {hit.number} of P{hit.plan_id}"
    return f"{hit.ref} {hit.date} {what} · {who}"


def hit_prompt(hit: Hit, width: int) -> Text:
    """Two lines, each cut to `width`: what the record is, and the words found in context."""
    head = Text(printable(heading(hit)), style="bold")
    found = Text("  ")
    for piece, marked in snippet_parts(hit.snippet):
        found.append(printable(piece), style=FOUND if marked else "")
    for line in (head, found):
        line.truncate(max(10, width), overflow="ellipsis")
    return Text("\n").join([head, found])


def count_text(results: Results, text: str, scoped: bool) -> str:
    if not text.strip():
        return "Type words from a note, an intake summary or a name."
    if not results.hits:
        return "No records match" + (" in this client's records." if scoped else ".") + \
            " Check the spelling, or use fewer words."
    total = f"more than {RANKED:,}" if results.more else f"{results.total:,}"
    line = f"{len(results.hits)} of {total} matching, best first"
    if results.any_words:
        line = "No record has every word; these have some. " + line
    if results.more:
        line += f" (the newest {RANKED:,} ranked: add a word)"
    return line + ". Enter opens the client."


class SearchScreen(Screen[None]):
    HELP_AREA = "search"
    BINDINGS = keymap.bindings("search")
    HELP_TEXT = ("Words are searched as you type, in session notes, intake summaries and "
                 "names; every word must appear (\"a phrase\" as written), and the last "
                 "word may be unfinished. Down goes to the results, Enter opens the client.")

    DEFAULT_CSS = """
    SearchScreen #fts-scope { height: 1; padding: 0 1; text-style: bold; }
    SearchScreen #fts-results { height: 1fr; }
    SearchScreen #fts-detail-box { height: 6; padding: 0 1; border-top: solid $primary; }
    SearchScreen.-short #fts-detail-box { height: 4; }
    SearchScreen #fts-count { height: 1; padding: 0 1; color: $text-muted; }
    """

    def __init__(self, text: str = "", client_id: int | None = None) -> None:
        super().__init__()
        self.initial = text
        self.client_id = client_id
        self.results = Results()
        self._seq = 0

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="fts-scope")
        yield Input(value=self.initial, placeholder="Words in notes, intake summaries, names",
                    id="fts-query")
        yield OptionList(id="fts-results")
        with VerticalScroll(id="fts-detail-box", can_focus=False):
            yield Static("", id="fts-detail")
        yield Static("", id="fts-count")
        yield Footer()

    def on_mount(self) -> None:
        self.title = "planwise"
        scope = "all clients" if self.client_id is None else f"C{self.client_id}'s records"
        self.sub_title = "Search records"
        self.query_one("#fts-scope", Static).update(
            f"Session notes, intake summaries, names: {scope}")
        self.query_one("#fts-query", Input).focus()
        self.run_search(self.initial)

    def run_search(self, text: str) -> None:
        self._seq += 1
        self._search(self._seq, text)

    @work(thread=True, exclusive=True, exit_on_error=False, group="search")
    def _search(self, seq: int, text: str) -> None:
        results = search(self.app.services.conn(), text,  # type: ignore[attr-defined]
                         client_id=self.client_id, limit=LIMIT, prefix_last=True)
        self.app.call_from_thread(self.show, seq, text, results)

    def show(self, seq: int, text: str, results: Results) -> None:
        if seq != self._seq:
            return  # an older keystroke's answer
        self.results = results
        listing = self.query_one("#fts-results", OptionList)
        listing.clear_options()
        # Two lines a record at any width (OptionList would wrap a long line).
        width = (listing.scrollable_content_region.width or self.app.size.width) - 2
        listing.add_options([Option(hit_prompt(h, width), id=str(i))
                             for i, h in enumerate(results.hits)])
        if results.hits:
            listing.highlighted = 0
        self.query_one("#fts-count", Static).update(
            count_text(results, text, self.client_id is not None))
        self.show_detail()

    @on(Input.Changed, "#fts-query")
    def query_changed(self, event: Input.Changed) -> None:
        self.run_search(event.value)

    @on(Input.Submitted, "#fts-query")
    def query_submitted(self) -> None:
        self.action_results()

    @on(OptionList.OptionHighlighted, "#fts-results")
    def highlighted(self) -> None:
        self.show_detail()

    def _current(self) -> Hit | None:
        index = self.query_one("#fts-results", OptionList).highlighted
        if index is None or not 0 <= index < len(self.results.hits):
            return None
        return self.results.hits[index]

    def show_detail(self) -> None:
        hit = self._current()
        detail = self.query_one("#fts-detail", Static)
        if hit is None:
            detail.update("")
            return
        text = Text()
        text.append(printable(heading(hit)), style="bold")
        text.append("\n" + printable(hit.text))
        detail.update(text)
        self.query_one("#fts-detail-box", VerticalScroll).scroll_home(animate=False)

    @on(OptionList.OptionSelected, "#fts-results")
    def selected(self) -> None:
        self.action_open()

    def action_open(self) -> None:
        hit = self._current()
        if hit is None:
            return
        if self.client_id == hit.client_id:
            self.app.pop_screen()  # back to this client's page, which it came from
        else:
            self.app.open_client(hit.client_id)  # type: ignore[attr-defined]

    def action_results(self) -> None:
        listing = self.query_one("#fts-results", OptionList)
        if listing.option_count:
            self.set_focus(listing)

    def action_query(self) -> None:
        self.set_focus(self.query_one("#fts-query", Input))

    def action_back(self) -> None:
        self.app.pop_screen()
