"""What both PDF documents share: the shipped Unicode font, page furniture, text that
the font can draw, and a fixed creation date so the same record gives the same bytes.

DejaVu Sans ships in `fonts/` with its licence (Bitstream Vera terms, which allow
redistribution unmodified); a system font would make the file depend on the machine.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

from planwise.text import printable

if TYPE_CHECKING:
    from fpdf import FPDF

FONTS = Path(__file__).resolve().parent / "fonts"
FAMILY = "dejavu"
LINE = 5.2          # mm per line of body text
GREY = (90, 90, 90)


def generated_at(today: dt.date | None = None) -> dt.datetime:
    """When the document says it was made: now, or midnight UTC of PLANWISE_TODAY when
    that is set (tests and reproducible runs: the same record then gives the same file)."""
    import os

    from planwise.dates import today as day

    if today is not None or os.environ.get("PLANWISE_TODAY"):
        return dt.datetime.combine(today or day(), dt.time(0), dt.UTC)
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def new_pdf(title: str, footer: str, generated: dt.datetime) -> FPDF:
    """An A4 document with the font loaded, metadata set and a footer on every page."""
    from fpdf import FPDF

    from planwise.documents.pdf_fonts import add_font

    class _Doc(FPDF):
        def footer(self) -> None:
            self.set_y(-12)
            self.set_font(FAMILY, "", 8)
            self.set_text_color(*GREY)
            self.cell(0, 5, f"{footer}  |  page {self.page_no()} of {{nb}}", align="C")
            self.set_text_color(0, 0, 0)

    pdf = _Doc(format="A4", unit="mm")
    pdf.set_margins(18, 16, 18)
    pdf.set_auto_page_break(True, margin=18)
    # Parsed once a process (pdf_fonts): parsing both faces was half of a document's cost.
    add_font(pdf, FAMILY, "", FONTS / "DejaVuSans.ttf")
    add_font(pdf, FAMILY, "B", FONTS / "DejaVuSans-Bold.ttf")
    pdf.set_title(title)
    pdf.set_creator("planwise")
    pdf.set_producer("planwise")
    # Fixed by the caller: the same record and day give the same bytes (tests compare).
    pdf.set_creation_date(generated)
    pdf.add_page()
    return pdf


def clean(pdf: FPDF, value: Any) -> str:
    """Text from the database as the page can show it: whitespace runs as one space,
    controls escaped (planwise.text.printable) and any character the font has no glyph
    for written as \\uXXXX, so nothing disappears from the page in silence."""
    text = printable(" ".join(str(value).split()))
    cmap = getattr(pdf.fonts[FAMILY], "cmap", {})    # a TTFFont: the shipped font
    if all(ord(ch) in cmap for ch in text):
        return text
    return "".join(ch if ord(ch) in cmap else
                   (f"\\u{ord(ch):04x}" if ord(ch) <= 0xFFFF else f"\\U{ord(ch):08x}")
                   for ch in text)


def wrap(pdf: FPDF, text: str, width: float) -> list[str]:
    """Greedy word wrap at the current font and size. fpdf2's multi_cell measures every
    character of every candidate line (about half a second for a plan); this measures each
    word once."""
    widths: dict[str, float] = {}
    font, size_pt, k = pdf.current_font, pdf.font_size_pt, pdf.k
    assert font is not None, "wrap() needs a font set"

    def w(word: str) -> float:
        # The font's own width table (pdf.get_string_width copies a text fragment per call).
        if word not in widths:
            widths[word] = font.get_text_width(word, size_pt, None)[1] / k
        return widths[word]

    space = w(" ")
    lines: list[str] = []
    for para in text.split("\n") or [""]:
        line, used = "", 0.0
        for word in para.split(" "):
            size = w(word)
            if line and used + space + size <= width:
                line, used = f"{line} {word}", used + space + size
                continue
            if line:
                lines.append(line)
            while size > width and len(word) > 1:   # a word longer than the line: cut it
                cut = len(word)
                while cut > 1 and w(word[:cut]) > width:
                    cut = max(1, cut * 9 // 10 if cut > 20 else cut - 1)
                lines.append(word[:cut])
                word = word[cut:]
                size = w(word)
            line, used = word, size
        lines.append(line)
    return lines


class Writer:
    """Headings, paragraphs, bullets and label-value lines on one document, so the two
    documents read alike and their modules hold only what they say."""

    def __init__(self, pdf: FPDF) -> None:
        self.pdf = pdf

    def _block(self, text: str, size: float = 10, style: str = "", indent: float = 0,
               height: float = LINE) -> None:
        pdf = self.pdf
        pdf.set_font(FAMILY, style, size)
        self._lines(wrap(pdf, text, pdf.epw - indent), indent, height)

    def _lines(self, lines: list[str], indent: float, height: float) -> None:
        from fpdf.enums import XPos, YPos

        pdf = self.pdf
        for line in lines:
            pdf.set_x(pdf.l_margin + indent)
            # Left-aligned, one cell a line: justified text stretches the spaces (read back
            # out of the file, by a screen reader, a search or the tests, as runs of spaces).
            pdf.cell(pdf.epw - indent, height, line, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def title(self, text: str) -> None:
        self._block(clean(self.pdf, text), 16, "B", height=8)
        self.pdf.ln(1)

    def heading(self, text: str) -> None:
        pdf = self.pdf
        if pdf.get_y() > pdf.h - 45:   # a heading alone at the foot of a page reads badly
            pdf.add_page()
        pdf.ln(3)
        self._block(clean(pdf, text), 12.5, "B", height=7)
        y = pdf.get_y()
        pdf.set_draw_color(160, 160, 160)
        pdf.line(pdf.l_margin, y, pdf.l_margin + pdf.epw, y)
        pdf.set_draw_color(0, 0, 0)
        pdf.ln(1.5)

    def subheading(self, text: str) -> None:
        self.pdf.ln(1.5)
        self._block(clean(self.pdf, text), 11, "B", height=6)

    def para(self, text: str, indent: float = 0, size: float = 10, bold: bool = False) -> None:
        self._block(clean(self.pdf, text), size, "B" if bold else "", indent)

    def bullet(self, text: str, indent: float = 0) -> None:
        """A list item, its later lines under its text rather than under the bullet."""
        pdf = self.pdf
        pdf.set_font(FAMILY, "", 10)
        mark = "•  "
        hang = pdf.get_string_width(mark)
        lines = wrap(pdf, clean(pdf, text), pdf.epw - indent - 2 - hang)
        self._lines([mark + lines[0]], indent + 2, LINE)
        self._lines(lines[1:], indent + 2 + hang, LINE)

    def field(self, label: str, value: Any, indent: float = 0) -> None:
        """`Label: value`, the label bold (fpdf2's markdown would read the value's own
        asterisks as markup, so the label is written as its own cell)."""
        from fpdf.enums import XPos, YPos

        pdf = self.pdf
        pdf.set_x(pdf.l_margin + indent)
        pdf.set_font(FAMILY, "B", 10)
        head = clean(pdf, label) + ": "
        width = pdf.get_string_width(head) + 0.5
        if width > pdf.epw / 2:
            self.para(f"{label}: {value}", indent)
            return
        pdf.cell(width, LINE, head)
        pdf.set_font(FAMILY, "", 10)
        lines = wrap(pdf, clean(pdf, value), pdf.epw - indent - width)
        pdf.cell(pdf.epw - indent - width, LINE, lines[0], new_x=XPos.LMARGIN,
                 new_y=YPos.NEXT)
        self._lines(lines[1:], indent + width, LINE)

    def lines(self, items: list[str], empty: str = "none recorded", indent: float = 0) -> None:
        for item in items or [empty]:
            self.bullet(item, indent)

    def space(self, mm: float = 2) -> None:
        self.pdf.ln(mm)


def to_bytes(pdf: FPDF) -> bytes:
    return bytes(pdf.output())
