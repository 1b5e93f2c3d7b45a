"""Pattern tests in plain Python, shared by the reference evaluator and its checks."""

from __future__ import annotations

from typing import Any

from planwise.kb.patterns import Pattern, Ref, Test


def _operand(test: Test, bound: dict[str, dict[str, Any]]) -> Any:
    if isinstance(test.value, Ref):
        return bound[test.value.alias][test.value.attr]
    return test.value


def test_holds(test: Test, fact: dict[str, Any], bound: dict[str, dict[str, Any]]) -> bool:
    actual = fact[test.attr]
    want = _operand(test, bound)
    op = test.op
    if op == "eq":
        return bool(actual == want and type(actual) is type(want))
    if op == "ne":
        return not (actual == want and type(actual) is type(want))
    if op == "in":
        return any(actual == w and type(actual) is type(w) for w in want)
    if op == "not_in":
        return not any(actual == w and type(actual) is type(w) for w in want)
    if op == "lt":
        return bool(actual < want)
    if op == "lte":
        return bool(actual <= want)
    if op == "gt":
        return bool(actual > want)
    if op == "gte":
        return bool(actual >= want)
    raise ValueError(op)


def pattern_holds(pattern: Pattern, fact: dict[str, Any], bound: dict[str, dict[str, Any]]
                  ) -> bool:
    return fact["fact"] == pattern.fact and all(test_holds(t, fact, bound) for t in pattern.tests)
