"""Working memory shared by both engines: facts, who derived them, and the firings.

The engines only find matches; this class decides what a firing adds. A fact
derived again (same content) is not asserted twice, but the rule is added to
its `because`. Fact numbers (`n`) are this evaluation's identities; they are
what the durable-rules backend hands back to say which facts a rule matched.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from planwise.facts import fact_key

Fact = dict[str, Any]

# A stage that fires more often than this has a rule chain that does not settle
# (a rule feeding itself through a template, two rules feeding each other): the
# evaluation stops with the rules named rather than hanging or eating memory.
# The shipped case library fires at most a dozen times per stage.
MAX_FIRINGS_PER_STAGE = 1000


@dataclass
class Firing:
    rule: str
    stage: str
    rule_index: int
    matched: list[int]
    derived: list[int]
    depth: int


@dataclass
class Memory:
    facts: dict[int, Fact] = field(default_factory=dict)
    by_key: dict[tuple[Any, ...], int] = field(default_factory=dict)
    because: dict[int, list[str]] = field(default_factory=dict)
    stage_of: dict[int, str] = field(default_factory=dict)
    depth: dict[int, int] = field(default_factory=dict)
    firings: list[Firing] = field(default_factory=list)
    stage: str = "input"
    stage_firings: dict[str, int] = field(default_factory=dict)
    by_type: dict[str, list[Fact]] = field(default_factory=dict)

    def add(self, fact: Fact, because: list[str] | None = None, depth: int = 0) -> tuple[int, bool]:
        """Store a fact; return its number and whether it is new."""
        key = fact_key(fact)
        if key in self.by_key:
            n = self.by_key[key]
            for rule in because or []:
                if rule not in self.because[n]:
                    self.because[n].append(rule)
            return n, False
        n = len(self.facts) + 1
        stored = dict(fact)
        stored["n"] = n
        self.facts[n] = stored
        self.by_type.setdefault(stored["fact"], []).append(stored)
        self.by_key[key] = n
        self.because[n] = list(because or [])
        self.stage_of[n] = self.stage
        self.depth[n] = depth
        return n, True

    def of_type(self, *types: str) -> list[Fact]:
        if len(types) == 1:
            return list(self.by_type.get(types[0], ()))
        return sorted((f for t in types for f in self.by_type.get(t, ())), key=lambda f: f["n"])

    def fire(self, rule: str, rule_index: int, matched: list[int], derived: list[Fact]
             ) -> list[Fact]:
        """Record one firing; return the derived facts that are new (to assert in the engine)."""
        self._check_settles()
        depth = max((self.depth[n] for n in matched if self.stage_of[n] == self.stage),
                    default=0)
        new: list[Fact] = []
        numbers: list[int] = []
        for fact in derived:
            n, is_new = self.add(fact, [rule], depth + 1)
            numbers.append(n)
            if is_new:
                new.append(self.facts[n])
        self.firings.append(Firing(rule, self.stage, rule_index, matched, numbers, depth))
        return new

    def _check_settles(self) -> None:
        count = self.stage_firings.get(self.stage, 0) + 1
        self.stage_firings[self.stage] = count
        if count <= MAX_FIRINGS_PER_STAGE:
            return
        from collections import Counter

        from planwise.errors import EngineError

        top = Counter(f.rule for f in self.firings if f.stage == self.stage).most_common(3)
        named = ", ".join(f"{rule} ({n} times)" for rule, n in top)
        raise EngineError(f"stage {self.stage} does not settle: more than "
                          f"{MAX_FIRINGS_PER_STAGE} rule firings; most often: {named}. "
                          "A rule chain keeps deriving new facts.")

    def canonical_firings(self, stage_order: dict[str, int]) -> list[Firing]:
        """Firings in an order both engines agree on: stage, chain depth, rule, facts."""

        def content(n: int) -> str:
            return json.dumps({k: v for k, v in self.facts[n].items() if k != "n"},
                              sort_keys=True)

        return sorted(
            self.firings,
            key=lambda f: (stage_order[f.stage], f.depth, f.rule_index,
                           [content(n) for n in f.matched]),
        )


def fire_rule(memory: Memory, rule: Any, bound: dict[str, Fact]) -> list[Fact]:
    """A compiled rule fired with these facts bound: its conclusions filled in and recorded;
    returns the new facts (both engines' callback, for proposals and reviews alike)."""
    from planwise.facts import make_fact
    from planwise.kb.patterns import fill

    derived = [make_fact(c.fact, **fill(c.values, bound)) for c in rule.conclusions]
    matched = [bound[p.alias]["n"] for p in rule.patterns if not p.negated]
    return memory.fire(rule.id, rule.index, matched, derived)


def trace(memory: Memory, stages: tuple[str, ...]) -> list[Any]:
    """Every firing in the canonical order, its facts in brief (a proposal's or a review's
    `trace`)."""
    from planwise.models.proposal import TraceEntry
    from planwise.rules.describe import brief

    order = {s: i for i, s in enumerate(stages)}
    return [TraceEntry(rule=f.rule, matched=[brief(memory.facts[n]) for n in f.matched],
                       derived=[brief(memory.facts[n]) for n in f.derived])
            for f in memory.canonical_firings(order)]
