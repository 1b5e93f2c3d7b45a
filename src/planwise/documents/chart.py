"""A score chart drawn with fpdf2's own lines and rectangles (no plotting library): the
totals over time, the clinical cut-off as a dashed line and the reliable-change band, the
range around the baseline a change must leave to be more than measurement error
(planwise.clinical.progress, Jacobson & Truax 1991). Both are drawn only where the instrument's
[change] table gives them; the legend says so when it does not."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from planwise.documents.pdf_base import FAMILY, clean

if TYPE_CHECKING:
    from fpdf import FPDF

    from planwise.clinical.instruments import Instrument

HEIGHT = 52.0      # mm of plot, labels and legend excluded
LEFT_GUTTER = 10.0


@dataclass(frozen=True)
class Point:
    date: str
    total: int


@dataclass(frozen=True)
class Guides:
    """What the chart marks besides the scores, in the instrument's points."""

    low: int
    high: int
    cutoff: float | None = None        # the boundary of the clinical range
    cutoff_label: str = ""
    band: tuple[float, float] | None = None   # baseline -/+ the reliable-change threshold
    band_label: str = ""


def guides(inst: Instrument | None, baseline: int, totals: list[int]) -> Guides:
    from planwise.clinical.progress import reliable_threshold

    if inst is None:
        return Guides(min(totals + [0]), max(totals + [1]))
    low, high = inst.min_total, max(inst.max_total, inst.min_total + 1)
    rules = inst.change
    if rules is None:
        return Guides(low, high)
    cutoff: float | None = None
    cutoff_label = ""
    if rules.cutoff is not None:
        if rules.cutoff.clinical_at_least is not None:
            # Between the last functional and the first clinical total.
            cutoff = rules.cutoff.clinical_at_least - 0.5
            cutoff_label = f"cut-off: {rules.cutoff.clinical_at_least} or more is clinical"
        elif rules.cutoff.clinical_at_most is not None:
            cutoff = rules.cutoff.clinical_at_most + 0.5
            cutoff_label = f"cut-off: {rules.cutoff.clinical_at_most} or less is clinical"
    points, inclusive = reliable_threshold(rules)
    # A total strictly inside the band is no reliable change; at the edge it is when the
    # published threshold counts at equality.
    size = points - 0.5 if inclusive and float(points).is_integer() else points
    band = (max(low, baseline - size), min(high, baseline + size))
    shown = f"{points:g}" if float(points).is_integer() else f"{points:.1f}"
    band_label = (f"reliable-change band: within {shown} points of the baseline "
                  f"({baseline}) is no reliable change")
    return Guides(low, high, cutoff, cutoff_label, band, band_label)


def draw(pdf: FPDF, points: list[Point], g: Guides) -> None:
    """The chart at the current position, the full text width; moves below it."""
    if pdf.get_y() + HEIGHT + 22 > pdf.h - pdf.b_margin:
        pdf.add_page()
    x0 = pdf.l_margin + LEFT_GUTTER
    width = pdf.epw - LEFT_GUTTER
    top = pdf.get_y() + 2
    bottom = top + HEIGHT
    span = g.high - g.low

    def y_of(v: float) -> float:
        return bottom - (v - g.low) / span * HEIGHT

    def x_of(i: int) -> float:
        n = len(points)
        return x0 + width / 2 if n == 1 else x0 + 6 + i * (width - 12) / (n - 1)

    if g.band is not None:
        pdf.set_fill_color(222, 232, 242)
        pdf.rect(x0, y_of(g.band[1]), width, y_of(g.band[0]) - y_of(g.band[1]), style="F")
    pdf.set_draw_color(120, 120, 120)
    pdf.set_line_width(0.2)
    pdf.rect(x0, top, width, HEIGHT)
    pdf.set_font(FAMILY, "", 7)
    pdf.set_text_color(80, 80, 80)
    for v in sorted({g.low, g.high, (g.low + g.high) // 2}):
        pdf.text(pdf.l_margin, y_of(v) + 1, str(v))
    if g.cutoff is not None:
        pdf.set_draw_color(190, 40, 40)
        pdf.set_line_width(0.4)
        with pdf.local_context():
            pdf.set_dash_pattern(dash=1.5, gap=1.2)
            pdf.line(x0, y_of(g.cutoff), x0 + width, y_of(g.cutoff))
    pdf.set_draw_color(20, 60, 120)
    pdf.set_fill_color(20, 60, 120)
    pdf.set_line_width(0.5)
    for i in range(1, len(points)):
        pdf.line(x_of(i - 1), y_of(points[i - 1].total), x_of(i), y_of(points[i].total))
    step = max(1, len(points) // 8)     # at most about eight dates under the axis
    for i, p in enumerate(points):
        pdf.circle(x_of(i), y_of(p.total), 0.9, style="F")
        pdf.text(x_of(i) - 1.2, y_of(p.total) - 1.8, str(p.total))
        if i % step == 0 or i == len(points) - 1:
            pdf.text(x_of(i) - 7, bottom + 4, p.date)
    pdf.set_text_color(0, 0, 0)
    pdf.set_draw_color(0, 0, 0)
    pdf.set_line_width(0.2)
    pdf.set_y(bottom + 6)
    _legend(pdf, g)


def _legend(pdf: FPDF, g: Guides) -> None:
    from fpdf.enums import XPos, YPos

    pdf.set_font(FAMILY, "", 8)
    lines = [("Dashed red line: " + g.cutoff_label) if g.cutoff_label
             else "No clinical cut-off recorded for this instrument.",
             ("Shaded band: " + g.band_label) if g.band_label
             else "No reliable-change figure recorded for this instrument."]
    for text in lines:
        pdf.multi_cell(pdf.epw, 4, clean(pdf, text), align="L", new_x=XPos.LMARGIN,
                       new_y=YPos.NEXT)
    pdf.ln(1)
