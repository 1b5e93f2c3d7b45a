"""ICD-10-CM codes checked offline against the code table simple-icd-10-cm ships.

Codes enter planwise in an intake (`clinician.diagnoses`) and on a plan's problems
(`problems[i].code`, from the intake or typed in the plan file). A code the table
does not know is an input error (a typo would send a payer a wrong diagnosis); a
known code that is a category with subdivisions (F43.1, F32) is not billable: the
plan's lint warns of it (planwise.store.lint) but planwise accepts it.

Importing simple_icd_10_cm parses its 10 MB tabular XML: 3 to 6 seconds on this
project's machines, on every command that checks a code. Knowing a code and whether
it has subdivisions needs only the list of codes the same package ships
(`data/code-list-*.txt`, the one the library itself checks its tree against, a dotless
code a line in the tree's order: a code's subdivisions follow it directly). A lookup
is a byte search of that file (800 kB, read in about a millisecond): sorting it into a
list first cost `planwise recommend` about 50 ms of its start. tests/test_icd_codes.py
checks that the two agree on every code of the list.
Where the list cannot be found (a future layout of the package), the library is used.
Nothing is read until a code is checked: `planwise recommend` on an intake without
diagnoses reads nothing.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

from planwise.errors import InputError
from planwise.text import excerpt

# As planwise.models.intake.IcdCode: a category (F32), or one with a dotted subdivision.
CODE = re.compile(r"^[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?$")


def _code_list() -> Path | None:
    """The package's list of codes, found without importing the package (its __init__
    loads the whole table)."""
    import importlib.util

    spec = importlib.util.find_spec("simple_icd_10_cm")
    if spec is None or not spec.submodule_search_locations:
        return None
    lists = sorted(Path(spec.submodule_search_locations[0]).glob("data/code-list-*.txt"))
    return lists[-1] if len(lists) == 1 else None


@functools.lru_cache(maxsize=1)
def _table() -> tuple[bytes, bytes] | None:
    """The list's bytes between a line end at each end (so every code is found as
    END + CODE + END), and its line end (the package ships it with CRLF: searched as it
    is, since rewriting 800 kB of line ends cost more than the searches); None where
    the list is not found."""
    path = _code_list()
    if path is None:
        return None
    data = path.read_bytes()
    end = b"\r\n" if b"\r\n" in data[:200] else b"\n"
    return end + data.strip() + end, end


def _codes() -> list[str] | None:
    """Every code of the list without its dot, in the list's order; None where the list
    is not found. Blocks ("F70-F79") are left out; chapter numbers stay (the CODE
    pattern never matches them)."""
    table = _table()
    if table is None:
        return None
    return [w for w in table[0].decode("ascii").split() if "-" not in w]


@functools.lru_cache(maxsize=1)
def library() -> Any:
    """simple_icd_10_cm itself (slow to import: see above)."""
    import warnings

    # It reads its data with importlib.resources calls Python 3.11 deprecates: not ours to
    # fix, and nothing a clinician should see.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import simple_icd_10_cm

    return simple_icd_10_cm


# A command checks a handful of codes: each is a byte search of the list. Past this many
# lookups in one process (a bulk check: many plans imported, the tests' agreement check
# of all 98,000 codes), an index of the list is built once (about 15 ms) and used instead.
SEARCHES_BEFORE_INDEX = 64
_searches = 0


@functools.lru_cache(maxsize=1)
def _index(table: tuple[bytes, bytes]) -> dict[bytes, bytes]:
    """Every listed code -> the line after it (after its repeats, see _line_after), from
    its first listing, as the byte search finds it."""
    after: dict[bytes, bytes] = {}
    following = b""
    for line in reversed(table[0].split(table[1])[1:-1]):
        if line != following:
            after[line] = following
            following = line
    return after


def _line_after(dotless: str, table: tuple[bytes, bytes]) -> bytes | None:
    """The list's line after `dotless` (b"" at its end); None when it is not listed.
    A block named like its only code ("B20" twice) is listed twice in a row: the line
    after is the one after the repeats."""
    global _searches
    code = dotless.encode("ascii")
    if _searches >= SEARCHES_BEFORE_INDEX:
        return _index(table).get(code)
    _searches += 1
    text, end = table
    at = text.find(end + code + end)
    if at < 0:
        return None
    start = at + len(end)
    while True:
        start = text.find(end, start) + len(end)
        line = text[start:text.find(end, start)]
        if line != code:
            return line


@functools.lru_cache(maxsize=4096)
def known(code: str) -> bool:
    """A code in the ICD-10-CM table, written with its dot as planwise writes codes (the
    table also takes "F1020" and block names such as "F01-F09": neither is a code here)."""
    if not CODE.match(code):
        return False
    table = _table()
    if table is None:
        return bool(library().is_valid_item(code))
    return _line_after(code.replace(".", ""), table) is not None


@functools.lru_cache(maxsize=4096)
def billable(code: str) -> bool:
    """A known code with no subdivisions (a leaf of the table: what a claim may carry).
    In the list a code's subdivisions follow it directly: it is a leaf when the next
    line does not extend it."""
    if not known(code):
        return False
    table = _table()
    if table is None:
        return bool(library().is_leaf(code))
    dotless = code.replace(".", "")
    after = _line_after(dotless, table)
    return not (after is not None and after.startswith(dotless.encode("ascii")))


def check(code: str, *, file: str | None = None, field: str | None = None) -> None:
    """InputError naming the file and field when the table does not know `code`."""
    if not known(code):
        raise InputError(f"{excerpt(code)} is not an ICD-10-CM code (checked offline "
                         "against the ICD-10-CM table); check it for a typo",
                         file=file, field=field)
