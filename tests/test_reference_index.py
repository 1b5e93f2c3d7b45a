"""The indexed reference evaluator (planwise.rules.alpha) fires exactly what the plain
loop over every rule it replaced fires, in the same order: same rules, same facts,
same derived facts, so the `because` lists and fact numbers of a proposal are the
same. The plain loop is kept here as the specification."""

from __future__ import annotations

import random
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from planwise.intake_io import intake_from_data
from planwise.kb import load_knowledge
from planwise.kb.loader import CompiledRule
from planwise.rules.matching import pattern_holds
from planwise.rules.pipeline import Evaluation
from planwise.rules.reference import ReferenceBackend

sys.path.insert(0, str(Path(__file__).parent.parent / "benchmarks"))
from intakes import random_intake  # noqa: E402

Fact = dict[str, Any]


class PlainLoop(ReferenceBackend):
    """The reference evaluator before it was indexed: every pattern tried on every fact
    of its type, every rule of a pass visited."""

    def run_stage(self, stage: str, facts: list[Fact], derive: Any,
                  store: dict[int, Fact] | None = None) -> None:
        rules = self.kb.rules_in(stage)
        index: dict[str, list[Fact]] = {}
        for f in facts:
            index.setdefault(f["fact"], []).append(f)
        fired: set[tuple[str, tuple[int, ...]]] = set()
        todo = rules
        while todo:
            grown: set[str] = set()
            for rule in todo:
                for bound in list(_plain_matches(rule, index)):
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


def _plain_matches(rule: CompiledRule, index: dict[str, list[Fact]]) -> Iterator[dict[str, Fact]]:
    patterns = rule.patterns

    def walk(i: int, bound: dict[str, Fact]) -> Iterator[dict[str, Fact]]:
        if i == len(patterns):
            yield dict(bound)
            return
        p = patterns[i]
        candidates = index.get(p.fact, [])
        if p.negated:
            if not any(pattern_holds(p, f, bound) for f in candidates
                       if all(b is not f for b in bound.values())):
                yield from walk(i + 1, bound)
            return
        for f in candidates:
            if any(b is f for b in bound.values()):
                continue
            if pattern_holds(p, f, bound):
                bound[p.alias] = f
                yield from walk(i + 1, bound)
                del bound[p.alias]

    yield from walk(0, {})


def _firings(evaluation: Evaluation) -> list[tuple[str, str, list[int], list[int]]]:
    return [(f.stage, f.rule, f.matched, f.derived) for f in evaluation.memory.firings]


@pytest.mark.parametrize("seed", range(4))
def test_indexed_evaluator_fires_what_the_plain_loop_fires_in_its_order(seed: int) -> None:
    kb = load_knowledge()
    rng = random.Random(seed)
    indexed, plain = ReferenceBackend(kb), PlainLoop(kb)
    for _ in range(60):
        scored = intake_from_data(random_intake(kb, rng), kb)
        a, b = Evaluation(kb, indexed), Evaluation(kb, plain)
        proposal_a, proposal_b = a.run(scored, None), b.run(scored, None)
        assert _firings(a) == _firings(b)
        assert a.memory.facts == b.memory.facts
        assert a.memory.because == b.memory.because
        assert proposal_a == proposal_b


def test_a_pattern_keeps_exactly_the_facts_that_pass_its_tests_on_constants() -> None:
    from planwise.kb.patterns import Ref
    from planwise.rules.alpha import StageIndex, StageRun
    from planwise.rules.inputs import base_facts
    from planwise.rules.matching import test_holds

    kb = load_knowledge()
    rng = random.Random(7)
    stages = {s: StageIndex(kb.rules_in(s)) for s in ("severity", "problem", "plan", "warn")}
    checked = 0
    for _ in range(30):
        scored = intake_from_data(random_intake(kb, rng), kb)
        facts = [dict(f, n=n) for n, f in enumerate(base_facts(scored, None, kb), start=1)]
        for index in stages.values():
            run = StageRun(index, facts)
            for i, rule in enumerate(index.rules):
                for j, p in enumerate(rule.patterns):
                    kept = run.memory.get(i, [[]] * len(rule.patterns))[j]
                    want = [f for f in facts if f["fact"] == p.fact and all(
                        test_holds(t, f, {}) for t in p.tests if not isinstance(t.value, Ref))]
                    assert kept == want, (rule.id, p)
                    checked += bool(want)
            # The durable backend asserts only what some pattern may take.
            assert all(index.may_reach(f) for f in facts
                       if any(f in m for mems in run.memory.values() for m in mems))
    assert checked > 100
