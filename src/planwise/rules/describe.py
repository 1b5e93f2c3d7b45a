"""Facts in words: a compact form for the trace, a sentence for explanations."""

from __future__ import annotations

from typing import Any

from planwise.facts import FACT_TYPES


def brief(fact: dict[str, Any]) -> str:
    """`score(instrument=phq9, total=16, band=moderately_severe)`: stable, greppable."""
    kind = fact["fact"]
    schema = _schemas.get(kind)
    if schema is None:
        schema = _schemas[kind] = tuple((attr, spec.default) for attr, spec in
                                        FACT_TYPES[kind].items())
    parts = []
    case = kind == "case"  # its many flags: only those that differ from the default
    for attr, default in schema:
        value = fact[attr]
        if case and value == default:
            continue
        if isinstance(value, list):
            value = "[" + ", ".join(map(str, value)) + "]"
        elif isinstance(value, bool):
            value = "true" if value else "false"
        parts.append(f"{attr}={value}")
    return f"{kind}({', '.join(parts)})"


_schemas: dict[str, tuple[tuple[str, Any], ...]] = {}
