"""Reading TOML with positions, so that every error can name its line.

tomllib reports syntax errors with a line but forgets positions once parsed.
Validation errors (a wrong type, an unknown key) therefore look the line up
again in the text: the line of the entry's `id = "..."` and, after it, the
first line that sets the offending key.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from planwise.errors import InputError

_SYNTAX_LINE = re.compile(r"\(at line (\d+), column (\d+)\)")


def read_toml(path: Path) -> tuple[dict[str, Any], str]:
    """Parse a TOML file; return the data and the text (for line look-ups)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("file not found", file=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read: {exc.__class__.__name__}", file=str(path)) from None
    return parse_toml(text, str(path)), text


def parse_toml(text: str, name: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        match = _SYNTAX_LINE.search(msg)
        line = int(match.group(1)) if match else None
        msg = _SYNTAX_LINE.sub("", msg).strip()
        raise InputError(f"invalid TOML: {msg}", file=name, line=line) from None


def find_line(text: str, *, entry_id: str | None = None, key: str | None = None) -> int | None:
    """Best line for an error: the key inside the entry with that id, else the entry, else the key.

    Entries are the `[[rules]]`-style tables that carry `id = "..."`; keys are
    the last component of a field path (`when`, `target_weeks`, ...).
    """
    lines = text.splitlines()
    start = 0
    entry_line = None
    if entry_id is not None:
        pat = re.compile(r'^\s*id\s*=\s*["\']' + re.escape(entry_id) + r'["\']')
        for i, line in enumerate(lines):
            if pat.search(line):
                entry_line = i + 1
                start = i
                break
        if entry_line is None:
            inline = re.compile(r'\bid\s*=\s*["\']' + re.escape(entry_id) + r'["\']')
            for i, line in enumerate(lines):
                if inline.search(line):
                    entry_line = i + 1
                    start = i
                    break
    if key:
        key_pat = re.compile(r'(^|[\s{,.])["\']?' + re.escape(key) + r'["\']?\s*=')
        # Search forward from the entry up to the next table header.
        for i in range(start, len(lines)):
            if i > start and entry_id is not None and lines[i].lstrip().startswith("[["):
                if re.match(r"^\s*\[\[\w+\]\]", lines[i]):
                    break
            if key_pat.search(lines[i]):
                return i + 1
        if entry_id is not None and entry_line is not None:
            # The key may live in a sub-table after the entry's header, e.g. [[rules.then]].
            for i in range(start, len(lines)):
                if key_pat.search(lines[i]):
                    return i + 1
    return entry_line


_HEADER = re.compile(r"^\s*\[+\s*([A-Za-z0-9_.\-\"' ]+?)\s*\]+\s*(#.*)?$")


def find_field_line(text: str, path: str) -> int | None:
    """The line that sets a dotted field of a plain document (`context.employment`,
    `instruments.phq9[3]`): inside its `[section]`, or in `section = { ... }`.

    Falls back to the first line setting the last key, then to None.
    """
    keys = [k for k in re.split(r"\.|\[\d+\]", path) if k]
    if not keys:
        return None
    lines = text.splitlines()
    key_pat = re.compile(r'(^|[\s{,])["\']?' + re.escape(keys[-1]) + r'["\']?\s*=')
    section = ".".join(keys[:-1])
    if section:
        current = ""
        for i, line in enumerate(lines):
            header = _HEADER.match(line)
            if header:
                current = header.group(1).replace('"', "").replace("'", "").replace(" ", "")
                continue
            if current == section and key_pat.search(line):
                return i + 1
            # An inline table: `context = { employment = "x" }` at the top level
            # or `[section]` parent with `child = { ... }`.
            head, _, tail = section.rpartition(".")
            inline = re.match(r'^\s*["\']?' + re.escape(tail) + r'["\']?\s*=\s*\{', line)
            if inline and current == head and key_pat.search(line[inline.end() - 1:]):
                return i + 1
    for i, line in enumerate(lines):
        if key_pat.search(line):
            return i + 1
    # A whole section that is wrong (an unknown table): its header.
    for i, line in enumerate(lines):
        header = _HEADER.match(line)
        if header and header.group(1).split(".")[-1] == keys[-1]:
            return i + 1
    return None
