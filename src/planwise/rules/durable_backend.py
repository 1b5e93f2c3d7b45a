"""The durable-rules backend, with a guard for every trap measured in 2.0.28.

See docs/engine.md for the list; in short:
- rulesets are built from dicts, never with `durable.lang` (its decorators drop
  conditions joined with `and`, and it keeps a hidden global host);
- our own Host subclass with a no-op `_run`, so no timer thread steals work;
- every session first gets a sentinel fact that fires a no-op rule, because
  deleting a session in which nothing fired crashes the process;
- after its evaluation every session is emptied and kept for the next one, or
  deleted; one evaluation at a time per ruleset (a lock), so there are never more
  than a handful live (limit 1,024);
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

import gc
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
from planwise.rules.batch import StageBatch

Fact = dict[str, Any]
Derive = Callable[[CompiledRule, dict[str, Fact]], list[Fact]]

MAX_LIVE_SESSIONS = 1000  # durable fails past 1,024 per ruleset
# Keep one emptied session per stage between evaluations (_Stage._empty); the
# guard tests switch it off to compare with a new session per stage.
REUSE_SESSIONS = True
SENTINEL_RULE = "__planwise_sentinel"
_OPS = {"ne": "$neq", "lt": "$lt", "lte": "$lte", "gt": "$gt", "gte": "$gte"}
_names = itertools.count(1)
# Facts to durable-rules: compact, and non-ASCII as is (as durable writes the rulesets
# themselves, so a value compares with the rule's constant byte for byte).
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
# An action's message: durable-rules writes it without surrounding whitespace, so the
# decoder's own entry point does (json.loads adds two whitespace scans and checks).
_decode = json.JSONDecoder().raw_decode


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
        # What durable-rules is sent of the stage's facts (planwise.rules.batch).
        self.batch = StageBatch(rules)
        self.types = set(self.batch.send)
        self.lock = threading.Lock()
        self.live = 0
        self.sessions = itertools.count(1)
        self.current: dict[str, Any] = {}
        # The session kept, emptied, for the next evaluation (see _empty).
        self.kept: str | None = None
        self.reuse = REUSE_SESSIONS
        self.groups = max(1, -(-len(rules) // GATE_GROUP))
        self._gates: tuple[str, str] = ("", "")
        definition: dict[str, Any] = {
            SENTINEL_RULE: {"all": [{"s": {"fact": "__sentinel"}}], "run": _noop}
        }
        for i, rule in enumerate(rules):
            spec = compile_rule(rule, i // GATE_GROUP)
            spec["run"] = self._action(rule)
            definition[rule.id] = spec
        # register_rulesets pops each rule's "run" from what it is given: these dicts
        # were built here for it, and nothing else holds them.
        host.register_rulesets({name: definition})
        self.ruleset = host.get_ruleset(name)

    def gates(self, sid: str) -> str:
        """The gate facts' JSON for this session (the same session comes back when kept)."""
        if self._gates[0] != sid:
            self._gates = (sid, _encode(
                [{"sid": sid, "fact": GATE_FACT, "g": g, "n": -1 - g, "u": 0}
                 for g in range(self.groups)]))
        return self._gates[1]

    def _action(self, rule: CompiledRule) -> Callable[[Any], None]:
        # durable's own dispatch (Ruleset.do_actions) runs this with a Closure; planwise's
        # drain loop (_drain) never does, it calls _fire. Kept for the registration.
        def act(_c: Any) -> None:
            raise EngineError(f"rule {rule.id} ran through durable's own dispatch")

        return act

    def _fire(self, rule: CompiledRule, matched: dict[str, Any], sid: str) -> None:
        state = self.current
        try:
            facts = state["facts"]
            # Hand the pipeline the stored facts, not durable's copies.
            bound = {alias: facts[f["n"]] for alias, f in matched.items()
                     if alias != GATE_ALIAS}
            for new in state["derive"](rule, bound):
                payload = self.batch.payload(new, sid)
                if payload is not None:  # else no pattern of the stage could take it
                    self._assert_in_action(self._assert_fact, payload)
        except BaseException as exc:  # noqa: BLE001 - raised again after the stage
            state["errors"].append((rule.id, exc))

    def _assert_fact(self, payload: Fact) -> int:
        text = _encode(payload)
        code: int = durable_rules_engine.assert_fact(self.ruleset._handle, text)[0]
        if code == 0:
            self.current["asserted"].append(text)  # to retract when the session is emptied
        return code

    def _assert_in_action(self, assert_fact: Callable[[Fact], int], fact: Fact) -> None:
        """Assert a derived fact from inside an action; `assert_fact` answers durable's
        code: 0 asserted, 1 no rule uses it (MessageNotHandled), 2 already seen
        (MessageObserved: a 32-bit hash collision, retried under a new `u`)."""
        if fact["fact"] not in self.types:
            return  # no rule of this stage reads it; durable would refuse it
        payload = dict(fact)
        for attempt in range(3):
            payload["u"] = attempt
            code = assert_fact(dict(payload))
            if code != 2:
                return
        raise EngineError(f"durable-rules kept reporting fact {fact['n']} as already seen")

    def _drain(self, offset: int, sid: str) -> None:
        """Run every queued action of the session, those queued by actions included.

        What `Ruleset.do_actions` does, without what planwise does not use: it builds
        a Closure and a Promise per action, reads the session state's JSON and writes
        it back with `update_state` after every action (planwise's actions keep no
        session state). Each action is completed with `complete_and_start_action`,
        so the sentinel's action has run before the session is deleted."""
        handle = self.ruleset._handle
        started = durable_rules_engine.start_action_for_state(handle, offset)
        messages = None if started is None else started[1]
        try:
            while messages is not None:
                message = _decode(messages)[0]
                for name, matched in message.items():
                    if name != SENTINEL_RULE:
                        self._fire(self.rules[name], matched, sid)
                messages = durable_rules_engine.complete_and_start_action(handle, offset)
        except BaseException:
            durable_rules_engine.abandon_action(handle, offset)
            raise

    def run(self, facts: list[Fact], derive: Derive, store: dict[int, Fact]) -> None:
        with self.lock:
            sid, self.kept = self.kept, None
            if sid is None:
                if self.live >= MAX_LIVE_SESSIONS:
                    raise EngineError("too many live durable-rules sessions")
                sid = str(next(self.sessions))
                self.live += 1
            errors: list[tuple[str, BaseException]] = []
            body = [{"sid": sid, "fact": "__sentinel", "n": 0, "u": 0},
                    *self.batch.facts(facts, sid)]
            asserted: list[str] = []
            # Written once: the batch asserts them, the session's emptying retracts them.
            body_json = _encode(body)
            gates_json = self.gates(sid)
            self.current = {"derive": derive, "errors": errors, "facts": store,
                            "asserted": asserted}
            drained = False
            code = -1
            try:
                try:
                    code, offset = durable_rules_engine.assert_facts(
                        self.ruleset._handle, _join(body_json, gates_json))
                except Exception as exc:
                    drained = self._abandon(sid)
                    raise EngineError(self._failure(exc)) from exc
                # Run the queued actions before anything else: until the
                # sentinel's action has run, deleting the session crashes.
                try:
                    self._drain(offset, sid)
                except Exception as exc:
                    raise EngineError(self._failure(exc)) from exc
                drained = True
                if code == 2:
                    raise EngineError("durable-rules reported a new fact as already seen "
                                      "(a hash collision); the evaluation is not trusted")
                if errors:
                    rule_id, failure = errors[0]
                    if isinstance(failure, EngineError):
                        raise failure
                    if isinstance(failure, durable_rules_engine.error):
                        raise EngineError(f"rule {rule_id}: {self._failure(failure)}"
                                          ) from failure
                    raise EngineError(f"rule {rule_id} failed: {failure!r}") from failure
            finally:
                self.current = {}
                if drained:
                    # Code 1: a fact of the batch passed no rule's tests (not stored).
                    outcome = self._empty(sid, _join(gates_json, body_json, *asserted)) \
                        if code in (0, 1) and not errors else "delete"
                    if outcome == "keep":
                        self.kept = sid
                    elif outcome == "delete":
                        self.ruleset.delete_state(sid)
                        self.live -= 1
                # Otherwise the session is left alive (and counted): deleting a
                # session whose sentinel never ran would crash the process.

    def _failure(self, exc: BaseException) -> str:
        if "error code: 303" in str(exc):
            # durable-rules walks the conditions a fact meets with a stack of 64.
            stage = self.name.rsplit("_", 2)[1]
            return (f"durable-rules cannot run stage {stage} of this knowledge: one fact "
                    "meets more than 64 of its rules' conditions at once (durable-rules' "
                    "error 303). Too many rules of the stage test the same fact type with "
                    "conditions that differ; merge them, or use --engine reference")
        return f"durable-rules failed in stage {self.name}: {exc}"

    def _abandon(self, sid: str) -> bool:
        """After a batch durable-rules refused part-way: run what it queued (the
        sentinel's action) without firing any rule, so that the session can be
        deleted. False when that fails: the session is then left alive."""
        handle = self.ruleset._handle
        try:
            started = durable_rules_engine.start_action(handle)
            while started is not None:
                offset = started[2]
                if durable_rules_engine.complete_and_start_action(handle, offset) is None:
                    break
            return started is not None
        except Exception:  # noqa: BLE001 - the session stays alive, counted
            return False

    def _empty(self, sid: str, asserted: str) -> str:
        """Retract every fact of the session so the next evaluation can use it: "keep",
        or "delete" it when it is not empty afterwards, or "leave" it alive (counted)
        when an action the retraction queued could not be completed.

        Creating a session costs durable-rules as much as the rest of a stage (it
        allocates memory for every node of the ruleset; 0.2 ms for the plan stage),
        and the retraction costs half that. The gate facts go first: with them gone
        no join can complete while the other facts are withdrawn, so no `not` pattern
        whose blocking fact goes before its positive facts fires."""
        handle = self.ruleset._handle
        if not self.reuse:
            return "delete"
        try:
            code, offset = durable_rules_engine.retract_facts(
                handle, asserted)
        except Exception:  # noqa: BLE001 - the session is deleted instead
            return "delete"
        try:
            queued = durable_rules_engine.start_action_for_state(handle, offset)
            while queued is not None:  # never seen; such an action is not run
                queued = durable_rules_engine.complete_and_start_action(handle, offset)
                code = -1
        except Exception:  # noqa: BLE001
            return "leave"
        # Code 1 again for the facts that were never stored; what counts is that
        # durable-rules holds no fact of the session any more.
        if code not in (0, 1) or durable_rules_engine.get_facts(handle, sid) != "[]":
            return "delete"
        return "keep"

    def close_session(self) -> None:
        with self.lock:
            if self.kept is not None:
                self.ruleset.delete_state(self.kept)
                self.kept = None
                self.live -= 1

    def delete(self, host: QuietHost) -> None:
        self.close_session()
        durable_rules_engine.delete_ruleset(self.ruleset._handle)
        # The host keeps its own lists of rulesets; drop ours so a long-running
        # process that reloads knowledge does not keep every old version alive.
        host._ruleset_directory.pop(self.name, None)
        if self.ruleset in host._ruleset_list:
            host._ruleset_list.remove(self.ruleset)


def _join(*parts: str) -> str:
    """One JSON array of the items of JSON arrays (`[...]`) and objects (`{...}`)."""
    items = [p[1:-1] if p.startswith("[") else p for p in parts]
    return "[" + ",".join(i for i in items if i) + "]"


def _noop(_c: Any) -> None:
    pass


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
            by_stage: dict[str, list[CompiledRule]] = {}
            for rule in kb.rules:
                by_stage.setdefault(rule.stage, []).append(rule)
            # The build makes thousands of small dicts and lists, none of them garbage:
            # without this the cyclic collector walks the whole heap (the loaded
            # knowledge and the CLI's modules with it), in a `planwise recommend`
            # process about 20 ms, as much as the build itself.
            collecting = gc.isenabled()
            gc.disable()
            try:
                for stage, rules in by_stage.items():
                    name = f"planwise_{kb.fingerprint}_{stage}_{next(_names)}"
                    self.stages[stage] = _Stage(host, name, rules)
            except Exception as exc:
                self.close()
                raise EngineError(f"durable-rules could not build the rulesets: {exc}") from exc
            finally:
                if collecting:
                    gc.enable()

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
