"""One instrument's totals over time, drawn with text characters (readable at 80x24 and
without colour: every mark is a character, colour only repeats it).

    27 ┤
       │                  ●
    16 ┤●░░░░░░░░░░░░░░░░░░·░░░░░░░░
       │░░░░░░·░░░░░░░░░░░░░░░·░░░░░
    10 ┤╌╌╌╌╌╌╌╌●╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌ cut-off
     0 ┤
       └┬───────┬─────────┬─────────┬
        10-01   11-02     12-01     01-05

- ``●`` a score (``◆`` the baseline, the first score), ``·`` the line between scores;
- ``░`` the reliable-change band around the baseline: a later score inside it is no
  reliable change (planwise.clinical.progress: baseline ± the instrument's reliable-change
  threshold, a published number of points or 1.96 x S_diff);
- ``╌`` the clinical cut-off (the instrument's ``[change.cutoff]``), labelled with the
  side that is clinical.

Scores are spaced evenly in date order (one column step per administration); the dates
are written under them where they fit. `render_chart` is pure and unit tested; the
widget only sizes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from rich.text import Text
from textual.widgets import Static

from planwise.clinical.instruments import Instrument

POINT, BASELINE, LINE, BAND, CUTOFF = "●", "◆", "·", "░", "╌"
STYLES = {POINT: "bold", BASELINE: "bold", LINE: "", BAND: "dim", CUTOFF: "bold"}
Y_LABEL = 4  # width of the y labels ("27 ┤")


@dataclass(frozen=True)
class ChartSpec:
    """What one chart shows; `from_series` builds it from an instrument and its rows."""

    name: str
    totals: list[int]
    dates: list[str]                      # ISO dates, one per total
    lo: int
    hi: int
    cutoff: int | None = None             # the first clinical score on its side
    clinical_at_least: bool = True        # the clinical side: >= cutoff (else <= cutoff)
    band: tuple[float, float] | None = None  # totals inside are no reliable change
    threshold: float | None = None        # the reliable-change threshold in points
    lower_is_better: bool | None = None
    classes: list[str] = field(default_factory=list)  # change class per total ('' baseline)

    @classmethod
    def from_series(cls, inst: Instrument, rows: Sequence[dict[str, Any]]) -> ChartSpec:
        from planwise.clinical.progress import reliable_threshold

        totals = [int(r["total"]) for r in rows]
        dates = [str(r["date"]) for r in rows]
        rules = inst.change
        cutoff: int | None = None
        at_least = True
        band = None
        threshold = None
        lower = None
        if rules is not None:
            lower = rules.lower_is_better
            if rules.cutoff is not None:
                if rules.cutoff.clinical_at_least is not None:
                    cutoff = rules.cutoff.clinical_at_least
                elif rules.cutoff.clinical_at_most is not None:
                    cutoff, at_least = rules.cutoff.clinical_at_most, False
            threshold, inclusive = reliable_threshold(rules)
            if totals:
                # a change of exactly the published threshold is already reliable
                inside = threshold - (0.5 if inclusive else 0.0)
                band = (max(inst.min_total, totals[0] - inside),
                        min(inst.max_total, totals[0] + inside))
        classes = ["" if r.get("change") is None else str(r["change"]["change_class"])
                   for r in rows]
        return cls(inst.name, totals, dates, inst.min_total, inst.max_total, cutoff, at_least,
                   band, threshold, lower, classes)


class _Rows:
    """Value -> plot row. With a cut-off the plot is split: the values on the upper side of
    the cut-off get the rows above the cut-off line, the others the rows below it, so a
    score is never drawn on the line and its side is always plain."""

    def __init__(self, spec: ChartSpec, height: int) -> None:
        self.spec, self.height = spec, height
        self.line: int | None = None
        if spec.cutoff is not None and spec.lo < spec.cutoff < spec.hi and height >= 5:
            # values >= top belong above the line, values <= bottom below it
            self.top = spec.cutoff if spec.clinical_at_least else spec.cutoff + 1
            self.bottom = self.top - 1
            share = (spec.hi - self.top + 1) / (spec.hi - spec.lo + 1)
            self.line = max(1, min(height - 2, round(share * (height - 1))))

    def __call__(self, value: float) -> int:
        spec, h = self.spec, self.height
        if self.line is None:
            r = round((spec.hi - value) / max(1, spec.hi - spec.lo) * (h - 1))
            return max(0, min(h - 1, r))
        if value >= self.top:
            r = round((spec.hi - value) / max(1, spec.hi - self.top) * (self.line - 1))
            return max(0, min(self.line - 1, r))
        if value <= self.bottom:
            below = h - 1 - (self.line + 1)
            r = self.line + 1 + round((self.bottom - value) / max(1, self.bottom - spec.lo)
                                      * below)
            return max(self.line + 1, min(h - 1, r))
        return self.line  # between the two sides: on the line


def band_rows(spec: ChartSpec, row: _Rows) -> list[int]:
    """Rows every total of which lies inside the band (a row holds several totals; one
    holding a total outside the band is left blank, so a score drawn on the shading is
    certainly no reliable change)."""
    if spec.band is None:
        return []
    lo_v, hi_v = spec.band
    held: dict[int, list[int]] = {}
    for v in range(spec.lo, spec.hi + 1):
        held.setdefault(row(v), []).append(v)
    inside = {r for r, vs in held.items() if all(lo_v <= v <= hi_v for v in vs)}
    for r in range(1, row.height - 1):  # a row no total maps to, between shaded rows
        if r not in held and r - 1 in inside and r + 1 in inside:
            inside.add(r)
    return sorted(inside - ({row.line} if row.line is not None else set()))


def columns(n: int, width: int) -> list[int]:
    """Evenly spaced columns for n points in a plot `width` wide."""
    if n <= 1:
        return [0] * n
    step = min(8, (width - 1) / (n - 1))
    return [round(i * step) for i in range(n)]


def render_chart(spec: ChartSpec, width: int = 78, height: int = 10) -> list[Text]:
    """The chart's lines (plot rows, x axis, date labels), `width` characters wide."""
    plot_w = max(8, width - Y_LABEL - 1 - 12)  # 12 columns on the right for labels
    max_points = max(2, plot_w // 2 + 1)
    totals, dates = spec.totals, spec.dates
    dropped = 0
    if len(totals) > max_points:  # keep the baseline's band; show the latest scores
        dropped = len(totals) - max_points
        totals, dates = totals[-max_points:], dates[-max_points:]
    cols = columns(len(totals), plot_w)
    row = _Rows(spec, height)
    grid: list[list[str]] = [[" "] * plot_w for _ in range(height)]
    right: dict[int, str] = {}
    if spec.band is not None:
        for r in band_rows(spec, row):
            grid[r] = [BAND] * plot_w
        if totals and not dropped:
            right[row(totals[0])] = "RC band"
    if row.line is not None and spec.cutoff is not None:
        grid[row.line] = [CUTOFF] * plot_w
        right[row.line] = f"cut-off {'≥' if spec.clinical_at_least else '≤'}{spec.cutoff}"
    for i in range(len(totals) - 1):  # the line between scores, then the scores
        c1, c2 = cols[i], cols[i + 1]
        for c in range(c1 + 1, c2):
            grid[row(totals[i] + (totals[i + 1] - totals[i]) * (c - c1) / (c2 - c1))][c] = LINE
    for i, (c, v) in enumerate(zip(cols, totals, strict=True)):
        grid[row(v)][c] = BASELINE if i == 0 and not dropped else POINT
    labelled: dict[int, int] = {0: spec.hi, height - 1: spec.lo}
    if totals and not dropped:
        labelled.setdefault(row(totals[0]), totals[0])
    if row.line is not None and spec.cutoff is not None:
        labelled.setdefault(row(spec.cutoff), spec.cutoff)
    lines: list[Text] = []
    for r in range(height):
        label = f"{labelled[r]:>{Y_LABEL - 2}} ┤" if r in labelled else " " * (Y_LABEL - 1) + "│"
        line = Text(label)
        for ch in grid[r]:
            line.append(ch, style=STYLES.get(ch, ""))
        if r in right:
            line.append(" " + right[r], style="italic")
        lines.append(line)
    axis = [" "] * plot_w
    for c in cols:
        axis[c] = "┬"
    lines.append(Text(" " * (Y_LABEL - 1) + "└" + "".join(axis).replace(" ", "─")))
    labels = [" "] * (plot_w + 6)
    last_end = -1
    for c, d in zip(cols, dates, strict=True):
        text = d[5:] if len(d) >= 10 else d  # MM-DD; the year is in the legend
        if c > last_end:
            labels[c:c + len(text)] = list(text)
            last_end = c + len(text)
    lines.append(Text(" " * Y_LABEL + "".join(labels).rstrip()))
    return lines


def legend(spec: ChartSpec) -> str:
    """One line (under 78 columns) saying what each mark is, with the numbers behind the
    band and the cut-off (which way is better is said by the screen's title)."""
    bits = [f"{BASELINE} baseline {spec.totals[0]}" if spec.totals else "", f"{POINT} score"]
    if spec.band is not None and spec.threshold is not None:
        bits.append(f"{BAND} ±{spec.threshold:g}: no reliable change")
    if spec.cutoff is not None:
        bits.append(f"{CUTOFF} clinical {'≥' if spec.clinical_at_least else '≤'}{spec.cutoff}")
    if spec.lower_is_better is None:
        bits.append("no published change figures")
    return "  ".join(b for b in bits if b)


class ScoreChart(Static):
    """The chart of one ChartSpec, drawn to the widget's width."""

    DEFAULT_CSS = """
    ScoreChart { height: 12; }
    """

    def __init__(self, spec: ChartSpec | None = None, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.spec = spec

    def show(self, spec: ChartSpec | None) -> None:
        self.spec = spec
        self.refresh()

    def render(self) -> Text:
        if self.spec is None or not self.spec.totals:
            return Text("No scores yet.")
        width = self.size.width or 78
        height = max(4, (self.size.height or 12) - 2)
        return Text("\n").join(render_chart(self.spec, width, height))
