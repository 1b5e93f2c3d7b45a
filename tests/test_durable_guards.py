"""durable-rules 2.0.28's traps, and planwise's guard against each.

Every test runs its probe in a subprocess (tests/durable_probes/), with a
timeout: a probe that segfaults, runs out of sessions or hangs fails one test
instead of taking pytest down. `raw_traps.py` shows durable-rules' own
behaviour (some modes crash on purpose); `planwise_guards.py` shows that
planwise's guard holds. The table in docs/engine.md maps each trap to its guard
and to the tests here.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from planwise.facts import FACT_TYPES
from planwise.rules import durable_available

PROBES = Path(__file__).parent / "durable_probes"
SRC = Path(__file__).parent.parent / "src" / "planwise"
SEGFAULT = -11

needs_durable = pytest.mark.skipif(
    not durable_available(), reason="durable-rules does not import on this Python")


def run_probe(script: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run([sys.executable, str(PROBES / script), *args], cwd=PROBES,
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{script} {' '.join(args)} hung for more than {timeout} s")


def probe(script: str, *args: str, timeout: float = 60) -> dict[str, Any]:
    """Run a probe that must exit normally; its last line of output, as JSON."""
    proc = run_probe(script, *args, timeout=timeout)
    assert proc.returncode == 0, (
        f"{script} {' '.join(args)} exited with {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def raw(mode: str, timeout: float = 30) -> dict[str, Any]:
    return probe("raw_traps.py", mode, timeout=timeout)


def guard(mode: str, *args: str, timeout: float = 60) -> dict[str, Any]:
    return probe("planwise_guards.py", mode, *args, timeout=timeout)


def clinic(folder: Path, rules: list[dict[str, Any]] | str) -> Path:
    """A clinic knowledge folder with these rules (dicts, or TOML text)."""
    folder.mkdir(parents=True, exist_ok=True)
    if isinstance(rules, str):
        text = rules
    else:
        text = "\n".join(_rule_toml(r) for r in rules)
    (folder / "clinic.toml").write_text(text)
    return folder


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(value)


def _rule_toml(rule: dict[str, Any]) -> str:
    full = {"source": "test", "says": "A generated rule.", **rule}
    return "[[rules]]\n" + "".join(f"{k} = {_toml_value(v)}\n" for k, v in full.items())


def _severity_rule(rid: str, when: list[dict[str, Any]]) -> dict[str, Any]:
    return {"id": rid, "stage": "severity", "when": when,
            "then": [{"fact": "risk_level", "level": "none"}]}


# -- durable.lang drops conditions; it keeps a hidden host --------------------------

@needs_durable
def test_raw_lang_decorators_drop_conditions() -> None:
    # `(m.a == 1) and (m.b >= 10)` keeps only `m.b >= 10`; `10 <= m.v < 20` only `v < 20`.
    assert raw("lang_and")["fired"] == ["both", "between"]


@needs_durable
def test_raw_lang_keeps_one_hidden_host_with_timer_threads() -> None:
    out = raw("lang_global_host")
    assert out["same_host"] and out["after"] > out["before"]


def test_only_the_rules_package_imports_durable() -> None:
    pattern = re.compile(r"^\s*(import|from)\s+durable(_rules_engine)?\b", re.M)
    outside = [str(p.relative_to(SRC)) for p in SRC.rglob("*.py")
               if pattern.search(p.read_text()) and p.parent.name != "rules"]
    assert outside == []
    assert pattern.search((SRC / "rules" / "durable_backend.py").read_text())  # not vacuous
    lang = [str(p.relative_to(SRC)) for p in SRC.rglob("*.py")
            if re.search(r"^\s*(import\s+durable\.lang|from\s+durable\.lang\s+import"
                         r"|from\s+durable\s+import\s+.*\blang\b)", p.read_text(), re.M)]
    assert lang == []


@needs_durable
def test_planwise_never_imports_durable_lang_and_starts_no_threads() -> None:
    out = guard("imports")
    assert out["engine"] and not out["lang"]
    assert out["threads_after"] == out["threads_before"]


# -- every Host starts timer threads -------------------------------------------------

@needs_durable
def test_raw_host_starts_timer_threads_quiet_host_does_not() -> None:
    out = raw("host_threads")
    assert out["after_quiet"] == out["before"]
    assert out["after_host"] > out["after_quiet"]


# -- deleting a session in which nothing fired crashes ------------------------------

@needs_durable
def test_raw_delete_state_without_a_firing_crashes() -> None:
    proc = run_probe("raw_traps.py", "delete_unfired", timeout=30)
    assert proc.returncode != 0 and "deleting" in proc.stdout and "survived" not in proc.stdout


@needs_durable
def test_raw_delete_state_with_an_action_only_queued_crashes() -> None:
    # Found here: the sentinel must have *run*, not merely matched, before delete_state.
    proc = run_probe("raw_traps.py", "delete_queued", timeout=30)
    assert proc.returncode != 0 and "deleting" in proc.stdout and "survived" not in proc.stdout


@needs_durable
def test_raw_delete_state_after_a_firing_is_safe() -> None:
    assert raw("delete_fired") == {"survived": True, "fired": ["s"]}


@needs_durable
@pytest.mark.parametrize("reuse", ["fresh", "reuse"])
def test_session_where_no_knowledge_rule_fires_is_deleted_safely(reuse: str) -> None:
    out = guard("no_firing", reuse)
    assert out["silent"], "expected a stage in which no knowledge rule fires"
    # A new session per stage is deleted at once; a kept one when the backend closes.
    assert set(out["live"]) == ({0} if reuse == "fresh" else {1})
    assert set(out["live_after_close"]) == {0}


# -- more than 1,024 live sessions ----------------------------------------------------

@needs_durable
def test_raw_more_than_1024_live_sessions_is_a_memory_error() -> None:
    assert raw("sessions")["failed_at"] == 1024


@needs_durable
def test_1100_evaluations_delete_every_session_and_agree() -> None:
    # 1,100: past durable-rules' 1,024 live sessions a ruleset, so sessions left behind
    # would be a MemoryError here, not only a count.
    out = guard("many", "fresh", "1100", timeout=120)
    assert out["runs"] == 1100 and out["max_live"] == 0 and out["differ"] == 0
    assert out["sessions_opened"] >= 1101 * 3 and out["kept"] == []


@needs_durable
def test_1100_evaluations_reuse_one_emptied_session_per_stage_and_agree() -> None:
    # Creating a session costs durable-rules as much as the stage's work; planwise
    # retracts every fact it asserted and keeps the session for the next evaluation.
    out = guard("many", "reuse", "1100", timeout=120)
    assert out["runs"] == 1100 and out["differ"] == 0
    assert out["max_live"] == 1
    # One session per stage the proposal runs, ever; durable holds no fact between runs.
    assert out["kept"] == ["[]"] * out["sessions_opened"] and 5 <= out["sessions_opened"]


@needs_durable
def test_concurrent_evaluations_share_a_ruleset_safely() -> None:
    out = guard("threads")
    assert out["errors"] == [] and out["differ"] == 0 and out["max_live"] <= 1


# -- a fact meeting more than 64 conditions at once -----------------------------------

@needs_durable
def test_raw_fact_meeting_more_than_64_conditions_is_error_303() -> None:
    out = raw("alpha_stack")
    assert out["64"] == 64  # every rule fired
    assert "error code: 303" in out["70"]


@needs_durable
def test_a_fact_meeting_more_than_64_conditions_is_an_engine_error_naming_the_stage(
        tmp_path: Path) -> None:
    # Found here with the knowledge at three times its size (benchmarks/engine.py
    # --knowledge-scale 3): not caught by the loader, so the engine says what it is.
    rules = [{"id": f"clinic.wide{k}", "stage": "plan",
              "when": [{"fact": "case", "age": {"gt": -k - 2}}],
              "then": [{"fact": "warning", "kind": "missing_assessment", "message": "always"}]}
             for k in range(70)]
    out = guard("alpha_stack", str(clinic(tmp_path / "clinic", rules)))
    assert out["errors"] == 50
    assert "stage plan" in out["message"] and "more than 64" in out["message"]
    assert "--engine reference" in out["message"]
    assert out["reference_warnings"] == 1  # 70 rules, one warning by content
    assert out["live"] <= 1  # each failed session was drained and deleted


# -- identical facts; facts nobody reads ------------------------------------------------

@needs_durable
def test_raw_identical_fact_again_is_message_observed() -> None:
    assert raw("duplicate")["raised"] == "MessageObservedException"


@needs_durable
def test_raw_fact_no_rule_uses_is_message_not_handled() -> None:
    assert raw("not_handled")["raised"] == "MessageNotHandledException"


@needs_durable
def test_raw_identical_fact_in_a_batch_is_code_2_and_the_rest_is_kept() -> None:
    assert raw("batch_duplicate") == {"code": 2, "fired": [1, 2, "s"]}


@needs_durable
def test_message_observed_is_retried_under_a_new_u_then_an_engine_error() -> None:
    out = guard("retry")
    assert out["once"] == [0, 1]  # failed once, accepted with u bumped
    assert out["always"] == [0, 1, 2]
    assert "already seen" in out["always_raised"]
    assert out["unhandled"] == [0]  # MessageNotHandledException: expected, not retried
    assert out["other_type"] == []  # a type no rule of the stage reads is not asserted
    assert out["original_u"] is False  # the caller's fact is not mutated


@needs_durable
def test_a_batch_durable_reports_as_already_seen_is_an_engine_error() -> None:
    proc = run_probe("planwise_guards.py", "batch_duplicate", timeout=30)
    assert proc.returncode == 0, f"exit {proc.returncode}: {proc.stderr[-300:]}"
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["raised"] > 0 and "already seen" in out["message"]


# -- exceptions inside actions are swallowed ---------------------------------------------

@needs_durable
def test_raw_action_exception_is_swallowed() -> None:
    out = raw("action_swallowed")
    assert out["do_actions_errors"] == [None]  # do_actions reports no error
    assert "division by zero" in out["host_state_exception"]  # only the state has it


@needs_durable
def test_exception_in_a_rule_action_is_an_engine_error() -> None:
    out = guard("action_error")
    assert out["raised"]["type"] == "EngineError", out
    assert "raised inside a rule action" in out["raised"]["message"]
    assert out["raised"]["cause"] == "ZeroDivisionError"
    assert set(out["live"]) == {0} and out["still_works"]
    assert all(facts == "[]" for facts in out["kept"])


# -- `$not` judged when the join completes -------------------------------------------------

NOT_RULE = [{
    "id": "clinic.no_depression_concern", "stage": "plan",
    # case (n=1) reaches the engine before the concern (n=2): the unlucky order.
    "when": [{"fact": "case"}, {"fact": "concern", "not": True, "name": "depression"}],
    "then": [{"fact": "warning", "kind": "missing_assessment",
              "message": "no depression concern"}],
}]


@needs_durable
def test_raw_not_is_judged_too_early_without_the_gate() -> None:
    assert raw("not_early")["fired"] == ["fired"]
    assert raw("not_gated")["fired"] == []


@needs_durable
def test_gate_makes_not_agree_with_the_reference(tmp_path: Path) -> None:
    out = guard("not_gate", str(clinic(tmp_path / "k", NOT_RULE)))
    assert "no depression concern" in out["absent_durable"]
    assert "no depression concern" not in out["present_durable"]
    assert out["absent_durable"] == out["absent_reference"]
    assert out["present_durable"] == out["present_reference"]


@needs_durable
def test_without_the_gate_durable_would_fire_the_not_rule(tmp_path: Path) -> None:
    out = guard("not_gate_removed", str(clinic(tmp_path / "k", NOT_RULE)))
    assert "no depression concern" in out["durable"]
    assert "no depression concern" not in out["reference"]


def test_loader_refuses_not_on_facts_of_the_same_stage(tmp_path: Path) -> None:
    rule = {"id": "clinic.not_same_stage", "stage": "plan",
            "when": [{"fact": "case"}, {"fact": "goal", "not": True}],
            "then": [{"fact": "warning", "kind": "missing_assessment", "message": "x"}]}
    out = guard("load", str(clinic(tmp_path / "k", [rule])))
    assert out["raised"] == "KnowledgeError" and out["entry"] == "clinic.not_same_stage"
    assert "negate only facts complete before" in out["message"]


# -- loose typing; reserved attribute names ------------------------------------------------

@needs_durable
def test_raw_loose_typing() -> None:
    assert raw("coercion")["fired"] == ["'10' == 10", "'9' >= 10", "1 == True"]


def test_intake_accepts_only_typed_values() -> None:
    out = guard("typed")
    assert all(out["rejected"].values()), out["rejected"]
    assert out["accepted"] == [9, 12]


def test_no_fact_type_has_an_id_or_sid_attribute() -> None:
    for fact, attrs in FACT_TYPES.items():
        assert not {"id", "sid"} & set(attrs), fact


@pytest.mark.parametrize("where", ["when", "then"])
@pytest.mark.parametrize("attr", ["id", "sid"])
def test_loader_refuses_id_and_sid(tmp_path: Path, where: str, attr: str) -> None:
    rule = {"id": f"clinic.reserved_{attr}_{where}", "stage": "plan",
            "when": [{"fact": "case"}],
            "then": [{"fact": "warning", "kind": "missing_assessment", "message": "x"}]}
    rule[where][0][attr] = "x"
    out = guard("load", str(clinic(tmp_path / "k", [rule])))
    assert out["raised"] == "KnowledgeError", out
    assert out["entry"] == rule["id"] and repr(attr) in out["message"]


# -- structural limits ------------------------------------------------------------------------

@needs_durable
def test_raw_join_of_17_facts_fails_at_run_time() -> None:
    assert "304" in raw("join17")["raised"]


@needs_durable
def test_raw_300_rules_sharing_one_condition_fail() -> None:
    assert "108" in raw("shared_pattern")["raised"]


PAIR_RULE = {
    "id": "clinic.pair", "stage": "warn", "source": "probe", "says": "two problems",
    "when": [{"fact": "problem", "as": "a"}, {"fact": "problem", "as": "b"}],
    "then": [{"fact": "warning", "kind": "missing_assessment",
              "message": "pair {a.condition}-{b.condition}"}]}


@needs_durable
def test_one_fact_never_fills_two_patterns_of_a_rule(tmp_path: Path) -> None:
    out = guard("pairs", str(clinic(tmp_path / "k", [PAIR_RULE])))
    # Found here: the reference evaluator bound one problem to both patterns
    # (depression-depression); durable-rules never does.
    assert out["durable"] == out["reference"] == ["pair depression-panic",
                                                  "pair panic-depression"]


NOT_OTHER_RULE = {
    "id": "clinic.not_other", "stage": "warn", "source": "probe", "says": "no other moderate",
    "when": [{"fact": "problem", "as": "a"},
             {"fact": "problem", "not": True, "severity": "moderate"}],
    "then": [{"fact": "warning", "kind": "missing_assessment", "message": "pair {a.condition}"}]}


@needs_durable
def test_a_not_pattern_ignores_the_facts_bound_before_it(tmp_path: Path) -> None:
    out = guard("pairs", str(clinic(tmp_path / "k", [NOT_OTHER_RULE])))
    # depression (moderate) and panic (mild): only depression has no *other* moderate
    # problem. Found here: the reference evaluator counted depression against itself.
    assert out["durable"] == out["reference"] == ["pair depression"]


RUNAWAY_RULE = {
    "id": "clinic.runaway", "stage": "warn", "source": "probe", "says": "feeds itself",
    "when": [{"fact": "warning", "as": "w"}],
    "then": [{"fact": "warning", "kind": "missing_assessment", "message": "{w.message}!"}]}


@needs_durable
def test_a_rule_chain_that_does_not_settle_stops_with_the_rule_named(tmp_path: Path) -> None:
    out = guard("runaway", str(clinic(tmp_path / "k", [RUNAWAY_RULE])), timeout=120)
    for engine in ("durable", "reference"):
        assert out[engine] is not None, engine
        assert "does not settle" in out[engine] and "clinic.runaway" in out[engine]


@needs_durable
def test_a_stage_of_600_rules_builds_and_agrees_through_gate_groups(tmp_path: Path) -> None:
    # The gate pattern is in every rule, so without gate groups a stage of more
    # than about 256 rules could not be built (error 108), whatever its rules say.
    rules = [{"id": f"clinic.many{i}", "stage": "plan", "source": "probe", "says": "probe",
              "when": [{"fact": "score", "instrument": "phq9", "total": {"gte": i % 27}}],
              "then": [{"fact": "assessment", "instrument": "gad7", "reason": f"probe {i}"}]}
             for i in range(400)]
    out = guard("many_rules", str(clinic(tmp_path / "k", rules)), timeout=240)
    assert out["rules"] > 500
    assert out["agree"] is True and out["assessments"] >= 1


def test_loader_refuses_more_than_16_patterns(tmp_path: Path) -> None:
    when = [{"fact": "case", "as": f"c{i}"} for i in range(17)]
    out = guard("load", str(clinic(tmp_path / "k", [_severity_rule("clinic.join17", when)])))
    assert out["raised"] == "KnowledgeError" and out["entry"] == "clinic.join17"
    assert "16" in out["message"]


def test_loader_accepts_16_patterns(tmp_path: Path) -> None:
    when = [{"fact": "case", "as": f"c{i}"} for i in range(16)]
    out = guard("load", str(clinic(tmp_path / "k", [_severity_rule("clinic.join16", when)])))
    assert out["raised"] is None


def test_loader_refuses_more_than_200_rules_sharing_a_condition(tmp_path: Path) -> None:
    when = [{"fact": "case", "age": 77, "housing": "unstable"}]
    rules = [_severity_rule(f"clinic.shared.r{i}", when) for i in range(201)]
    out = guard("load", str(clinic(tmp_path / "k", rules)))
    assert out["raised"] == "KnowledgeError" and out["entry"] == "clinic.shared.r200"
    assert "200" in out["message"]


def test_loader_refuses_more_than_500_tests_on_one_attribute(tmp_path: Path) -> None:
    rules = [_severity_rule(f"clinic.tests.r{i}", [{"fact": "case", "age": {"gte": i}}])
             for i in range(501)]
    out = guard("load", str(clinic(tmp_path / "k", rules)))
    assert out["raised"] == "KnowledgeError", out
    assert out["entry"].startswith("clinic.tests.r") and "case.age" in out["message"]


# -- registering a name twice; reloading ---------------------------------------------------------

@needs_durable
def test_raw_same_ruleset_name_twice_fails() -> None:
    assert "already registered" in raw("twice")["raised"]


@needs_durable
def test_raw_deleted_ruleset_stays_listed_in_its_host() -> None:
    out = raw("stale_ruleset")
    assert out["still_listed"] and "111" in out["raised"]


@needs_durable
def test_six_reloads_build_new_rulesets_and_delete_old_ones(tmp_path: Path) -> None:
    folder = tmp_path / "k"
    folder.mkdir()
    out = guard("reload", str(folder), "6")
    assert out["all_fired"]  # every version's rule is the one that ran
    assert out["unique"] == out["names"]  # a new name per knowledge version
    assert out["closed"] == 5  # every replaced backend was closed ...
    assert out["deleted"] == 5 * out["stages_last"]  # ... and its rulesets deleted


@needs_durable
def test_reloads_do_not_accumulate_rulesets_in_the_host(tmp_path: Path) -> None:
    folder = tmp_path / "k"
    folder.mkdir()
    out = guard("reload", str(folder), "3")
    assert out["host_listed"] <= out["stages_last"] + 1
