"""Raw durable-rules 2.0.28 behaviour, one trap per mode: `python raw_traps.py MODE`.

Run only in a subprocess (tests/test_durable_guards.py does): some modes crash
the interpreter on purpose (segfault) to show why planwise's guard exists.
Each mode prints one JSON object as its last line of output.
"""

from __future__ import annotations

import json
import sys
import threading

from _raw import QuietHost, durable_rules_engine, engine, register, report, run_batch


def _two_rules(fired: list) -> dict:
    return {
        "sentinel": {"all": [{"s": {"fact": "__sentinel"}}], "run": lambda c: fired.append("s")},
        "a": {"all": [{"a": {"fact": "a"}}], "run": lambda c: fired.append(c._m["a"]["n"])},
    }


def lang_and() -> None:
    # Python's `and` returns its last operand: durable.lang sees only `m.b >= 10`.
    from durable.lang import assert_fact, m, ruleset, when_all

    fired: list = []
    with ruleset("probe_lang_and"):
        @when_all((m.a == 1) and (m.b >= 10))
        def both(c):  # noqa: ANN001
            fired.append("both")

    with ruleset("probe_lang_chain"):
        @when_all(10 <= m.v < 20)
        def between(c):  # noqa: ANN001
            fired.append("between")

    assert_fact("probe_lang_and", {"a": 2, "b": 10})  # a != 1, yet it fires
    assert_fact("probe_lang_chain", {"v": 5})  # 5 < 10, yet it fires
    report(fired=fired)


def lang_global_host() -> None:
    before = threading.active_count()
    from durable import lang

    first, second = lang.get_host(), lang.get_host()
    report(same_host=first is second, before=before, after=threading.active_count())


def host_threads() -> None:
    before = threading.active_count()
    QuietHost()
    after_quiet = threading.active_count()
    engine.Host()
    report(before=before, after_quiet=after_quiet, after_host=threading.active_count())


def _not_rule(fired: list, gate: bool) -> dict:
    patterns = [{"a": {"fact": "case"}}, {"b$not": {"fact": "concern"}}]
    if gate:
        patterns.insert(0, {"g": {"fact": "__gate"}})
    return {"r": {"all": patterns, "run": lambda c: fired.append("fired")}}


def not_early() -> None:
    # The concern is in the same batch, after the case: durable fires anyway.
    fired: list = []
    rs = register(QuietHost(), "probe_not", _not_rule(fired, gate=False))
    run_batch(rs, [{"sid": "1", "fact": "case", "n": 1}, {"sid": "1", "fact": "concern", "n": 2}])
    report(fired=fired)


def not_gated() -> None:
    # The same, with planwise's gate first in the rule and last in the batch.
    fired: list = []
    rs = register(QuietHost(), "probe_not_gated", _not_rule(fired, gate=True))
    run_batch(rs, [{"sid": "1", "fact": "case", "n": 1}, {"sid": "1", "fact": "concern", "n": 2},
                   {"sid": "1", "fact": "__gate", "n": -1}])
    report(fired=fired)


def duplicate() -> None:
    fired: list = []
    rs = register(QuietHost(), "probe_dup", _two_rules(fired))
    rs.assert_fact({"sid": "1", "fact": "a", "n": 1})
    try:
        rs.assert_fact({"sid": "1", "fact": "a", "n": 1})
    except engine.MessageObservedException as exc:
        report(raised="MessageObservedException", message=exc.message)
    else:
        report(raised=None)


def not_handled() -> None:
    fired: list = []
    rs = register(QuietHost(), "probe_unused", _two_rules(fired))
    try:
        rs.assert_fact({"sid": "1", "fact": "nobody_reads_this", "n": 1})
    except engine.MessageNotHandledException:
        raised = "MessageNotHandledException"
    else:
        raised = None
    report(raised=raised)


def action_swallowed() -> None:
    host = QuietHost()
    register(host, "probe_raise", {"r": {"all": [{"x": {"fact": "a"}}], "run": lambda c: 1 / 0}})
    rs = host.get_ruleset("probe_raise")
    _code, errors = run_batch(rs, [{"sid": "1", "fact": "a", "n": 1}])
    state = host.assert_fact("probe_raise", {"sid": "2", "fact": "a", "n": 1})
    report(do_actions_errors=errors, host_state_exception=state.get("exception", ""))


def coercion() -> None:
    fired: list = []
    rs = register(QuietHost(), "probe_types", {
        "gte10": {"all": [{"x": {"$gte": {"v": 10}}}], "run": lambda c: fired.append("'9' >= 10")},
        "eq10": {"all": [{"x": {"w": 10}}], "run": lambda c: fired.append("'10' == 10")},
        "true": {"all": [{"x": {"t": True}}], "run": lambda c: fired.append("1 == True")},
    })
    run_batch(rs, [{"sid": "1", "v": "9", "n": 1}, {"sid": "1", "w": "10", "n": 2},
                   {"sid": "1", "t": 1, "n": 3}])
    report(fired=sorted(fired))


