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
from typing import Any

from planwise.errors import InputError

# C0 except tab and newline, DEL, C1, the bidi embeddings/overrides/isolates
# (U+202A-202E, U+2066-2069), and lone surrogates (bytes that were not UTF-8 on
# the command line, decoded by Python with surrogateescape).
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")

EXCERPT = 40  # characters of a value an error message may quote


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x20 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """`text` with every control, bidi and surrogate character shown escaped."""
    return UNSAFE.sub(_escape, text)


def has_unsafe(text: str) -> bool:
    return UNSAFE.search(text) is not None


def field_key(key: str) -> str:
    """A key as a field path shows it: an unknown key comes from the file and may be
    anything (5,000 characters, a control sequence), so it is quoted as an excerpt."""
    return key if re.fullmatch(r"[A-Za-z0-9_\-]{1,64}", key) else excerpt(key)


def refuse_controls(value: Any, path: str = "", *, file: str | None = None) -> None:
    """InputError naming the field when any text in `value` (a string, or the dicts and
    lists of a document) holds a control character other than tab and newline, a C1
    control or a bidi override: such characters have no place in a clinical record and
    act on a terminal. Keys are checked too."""
    if isinstance(value, str):
        found = UNSAFE.search(value)
        if found:
            raise InputError(f"holds a control character (U+{ord(found.group()):04X}); "
                             "remove it", file=file, field=path or None)
    elif isinstance(value, dict):
        for key, child in value.items():
            refuse_controls(str(key), path, file=file)
            shown = field_key(str(key))
            refuse_controls(child, f"{path}.{shown}" if path else shown, file=file)
    elif isinstance(value, list):
        for i, child in enumerate(value):
            refuse_controls(child, f"{path}[{i}]", file=file)


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
