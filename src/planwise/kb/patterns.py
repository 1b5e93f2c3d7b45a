"""Rule conditions and conclusions, parsed and checked against the fact vocabulary.

A condition is a list of patterns, one fact each, all of which must hold:

    { fact = "score", instrument = "phq9", total = { gte = 10, lt = 15 } }
    { fact = "problem", as = "p" }
    { fact = "competency", not = true, condition = { ref = "p.condition" } }

An attribute test is a plain value (equality) or a table of operators
(`eq ne lt lte gt gte in not_in`); an operand may be `{ ref = "alias.attr" }`
to compare with a fact matched earlier in the same rule. `not = true` means no
such fact exists. A pattern's alias is its `as`, else its fact type.

A conclusion is a fact to assert: `{ fact = "goal", goal = "depression.activity" }`.
A string value `"{alias.attr}"` takes that attribute of a matched fact; other
`{alias.attr}` inside a string are filled in as text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from planwise.facts import FACT_TYPES

OPS = ("eq", "ne", "lt", "lte", "gt", "gte", "in", "not_in")
ORDER_OPS = ("lt", "lte", "gt", "gte")
_TEMPLATE = re.compile(r"\{([a-z_][a-z0-9_]*)\.([a-z_][a-z0-9_]*)\}")


class PatternError(ValueError):
    """A problem in one rule's `when` or `then`; `field` is its path inside the rule."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Ref:
    alias: str
    attr: str

    def __str__(self) -> str:
        return f"{self.alias}.{self.attr}"


@dataclass(frozen=True)
class Test:
    attr: str
    op: str
    value: Any  # a scalar, a tuple (in / not_in) or a Ref


@dataclass(frozen=True)
class Pattern:
    fact: str
    alias: str
    negated: bool
    tests: tuple[Test, ...]


@dataclass(frozen=True)
class Conclusion:
    fact: str
    values: dict[str, Any] = field(default_factory=dict)  # literal values and templates


def _check_value(attr_type: type, value: Any, where: str, attr: str) -> None:
    ok = (
        isinstance(value, bool) if attr_type is bool
        else isinstance(value, int) and not isinstance(value, bool) if attr_type is int
        else isinstance(value, (int, float)) and not isinstance(value, bool) if attr_type is float
        else isinstance(value, str) if attr_type is str
        else isinstance(value, list)
    )
    if not ok:
        raise PatternError(
            f"{attr} is {attr_type.__name__}, got {type(value).__name__} {value!r}", where
        )


