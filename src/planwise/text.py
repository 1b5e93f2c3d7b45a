"""Text from a client's record or an input file, made safe to show.

A name, a note or a file can hold terminal control sequences (`ESC ] 0 ; ... BEL`
sets the window title, `ESC [ 2 J` clears the screen), C1 controls that some
terminals obey like ESC, or bidi overrides that make a line read differently
from what it holds. Whatever planwise prints passes through `printable`, which
shows each such character as an escape (`\\x1b`, `\\u202e`) instead of sending
it to the terminal; newline and tab are kept. Markdown also gets `markdown_text`,
which escapes HTML so a note's `<script>` stays text in a rendered document.

Escapes for anything but C0 controls use the `\\uXXXX` form: inside a JSON or a
TOML string that is the same character again, so escaped JSON and TOML output
still parses to the stored value. (C0 controls never reach those writers'
output raw: both escape them.)
"""

from __future__ import annotations

import html
import re

# C0 except tab and newline, DEL, C1, the bidi embeddings/overrides/isolates
# (U+202A-202E, U+2066-2069), and lone surrogates (bytes that were not UTF-8 on
# the command line, decoded by Python with surrogateescape).
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")

EXCERPT = 40  # characters of a value an error message may quote


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x20 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """`text` with every control, bidi and surrogate character shown escaped."""
    return _UNSAFE.sub(_escape, text)


def has_unsafe(text: str) -> bool:
    return _UNSAFE.search(text) is not None


def excerpt(value: object, limit: int = EXCERPT) -> str:
    """A short, printable quotation of a value for an error message: at most `limit`
    characters of its repr, marked when cut."""
    shown = repr(value)
    if len(shown) > limit:
        shown = shown[:limit] + f"... ({len(str(value)):,} characters)"
    return printable(shown)


def markdown_text(text: str) -> str:
    """One line of user text, safe in a Markdown list or table: whitespace runs (and
    newlines) as one space, HTML and pipes escaped, controls shown escaped."""
    line = " ".join(str(text).split())
    return printable(html.escape(line, quote=False)).replace("|", "\\|")


def markdown_code(text: str) -> str:
    """User text as an inline code span (ids, keys): a backtick in it cannot end the span."""
    body = printable(" ".join(str(text).split()))
    fence = "`" * (max((len(run) for run in re.findall("`+", body)), default=0) + 1)
    pad = " " if body.startswith("`") or body.endswith("`") else ""
    return f"{fence}{pad}{body}{pad}{fence}"
