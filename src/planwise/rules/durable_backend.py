"""The durable-rules backend, with a guard for every trap measured in 2.0.28.

See docs/engine.md for the list; in short:
- rulesets are built from dicts, never with `durable.lang` (its decorators drop
  conditions joined with `and`, and it keeps a hidden global host);
- our own Host subclass with a no-op `_run`, so no timer thread steals work;
- every session first gets a sentinel fact that fires a no-op rule, because
  deleting a session in which nothing fired crashes the process;
- every session is deleted after its evaluation, one evaluation at a time per
  ruleset (a lock), so there are never more than a handful live (limit 1,024);
- facts carry a number `n` (and `u`, bumped on retry), so identical content
  cannot collide, and a surprising MessageObservedException (a 32-bit hash
  collision) is retried under a new `u` and then treated as an error;
- a fact no rule of the stage uses raises MessageNotHandledException: expected,
  and caught where it is;
- exceptions inside actions are swallowed by durable: every action catches its
  own, and they are raised again after the evaluation;
- only validated, typed values reach it (no string/number coercion), and no
  attribute is called `id` or `sid`;
- a ruleset name is unique per knowledge version, and a replaced ruleset is
  deleted from the engine.
"""

from __future__ import annotations

import copy
import itertools
import json
import threading
from collections.abc import Callable
from typing import Any

import durable_rules_engine
from durable import engine

from planwise.errors import EngineError
from planwise.kb.loader import CompiledRule, KnowledgeBase
from planwise.kb.patterns import Pattern, Ref, Test

Fact = dict[str, Any]
Derive = Callable[[CompiledRule, dict[str, Fact]], list[Fact]]

MAX_LIVE_SESSIONS = 1000  # durable fails past 1,024 per ruleset
SENTINEL_RULE = "__planwise_sentinel"
_OPS = {"ne": "$neq", "lt": "$lt", "lte": "$lte", "gt": "$gt", "gte": "$gte"}
_names = itertools.count(1)


class QuietHost(engine.Host):
    """A Host without the two timer threads that `Host.__init__` starts."""

    def _run(self) -> None:  # noqa: D401 - durable's hook
        pass


def _operand(value: Any) -> Any:
    if isinstance(value, Ref):
        return {value.alias: value.attr}
    return value


def _test(test: Test) -> dict[str, Any]:
    if test.op == "eq":
        return {test.attr: _operand(test.value)}
    if test.op == "in":
        return {"$or": [{test.attr: v} for v in test.value]}
    if test.op == "not_in":
        return {"$and": [{"$neq": {test.attr: v}} for v in test.value]}
    return {_OPS[test.op]: {test.attr: _operand(test.value)}}


def compile_pattern(pattern: Pattern) -> dict[str, Any]:
    expr: dict[str, Any] = {"$and": [{"fact": pattern.fact}, *(_test(t) for t in pattern.tests)]}
    name = f"{pattern.alias}$not" if pattern.negated else pattern.alias
    return {name: expr}


GATE_ALIAS = "_gate"
GATE_FACT = "__gate"
# durable-rules fails (error 303 when asserting, 108 when building) once about
# 250 rules share one identical pattern, and the gate pattern is in every rule:
# rules are spread over gate groups of this size, one gate fact per group.
GATE_GROUP = 100


def compile_rule(rule: CompiledRule, group: int = 0) -> dict[str, Any]:
    """The durable-rules definition of one rule, without its action.

    Every rule starts with a gate pattern. durable-rules checks a `$not`
    condition once, when the rest of the join completes, and never takes the
    action back when a matching fact arrives later in the same session. The
    gate fact is asserted after all of the stage's starting facts, so joins
    complete (and negations are judged) only once every fact a `not` may
    refer to is present; the loader allows `not` only on such facts.
    The rule waits for the gate fact of its `group` (see GATE_GROUP).
    """
    gate = {GATE_ALIAS: {"$and": [{"fact": GATE_FACT}, {"g": group}]}}
    return {"all": [gate, *(compile_pattern(p) for p in rule.patterns)]}


