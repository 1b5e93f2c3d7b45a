"""The review stage on durable-rules: the guards of docs/engine.md hold, and one new trap.

Each probe runs in its own subprocess with a timeout (as in
tests/test_durable_guards.py), so a crash or a hang fails one test.

The new trap, found while adding the review's decimal attribute
(`feedback.latest_mean`): durable-rules finds 7.0 == 7, and a reference between
attributes of different types ('10' == 10) true, where the reference evaluator
(typed equality) does not. planwise's guard: the loader refuses equality tests
(eq, ne, in, not_in) on decimal attributes and equality references between
attributes of different types; order comparisons agree on both engines.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from planwise.errors import KnowledgeError
from planwise.kb import load_knowledge
from planwise.rules import durable_available

PROBES = Path(__file__).parent / "durable_probes"
TRAJECTORIES = Path(__file__).parent / "fixtures" / "trajectories"

needs_durable = pytest.mark.skipif(
    not durable_available(), reason="durable-rules does not import on this Python")


def run_code(code: str, timeout: float = 120) -> dict[str, Any]:
    try:
        proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=PROBES,
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        pytest.fail(f"probe hung for more than {timeout} s")
    assert proc.returncode == 0, f"exited with {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


@needs_durable
def test_raw_decimal_equality_and_cross_type_references_are_loose() -> None:
    out = run_code('''
        import json
        from _raw import QuietHost, register, run_batch
        fired = []
        rs = register(QuietHost(), "probe_decimal", {
            "s": {"all": [{"s": {"fact": "__s"}}], "run": lambda c: None},
            "feq": {"all": [{"x": {"$and": [{"fact": "f"}, {"m": 7}]}}],
                    "run": lambda c: fired.append("7.0 == 7")},
            "flt": {"all": [{"x": {"$and": [{"fact": "f"}, {"$lt": {"m": 7.5}}]}}],
                    "run": lambda c: fired.append("7.0 < 7.5")},
            "ref": {"all": [{"a": {"fact": "a"}},
                            {"b": {"$and": [{"fact": "b"}, {"k": {"a": "k"}}]}}],
                    "run": lambda c: fired.append("'10' == 10 by reference")},
        })
        run_batch(rs, [{"sid": "1", "fact": "__s", "n": 0}, {"sid": "1", "fact": "f", "m": 7.0, "n": 1},
                       {"sid": "1", "fact": "a", "k": "10", "n": 2},
                       {"sid": "1", "fact": "b", "k": 10, "n": 3}])
        rs.delete_state("1")
        print(json.dumps({"fired": sorted(fired)}))
    ''')
    assert out["fired"] == ["'10' == 10 by reference", "7.0 < 7.5", "7.0 == 7"]


def _clinic(tmp_path: Path, when: str, then: str | None = None) -> Path:
    folder = tmp_path / "clinic"
    folder.mkdir(exist_ok=True)
    then = then or '[{ fact = "change", kind = "review_alliance", reason = "x" }]'
    (folder / "review.toml").write_text(f'''
[[rules]]
id = "clinic.review.probe"
stage = "review"
source = "our clinic"
says = "A probe."
when = {when}
then = {then}
''')
    return folder


@pytest.mark.parametrize("when", [
    '[{ fact = "feedback", latest_mean = 7.0 }]',
    '[{ fact = "feedback", latest_mean = { ne = 7 } }]',
    '[{ fact = "feedback", latest_mean = { in = [7.0, 8.0] } }]',
])
def test_loader_refuses_equality_on_a_decimal(tmp_path: Path, when: str) -> None:
    with pytest.raises(KnowledgeError) as err:
        load_knowledge([_clinic(tmp_path, when)])
    assert err.value.entry == "clinic.review.probe"
    assert "decimal" in err.value.message


def test_loader_refuses_an_equality_reference_between_types(tmp_path: Path) -> None:
    when = ('[{ fact = "measure", as = "m" }, '
            '{ fact = "objective_progress", item = { ref = "m.sessions" } }]')
    with pytest.raises(KnowledgeError) as err:
        load_knowledge([_clinic(tmp_path, when)])
    assert "item is str but m.sessions is int" in err.value.message


def test_loader_accepts_order_comparisons_on_a_decimal(tmp_path: Path) -> None:
    kb = load_knowledge([_clinic(tmp_path, '[{ fact = "feedback", latest_mean = { lt = 7 } }]')])
    assert kb.rule("clinic.review.probe") is not None


@needs_durable
def test_decimal_order_tests_agree_on_both_engines(tmp_path: Path) -> None:
    folder = _clinic(tmp_path, '[{ fact = "feedback", latest_mean = { gt = 7.5, lte = 8 } }]',
                     '[{ fact = "change", kind = "review_alliance", reason = "mean {feedback.latest_mean}" }]')
    out = run_code(f'''
        import datetime as dt, json
        from planwise.clinical.course import Course
        from planwise.kb import load_knowledge
        from planwise.rules import review
        kb = load_knowledge([{str(folder)!r}])
        results = {{}}
        for mean in (10, 7):
            answers = {{"heard": mean, "mattered": 7, "approach": 7, "overall": 7}}
            course = Course(today=dt.date(2026, 1, 5), start_date=dt.date(2025, 12, 1),
                            feedback=[{{"session": 1, "answers": answers}}])
            for engine in ("durable", "reference"):
                r = review(course, kb, engine)
                results[f"{{mean}} {{engine}}"] = [c.reason for c in r.changes]
        print(json.dumps(results))
    ''')
    # A 10 makes the mean 7.75 (fires, and the reason reads it); a 7 makes it 7.0.
    assert out["10 durable"] == out["10 reference"] == ["mean 7.75"]
    assert out["7 durable"] == out["7 reference"] == []


@needs_durable
def test_many_reviews_delete_every_session_and_agree() -> None:
    """More reviews than durable's 1,024 live sessions per ruleset: each is deleted."""
    out = run_code(f'''
        import json, tomllib
        from pathlib import Path
        from planwise.clinical.course import Course
        from planwise.kb import load_knowledge
        from planwise.rules import backend_for, review
        kb = load_knowledge()
        courses = [Course.model_validate(tomllib.loads(p.read_text())["course"])
                   for p in sorted(Path({str(TRAJECTORIES)!r}).glob("*.toml"))]
        mismatches = 0
        for i in range(1200):
            course = courses[i % len(courses)]
            if review(course, kb, "durable") != review(course, kb, "reference"):
                mismatches += 1
        import durable_rules_engine
        stage = backend_for(kb, "durable").stages["review"]
        kept = durable_rules_engine.get_facts(stage.ruleset._handle, stage.kept)
        print(json.dumps({{"mismatches": mismatches, "live": stage.live, "kept": kept,
                           "opened": next(stage.sessions) - 1}}))
    ''', timeout=300)
    # One session, emptied after every review and used by the next (docs/engine.md).
    assert out == {"mismatches": 0, "live": 1, "kept": "[]", "opened": 1}


