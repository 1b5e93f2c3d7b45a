"""Working memory shared by both engines: facts, who derived them, and the firings.

The engines only find matches; this class decides what a firing adds. A fact
derived again (same content) is not asserted twice, but the rule is added to
its `because`. Fact numbers (`n`) are this evaluation's identities; they are
what the durable-rules backend hands back to say which facts a rule matched.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from planwise.facts import FACT_TYPES

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
    keys: dict[int, tuple[Any, ...]] = field(default_factory=dict)  # n -> content_key

    def add(self, fact: Fact, because: list[str] | None = None, depth: int = 0) -> tuple[int, bool]:
        """Store a fact; return its number and whether it is new."""
        return self.add_keyed(content_key(fact), fact, because, depth)

    def add_keyed(self, key: tuple[Any, ...], fact: Fact, because: list[str] | None = None,
                  depth: int = 0) -> tuple[int, bool]:
        """`add`, the fact's `content_key` known (goal_facts keeps them)."""
        n = self.by_key.get(key)
        if n is not None:
            if because:
                known = self.because[n]
                for rule in because:
                    if rule not in known:
                        known.append(rule)
            return n, False
        n = len(self.facts) + 1
        stored = dict(fact)
        stored["n"] = n
        self.facts[n] = stored
        kind = stored["fact"]
        same = self.by_type.get(kind)
        if same is None:
            self.by_type[kind] = [stored]
        else:
            same.append(stored)
        self.by_key[key] = n
        self.keys[n] = key
        self.because[n] = list(because) if because else []
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
        stage, stage_of, depths = self.stage, self.stage_of, self.depth
        depth = 0
        for n in matched:
            if stage_of[n] == stage and depths[n] > depth:
                depth = depths[n]
        new: list[Fact] = []
        numbers: list[int] = []
        because = [rule]
        for fact in derived:
            n, is_new = self.add(fact, because, depth + 1)
            numbers.append(n)
            if is_new:
                new.append(self.facts[n])
        self.firings.append(Firing(rule, stage, rule_index, matched, numbers, depth))
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
        ordered = sorted(self.firings, key=lambda f: (stage_order[f.stage], f.depth, f.rule_index))
        seen: dict[int, str] = {}

        def content(n: int) -> str:
            # A fact is matched by many firings: written out once per evaluation.
            text = seen.get(n)
            if text is None:
                text = seen[n] = json.dumps(
                    {k: v for k, v in self.facts[n].items() if k != "n"}, sort_keys=True)
            return text

        # Only firings of one rule at one depth of one stage need their facts compared:
        # the order of sorting by (stage, depth, rule, facts) at once, without writing out
        # the facts of every firing.
        out: list[Firing] = []
        i, count = 0, len(ordered)
        while i < count:
            first = ordered[i]
            j = i + 1
            while j < count and ordered[j].rule_index == first.rule_index and \
                    ordered[j].depth == first.depth and ordered[j].stage == first.stage:
                j += 1
            if j - i == 1:
                out.append(first)
            else:
                out += sorted(ordered[i:j], key=lambda f: [content(n) for n in f.matched])
            i = j
        return out


def content_key(fact: Fact) -> tuple[Any, ...]:
    """Identity of a fact by content (two rules deriving the same fact share it): its type
    and its attributes' values in the vocabulary's order. Every fact has every attribute
    of its type (planwise.facts.make_fact), so this is `fact_key` without sorting."""
    kind = fact["fact"]
    reader = _readers.get(kind) or _reader(kind)
    values, lists = reader
    key = values(fact)
    if lists:  # list attributes (treatment_option.modalities) as tuples, to hash
        parts = list(key)
        for i in lists:
            parts[i] = tuple(parts[i])
        key = tuple(parts)
    return (kind, *key)


# Per fact type: a reader of its attributes' values as a tuple, and which are lists.
_readers: dict[str, tuple[Callable[[Fact], tuple[Any, ...]], tuple[int, ...]]] = {}


def _reader(kind: str) -> tuple[Callable[[Fact], tuple[Any, ...]], tuple[int, ...]]:
    schema = FACT_TYPES[kind]
    names = tuple(schema)
    values: Callable[[Fact], tuple[Any, ...]]
    if len(names) == 1:
        only = names[0]
        values = lambda fact: (fact[only],)  # noqa: E731 - itemgetter of one is no tuple
    else:
        values = operator.itemgetter(*names)  # type: ignore[assignment]
    lists = tuple(i for i, name in enumerate(names) if schema[name].type is list)
    _readers[kind] = (values, lists)
    return values, lists


# Per conclusion, a function of the matched facts giving its fact: the literal values
# and defaults filled in once, the `{alias.attr}` templates parsed once (what
# planwise.kb.patterns.fill does per call). The knowledge is immutable once loaded;
# id() keys, the conclusion itself kept in the value so that its id is not reused.
Maker = Callable[[dict[str, Fact]], Fact]
_makers: dict[int, tuple[Any, Maker]] = {}


