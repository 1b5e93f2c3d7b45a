"""ICD-10-CM codes checked offline against the code table simple-icd-10-cm ships.

Codes enter planwise in an intake (`clinician.diagnoses`) and on a plan's problems
(`problems[i].code`, from the intake or typed in the plan file). A code the table
does not know is an input error (a typo would send a payer a wrong diagnosis); a
known code that is a category with subdivisions (F43.1, F32) is not billable: the
plan's lint warns of it (planwise.store.lint) but planwise accepts it.

Importing simple_icd_10_cm parses its 10 MB tabular XML: 3 to 6 seconds on this
project's machines, on every command that checks a code. Knowing a code and whether
it has subdivisions needs only the list of codes the same package ships
(`data/code-list-*.txt`, the one the library itself checks its tree against): read
directly, it takes a few tens of milliseconds. tests/test_icd_codes.py checks that the
two agree on every code of chapter 5 (mental and behavioural) and a sample of the rest.
Where the list cannot be found (a future layout of the package), the library is used.
Nothing is read until a code is checked: `planwise recommend` on an intake without
diagnoses reads nothing.
"""

from __future__ import annotations

import bisect
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
def _codes() -> list[str] | None:
    """Every code of the list without its dot, sorted; None where the list is not found.
    Blocks ("F70-F79") are left out: sorted after F70 they would make it look subdivided.
    Chapter numbers stay (the CODE pattern never matches them)."""
    path = _code_list()
    if path is None:
        return None
    text = path.read_text(encoding="utf-8")
    return sorted({w.replace(".", "") for w in (line.split(" ", 1)[0] for line in
                                                text.splitlines()) if w and "-" not in w})


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


def _in_list(dotless: str, codes: list[str]) -> bool:
    i = bisect.bisect_left(codes, dotless)
    return i < len(codes) and codes[i] == dotless


@functools.lru_cache(maxsize=4096)
def known(code: str) -> bool:
    """A code in the ICD-10-CM table, written with its dot as planwise writes codes (the
    table also takes "F1020" and block names such as "F01-F09": neither is a code here)."""
    if not CODE.match(code):
        return False
    codes = _codes()
    if codes is None:
        return bool(library().is_valid_item(code))
    return _in_list(code.replace(".", ""), codes)


@functools.lru_cache(maxsize=4096)
def billable(code: str) -> bool:
    """A known code with no subdivisions (a leaf of the table: what a claim may carry).
    In the sorted list a code's subdivisions follow it directly: it is a leaf when the
    next code does not extend it."""
    if not known(code):
        return False
    codes = _codes()
    if codes is None:
        return bool(library().is_leaf(code))
    dotless = code.replace(".", "")
    i = bisect.bisect_right(codes, dotless)
    return not (i < len(codes) and codes[i].startswith(dotless))


def check(code: str, *, file: str | None = None, field: str | None = None) -> None:
    """InputError naming the file and field when the table does not know `code`."""
    if not known(code):
        raise InputError(f"{excerpt(code)} is not an ICD-10-CM code (checked offline "
                         "against the ICD-10-CM table); check it for a typo",
                         file=file, field=field)
