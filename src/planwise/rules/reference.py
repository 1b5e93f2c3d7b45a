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

It is indexed (planwise.rules.alpha): each pattern keeps the facts that pass its
tests on constants, a new fact reaches only the patterns its type and values can
satisfy, and a rule is tried again only when one of its positive patterns gained a
fact since it was last tried. Rules are still visited pass by pass in the knowledge's
order, and each visit fires its combinations in fact order, so the firings (and the
order rules land in a fact's `because`) are those of the plain loop over every rule
that this evaluator was before it was indexed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from planwise.kb.loader import CompiledRule, KnowledgeBase
from planwise.rules.alpha import StageIndex, StageRun
from planwise.rules.matching import test_holds

Fact = dict[str, Any]
Derive = Callable[[CompiledRule, dict[str, Fact]], list[Fact]]


class ReferenceBackend:
    name = "reference"

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self._stages = {s: StageIndex(kb.rules_in(s)) for s in {r.stage for r in kb.rules}}

    def run_stage(self, stage: str, facts: list[Fact], derive: Derive,
                  store: dict[int, Fact] | None = None) -> None:
        index = self._stages.get(stage)
        if index is None:
            return
        run = StageRun(index, facts)
        fired: set[tuple[str, tuple[int, ...]]] = set()
        # A pass visits, in the knowledge's order, the rules that read a fact type
        # that grew in the pass before (every rule, the first time), and of those only
        # the ones whose patterns gained a fact since their last visit: any other
        # visit would find only combinations that have already fired.
        todo: list[int] = list(range(len(index.rules)))
        while todo:
            grown: set[str] = set()
            for i in todo:
                if i not in run.dirty:
                    continue
                run.dirty.discard(i)
                rule = index.rules[i]
                for bound in list(_matches(index, run, i)):
                    key = (rule.id, tuple(bound[p.alias]["n"] for p in index.positive[i]))
                    if key in fired:
                        continue
                    fired.add(key)
                    for new in derive(rule, bound):
                        run.add(new)
                        grown.add(new["fact"])
            todo = index.readers_of(grown)

    def close(self) -> None:
        pass


def _matches(index: StageIndex, run: StageRun, i: int) -> Iterator[dict[str, Fact]]:
    patterns = index.rules[i].patterns
    memories = run.memories(i)
    joins = index.joins[i]
    if len(patterns) == 1 and not patterns[0].negated and not joins[0]:
        # Half the knowledge's rules: one pattern, its memory is the answer.
        alias = patterns[0].alias
        for f in memories[0]:
            yield {alias: f}
        return
    last = len(patterns)

    def walk(j: int, bound: dict[str, Fact]) -> Iterator[dict[str, Fact]]:
        if j == last:
            yield dict(bound)
            return
        p = patterns[j]
        tests = joins[j]
        if p.negated:
            # As in durable-rules, a `not` does not look at facts already bound to the
            # patterns before it: it means "no other fact".
            taken = bound.values()
            for f in memories[j]:
                if all(b is not f for b in taken) and \
                        all(test_holds(t, f, bound) for t in tests):
                    return
            yield from walk(j + 1, bound)
            return
        for f in memories[j]:
            # As in durable-rules, one fact fills at most one pattern of a rule.
            if any(b is f for b in bound.values()):
                continue
            if not tests or all(test_holds(t, f, bound) for t in tests):
                bound[p.alias] = f
                yield from walk(j + 1, bound)
                del bound[p.alias]

    yield from walk(0, {})
