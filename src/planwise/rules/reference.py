"""The reference evaluator: a small forward chainer over the same compiled rules.

It exists for two reasons. Tests run every fixture through it and through
durable-rules and require identical proposals, which catches a wrong
compilation to durable's dialect. And it is the engine where durable-rules
cannot be imported (Python 3.13 and later).

Semantics, shared with the durable backend: a rule fires once for each
combination of distinct facts (one fact never fills two patterns of a rule)
that matches its positive conditions while no other fact (none bound to an
earlier pattern) matches any of its `not` conditions; facts are never retracted; a stage runs
until no rule has a new combination to fire.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from planwise.kb.loader import CompiledRule, KnowledgeBase
from planwise.rules.matching import pattern_holds

Fact = dict[str, Any]
Derive = Callable[[CompiledRule, dict[str, Fact]], list[Fact]]


class ReferenceBackend:
    name = "reference"

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self._stages = {s: kb.rules_in(s) for s in {r.stage for r in kb.rules}}

    def run_stage(self, stage: str, facts: list[Fact], derive: Derive,
                  store: dict[int, Fact] | None = None) -> None:
        rules = self._stages.get(stage, [])
        index: dict[str, list[Fact]] = {}
        for f in facts:
            index.setdefault(f["fact"], []).append(f)
        fired: set[tuple[str, tuple[int, ...]]] = set()
        # After the first pass, a rule can only have a new combination when a fact
        # type one of its positive patterns reads got a new fact (its `not` patterns
        # read only facts complete before the stage), so each pass looks at those.
        todo = rules
        while todo:
            grown: set[str] = set()
            for rule in todo:
                for bound in list(_matches(rule, index)):
                    key = (rule.id, tuple(bound[p.alias]["n"] for p in rule.patterns
                                          if not p.negated))
                    if key in fired:
                        continue
                    fired.add(key)
                    for new in derive(rule, bound):
                        index.setdefault(new["fact"], []).append(new)
                        grown.add(new["fact"])
            todo = [r for r in rules
                    if any(p.fact in grown for p in r.patterns if not p.negated)]

    def close(self) -> None:
        pass


def _matches(rule: CompiledRule, index: dict[str, list[Fact]]) -> Iterator[dict[str, Fact]]:
    patterns = rule.patterns

    def walk(i: int, bound: dict[str, Fact]) -> Iterator[dict[str, Fact]]:
        if i == len(patterns):
            yield dict(bound)
            return
        p = patterns[i]
        candidates = index.get(p.fact, [])
        if p.negated:
            # As in durable-rules, a `not` does not look at facts already bound to the
            # patterns before it: it means "no other fact".
            if not any(pattern_holds(p, f, bound) for f in candidates
                       if all(b is not f for b in bound.values())):
                yield from walk(i + 1, bound)
            return
        for f in candidates:
            # As in durable-rules, one fact fills at most one pattern of a rule.
            if any(b is f for b in bound.values()):
                continue
            if pattern_holds(p, f, bound):
                bound[p.alias] = f
                yield from walk(i + 1, bound)
                del bound[p.alias]

    yield from walk(0, {})
