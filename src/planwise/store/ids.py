"""Record ids as users type them: C12 (client), I3 (intake), P7 (plan), S4 (session),
M5 (measure)."""

from __future__ import annotations

import re

from planwise.errors import InputError

_PREFIX = {"client": "C", "intake": "I", "plan": "P", "session": "S", "measure": "M"}


def fmt(kind: str, n: int) -> str:
    return f"{_PREFIX[kind]}{n}"


def parse(kind: str, text: str) -> int:
    prefix = _PREFIX[kind]
    # At most 18 digits: SQLite's integers stop at 2**63 - 1 (a 30-digit id overflowed).
    m = re.fullmatch(rf"{prefix}0*([0-9]{{1,18}})", text.strip(), flags=re.IGNORECASE)
    if not m:
        # The text is not echoed: it may be a client's name.
        raise InputError(f"not a {kind} id; {kind} ids look like {prefix}12")
    return int(m.group(1))
