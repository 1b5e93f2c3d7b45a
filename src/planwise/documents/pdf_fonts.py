"""The shipped fonts parsed once a process, not once a document.

fpdf2's `FPDF.add_font` builds a `TTFFont`: it opens the file with fontTools, decodes the
glyph names, the character map and the widths, and maps every character to its glyph
(about 27 ms of CPU for each DejaVu face). All of
that is the same for every document. What is not the same is the document's own state:
the subset of glyphs it used (`subset`, `missing_glyphs`, `biggest_size_pt`), the font's
number in that document (`i`) and the fontTools font itself, which `output()` cuts down
to the subset in place and then closes. So a document gets a copy of the parsed font
that shares only what no document writes (the character map, glyph ids, descriptor,
metrics) and has its own fresh state and its own fontTools font (opened lazily from the
file: only the tables the subsetter reads are decoded, at output; the first document
takes the one the parse decoded). The output is the same bytes as `add_font` gives
(tests/test_documents_fonts.py compares).

What is saved is the parse, not the subsetting: fontTools decodes a face's glyph names,
outlines, character maps and widths again for each document's subset (about 24 ms a
face), since fpdf2 cuts the fontTools font down in place. A plan's PDF took 18-20% less
time (benchmarks/documents.py prints both ways).

If fpdf2's `TTFFont` ever has attributes this module does not know, or the font is a
colour font (its Type 3 object belongs to one document) or a CFF one, `add_font` is used
as before: slower, never wrong.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fpdf import FPDF

# Every attribute of fpdf2's TTFFont (2.8), by what a document may do with it.
_SHARED = frozenset({      # set by the parse, only read afterwards
    "type", "name", "desc", "glyph_ids", "sp", "ss", "up", "ut", "ttffile", "fontkey",
    "emphasis", "scale", "cmap", "unicode_range", "palette_index", "is_compressed",
    "is_cff", "is_cid_keyed", "is_symbol", "cff_ros", "collection_font_number",
})
_OWN = frozenset({         # a document's own: set afresh in `_copy_for`
    "i", "_hbfont", "cw", "subset", "ttfont", "missing_glyphs", "biggest_size_pt",
    "color_font",
})

_LAYOUT = ("GDEF", "GSUB", "GPOS")   # dropped from the subset by fpdf2's output
_lock = threading.Lock()   # exports are written in the interface's worker threads
_parsed: dict[tuple[str, str], Any] = {}


def _supported() -> bool:
    from fpdf.fonts import TTFFont

    return set(TTFFont.__slots__) == _SHARED | _OWN


def _parse(pdf: FPDF, path: Path, fontkey: str, style: str) -> Any:
    from fpdf.fonts import TTFFont

    return TTFFont(pdf, path, fontkey, style)


def _prototype(pdf: FPDF, path: Path, fontkey: str, style: str) -> tuple[Any, Any]:
    """The font parsed once (under the lock, so two threads never both parse it), and,
    to the one call that parsed it, the fontTools font the parse decoded: that document
    uses it as `add_font`'s would (a process writing one PDF does no more work than
    before), and the parsed font keeps none, so no document's subsetting can reach it."""
    key = (str(path), fontkey)
    with _lock:
        proto = _parsed.get(key)
        if proto is not None:
            return proto, None
        proto = _parse(pdf, path, fontkey, style)
        _parsed[key] = proto
        ttfont, proto.ttfont = proto.ttfont, None
        return proto, ttfont


def _drop_layout(ttfont: Any) -> None:
    """Remove the OpenType layout tables before the subsetter sees them. fpdf2's output
    drops GDEF, GSUB and GPOS from the embedded subset, but fontTools (4.69) decodes every
    lookup of them first (about 20 ms a face for DejaVu); gone beforehand they cost nothing.
    fontTools also drops a legacy `kern` table when the font has GPOS (it sorts `kern`
    first, GPOS still present): removed here in that case too, so the embedded subset is
    the same bytes (tests/test_documents_fonts.py compares with fpdf2's own add_font)."""
    if "GPOS" in ttfont and "kern" in ttfont:
        del ttfont["kern"]
    for tag in _LAYOUT:
        if tag in ttfont:
            del ttfont[tag]


def _copy_for(pdf: FPDF, proto: Any, ttfont: Any) -> Any:
    from fontTools import ttLib
    from fpdf.fonts import SubsetMap, TTFFont

    font = TTFFont.__new__(TTFFont)
    for name in _SHARED:
        if hasattr(proto, name):    # a slot TTFFont never sets (unicode_range) stays unset
            setattr(font, name, getattr(proto, name))
    font.i = len(pdf.fonts) + 1
    font._hbfont = None
    # A defaultdict: reading a character the font lacks inserts it, so each its own.
    font.cw = proto.cw.copy()
    font.missing_glyphs = []
    font.biggest_size_pt = 0
    font.color_font = None
    if ttfont is None:   # opened as TTFFont opens it: the same subset, the same bytes
        ttfont = ttLib.TTFont(proto.ttffile, recalcTimestamp=False,
                              fontNumber=proto.collection_font_number, lazy=True)
    font.ttfont = ttfont
    _drop_layout(font.ttfont)
    font.subset = SubsetMap(font)
    return font


def add_font(pdf: FPDF, family: str, style: str, path: Path) -> None:
    """`pdf.add_font(family, style, path)`, with the parse kept for the process."""
    style = "".join(sorted(style.upper()))
    fontkey = f"{family.lower()}{style}"
    if fontkey in pdf.fonts or not _supported():
        pdf.add_font(family, style, str(path))
        return
    proto, ttfont = _prototype(pdf, path, fontkey, style)
    if proto.color_font is not None or proto.is_cff:   # CFF: add_font also sets the version
        pdf.add_font(family, style, str(path))
        return
    pdf.fonts[fontkey] = _copy_for(pdf, proto, ttfont)
