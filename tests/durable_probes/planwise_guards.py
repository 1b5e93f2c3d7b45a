"""planwise's guards against durable-rules' traps: `python planwise_guards.py MODE [DIR]`.

Run only in a subprocess (tests/test_durable_guards.py does), so that a guard
that fails by crashing the interpreter fails one test, not the test run.
Each mode prints one JSON object as its last line of output.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import tomllib
from pathlib import Path
from typing import Any

from planwise.errors import EngineError, InputError, KnowledgeError
from planwise.intake_io import intake_from_data
from planwise.kb import load_knowledge
from planwise.rules import backend_for, evaluate

CASES = Path(__file__).resolve().parent.parent / "fixtures" / "cases"
EMPTY = {"schema": "planwise.intake/1"}


def report(**values: Any) -> None:
    print(json.dumps(values, default=repr))
    sys.stdout.flush()


def _case(name: str = "depression_severe_low_risk") -> dict[str, Any]:
    return tomllib.loads((CASES / f"{name}.toml").read_text())["intake"]


def _dump(evaluation: Any) -> dict[str, Any]:
    return evaluation.proposal.model_dump(mode="json")


def imports() -> None:
    kb = load_knowledge()
    scored = intake_from_data(_case(), kb)
    backend_for(kb, "durable")  # builds the rulesets (and the Host)
    before = threading.active_count()
    evaluate(scored, None, kb, "durable")
    evaluate(scored, None, kb, "durable")
    report(lang="durable.lang" in sys.modules, engine="durable.engine" in sys.modules,
           threads_before=before, threads_after=threading.active_count())


def no_firing(reuse: str = "reuse") -> None:
    from planwise.rules import durable_backend

    durable_backend.REUSE_SESSIONS = reuse == "reuse"
    kb = load_knowledge()
    evaluation = evaluate(intake_from_data(EMPTY, kb), None, kb, "durable")
    fired = {f.stage for f in evaluation.memory.firings}
    silent = sorted(s for s in evaluation.backend.stages if s not in fired)
    from planwise.facts import STAGES

    # The proposal's stages (a review's stage is a ruleset a proposal never runs).
    stages = [s for name, s in evaluation.backend.stages.items() if name in STAGES]
    live = [s.live for s in stages]
    evaluation.backend.close()  # deletes the sessions kept for the next evaluation
    report(silent=silent, live=live, live_after_close=[s.live for s in stages])


def kept_facts(stages: Any) -> list[str]:
    """What durable-rules still holds in each session kept between evaluations."""
    import durable_rules_engine

    return [durable_rules_engine.get_facts(s.ruleset._handle, s.kept)
            for s in stages if s.kept is not None]


def many(reuse: str = "reuse", runs: str = "1100") -> None:
    # More evaluations than the 1,024 live sessions durable-rules allows a ruleset (the
    # raw probe `sessions`): a stage that kept its sessions would run out before the end.
    from planwise.rules import durable_backend

    durable_backend.REUSE_SESSIONS = reuse == "reuse"
    kb = load_knowledge()
    scored = intake_from_data(_case(), kb)
    first = evaluate(scored, None, kb, "durable")
    expected = _dump(first)
    stages = first.backend.stages.values()
    max_live, differ = 0, 0
    for _ in range(int(runs)):
        evaluation = evaluate(scored, None, kb, "durable")
        max_live = max([max_live, *(s.live for s in stages)])
        differ += _dump(evaluation) != expected
    report(runs=int(runs), max_live=max_live, differ=differ,
           sessions_opened=sum(next(s.sessions) - 1 for s in stages),
           stages=len(stages), kept=kept_facts(stages))


def threads() -> None:
    # Four threads evaluating at once on one ruleset: the lock keeps one session live.
    kb = load_knowledge()
    scored = intake_from_data(_case(), kb)
    first = evaluate(scored, None, kb, "durable")
    expected, stages = _dump(first), list(first.backend.stages.values())
    errors: list[str] = []
    seen = {"max_live": 0, "differ": 0}

    def work() -> None:
        try:
            for _ in range(100):
                evaluation = evaluate(scored, None, kb, "durable")
                seen["differ"] += _dump(evaluation) != expected
                seen["max_live"] = max([seen["max_live"], *(s.live for s in stages)])
        except BaseException as exc:  # noqa: BLE001
            errors.append(repr(exc))

    workers = [threading.Thread(target=work) for _ in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    report(errors=errors, **seen)


def action_error() -> None:
    from planwise.rules.pipeline import Evaluation

    kb = load_knowledge()
    scored = intake_from_data(_case(), kb)
    backend = backend_for(kb, "durable")
    evaluation = Evaluation(kb, backend)

    def broken(rule: Any, bound: Any) -> Any:
        raise ZeroDivisionError("raised inside a rule action")

    evaluation._derive = broken  # type: ignore[method-assign]
    try:
        evaluation.run(scored, None)
    except EngineError as exc:
        raised = {"type": "EngineError", "message": str(exc),
                  "cause": type(exc.__cause__).__name__}
    except BaseException as exc:  # noqa: BLE001 - the probe reports what escaped
        raised = {"type": type(exc).__name__, "message": str(exc)}
    else:
        raised = None
    live = [s.live for s in backend.stages.values()]
    after = evaluate(scored, None, kb, "durable")  # the engine is still usable
    report(raised=raised, live=live, still_works=after.proposal is not None,
           kept=kept_facts(backend.stages.values()))


def not_gate(folder: str) -> None:
    kb = load_knowledge([folder])
    out: dict[str, Any] = {}
    for label, concerns in (("absent", []), ("present", ["anxiety", "depression"])):
        scored = intake_from_data(dict(EMPTY, screening={"concerns": concerns}), kb)
        for engine in ("durable", "reference"):
            proposal = evaluate(scored, None, kb, engine).proposal
            out[f"{label}_{engine}"] = [w.message for w in proposal.warnings]
    report(**out)


def not_gate_removed(folder: str) -> None:
    # The same rule with the gate pattern left out: durable judges `not` too early.
    from planwise.rules import durable_backend

    durable_backend.compile_rule = lambda rule, group=0: {
        "all": [durable_backend.compile_pattern(p) for p in rule.patterns]}
    kb = load_knowledge([folder])
    scored = intake_from_data(dict(EMPTY, screening={"concerns": ["anxiety", "depression"]}), kb)
    out = {e: [w.message for w in evaluate(scored, None, kb, e).proposal.warnings]
           for e in ("durable", "reference")}
    report(**out)


def many_rules(folder: str) -> None:
    # A stage with far more than 256 rules: every rule's gate pattern would be one
    # shared condition (error 108 at build); gate groups keep each under the limit.
    kb = load_knowledge([folder])
    scored = intake_from_data(_case(), kb)
    out = {e: _dump(evaluate(scored, None, kb, e)) for e in ("durable", "reference")}
    report(rules=len(kb.rules_in("plan")), agree=out["durable"] == out["reference"],
           assessments=len(out["durable"]["assessments"]))


def pairs(folder: str) -> None:
    kb = load_knowledge([folder])
    scored = intake_from_data(dict(EMPTY, risk={"ideation": "none"},
                                   clinician={"impressions": ["depression", "panic"],
                                              "severity": {"panic": "mild"}}), kb)
    report(**{e: sorted(w.message for w in evaluate(scored, None, kb, e).proposal.warnings
                        if w.message.startswith("pair "))
              for e in ("durable", "reference")})


def runaway(folder: str) -> None:
    # A rule that feeds itself through a template: each firing derives a new fact.
    kb = load_knowledge([folder])
    scored = intake_from_data(_case(), kb)
    out: dict[str, Any] = {}
    for engine in ("durable", "reference"):
        try:
            evaluate(scored, None, kb, engine)
            out[engine] = None
        except EngineError as exc:
            out[engine] = str(exc)
    report(**out)


def reload(folder: str, count: str = "20") -> None:
    import durable_rules_engine

    from planwise.rules import durable_backend

    deleted: list[int] = []
    real_delete = durable_rules_engine.delete_ruleset

    def spy(handle: int) -> None:
        deleted.append(handle)
        real_delete(handle)

    durable_rules_engine.delete_ruleset = spy
    rule_file = Path(folder) / "clinic.toml"
    names: list[str] = []
    backends: list[Any] = []
    results: list[bool] = []
    for i in range(int(count)):
        rule_file.write_text(_reload_rule(i))
        os.utime(rule_file, (1_000_000 + i, 1_000_000 + i))  # a new mtime: reloaded
        kb = load_knowledge([folder])
        scored = intake_from_data(dict(EMPTY, screening={"concerns": ["depression"]}), kb)
        evaluation = evaluate(scored, None, kb, "durable")
        backends.append(evaluation.backend)
        names += [s.name for s in evaluation.backend.stages.values()]
        results.append(f"reload {i}" in [w.message for w in evaluation.proposal.warnings])
    host = durable_backend.DurableBackend._host
    report(names=len(names), unique=len(set(names)), deleted=len(deleted),
           closed=sum(not b.stages for b in backends), all_fired=all(results),
           stages_last=len(backends[-1].stages),
           host_listed=len(host._ruleset_directory) if host else 0)


def _reload_rule(i: int) -> str:
    return f'''
[[rules]]
id = "clinic.reload"
stage = "warn"
source = "test"
says = "Version {i}."
when = [{{ fact = "concern", name = "depression" }}]
then = [{{ fact = "warning", kind = "missing_assessment", message = "reload {i}" }}]
'''


def retry() -> None:
    from planwise.rules.durable_backend import _Stage

    stage = _Stage.__new__(_Stage)
    stage.types = {"warning"}

    class Assert:
        """durable's answer to each assert: `code` for the first `failures`, then 0."""

        def __init__(self, failures: int, code: int) -> None:
            self.failures, self.code, self.seen = failures, code, []

        def __call__(self, fact: dict[str, Any]) -> int:
            self.seen.append(fact["u"])
            return self.code if len(self.seen) <= self.failures else 0

    fact = {"fact": "warning", "n": 7, "kind": "x"}
    once = Assert(1, 2)  # 2: MessageObserved (already seen)
    stage._assert_in_action(once, dict(fact))
    always = Assert(99, 2)
    try:
        stage._assert_in_action(always, dict(fact))
        always_raised = None
    except EngineError as exc:
        always_raised = str(exc)
    unhandled = Assert(99, 1)  # 1: MessageNotHandled
    stage._assert_in_action(unhandled, dict(fact))
    other = Assert(0, 0)
    stage._assert_in_action(other, {"fact": "goal", "n": 8})
    report(once=once.seen, always=always.seen, always_raised=always_raised,
           unhandled=unhandled.seen, other_type=other.seen, original_u="u" in fact)


