"""The shipped fonts parsed once a process (documents/pdf_fonts.py): every document still
embeds exactly the glyphs it uses, byte for byte what fpdf2's own `add_font` gives, and
no document's output depends on which documents were written before it, in this thread
or another."""

from __future__ import annotations

import datetime as dt
import io
import threading
from collections.abc import Callable, Iterator

import pytest

from planwise.documents import pdf_fonts
from planwise.documents.pdf_base import FAMILY, Writer, new_pdf, to_bytes

WHEN = dt.datetime(2026, 12, 20, tzinfo=dt.UTC)
# Texts with few characters in common, so each document's subset differs.
TEXTS = {
    "a": "alpha beta gamma",
    "b": "Zürich Ωmega ЖЖ ĉu ŝi? «ß»",
    "c": "0123456789 %/€ — “quoted” ✓",
}


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    """Each test starts with nothing parsed, as a new process does."""
    pdf_fonts._parsed.clear()
    yield
    pdf_fonts._parsed.clear()


def document(key: str) -> bytes:
    text = TEXTS[key]
    pdf = new_pdf(f"Plan {key}", f"footer {key}", WHEN)
    w = Writer(pdf)
    w.title(f"Plan: {text}")
    w.heading("Goals")
    w.para(" ".join([text] * 12))
    w.bullet(text)
    w.field("Note", text)
    return to_bytes(pdf)


def uncached(fn: Callable[[], bytes], monkeypatch: pytest.MonkeyPatch) -> bytes:
    """What fpdf2's own add_font gives (the path taken when TTFFont is not the one known)."""
    with monkeypatch.context() as m:
        m.setattr(pdf_fonts, "_supported", lambda: False)
        return fn()


def embedded(data: bytes) -> dict[str, tuple[int, bytes]]:
    """Each embedded font's name, its number of glyphs and the font file's bytes."""
    from fontTools.ttLib import TTFont
    from pypdf import PdfReader

    out: dict[str, tuple[int, bytes]] = {}
    for page in PdfReader(io.BytesIO(data)).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            desc = font["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
            raw = desc["/FontFile2"].get_object().get_data()
            out[str(font["/BaseFont"])] = (len(TTFont(io.BytesIO(raw)).getGlyphOrder()), raw)
    return out


def text_of(data: bytes) -> str:
    from pypdf import PdfReader

    return " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
                    .split())


def test_same_bytes_as_fpdf2s_own_add_font(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in TEXTS:
        assert document(key) == uncached(lambda k=key: document(k), monkeypatch), key
    assert len(pdf_fonts._parsed) == 2      # both faces parsed once, then reused


def test_a_document_does_not_depend_on_those_written_before() -> None:
    alone = document("b")
    pdf_fonts._parsed.clear()
    document("a")
    document("c")
    after = document("b")
    assert after == alone
    fonts = embedded(after)
    assert sorted(fonts) == ["/MPDFAA+DejaVuSansBold", "/MPDFAA+DejaVuSansBook"]
    # The subset is this document's: fewer glyphs than a subset holding a's and c's too.
    both = embedded(document("a"))
    assert fonts != both
    assert "Zürich Ωmega ЖЖ" in text_of(after) and "gamma" not in text_of(after)


def test_subsets_hold_only_the_glyphs_used() -> None:
    small, large = embedded(document("a")), embedded(document("b"))
    regular = "/MPDFAA+DejaVuSansBook"
    # DejaVu Sans has 6,253 glyphs; a short document embeds a few dozen.
    assert small[regular][0] < 60
    assert small[regular][0] < large[regular][0]


def test_the_parsed_font_is_never_written_into() -> None:
    document("b")
    document("c")
    for proto in pdf_fonts._parsed.values():
        assert len(proto.subset) <= 2           # only the reserved .notdef and space
        assert proto.missing_glyphs == []
        assert proto.ttfont is None             # the first document took it: none to subset


def test_a_character_the_font_lacks_leaves_the_next_document_alone(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Written straight to a cell (the Writer escapes such characters first)."""
    def written(text: str) -> bytes:
        pdf = new_pdf("t", "f", WHEN)
        pdf.set_font(FAMILY, "", 10)
        pdf.cell(0, 5, text)
        return to_bytes(pdf)

    lacking = written("smile \U0001F600")
    plain = written("smile")
    assert lacking != plain
    assert lacking == uncached(lambda: written("smile \U0001F600"), monkeypatch)
    assert plain == uncached(lambda: written("smile"), monkeypatch)


def test_documents_written_in_threads_are_those_written_alone(
        monkeypatch: pytest.MonkeyPatch) -> None:
    expected = {key: uncached(lambda k=key: document(k), monkeypatch) for key in TEXTS}
    parses: list[str] = []
    real = pdf_fonts._parse

    def counting(pdf: object, path: object, fontkey: str, style: str) -> object:
        parses.append(fontkey)
        return real(pdf, path, fontkey, style)    # type: ignore[arg-type]

    monkeypatch.setattr(pdf_fonts, "_parse", counting)
    results: dict[int, bytes] = {}
    start = threading.Barrier(6)

    def work(n: int) -> None:
        start.wait()
        results[n] = document("abc"[n % 3])

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(parses) == ["dejavu", "dejavuB"]     # each face parsed once
    for n, data in results.items():
        assert data == expected["abc"[n % 3]], n


def test_other_fpdf2_font_objects_fall_back_to_add_font(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pdf_fonts, "_supported", lambda: False)
    pdf = new_pdf("t", "f", WHEN)
    assert pdf_fonts._parsed == {}
    assert "GSUB" in pdf.fonts[FAMILY].ttfont      # fpdf2's own, layout tables kept


def test_the_known_attributes_are_fpdf2s() -> None:
    """If fpdf2's TTFFont changes, the cache steps aside (add_font); this says so loudly
    rather than letting every document quietly lose the speed."""
    assert pdf_fonts._supported()
