"""Knowledge loading: every error names file, entry and line; overrides by id."""

from __future__ import annotations

from pathlib import Path

import pytest

from planwise.errors import KnowledgeError
from planwise.kb import load_knowledge
from planwise.kb.patterns import PatternError, Ref, parse_then, parse_when
from planwise.kb.quality import check_quality

GOOD_RULE = '''
[[rules]]
id = "clinic.extra"
stage = "plan"
source = "our clinic protocol"
says = "Depression gets the clinic's extra assessment."
when = [{ fact = "problem", condition = "depression" }]
then = [{ fact = "assessment", instrument = "k10", reason = "clinic protocol" }]
'''


def clinic(tmp_path: Path, text: str, name: str = "extra.toml") -> Path:
    folder = tmp_path / "clinic"
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(text)
    return folder


def test_shipped_knowledge_loads_and_passes_quality_checks() -> None:
    kb = load_knowledge()
    assert len(kb.rules) > 50
    assert check_quality(kb) == []


def test_a_clinic_rule_is_added(tmp_path: Path) -> None:
    kb = load_knowledge([clinic(tmp_path, GOOD_RULE)])
    assert kb.rule("clinic.extra") is not None
    assert kb.rule("clinic.extra").stage == "plan"  # type: ignore[union-attr]


def test_a_clinic_overrides_and_disables_by_id(tmp_path: Path) -> None:
    text = GOOD_RULE.replace("clinic.extra", "depression.treatment.mild") + "enabled = false\n"
    kb = load_knowledge([clinic(tmp_path, text)])
    assert kb.rule("depression.treatment.mild") is None
    assert "depression.treatment.mild" in kb.disabled


@pytest.mark.parametrize(
    ("change", "message", "field"),
    [
        (('fact = "problem"', 'fact = "problme"'), "unknown fact type", "when[0].fact"),
        (('condition = "depression"', 'condition = "depresion"'), "unknown condition",
         "when[0].condition"),
        (('instrument = "k10"', 'instrument = "k11"'), "unknown instrument", "then[0].instrument"),
        (('{ fact = "assessment", instrument = "k10", reason = "clinic protocol" }',
          '{ fact = "problem_found", condition = "depression" }'),
         "stage plan rules conclude only", "then[0].fact"),
        (('when = [{ fact = "problem", condition = "depression" }]',
          'when = [{ fact = "concern", name = "mood" }, '
          '{ fact = "goal", not = true, goal = "depression.activity" }]'),
         "negate only facts complete before it", "when[1]"),
        (('condition = "depression" }]', 'condition = { gte = "depression" } }]'),
         "compares numbers", "when[0].condition.gte"),
    ],
)
def test_broken_rule_names_file_rule_field_and_line(tmp_path: Path, change: tuple[str, str],
                                                    message: str, field: str) -> None:
    folder = clinic(tmp_path, GOOD_RULE.replace(*change))
    with pytest.raises(KnowledgeError) as err:
        load_knowledge([folder])
    exc = err.value
    assert message in exc.message
    assert exc.file and exc.file.endswith("extra.toml")
    assert exc.field == f"clinic.extra.{field}"
    assert exc.line is not None and 2 <= exc.line <= 9


def test_unknown_key_in_a_rule_is_refused_with_its_line(tmp_path: Path) -> None:
    folder = clinic(tmp_path, GOOD_RULE.replace('says =', 'sayz = "x"\nsays ='))
    with pytest.raises(KnowledgeError) as err:
        load_knowledge([folder])
    assert "unknown key" in err.value.message
    assert err.value.field == "clinic.extra.sayz"
    assert err.value.line == 6


def test_toml_syntax_error_has_a_line(tmp_path: Path) -> None:
    folder = clinic(tmp_path, GOOD_RULE.replace('stage = "plan"', 'stage = "plan'))
    with pytest.raises(KnowledgeError) as err:
        load_knowledge([folder])
    assert err.value.line == 4


def test_same_id_twice_in_one_folder_is_an_error(tmp_path: Path) -> None:
    folder = clinic(tmp_path, GOOD_RULE + GOOD_RULE)
    with pytest.raises(KnowledgeError, match="already used"):
        load_knowledge([folder])


def test_a_goal_with_an_unknown_modality_is_refused(tmp_path: Path) -> None:
    text = '''
[[goals]]
id = "clinic.goal"
condition = "depression"
text = "A goal"
source = "clinic"
interventions = [{ id = "clinic.goal.x", text = "Do it", modality = "hypnosis" }]
'''
    with pytest.raises(KnowledgeError, match="unknown modality") as err:
        load_knowledge([clinic(tmp_path, text)])
    assert err.value.line == 7


