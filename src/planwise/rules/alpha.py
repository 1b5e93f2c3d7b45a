"""The reference evaluator's index: which patterns a fact can fill, found without trying
every rule (the "alpha" half of a Rete network, in plain Python).

Each pattern's tests split in two: tests on constants (`phq9.total >= 10`), which a
fact passes or not on its own, and tests against another pattern's fact
(`{ ref = "p.condition" }`), which are checked while joining. A pattern's *memory*
is the list of facts, in the order they arrived, that passed its tests on
constants. A fact reaches a pattern through its type and, where the pattern has
one, an `eq` or `in` test on a constant (looked up by value), so one fact costs a
few dictionary look-ups rather than a test of every pattern of the stage.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from planwise.kb.loader import CompiledRule
from planwise.kb.patterns import Pattern, Ref, Test
from planwise.rules.matching import test_holds

Fact = dict[str, Any]
Check = Callable[[Fact], bool]
# (rule position, pattern position, positive?, the pattern's remaining tests on constants)
Route = tuple[int, int, bool, Check | None]
_HASHABLE = (str, int, bool)


def _check(tests: list[Test]) -> Check | None:
    if not tests:
        return None
    if len(tests) == 1:
        only = tests[0]
        return lambda f: test_holds(only, f, {})
    return lambda f: all(test_holds(t, f, {}) for t in tests)


def _key(value: Any) -> tuple[type, Any]:
    # The type is part of the key because the evaluator compares typed: 1 is not True.
    return (type(value), value)


def discriminator(pattern: Pattern) -> tuple[Test, tuple[Any, ...]] | None:
    """The pattern's first `eq` or `in` test on constants of hashable values, with its
    values: facts reach the pattern through them (a fact with another value fails it)."""
    for t in pattern.tests:
        if isinstance(t.value, Ref):
            continue
        values = (t.value,) if t.op == "eq" else t.value if t.op == "in" else None
        if values is not None and all(isinstance(v, _HASHABLE) for v in values):
            return t, tuple(values)
    return None


class _Routes:
    """The patterns of one fact type: by a discriminating attribute's value, or tried."""

    def __init__(self) -> None:
        self.by_value: dict[str, dict[tuple[type, Any], list[Route]]] = {}
        self.always: list[Route] = []

    def add(self, pattern: Pattern, route_of: Callable[[list[Test]], Route]) -> None:
        constant = [t for t in pattern.tests if not isinstance(t.value, Ref)]
        found = discriminator(pattern)
        if found is None:
            self.always.append(route_of(constant))
            return
        t, values = found
        route = route_of([u for u in constant if u is not t])
        table = self.by_value.setdefault(t.attr, {})
        for v in dict.fromkeys(values):
            table.setdefault(_key(v), []).append(route)


class Reach:
    """Which facts some pattern, positive or `not`, of a set of patterns could take by
    their type and `eq`/`in` tests alone (any other fact fails every pattern's tests on
    constants). Per fact type: None when some pattern of it has no such test (every fact
    of the type may reach it), else, per discriminating attribute, the values wanted."""

    def __init__(self, patterns: Iterable[Pattern]) -> None:
        self.types: dict[str, dict[str, set[tuple[type, Any]]] | None] = {}
        for p in patterns:
            found = discriminator(p)
            if found is None:
                self.types[p.fact] = None
                continue
            tables = self.types.setdefault(p.fact, {})
            if tables is not None:
                t, values = found
                tables.setdefault(t.attr, set()).update(_key(v) for v in values)

    def __call__(self, fact: Fact) -> bool:
        tables = self.types.get(fact["fact"], _UNREAD)
        if tables is None:
            return True
        return meets(tables, fact)


_UNREAD: dict[str, set[tuple[type, Any]]] = {}


def meets(tables: dict[str, set[tuple[type, Any]]], fact: Fact) -> bool:
    """Whether the fact has one of the wanted values of some discriminating attribute."""
    for attr, keys in tables.items():
        value = fact[attr]
        if isinstance(value, _HASHABLE) and (type(value), value) in keys:
            return True
    return False


def _route_maker(i: int, j: int, pattern: Pattern) -> Callable[[list[Test]], Route]:
    def route(tests: list[Test]) -> Route:
        return (i, j, not pattern.negated, _check(tests))

    return route


class StageIndex:
    """Everything about one stage's rules that does not depend on the intake."""

    def __init__(self, rules: list[CompiledRule]) -> None:
        self.rules = rules
        self.positive = [tuple(p for p in r.patterns if not p.negated) for r in rules]
        self.joins = [[tuple(t for t in p.tests if isinstance(t.value, Ref)) for p in r.patterns]
                      for r in rules]
        self.shape = [len(r.patterns) for r in rules]
        # A rule of `not` patterns only has nothing to wait for: it is tried first.
        self.unconditional = [i for i, pos in enumerate(self.positive) if not pos]
        self.routes: dict[str, _Routes] = {}
        self._readers: dict[str, set[int]] = {}
        self._reach: Reach | None = None
        for i, rule in enumerate(rules):
            for j, p in enumerate(rule.patterns):
                self.routes.setdefault(p.fact, _Routes()).add(p, _route_maker(i, j, p))
                if not p.negated:
                    self._readers.setdefault(p.fact, set()).add(i)

    def may_reach(self, fact: Fact) -> bool:
        """Whether some pattern of the stage, positive or `not`, could take this fact by
        its type and its `eq`/`in` tests alone (see Reach)."""
        if self._reach is None:
            self._reach = Reach(p for r in self.rules for p in r.patterns)
        return self._reach(fact)

    def readers_of(self, types: Iterable[str]) -> list[int]:
        """The rules with a positive pattern on one of these types, in the knowledge's order."""
        out: set[int] = set()
        for t in types:
            out |= self._readers.get(t, set())
        return sorted(out)


class StageRun:
    """One stage of one evaluation: each pattern's memory, and which rules to try again."""

    def __init__(self, index: StageIndex, facts: Iterable[Fact]) -> None:
        self.index = index
        # Only rules some fact reached get memories (most rules of a stage see none).
        self.memory: dict[int, list[list[Fact]]] = {}
        self.dirty: set[int] = set()
        for fact in facts:
            self.add(fact)
        # First pass: only rules whose every positive pattern has a fact can match.
        self.dirty = {i for i in self.dirty if all(self.memory[i][j] for j, p in enumerate(
            index.rules[i].patterns) if not p.negated)}
        self.dirty.update(index.unconditional)

    def memories(self, i: int) -> list[list[Fact]]:
        mem = self.memory.get(i)
        if mem is None:
            mem = self.memory[i] = [[] for _ in range(self.index.shape[i])]
        return mem

    def add(self, fact: Fact) -> None:
        routes = self.index.routes.get(fact["fact"])
        if routes is None:
            return  # no pattern of this stage reads the type
        memory, shape, dirty = self.memory, self.index.shape, self.dirty
        for table_attr, table in routes.by_value.items():
            value = fact[table_attr]
            if isinstance(value, _HASHABLE):
                for i, j, positive, check in table.get((type(value), value), ()):
                    if check is None or check(fact):
                        mem = memory.get(i)
                        if mem is None:
                            mem = memory[i] = [[] for _ in range(shape[i])]
                        mem[j].append(fact)
                        if positive:
                            dirty.add(i)
        for i, j, positive, check in routes.always:
            if check is None or check(fact):
                mem = memory.get(i)
                if mem is None:
                    mem = memory[i] = [[] for _ in range(shape[i])]
                mem[j].append(fact)
                if positive:
                    dirty.add(i)
