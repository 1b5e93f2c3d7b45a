"""What a clinic folder changes in the shipped knowledge, and which of it is
safety-critical (knowledge/safety.toml; docs/knowledge.md, "Safety-critical
knowledge and overrides")."""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from planwise.clinical.instruments import Instrument
from planwise.errors import KnowledgeError
from planwise.kb.located import knowledge_error


class Layer(Protocol):
    """One knowledge folder's entries before overriding (planwise.kb.loader)."""

    rules: dict[str, tuple[Any, Path, str]]
    goals: dict[str, tuple[Any, Path, str]]
    safety: list[tuple[str, str]]
    overrides: dict[str, tuple[str, Path, str]]


def clinic_changes(layers: Sequence[Layer], instruments: dict[str, Instrument],
                    shipped_instruments: dict[str, Instrument]
                    ) -> tuple[list[tuple[str, str]], list[tuple[str, str, str, str]]]:
    """Shipped rules and goals that clinic folders redefine, and the safety-critical
    changes among them. A safety-critical rule, goal or instrument that a clinic
    disables or replaces without an `[[overrides]]` entry (id and reason) is refused:
    a clinic can extend the knowledge but never weaken a safety rule in silence."""
    shipped = layers[0]
    patterns = [kp for layer in layers for kp in layer.safety]

    def critical(kind: str, ident: str) -> bool:
        return any(k == kind and fnmatch.fnmatchcase(ident, p) for k, p in patterns)

    declared: dict[str, tuple[str, Path, str]] = {}
    for layer in layers[1:]:
        declared.update(layer.overrides)
    used: set[str] = set()
    replaced: list[tuple[str, str]] = []
    overrides: list[tuple[str, str, str, str]] = []

    def change(kind: str, ident: str, what: str, path: Path, text: str) -> None:
        key = f"instrument:{ident}" if kind == "instrument" else ident
        if not critical(kind, ident):
            return
        if key not in declared:
            raise knowledge_error(
                        f"{what} safety-critical {kind} {ident}: a clinic folder may do this "
                        f"only with an [[overrides]] entry (id = \"{key}\", reason = \"...\"), "
                        "and every proposal then carries a knowledge_override warning",
                        path, text, None if kind == "instrument" else ident, None)
        used.add(key)
        overrides.append((key, what, declared[key][0], str(declared[key][1])))

    for layer in layers[1:]:
        for table, kind in ((layer.rules, "rule"), (layer.goals, "goal")):
            for ident, (entry, path, text) in table.items():
                source = shipped.rules if kind == "rule" else shipped.goals
                if ident not in source:
                    continue
                replaced.append((ident, str(path)))
                what = "disables" if not entry.enabled else "replaces"
                change(kind, ident, what, path, text)
    for ident, inst in instruments.items():
        if ident in shipped_instruments and inst != shipped_instruments[ident]:
            if critical("instrument", ident):
                key = f"instrument:{ident}"
                if key not in declared:
                    raise KnowledgeError(
                        f"replaces safety-critical instrument {ident} (its scoring or flags "
                        "decide suicide risk or a withdrawal referral): a clinic folder may do "
                        f"this only with an [[overrides]] entry (id = \"{key}\", "
                        "reason = \"...\")", file=f"a clinic folder's instruments/ ({ident})")
                used.add(key)
                overrides.append((key, "replaces", declared[key][0], str(declared[key][1])))
    for key, (_reason, path, text) in declared.items():
        if key not in used:
            raise knowledge_error(
                        f"override {key} changes nothing safety-critical: remove it, or check "
                        "the id", path, text, None, "overrides")
    return replaced, overrides