def twice() -> None:
    host = QuietHost()
    rules = {"r": {"all": [{"x": {"fact": "a"}}], "run": lambda c: None}}
    register(host, "probe_twice", json_copy(rules))
    try:
        register(host, "probe_twice", json_copy(rules))
    except Exception as exc:  # durable raises a bare Exception
        report(raised=str(exc))
    else:
        report(raised=None)


def json_copy(rules: dict) -> dict:
    return {k: dict(v, all=json.loads(json.dumps(v["all"]))) for k, v in rules.items()}


def delete_unfired() -> None:
    # No action ever fired in session 1: delete_state crashes the process.
    rs = register(QuietHost(), "probe_del", _two_rules([]))
    durable_rules_engine.assert_facts(rs._handle, json.dumps([{"sid": "1", "fact": "x", "n": 1}]))
    print("deleting", flush=True)
    rs.delete_state("1")
    report(survived=True)


def delete_queued() -> None:
    # Found here: an action that is queued but has not run yet is not enough either.
    rs = register(QuietHost(), "probe_del_q", _two_rules([]))
    durable_rules_engine.assert_facts(
        rs._handle, json.dumps([{"sid": "1", "fact": "__sentinel", "n": 0}]))
    print("deleting", flush=True)
    rs.delete_state("1")
    report(survived=True)


def delete_fired() -> None:
    fired: list = []
    rs = register(QuietHost(), "probe_del_ok", _two_rules(fired))
    run_batch(rs, [{"sid": "1", "fact": "__sentinel", "n": 0}])
    rs.delete_state("1")
    report(survived=True, fired=fired)


def sessions() -> None:
    rs = register(QuietHost(), "probe_sessions", _two_rules([]))
    for i in range(1100):
        try:
            run_batch(rs, [{"sid": str(i), "fact": "__sentinel", "n": 0}])
        except MemoryError:
            report(failed_at=i)
            return
    report(failed_at=None)


def batch_duplicate() -> None:
    # An identical fact inside one batch: code 2, the rest of the batch is still taken.
    fired: list = []
    rs = register(QuietHost(), "probe_batch_dup", _two_rules(fired))
    code, offset = durable_rules_engine.assert_facts(rs._handle, json.dumps([
        {"sid": "1", "fact": "__sentinel", "n": 0}, {"sid": "1", "fact": "a", "n": 1},
        {"sid": "1", "fact": "a", "n": 1}, {"sid": "1", "fact": "a", "n": 2}]))
    done: list = []
    rs.do_actions(offset, lambda e, _s: done.append(e))
    rs.delete_state("1")
    report(code=code, fired=sorted(fired, key=str))


def join17() -> None:
    rules = {"j": {"all": [{f"a{i}": {"fact": f"t{i}"}} for i in range(17)],
                   "run": lambda c: None}}
    rs = register(QuietHost(), "probe_join17", rules)
    try:
        run_batch(rs, [{"sid": "1", "fact": f"t{i}", "n": i} for i in range(17)])
    except Exception as exc:
        report(raised=str(exc))
    else:
        report(raised=None)


def shared_pattern() -> None:
    rules = {f"r{i}": {"all": [{"a": {"$and": [{"fact": "case"}, {"age": 77}]}}],
                       "run": lambda c: None} for i in range(300)}
    try:
        register(QuietHost(), "probe_shared", rules)
    except Exception as exc:
        report(raised=str(exc))
    else:
        report(raised=None)


def stale_ruleset() -> None:
    # After delete_ruleset the Host still lists the ruleset; using it is error 111.
    host = QuietHost()
    rs = register(host, "probe_stale", _two_rules([]))
    durable_rules_engine.delete_ruleset(rs._handle)
    listed = "probe_stale" in host._ruleset_directory
    try:
        run_batch(host.get_ruleset("probe_stale"), [{"sid": "1", "fact": "__sentinel", "n": 0}])
    except Exception as exc:
        report(still_listed=listed, raised=str(exc))
    else:
        report(still_listed=listed, raised=None)


def _counter(fired: list) -> object:
    # An action of one argument: durable-rules takes a two-argument one as asynchronous.
    return lambda c: fired.append(1)


def alpha_stack() -> None:
    # durable-rules follows the conditions one fact meets with a stack of 64 entries
    # (MAX_STACK_SIZE in events.c): 70 rules whose conditions differ and all hold for
    # the same fact fail the assert with error 303; 64 of them still work.
    host = QuietHost()
    out: dict = {}
    for count in (64, 70):
        fired: list = []
        rules: dict = {"sentinel": {"all": [{"s": {"fact": "__sentinel"}}],
                                    "run": lambda c: None}}
        for k in range(count):
            rules[f"r{k}"] = {"all": [{"x": {"$and": [{"fact": "t"}, {"$gt": {"v": -k - 1}}]}}],
                              "run": _counter(fired)}
        rs = register(host, f"probe_alpha_{count}", rules)
        try:
            run_batch(rs, [{"sid": "1", "fact": "__sentinel"}, {"sid": "1", "fact": "t", "v": 1}])
            out[str(count)] = len(fired)
        except Exception as exc:  # noqa: BLE001 - the probe reports it
            out[str(count)] = str(exc)
    report(**out)


if __name__ == "__main__":
    globals()[sys.argv[1]]()
