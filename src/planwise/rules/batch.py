"""What the durable backend sends durable-rules of a stage's facts (no durable import).

Every fact asserted costs durable-rules a walk of the stage's conditions, a place in
the session's memory and a retraction when the session is emptied, and its JSON is
written, parsed and read back in every match. So a stage's batch holds:

- only facts some pattern of the stage could take by type and `eq`/`in` tests on
  constants (`Reach`, planwise.rules.alpha): of a random intake's 48 facts of types
  the integrate stage reads, 8;
- of a type few rules take (at most FEW), and of which the batch has several (at
  least MANY), none when none of those rules can fire:
  one of its positive patterns has no fact in the batch that could fill it (by the
  same `eq`/`in` tests), and no rule of the stage concludes that pattern's type (a
  fact derived during the stage might fill it). Such a rule fires with or without
  the facts left out, so no firing changes. In the warn stage of an intake without
  a therapist profile, the 24 interventions (read only by two rules that also need
  `case.profile`) were most of the batch;
- of each fact, only the attributes some test of the stage's rules reads, on a
  pattern of its type or through a reference to one (`read_attributes`), with the
  session id, its number `n` and `u` (see durable_backend).

durable-rules still judges every comparison and every join on what it is sent. (The
cost to the cross-check: an `eq` or `in` compiled too loosely for durable would go
unseen on the facts left out.)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from planwise.kb.loader import CompiledRule
from planwise.kb.patterns import Ref
from planwise.rules.alpha import _HASHABLE, Reach, _key, discriminator, meets

Fact = dict[str, Any]
# A positive pattern a rule needs filled from the batch: its type, and the attribute
# and value keys of its discriminating test (None, None: any fact of the type).
Need = tuple[str, str | None, frozenset[tuple[type, Any]] | None]
# A fact type taken by at most this many rules of a stage is checked for rules that
# can fire (a bounded cost per batch: the plan stage's `problem` has 204 takers).
FEW = 16
# ... and only when the batch has at least this many facts of it: the check costs about
# as much as durable-rules' work on one or two facts.
MANY = 4


def read_attributes(rules: Iterable[CompiledRule]) -> dict[str, tuple[str, ...]]:
    """Per fact type the rules read, the attributes some test of theirs reads (on a
    pattern of that type, or through a reference to one)."""
    read: dict[str, dict[str, None]] = {}
    for rule in rules:
        types = {p.alias: p.fact for p in rule.patterns}
        for p in rule.patterns:
            attrs = read.setdefault(p.fact, {})
            for t in p.tests:
                attrs[t.attr] = None
                if isinstance(t.value, Ref):
                    read.setdefault(types[t.value.alias], {})[t.value.attr] = None
    return {fact: tuple(attrs) for fact, attrs in read.items()}


class StageBatch:
    def __init__(self, rules: list[CompiledRule]) -> None:
        reads = read_attributes(rules)
        reach = Reach(p for r in rules for p in r.patterns)
        # Per fact type a rule reads: the attributes to send, and the values of its
        # discriminating attributes some pattern wants (None: any fact of the type).
        self.send: dict[str, tuple[tuple[str, ...], Any]] = {
            fact: (attrs, reach.types.get(fact, {})) for fact, attrs in reads.items()}
        derivable = {c.fact for r in rules for c in r.conclusions}
        takers: dict[str, dict[int, None]] = {}
        self.needs: list[tuple[Need, ...]] = []
        for i, rule in enumerate(rules):
            needs: list[Need] = []
            for p in rule.patterns:
                takers.setdefault(p.fact, {})[i] = None
                if p.negated or p.fact in derivable:
                    continue
                found = discriminator(p)
                needs.append((p.fact, None, None) if found is None else
                             (p.fact, found[0].attr, frozenset(_key(v) for v in found[1])))
            self.needs.append(tuple(needs))
        self.few = {fact: tuple(taken) for fact, taken in takers.items() if len(taken) <= FEW}

    def payload(self, fact: Fact, sid: str) -> Fact | None:
        """What durable-rules is sent of one fact, or None when no pattern could take it."""
        send = self.send.get(fact["fact"])
        if send is None:
            return None
        attrs, tables = send
        if tables is not None and not meets(tables, fact):
            return None
        out = {"sid": sid, "fact": fact["fact"], "n": fact["n"], "u": 0}
        for attr in attrs:
            out[attr] = fact[attr]
        return out

    def facts(self, facts: Iterable[Fact], sid: str) -> list[Fact]:
        """The payloads of a stage's starting facts, in their order (see the module)."""
        send = self.send
        body: list[Fact] = []
        by_type: dict[str, list[Fact]] = {}
        for fact in facts:  # payload(), inlined: a stage sees every fact so far
            kind = fact["fact"]
            wanted = send.get(kind)
            if wanted is None:
                continue
            attrs, tables = wanted
            if tables is not None and not meets(tables, fact):
                continue
            same = by_type.get(kind)
            if same is None:
                by_type[kind] = [fact]
            else:
                same.append(fact)
            out = {"sid": sid, "fact": kind, "n": fact["n"], "u": 0}
            for attr in attrs:
                out[attr] = fact[attr]
            body.append(out)
        can_fire: dict[int, bool] = {}
        few = self.few
        idle = [kind for kind, same in by_type.items() if len(same) >= MANY and kind in few
                and not any(self._can_fire(i, by_type, can_fire) for i in few[kind])]
        if idle:
            body = [f for f in body if f["fact"] not in idle]
        return body

    def _can_fire(self, i: int, by_type: dict[str, list[Fact]], known: dict[int, bool]
                  ) -> bool:
        """Whether every positive pattern rule `i` needs filled from the batch has a fact
        in it that passes the pattern's discriminating test."""
        ok = known.get(i)
        if ok is None:
            ok = known[i] = all(_some(by_type.get(kind, ()), attr, keys)
                                for kind, attr, keys in self.needs[i])
        return ok


def _some(facts: Iterable[Fact], attr: str | None,
          keys: frozenset[tuple[type, Any]] | None) -> bool:
    if attr is None or keys is None:
        return any(True for _ in facts)
    for fact in facts:
        value = fact[attr]
        if isinstance(value, _HASHABLE) and (type(value), value) in keys:
            return True
    return False
