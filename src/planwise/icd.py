"""ICD-10-CM codes checked offline against the code table simple-icd-10-cm ships.

Codes enter planwise in an intake (`clinician.diagnoses`) and on a plan's problems
(`problems[i].code`, from the intake or typed in the plan file). A code the table
does not know is an input error (a typo would send a payer a wrong diagnosis); a
known code that is a category with subdivisions (F43.1, F32) is not billable: the
plan's lint warns of it (planwise.store.lint) but planwise accepts it.

simple_icd_10_cm reads its table when imported (seconds on a busy machine), so it
is imported here only, inside the functions, and only for input that has codes:
`planwise recommend` on an intake without diagnoses never loads it.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from planwise.errors import InputError
from planwise.text import excerpt

# As planwise.models.intake.IcdCode: a category (F32), or one with a dotted subdivision.
CODE = re.compile(r"^[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?$")


@functools.lru_cache(maxsize=1)
def _table() -> Any:
    import warnings

    # It reads its data with importlib.resources calls Python 3.11 deprecates: not ours to
    # fix, and nothing a clinician should see.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import simple_icd_10_cm

        simple_icd_10_cm.is_valid_item("F32")  # the table loads on import; this checks it
    return simple_icd_10_cm


@functools.lru_cache(maxsize=4096)
def known(code: str) -> bool:
    """A code in the ICD-10-CM table, written with its dot as planwise writes codes (the
    table also takes "F1020" and block names such as "F01-F09": neither is a code here)."""
    return bool(CODE.match(code)) and bool(_table().is_valid_item(code))


@functools.lru_cache(maxsize=4096)
def billable(code: str) -> bool:
    """A known code with no subdivisions (a leaf of the table: what a claim may carry)."""
    return known(code) and bool(_table().is_leaf(code))


def description(code: str) -> str:
    return str(_table().get_description(code)) if known(code) else ""


def check(code: str, *, file: str | None = None, field: str | None = None) -> None:
    """InputError naming the file and field when the table does not know `code`."""
    if not known(code):
        raise InputError(f"{excerpt(code)} is not an ICD-10-CM code (checked offline "
                         "against the ICD-10-CM table); check it for a typo",
                         file=file, field=field)