class _Stage:
    def __init__(self, host: QuietHost, name: str, rules: list[CompiledRule]) -> None:
        self.name = name
        self.rules = {r.id: r for r in rules}
        self.types = {p.fact for r in rules for p in r.patterns}
        self.lock = threading.Lock()
        self.live = 0
        self.sessions = itertools.count(1)
        self.current: dict[str, Any] = {}
        definition: dict[str, Any] = {
            SENTINEL_RULE: {"all": [{"s": {"fact": "__sentinel"}}], "run": _noop}
        }
        self.groups = max(1, -(-len(rules) // GATE_GROUP))
        for i, rule in enumerate(rules):
            spec = compile_rule(rule, i // GATE_GROUP)
            spec["run"] = self._action(rule)
            definition[rule.id] = spec
        # register_rulesets mutates what it is given (it pops "run"): hand it a copy.
        host.register_rulesets({name: _copy_with_actions(definition)})
        self.ruleset = host.get_ruleset(name)

    def _action(self, rule: CompiledRule) -> Callable[[Any], None]:
        def act(c: Any) -> None:
            state = self.current
            try:
                matched = {alias: dict(value) for alias, value in c._m.items()
                           if alias != GATE_ALIAS}
                for fact in matched.values():
                    fact.pop("sid", None)
                    fact.pop("u", None)
                # Hand the pipeline the stored facts, not durable's copies.
                facts = state["facts"]
                bound = {alias: facts[f["n"]] for alias, f in matched.items()}
                for new in state["derive"](rule, bound):
                    self._assert_in_action(c, new)
            except BaseException as exc:  # durable would swallow it
                state["errors"].append((rule.id, exc))

        return act

    def _assert_in_action(self, c: Any, fact: Fact) -> None:
        if fact["fact"] not in self.types:
            return  # no rule of this stage reads it; durable would refuse it
        payload = dict(fact)
        for attempt in range(3):
            payload["u"] = attempt
            try:
                c.assert_fact(dict(payload))
                return
            except engine.MessageNotHandledException:
                return
            except engine.MessageObservedException:
                continue
        raise EngineError(f"durable-rules kept reporting fact {fact['n']} as already seen")

    def run(self, facts: list[Fact], derive: Derive, store: dict[int, Fact]) -> None:
        with self.lock:
            if self.live >= MAX_LIVE_SESSIONS:
                raise EngineError("too many live durable-rules sessions")
            sid = str(next(self.sessions))
            errors: list[tuple[str, BaseException]] = []
            self.current = {"derive": derive, "errors": errors, "facts": store}
            batch = [{"sid": sid, "fact": "__sentinel", "n": 0, "u": 0}]
            batch += [dict(f, sid=sid, u=0) for f in facts if f["fact"] in self.types]
            batch += [{"sid": sid, "fact": GATE_FACT, "g": g, "n": -1 - g, "u": 0}
                      for g in range(self.groups)]
            self.live += 1
            drained = False
            try:
                code, offset = durable_rules_engine.assert_facts(
                    self.ruleset._handle, json.dumps(batch, ensure_ascii=False))
                done: list[Any] = []
                # Run the queued actions before anything else: until the
                # sentinel's action has run, deleting the session crashes.
                self.ruleset.do_actions(offset, lambda e, _s: done.append(e))
                drained = True
                if code == 2:
                    raise EngineError("durable-rules reported a new fact as already seen "
                                      "(a hash collision); the evaluation is not trusted")
                failure = next((e for e in done if e), None)
                if failure:
                    raise EngineError(f"durable-rules failed in stage {self.name}: {failure}")
                if errors:
                    rule_id, exc = errors[0]
                    if isinstance(exc, EngineError):
                        raise exc
                    raise EngineError(f"rule {rule_id} failed: {exc!r}") from exc
            finally:
                self.current = {}
                if drained:
                    self.ruleset.delete_state(sid)
                    self.live -= 1
                # Otherwise the session is left alive (and counted): deleting a
                # session whose sentinel never ran would crash the process.

    def delete(self, host: QuietHost) -> None:
        durable_rules_engine.delete_ruleset(self.ruleset._handle)
        # The host keeps its own lists of rulesets; drop ours so a long-running
        # process that reloads knowledge does not keep every old version alive.
        host._ruleset_directory.pop(self.name, None)
        if self.ruleset in host._ruleset_list:
            host._ruleset_list.remove(self.ruleset)


def _noop(_c: Any) -> None:
    pass


def _copy_with_actions(definition: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for rule_id, spec in definition.items():
        run = spec["run"]
        body = copy.deepcopy({k: v for k, v in spec.items() if k != "run"})
        body["run"] = run
        out[rule_id] = body
    return out


class DurableBackend:
    name = "durable"
    _host: QuietHost | None = None
    _host_lock = threading.Lock()

    def __init__(self, kb: KnowledgeBase) -> None:
        with DurableBackend._host_lock:
            if DurableBackend._host is None:
                DurableBackend._host = QuietHost()
            host = DurableBackend._host
            self.stages: dict[str, _Stage] = {}
            try:
                for stage in dict.fromkeys(r.stage for r in kb.rules):
                    rules = kb.rules_in(stage)
                    name = f"planwise_{kb.fingerprint}_{stage}_{next(_names)}"
                    self.stages[stage] = _Stage(host, name, rules)
            except Exception as exc:
                self.close()
                raise EngineError(f"durable-rules could not build the rulesets: {exc}") from exc

    def run_stage(self, stage: str, facts: list[Fact], derive: Derive,
                  store: dict[int, Fact] | None = None) -> None:
        if stage not in self.stages:
            return
        self.stages[stage].run(facts, derive, store if store is not None else
                               {f["n"]: f for f in facts})

    def close(self) -> None:
        host = DurableBackend._host
        for stage in self.stages.values():
            if host is not None:
                stage.delete(host)
        self.stages = {}
