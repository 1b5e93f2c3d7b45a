"""Reading TOML with positions, so that every error can name its line.

tomllib reports syntax errors with a line but forgets positions once parsed.
Validation errors (a wrong type, an unknown key) therefore look the line up
again in the text: the line of the entry's `id = "..."` and, after it, the
first line that sets the offending key.

Reading is bounded: a file larger than its limit is refused before it is
parsed (the pure-Python parser took 5 s over a 3 MB intake), and so is a
document nested deeper than MAX_DEPTH or holding an integer too long to
convert. tomllib itself refuses a key or a table given twice; the message
names the key.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from planwise.errors import InputError
from planwise.text import excerpt

_SYNTAX_LINE = re.compile(r"\(at line (\d+), column (\d+)\)")

# An intake, a profile, a plan or a client file is a few kilobytes; a clinic's
# knowledge file a few dozen. The limits leave room and stop a pasted log.
MAX_DOCUMENT_BYTES = 1 << 20
MAX_KNOWLEDGE_BYTES = 8 << 20
MAX_DEPTH = 32
MAX_DIGITS = 100
_TOO_MANY_DIGITS = 10**MAX_DIGITS


def _size(n: int) -> str:
    return f"{n / (1 << 20):g} MB" if n >= 1 << 20 else f"{n // 1024} KB"


def read_text(path: Path, max_bytes: int) -> str:
    """The file's text, refused (InputError naming the file) when it is larger than
    max_bytes, unreadable or not UTF-8. Reads at most max_bytes + 1 bytes, so a huge
    file or a device costs nothing."""
    name = str(path)
    try:
        with open(path, "rb") as fh:
            raw = fh.read(max_bytes + 1)
    except FileNotFoundError:
        raise InputError("file not found", file=name) from None
    except IsADirectoryError:
        raise InputError("is a folder, not a file", file=name) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc.__class__.__name__}",
                         file=name) from None
    return decode(raw, name, max_bytes)


def too_large(name: str, max_bytes: int) -> InputError:
    return InputError(f"larger than {_size(max_bytes)}: not a planwise document (refused "
                      "unread)", file=name)


def decode(raw: bytes, name: str, max_bytes: int) -> str:
    if len(raw) > max_bytes:
        raise too_large(name, max_bytes)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise InputError(f"not valid UTF-8 (byte {exc.start + 1}); save the file as UTF-8",
                         file=name, line=line) from None


def read_toml(path: Path, max_bytes: int = MAX_KNOWLEDGE_BYTES) -> tuple[dict[str, Any], str]:
    """Parse a TOML file; return the data and the text (for line look-ups)."""
    text = read_text(path, max_bytes)
    return parse_toml(text, str(path)), text


def parse_toml(text: str, name: str) -> dict[str, Any]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        match = _SYNTAX_LINE.search(msg)
        line = int(match.group(1)) if match else None
        msg = _SYNTAX_LINE.sub("", msg).strip()
        raise InputError(f"invalid TOML: {_explain(msg, text, line)}", file=name,
                         line=line) from None
    except RecursionError:
        raise too_deep(name) from None
    except ValueError:  # an integer beyond Python's 4,300-digit conversion limit
        raise InputError("invalid TOML: a number too long to read (over 4,300 digits)",
                         file=name) from None
    check_document(data, name)
    return data


def _explain(msg: str, text: str, line: int | None) -> str:
    """tomllib's message for a key given twice does not name the key: name it."""
    declared = re.fullmatch(r"Cannot declare \((.*)\) twice", msg)
    if declared:
        keys = re.findall(r"'((?:[^'\\]|\\.)*)'", declared.group(1))
        return f"the table [{'.'.join(keys)}] is declared twice"
    if msg.startswith("Cannot overwrite a value") and line is not None:
        lines = text.splitlines()
        if 0 < line <= len(lines):
            key = lines[line - 1].split("=", 1)[0].strip()
            if key:
                return f"the key {excerpt(key)} is given twice"
        return "a key is given twice"
    return msg


def too_deep(name: str) -> InputError:
    return InputError(f"nested deeper than {MAX_DEPTH} levels: not a planwise document",
                      file=name)


def check_document(data: Any, name: str, limit: int = MAX_DEPTH) -> None:
    """InputError when tables and arrays nest deeper than `limit`, or a whole number has
    more than MAX_DIGITS digits (TOML reads up to 4,300; no field needs more than a few,
    and a message quoting one would be that long). No recursion."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children: Any = value.values()
        elif isinstance(value, list):
            children = value
        else:
            if isinstance(value, int) and abs(value) >= _TOO_MANY_DIGITS:
                raise InputError(f"a number of more than {MAX_DIGITS} digits", file=name)
            continue
        if depth > limit:
            raise too_deep(name)
        stack.extend((child, depth + 1) for child in children
                     if isinstance(child, dict | list | int))


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