@needs_durable
def test_a_review_where_no_rule_fires_is_deleted_safely() -> None:
    out = run_code(f'''
        import json, tomllib
        from pathlib import Path
        from planwise.clinical.course import Course
        from planwise.kb import load_knowledge
        from planwise.rules import backend_for, evaluate_review
        kb = load_knowledge()
        path = Path({str(TRAJECTORIES)!r}) / "baseline_only.toml"
        course = Course.model_validate(tomllib.loads(path.read_text())["course"])
        for _ in range(50):
            run = evaluate_review(course, kb, "durable")
        backend = backend_for(kb, "durable")
        stage = backend.stages["review"]
        live = stage.live
        backend.close()  # deletes the session kept for the next review
        print(json.dumps({{"firings": len(run.memory.firings), "live": live,
                           "after_close": stage.live}}))
    ''')
    assert out == {"firings": 0, "live": 1, "after_close": 0}


@needs_durable
def test_review_ruleset_is_its_own_and_carries_the_gate() -> None:
    """One ruleset per stage: the review's holds only review rules, each gated."""
    out = run_code('''
        import json
        from planwise.kb import load_knowledge
        from planwise.rules import backend_for
        from planwise.rules.durable_backend import GATE_ALIAS, GATE_GROUP, compile_rule
        kb = load_knowledge()
        backend = backend_for(kb, "durable")
        review = backend.stages["review"]
        # The first pattern waits for the gate fact of the rule's group (GATE_GROUP rules
        # to a group: docs/engine.md).
        gated = all(compile_rule(r, i // GATE_GROUP)["all"][0] == {
                        GATE_ALIAS: {"$and": [{"fact": "__gate"}, {"g": i // GATE_GROUP}]}}
                    for i, r in enumerate(kb.rules_in("review")))
        others = {s: sorted(set(st.rules) & set(review.rules)) for s, st in backend.stages.items()
                  if s != "review"}
        print(json.dumps({"rules": sorted(review.rules), "gated": gated,
                          "shared": {s: v for s, v in others.items() if v},
                          "reads_change": "change" in review.types}))
    ''')
    kb = load_knowledge()
    assert out["rules"] == sorted(r.id for r in kb.rules_in("review"))
    assert out["gated"] and out["shared"] == {}
    # No review rule reads `change`, so derived changes are never asserted back.
    assert out["reads_change"] is False