def _conclusion_maker(conclusion: Any) -> Maker:
    hit = _makers.get(id(conclusion))
    if hit is not None and hit[0] is conclusion:
        return hit[1]
    from planwise.facts import make_fact
    from planwise.kb.patterns import _TEMPLATE

    template = make_fact(conclusion.fact, **conclusion.values)
    whole: list[tuple[str, str, str]] = []  # attr <- one matched fact's attribute
    parts: list[tuple[str, list[str | tuple[str, str]]]] = []  # attr <- text around them
    for attr, value in conclusion.values.items():
        if not (isinstance(value, str) and "{" in value):
            continue
        found = _TEMPLATE.fullmatch(value)
        if found:
            whole.append((attr, found.group(1), found.group(2)))
            continue
        pieces: list[str | tuple[str, str]] = []
        at = 0
        for m in _TEMPLATE.finditer(value):
            pieces += [value[at:m.start()], (m.group(1), m.group(2))]
            at = m.end()
        if at:
            parts.append((attr, [*pieces, value[at:]]))
    lists = [k for k, v in template.items() if isinstance(v, list)]

    def make(bound: dict[str, Fact]) -> Fact:
        fact = template.copy()
        # Lists are copied, as make_fact does: no fact shares one with another or the
        # template.
        for attr in lists:
            fact[attr] = list(fact[attr])
        for attr, alias, source in whole:
            value = bound[alias][source]
            fact[attr] = list(value) if isinstance(value, list) else value
        for attr, pieces in parts:
            fact[attr] = "".join(p if isinstance(p, str) else str(bound[p[0]][p[1]])
                                 for p in pieces)
        return fact

    if len(_makers) > 100_000:  # many knowledge reloads in one process
        _makers.clear()
    _makers[id(conclusion)] = (conclusion, make)
    return make


# A goal's objective and intervention facts for one condition, built once per
# knowledge version: id() keys, the goal itself kept in the value so that its id is
# not reused while the entry lives.
_GOAL_FACTS: dict[int, tuple[Any, dict[str, list[tuple[tuple[Any, ...], Fact]]]]] = {}


def goal_facts(goal: Any, condition: str) -> list[tuple[tuple[Any, ...], Fact]]:
    """The objective and intervention facts a goal expands into for one condition, each
    with its content_key (for Memory.add_keyed)."""
    from planwise.facts import make_fact

    hit = _GOAL_FACTS.get(id(goal))
    if hit is None or hit[0] is not goal:
        if len(_GOAL_FACTS) > 10_000:  # many knowledge reloads in one process
            _GOAL_FACTS.clear()
        hit = _GOAL_FACTS[id(goal)] = (goal, {})
    facts = hit[1].get(condition)
    if facts is None:
        made = [
            *(make_fact("objective", item=o.id, goal=goal.id, condition=condition)
              for o in goal.objectives),
            *(make_fact("intervention", item=i.id, modality=i.modality, goal=goal.id,
                        condition=condition) for i in goal.interventions)]
        facts = hit[1][condition] = [(content_key(f), f) for f in made]
    return facts


# Per compiled rule: its id, index, positive aliases and conclusions' makers (as above).
_rules: dict[int, tuple[Any, str, int, tuple[str, ...], tuple[Maker, ...]]] = {}


def fire_rule(memory: Memory, rule: Any, bound: dict[str, Fact]) -> list[Fact]:
    """A compiled rule fired with these facts bound: its conclusions filled in and recorded;
    returns the new facts (both engines' callback, for proposals and reviews alike)."""
    hit = _rules.get(id(rule))
    if hit is None or hit[0] is not rule:
        if len(_rules) > 100_000:
            _rules.clear()
        hit = _rules[id(rule)] = (
            rule, rule.id, rule.index, tuple(p.alias for p in rule.patterns if not p.negated),
            tuple(_conclusion_maker(c) for c in rule.conclusions))
    _rule, rule_id, index, positive, makers = hit
    return memory.fire(rule_id, index, [bound[a]["n"] for a in positive],
                       [make(bound) for make in makers])


def trace(memory: Memory, stages: tuple[str, ...]) -> list[Any]:
    """Every firing in the canonical order, its facts in brief (a proposal's or a review's
    `trace`), as the dicts of TraceEntry models: the Proposal or Review validates them
    with everything else in one pass, faster than a model each."""
    from planwise.rules.describe import brief

    order = {s: i for i, s in enumerate(stages)}
    briefs: dict[int, str] = {}

    def said(n: int) -> str:
        text = briefs.get(n)
        if text is None:
            # The same facts come back intake after intake (a goal's objectives, a
            # score's band): kept by content for the process.
            key = memory.keys.get(n)
            if key is None:
                key = content_key(memory.facts[n])
            text = _briefs.get(key)
            if text is None:
                if len(_briefs) >= 20_000:
                    _briefs.clear()
                text = _briefs[key] = brief(memory.facts[n])
            briefs[n] = text
        return text

    return [{"rule": f.rule, "matched": [said(n) for n in f.matched],
             "derived": [said(n) for n in f.derived]}
            for f in memory.canonical_firings(order)]


_briefs: dict[tuple[Any, ...], str] = {}