def test_quality_check_finds_rules_that_never_fire_and_vague_objectives(tmp_path: Path) -> None:
    text = GOOD_RULE.replace('{ fact = "problem", condition = "depression" }',
                             '{ fact = "problem", condition = "other" }, '
                             '{ fact = "goal", goal = "clinic.goal" }') + '''
[[goals]]
id = "clinic.goal"
condition = "depression"
text = "A goal"
source = "clinic"
objectives = [{ id = "clinic.goal.o", text = "Feel better", client_action = "Feel better", measure = "feels better", target_weeks = 4 }]
'''
    kb = load_knowledge([clinic(tmp_path, text)])
    kinds = {(f.kind, f.entry) for f in check_quality(kb)}
    assert ("never_fires", "clinic.extra") in kinds
    assert ("smart.S", "clinic.goal.o") in kinds
    assert ("smart.M", "clinic.goal.o") in kinds
    assert ("goal", "clinic.goal") in kinds  # no interventions


def test_quality_check_finds_conflicting_courses(tmp_path: Path) -> None:
    text = '''
[[rules]]
id = "clinic.depression.treatment.moderate"
stage = "plan"
source = "clinic"
says = "A different course."
when = [{ fact = "problem", condition = "depression", severity = "moderate" }]
then = [{ fact = "treatment_option", condition = "depression", sessions_min = 4, sessions_max = 6 }]
'''
    kb = load_knowledge([clinic(tmp_path, text)])
    assert any(f.kind == "conflict" for f in check_quality(kb))


def test_patterns_parse_refs_and_templates() -> None:
    patterns = parse_when([
        {"fact": "problem", "as": "p"},
        {"fact": "competency", "not": True, "condition": {"ref": "p.condition"}},
    ])
    assert patterns[1].negated and patterns[1].tests[0].value == Ref("p", "condition")
    conclusions = parse_then([{"fact": "warning", "kind": "out_of_scope",
                               "message": "{p.condition} is out"}], patterns)
    assert conclusions[0].values["message"] == "{p.condition} is out"
    with pytest.raises(PatternError, match="names no matched fact"):
        parse_then([{"fact": "warning", "kind": "x", "message": "{q.condition}"}], patterns)
    with pytest.raises(PatternError, match="first condition must be a positive"):
        parse_when([{"fact": "score", "not": True}])
    with pytest.raises(PatternError, match="is bool"):
        parse_when([{"fact": "case", "trauma": 1}])


def test_objective_and_intervention_ids_share_one_namespace(tmp_path: Path) -> None:
    text = '''
[[goals]]
id = "clinic.goal"
condition = "depression"
text = "A goal"
source = "clinic"
objectives = [{ id = "clinic.goal.x", text = "Walk", client_action = "Walk for 30 minutes a day", measure = "5 days a week", target_weeks = 4 }]
interventions = [{ id = "clinic.goal.x", text = "Encourage walking", modality = "behavioural_activation" }]
'''
    with pytest.raises(KnowledgeError, match="already used"):
        load_knowledge([clinic(tmp_path, text)])


def test_every_condition_meets_the_knowledge_standard() -> None:
    """Each condition: 3+ goals with 2+ objectives and 2+ interventions each, a course for
    every severity, a sourced way to establish the problem, and the guide's conditions all
    present."""
    kb = load_knowledge()
    contract = {"depression", "generalized_anxiety", "panic", "agoraphobia", "social_anxiety",
                "specific_phobia", "ptsd", "alcohol_use", "drug_use", "low_self_esteem",
                "employment", "anger", "schizophrenia", "schizoaffective", "bipolar_i",
                "bipolar_ii", "borderline_pd", "narcissistic_pd", "gambling",
                "problematic_internet_use", "child_behaviour", "other"}
    assert contract <= set(kb.vocab["conditions"])
    for condition in sorted(contract):
        goals = [g for g in kb.goals.values() if g.condition == condition]
        assert len(goals) >= 3, condition
        for g in goals:
            assert len(g.objectives) >= 2 and len(g.interventions) >= 2, g.id
        established = [r for r in kb.rules if r.stage == "problem" and any(
            c.fact == "problem_found" and c.values.get("condition") == condition
            for c in r.conclusions)]
        assert established, f"nothing establishes {condition}"
        courses = [r for r in kb.rules if any(
            c.fact == "treatment_option" and c.values.get("condition") == condition
            for c in r.conclusions)]
        severities: set[str] = set()
        for r in courses:
            for p in r.patterns:
                if p.fact == "problem" and not p.negated:
                    tested = [t for t in p.tests if t.attr == "severity"]
                    if not tested:
                        severities |= {"mild", "moderate", "severe"}
                    for t in tested:
                        severities |= set(t.value) if isinstance(t.value, tuple) else {t.value}
        assert severities >= {"mild", "moderate", "severe"}, (condition, severities)
