"""A clinic folder can extend the knowledge but never weaken a safety rule in silence.

knowledge/safety.toml marks what is safety-critical; disabling or replacing one
of those needs an explicit `[[overrides]]` entry, and every proposal made with
it carries a knowledge_override warning naming the ids.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from planwise.cli import main
from planwise.errors import KnowledgeError
from planwise.intake_io import intake_from_data
from planwise.kb import load_knowledge
from planwise.paths import shipped_knowledge_dir
from planwise.rules import recommend

HIGH_INTENT = {"schema": "planwise.intake/1", "date": "2026-11-29",
               "risk": {"ideation": "active", "intent": True}}

DISABLE_INTENT = '''
[[rules]]
id = "risk.level.high.intent"
stage = "severity"
source = "clinic"
says = "switched off"
when = [{ fact = "risk_answers", intent = true }]
then = [{ fact = "risk_level", level = "high" }]
enabled = false
'''

WEAKEN_INTENT = '''
[[rules]]
id = "risk.level.high.intent"
stage = "severity"
source = "clinic"
says = "intent is only moderate here"
when = [{ fact = "risk_answers", intent = true }]
then = [{ fact = "risk_level", level = "moderate" }]
'''

OVERRIDE = '''
[[overrides]]
id = "risk.level.high.intent"
reason = "our crisis team grades intent with its own protocol (policy 4.2)"
'''


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main(argv)
    out, err = capsys.readouterr()
    return (0 if exc.value.code is None else int(exc.value.code)), out + err


def clinic(tmp_path: Path, text: str, name: str = "clinic.toml") -> Path:
    folder = tmp_path / "clinic"
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(text)
    return folder


def test_disabling_a_safety_rule_without_an_override_is_refused(tmp_path: Path) -> None:
    folder = clinic(tmp_path, DISABLE_INTENT)
    with pytest.raises(KnowledgeError) as err:
        load_knowledge([folder])
    assert err.value.entry == "risk.level.high.intent"
    assert "clinic.toml" in str(err.value) and "[[overrides]]" in err.value.message
    assert "disables" in err.value.message


def test_replacing_a_safety_rule_without_an_override_exits_2(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = clinic(tmp_path, WEAKEN_INTENT)
    intake = tmp_path / "intake.json"
    intake.write_text(json.dumps(HIGH_INTENT))
    code, output = run(["recommend", str(intake), "--knowledge", str(folder)], capsys)
    assert code == 2
    assert "risk.level.high.intent" in output and "Traceback" not in output
    code, output = run(["knowledge", "check", str(folder)], capsys)
    assert code == 2 and "safety-critical" in output


def test_disabling_the_safety_plan_goal_is_refused(tmp_path: Path) -> None:
    goal = (shipped_knowledge_dir() / "risk.toml").read_text()
    start = goal.index('[[goals]]\nid = "suicide_risk.safety_plan"')
    end = goal.index("[[goals]]", start + 5)
    folder = clinic(tmp_path, goal[start:end] + "enabled = false\n")
    with pytest.raises(KnowledgeError, match="safety-critical goal suicide_risk.safety_plan"):
        load_knowledge([folder])


def test_raising_the_phq9_item9_threshold_is_refused(tmp_path: Path) -> None:
    text = (shipped_knowledge_dir() / "instruments" / "phq9.toml").read_text()
    weakened = text.replace('item = 9\nat_least = 1', 'item = 9\nat_least = 3')
    assert weakened != text
    folder = tmp_path / "clinic"
    (folder / "instruments").mkdir(parents=True)
    (folder / "instruments" / "phq9.toml").write_text(weakened)
    with pytest.raises(KnowledgeError, match="instrument phq9"):
        load_knowledge([folder])
    (folder / "overrides.toml").write_text(
        '[[overrides]]\nid = "instrument:phq9"\nreason = "a research protocol, ethics ref 12"\n')
    kb = load_knowledge([folder])
    assert [o[0] for o in kb.overrides] == ["instrument:phq9"]


def test_an_explicit_override_loads_and_every_proposal_says_so(tmp_path: Path) -> None:
    folder = clinic(tmp_path, WEAKEN_INTENT + OVERRIDE)
    kb = load_knowledge([folder])
    proposal = recommend(intake_from_data(HIGH_INTENT, kb), None, kb, "reference")
    assert proposal.risk.level == "moderate"  # the clinic's rule did what it says ...
    warning = next(w for w in proposal.warnings if w.kind == "knowledge_override")
    assert "risk.level.high.intent" in warning.message and "policy 4.2" in warning.message
    assert warning.because == ["engine.knowledge.override"]
    # ... and the shipped knowledge alone still calls intent high, with no such warning.
    shipped = load_knowledge()
    plain = recommend(intake_from_data(HIGH_INTENT, shipped), None, shipped, "reference")
    assert plain.risk.level == "high"
    assert "knowledge_override" not in {w.kind for w in plain.warnings}


def test_knowledge_check_lists_overrides_and_replacements(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    reworded = WEAKEN_INTENT.replace('level = "moderate"', 'level = "high"')
    folder = clinic(tmp_path, reworded + OVERRIDE + '''
[[rules]]
id = "depression.goals.severe"
stage = "plan"
source = "clinic"
says = "not here"
when = [{ fact = "problem", condition = "depression", severity = "severe" }]
then = [{ fact = "goal", goal = "depression.collaborative_care" }]
enabled = false
''')
    code, output = run(["knowledge", "check", str(folder)], capsys)
    assert code == 0, output
    assert "override: risk.level.high.intent (replaces" in output
    assert "policy 4.2" in output
    assert "replaced: depression.goals.severe" in output


def test_an_override_that_changes_nothing_is_refused(tmp_path: Path) -> None:
    folder = clinic(tmp_path, OVERRIDE)
    with pytest.raises(KnowledgeError, match="changes nothing safety-critical"):
        load_knowledge([folder])


def test_an_override_needs_a_reason(tmp_path: Path) -> None:
    folder = clinic(tmp_path, WEAKEN_INTENT + '[[overrides]]\nid = "risk.level.high.intent"\n')
    with pytest.raises(KnowledgeError, match="reason"):
        load_knowledge([folder])


def test_extending_the_knowledge_needs_no_override(tmp_path: Path) -> None:
    folder = clinic(tmp_path, '''
[[rules]]
id = "clinic.extra.assessment"
stage = "plan"
source = "clinic policy"
says = "we always give the K10"
when = [{ fact = "case" }]
then = [{ fact = "assessment", instrument = "k10", reason = "clinic routine" }]
''')
    kb = load_knowledge([folder])
    assert kb.overrides == [] and kb.replaced == []


def test_knowledge_check_fails_on_a_rule_chain_that_does_not_settle(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = clinic(tmp_path, '''
[[rules]]
id = "clinic.runaway"
stage = "warn"
source = "a typo"
says = "feeds itself"
when = [{ fact = "warning", as = "w" }]
then = [{ fact = "warning", kind = "missing_assessment", message = "{w.message}!" }]
''')
    code, output = run(["knowledge", "check", str(folder)], capsys)
    assert code == 2
    assert "does not settle" in output and "clinic.runaway" in output
    assert "case(s) of the case library failed" in output


def test_knowledge_check_fails_when_a_case_gets_less_safe(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Declared and reasoned, the override loads; the library still shows what it costs.
    folder = clinic(tmp_path, WEAKEN_INTENT + OVERRIDE)
    code, output = run(["knowledge", "check", str(folder)], capsys)
    assert code == 2
    assert "case safety_intent_high: safety outcome weaker: risk moderate, expected high" in output