def parse_when(when: list[dict[str, Any]]) -> tuple[Pattern, ...]:
    patterns: list[Pattern] = []
    aliases: dict[str, str] = {}
    for i, raw in enumerate(when):
        where = f"when[{i}]"
        if not isinstance(raw, dict):
            raise PatternError("each condition is a table like { fact = \"score\", ... }", where)
        raw = dict(raw)
        fact = raw.pop("fact", None)
        if fact not in FACT_TYPES:
            known = ", ".join(sorted(FACT_TYPES))
            raise PatternError(f"unknown fact type {fact!r}; known: {known}", f"{where}.fact")
        negated = raw.pop("not", False)
        if not isinstance(negated, bool):
            raise PatternError("`not` takes true or false", f"{where}.not")
        alias = raw.pop("as", fact)
        if not isinstance(alias, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", alias):
            raise PatternError("`as` takes a lower-case name", f"{where}.as")
        if alias in aliases:
            raise PatternError(
                f"two conditions are both called {alias!r}: give one `as = \"...\"`", f"{where}.as"
            )
        schema = FACT_TYPES[fact]
        tests: list[Test] = []
        for attr, spec in raw.items():
            awhere = f"{where}.{attr}"
            if attr not in schema:
                raise PatternError(
                    f"fact {fact} has no attribute {attr!r}; it has: {', '.join(schema)}", awhere
                )
            attr_type = schema[attr].type
            if attr_type is list:
                raise PatternError(f"{fact}.{attr} is a list and cannot be tested", awhere)
            ops = spec if isinstance(spec, dict) and "ref" not in spec else {"eq": spec}
            if not ops:
                raise PatternError("an empty operator table tests nothing", awhere)
            for op, operand in ops.items():
                owhere = f"{awhere}.{op}"
                if op not in OPS:
                    raise PatternError(f"unknown operator {op!r}; use one of {', '.join(OPS)}",
                                       owhere)
                if isinstance(operand, dict):
                    ref = operand.get("ref")
                    if set(operand) != {"ref"} or not isinstance(ref, str) or "." not in ref:
                        raise PatternError("a reference is { ref = \"alias.attribute\" }", owhere)
                    r_alias, r_attr = ref.split(".", 1)
                    if r_alias not in aliases:
                        raise PatternError(
                            f"reference to {r_alias!r}, which no earlier condition is called",
                            owhere,
                        )
                    if aliases[r_alias].startswith("!"):
                        raise PatternError(f"{r_alias!r} is a `not` condition: nothing to refer to",
                                           owhere)
                    if r_attr not in FACT_TYPES[aliases[r_alias]]:
                        raise PatternError(
                            f"{aliases[r_alias]} has no attribute {r_attr!r}", owhere)
                    if op in ("in", "not_in"):
                        raise PatternError(f"{op} takes a list, not a reference", owhere)
                    r_type = FACT_TYPES[aliases[r_alias]][r_attr].type
                    if op not in ORDER_OPS and float in (attr_type, r_type):
                        raise PatternError(
                            f"{attr} or {ref} is a decimal: compare with lt, lte, gt or gte",
                            owhere)
                    if op not in ORDER_OPS and r_type is not attr_type:
                        # durable-rules finds '10' == 10 and 1 == true; the reference does not.
                        raise PatternError(
                            f"{attr} is {attr_type.__name__} but {ref} is {r_type.__name__}",
                            owhere)
                    tests.append(Test(attr, op, Ref(r_alias, r_attr)))
                    continue
                if op in ("in", "not_in"):
                    if attr_type is float:
                        raise PatternError(
                            f"{attr} is a decimal: compare it with lt, lte, gt or gte", owhere)
                    if not isinstance(operand, list) or not operand:
                        raise PatternError(f"{op} takes a non-empty list", owhere)
                    for item in operand:
                        _check_value(attr_type, item, owhere, attr)
                    tests.append(Test(attr, op, tuple(operand)))
                    continue
                _check_value(attr_type, operand, owhere, attr)
                if attr_type is float and op not in ORDER_OPS:
                    # durable-rules finds 7 == 7.0, the reference evaluator does not:
                    # decimals are compared only by order, where both agree.
                    raise PatternError(f"{attr} is a decimal: compare it with lt, lte, gt or gte",
                                       owhere)
                if op in ORDER_OPS and attr_type not in (int, float):
                    raise PatternError(f"{op} compares numbers; {attr} is {attr_type.__name__}",
                                       owhere)
                tests.append(Test(attr, op, operand))
        aliases[alias] = fact if not negated else "!" + fact
        patterns.append(Pattern(fact, alias, negated, tuple(tests)))
    if not patterns or patterns[0].negated:
        raise PatternError("the first condition must be a positive one (not `not = true`)",
                           "when[0]")
    return tuple(patterns)


def parse_then(then: list[dict[str, Any]], patterns: tuple[Pattern, ...]) -> tuple[Conclusion, ...]:
    bound = {p.alias: p.fact for p in patterns if not p.negated}
    conclusions: list[Conclusion] = []
    for i, raw in enumerate(then):
        where = f"then[{i}]"
        if not isinstance(raw, dict):
            raise PatternError("each conclusion is a table like { fact = \"goal\", ... }", where)
        raw = dict(raw)
        fact = raw.pop("fact", None)
        if fact not in FACT_TYPES:
            raise PatternError(f"unknown fact type {fact!r}", f"{where}.fact")
        schema = FACT_TYPES[fact]
        for attr, value in raw.items():
            awhere = f"{where}.{attr}"
            if attr not in schema:
                raise PatternError(
                    f"fact {fact} has no attribute {attr!r}; it has: {', '.join(schema)}", awhere
                )
            if isinstance(value, str):
                for alias, ref_attr in _TEMPLATE.findall(value):
                    if alias not in bound:
                        raise PatternError(f"{{{alias}.{ref_attr}}} names no matched fact", awhere)
                    if ref_attr not in FACT_TYPES[bound[alias]]:
                        raise PatternError(f"{bound[alias]} has no attribute {ref_attr!r}", awhere)
                whole = _TEMPLATE.fullmatch(value)
                if whole:
                    src_type = FACT_TYPES[bound[whole.group(1)]][whole.group(2)].type
                    if src_type is not schema[attr].type:
                        raise PatternError(
                            f"{attr} is {schema[attr].type.__name__} but {value} is "
                            f"{src_type.__name__}", awhere)
                    continue
            _check_value(schema[attr].type, value, awhere, attr)
        conclusions.append(Conclusion(fact, raw))
    return tuple(conclusions)


def fill(values: dict[str, Any], matched: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The conclusion's attribute values with `{alias.attr}` templates filled from matched facts."""
    out: dict[str, Any] = {}
    for attr, value in values.items():
        if isinstance(value, str) and "{" in value:
            whole = _TEMPLATE.fullmatch(value)
            if whole:
                out[attr] = matched[whole.group(1)][whole.group(2)]
                continue
            out[attr] = _TEMPLATE.sub(lambda m: str(matched[m.group(1)][m.group(2)]), value)
        else:
            out[attr] = list(value) if isinstance(value, list) else value
    return out
