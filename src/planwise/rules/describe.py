"""Facts in words: a compact form for the trace, a sentence for explanations."""

from __future__ import annotations

from typing import Any

from planwise.facts import FACT_TYPES


def brief(fact: dict[str, Any]) -> str:
    """`score(instrument=phq9, total=16, band=moderately_severe)`: stable, greppable."""
    schema = FACT_TYPES[fact["fact"]]
    parts = []
    for attr, spec in schema.items():
        value = fact[attr]
        if fact["fact"] not in ("case",) or value != spec.default:
            if isinstance(value, list):
                value = "[" + ", ".join(map(str, value)) + "]"
            elif isinstance(value, bool):
                value = "true" if value else "false"
            parts.append(f"{attr}={value}")
    return f"{fact['fact']}({', '.join(parts)})"
