"""A client's scores over time: for each instrument with a score, the chart of its totals
(widgets/score_chart.py: the baseline, the reliable-change band, the clinical cut-off)
and the table of every score with its band and its change since the baseline."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from planwise.store.measures import CLASS_TEXT
from planwise.tui import keymap
from planwise.tui.widgets.score_chart import ChartSpec, ScoreChart, legend

SOURCE = {"intake": "intake", "measure": "measure", "session": "session"}  # S<n>: session n


def change_cell(change: dict[str, Any] | None) -> str:
    """'reliably improved (-12), recovered' or 'baseline'."""
    if change is None:
        return "baseline"
    text = f"{CLASS_TEXT.get(change['change_class'], change['change_class'])} " \
           f"({int(change['change']):+d})"
    extra = [name for name in ("recovered", "remission") if change.get(name)]
    return text + (", " + ", ".join(extra) if extra else "")


def table_lines(rows: list[dict[str, Any]], band_label: dict[str, str]) -> list[str]:
    """The score table, newest first: date, total, band, where given, change."""
    out = []
    for r in reversed(rows):
        where = SOURCE.get(str(r.get("source")), "")
        if r.get("session"):
            where = f"S{r['session']}"
        # the band's name without its range: the total is beside it
        band = band_label.get(str(r["band"]), str(r["band"])).split(" (")[0]
        out.append(f"{r['date']}  {r['total']:>5}  {band[:17]:<17}  {where[:7]:<7}  "
                   f"{change_cell(r.get('change'))}")
    return out


def tab_line(labels: list[str], current: int, width: int = 78) -> Text:
    """'[PHQ-9 (5)]  GAD-7 (1) ...': the current one in brackets; when they do not all fit,
    a window that holds the current one, with '<' / '>' saying more lie that way."""
    hint = "  Left/Right: instrument" if len(labels) > 1 else ""
    cells = [f"[{lab}]" if i == current else f" {lab} " for i, lab in enumerate(labels)]
    start, end = 0, len(cells)

    def size(a: int, b: int) -> int:
        return sum(len(c) + 1 for c in cells[a:b]) + (2 if a else 0) + (2 if b < len(cells)
                                                                         else 0)
    while size(start, end) + len(hint) > width and end - start > 1:
        if end - 1 > current:
            end -= 1
        else:
            start += 1
    out = Text("< " if start else "")
    for i in range(start, end):
        out.append(cells[i], style="bold reverse" if i == current else "")
        out.append(" ")
    if end < len(cells):
        out.append("> ")
    if hint and size(start, end) + len(hint) <= width:
        out.append(hint.strip(), style="italic")
    return out


class ScoresScreen(Screen[None]):
    HELP_AREA = "scores"
    BINDINGS = keymap.bindings("scores")
    HELP_TEXT = ("Each instrument's totals over time: ◆ the baseline (the first score), "
                 "● later scores, ░ the band around the baseline inside which a change is "
                 "not reliable, ╌ the clinical cut-off. Below, every score, newest first.")
    DEFAULT_CSS = """
    ScoresScreen #scores-tabs { height: 1; padding: 0 1; }
    ScoresScreen #scores-chart { height: 13; padding: 0 1; }
    ScoresScreen #scores-legend { height: 1; padding: 0 1; color: $text-muted; }
    ScoresScreen #scores-table-head { height: 1; padding: 0 1; text-style: bold;
        background: $boost; }
    ScoresScreen #scores-table { height: 1fr; padding: 0 1; }
    ScoresScreen #scores-rows { text-wrap: nowrap; text-overflow: ellipsis; }
    """

    def __init__(self, client_id: int) -> None:
        super().__init__()
        self.client_id = client_id
        self.series: dict[str, list[dict[str, Any]]] = {}
        self.order: list[str] = []
        self.current = 0

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Loading...", id="scores-tabs")
        yield ScoreChart(id="scores-chart")
        yield Static("", id="scores-legend")
        yield Static(f"{'Date':<10}  {'Total':>5}  {'Band':<17}  {'Given':<7}  "
                     "Change since baseline", id="scores-table-head")
        with VerticalScroll(id="scores-table"):
            yield Static("", id="scores-rows")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = f"Scores, client C{self.client_id}"
        self.query_one("#scores-table").focus()
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="scores")
    def load(self) -> None:
        series = self.app.services.scores(self.client_id)  # type: ignore[attr-defined]
        self.app.call_from_thread(self.show_series, series)

    def show_series(self, series: dict[str, list[dict[str, Any]]]) -> None:
        kb = self.app.services.kb  # type: ignore[attr-defined]
        self.series = {k: v for k, v in series.items() if v and k in kb.instruments}
        # the instruments with most scores first; then by name
        self.order = sorted(self.series, key=lambda k: (-len(self.series[k]),
                                                        kb.instruments[k].name.lower()))
        self.current = 0
        self.show_current()

    def show_current(self) -> None:
        kb = self.app.services.kb  # type: ignore[attr-defined]
        chart = self.query_one(ScoreChart)
        if not self.order:
            self.query_one("#scores-tabs", Static).update(
                "No scores yet: the intake's instruments are the baseline; give one again "
                "from a session note (Ctrl+T) or with `planwise measure add`.")
            chart.show(None)
            self.query_one("#scores-legend", Static).update("")
            self.query_one("#scores-rows", Static).update("")
            return
        labels = [f"{kb.instruments[i].name} ({len(self.series[i])})" for i in self.order]
        tabs = tab_line(labels, self.current, max(20, self.size.width - 2))
        self.query_one("#scores-tabs", Static).update(tabs)
        inst_id = self.order[self.current]
        inst = kb.instruments[inst_id]
        rows = self.series[inst_id]
        spec = ChartSpec.from_series(inst, rows)
        chart.show(spec)
        self.query_one("#scores-legend", Static).update(Text(legend(spec)))
        bands = {b.name: b.label for b in inst.bands}
        self.query_one("#scores-rows", Static).update(
            Text("\n".join(table_lines(rows, bands))))
        better = ""
        if inst.change is not None:
            better = " (lower is better)" if inst.change.lower_is_better else \
                " (higher is better)"
        self.sub_title = f"Scores, C{self.client_id}: {inst.name}{better}"

    def action_next_instrument(self) -> None:
        if self.order:
            self.current = (self.current + 1) % len(self.order)
            self.show_current()

    def action_previous_instrument(self) -> None:
        if self.order:
            self.current = (self.current - 1) % len(self.order)
            self.show_current()

    def action_back(self) -> None:
        self.app.pop_screen()