def batch_duplicate() -> None:
    # Two facts durable takes as identical in one stage's batch (what a 32-bit hash
    # collision looks like): durable answers code 2 and planwise should raise EngineError,
    # and stay usable. Repeated, since what it corrupts does not always crash at once.
    from planwise.facts import make_fact

    kb = load_knowledge()
    scored = intake_from_data(_case(), kb)
    backend = backend_for(kb, "durable")
    case = dict(make_fact("case"), n=1)
    print("running", flush=True)
    raised: list[str] = []
    # On a fresh ruleset, plan first: the order in which it aborted most often here.
    order = sorted(backend.stages, key=lambda s: s != "plan")
    for _ in range(5):
        for stage in order:
            try:
                backend.run_stage(stage, [case, dict(case)], lambda rule, bound: [])
            except EngineError as exc:
                raised.append(str(exc))
            for _ in range(5):
                evaluate(scored, None, kb, "durable")
    report(raised=len(raised), message=raised[0] if raised else None)


def alpha_stack(folder: str) -> None:
    # A clinic folder whose plan stage has 70 rules with differing conditions that one
    # `case` fact meets at once: durable-rules' error 303 must come out as an
    # EngineError naming the stage, the reference must still answer, and the failing
    # evaluations must not leave sessions behind.
    kb = load_knowledge([folder])
    scored = intake_from_data(_case(), kb)
    backend = backend_for(kb, "durable")
    errors: list[str] = []
    for _ in range(50):
        try:
            evaluate(scored, None, kb, "durable")
        except EngineError as exc:
            errors.append(str(exc))
    reference = evaluate(scored, None, kb, "reference").proposal
    assert reference is not None
    report(errors=len(errors), message=errors[0] if errors else None,
           reference_warnings=sum(w.message == "always" for w in reference.warnings),
           live=max(s.live for s in backend.stages.values()))


def typed() -> None:
    kb = load_knowledge()
    out = {}
    bad = {
        "age_str": {"client": {"age": "9"}},
        "age_bool": {"client": {"age": True}},
        "limit_str": {"context": {"session_limit": "12"}},
        "limit_bool": {"context": {"session_limit": False}},
        "intent_int": {"risk": {"intent": 1}},
        "intent_str": {"risk": {"intent": "true"}},
    }
    for label, part in bad.items():
        try:
            intake_from_data(dict(EMPTY, **part), kb)
            out[label] = None
        except InputError as exc:
            out[label] = str(exc)
    ok = intake_from_data(dict(EMPTY, client={"age": 9}, context={"session_limit": 12}), kb)
    report(rejected=out, accepted=[ok.intake.client.age, ok.intake.context.session_limit])


def load(folder: str) -> None:
    try:
        load_knowledge([folder])
    except KnowledgeError as exc:
        report(raised="KnowledgeError", entry=exc.entry, message=exc.message, text=str(exc))
    except BaseException as exc:  # noqa: BLE001
        report(raised=type(exc).__name__, text=str(exc))
    else:
        report(raised=None)


if __name__ == "__main__":
    globals()[sys.argv[1]](*sys.argv[2:])
