"""Review rules in the knowledge base: the stage's facts and outputs, checks, clinic rules."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from planwise.clinical.course import Course
from planwise.clinical.progress import change_class_of as change_class
from planwise.clinical.progress import classify
from planwise.clinical.review_facts import describe_fact, progress_facts
from planwise.errors import InputError, KnowledgeError
from planwise.facts import FACT_TYPES, REVIEW_BASE_TYPES, make_fact
from planwise.kb import load_knowledge
from planwise.kb.quality import check_quality
from planwise.rules import review

REVIEW_RULE = '''
[[rules]]
id = "clinic.review.k10"
stage = "review"
source = "our clinic's protocol: a psychiatry review for deterioration on any measure"
says = "Any measure reliably worse: refer to psychiatry."
when = [{ fact = "measure", change_class = "reliably_deteriorated" }]
then = [{ fact = "change", kind = "refer", subject = "{measure.instrument}", item = "psychiatry", urgency = "urgent", reason = "The {measure.name} is reliably worse." }]
'''


def clinic(tmp_path: Path, text: str) -> Path:
    folder = tmp_path / "clinic"
    folder.mkdir(exist_ok=True)
    (folder / "review.toml").write_text(text)
    return folder


def _course(**extra: object) -> Course:
    base: dict[str, object] = {"today": dt.date(2026, 1, 26), "start_date": dt.date(2025, 12, 1),
                               "sessions_used": 8, "problems": {"depression": "moderate"}}
    base.update(extra)
    return Course.model_validate(base)


def test_shipped_review_rules_load_and_pass_the_quality_checks() -> None:
    kb = load_knowledge()
    assert len(kb.rules_in("review")) >= 20
    assert all(r.entry.source for r in kb.rules_in("review"))
    assert check_quality(kb) == []
    assert kb.primary_measures["depression"] == "phq9"
    assert kb.risk_flags["phq9"] == frozenset({"item9_positive"})


@pytest.mark.parametrize(("old", "new", "message", "field"), [
    # a review rule reads only progress facts, and concludes only changes
    ('{ fact = "measure", change_class = "reliably_deteriorated" }',
     '{ fact = "measure" }, { fact = "score", instrument = "phq9" }',
     "score facts do not exist yet in stage review", "when[1].fact"),
    ('then = [{ fact = "change"', 'then = [{ fact = "warning", kind = "session_limit", '
     'message = "x" }, { fact = "change"', "stage review rules conclude only change",
     "then[0].fact"),
    # vocabulary of the change and of the progress facts
    ('kind = "refer"', 'kind = "refer_out"', "unknown change_kind 'refer_out'", "then[0].kind"),
    ('item = "psychiatry"', 'item = "psychiatrist"', "refer: unknown referral kinds",
     "then[0].item"),
    ('urgency = "urgent"', 'urgency = "whenever"', "unknown urgencies 'whenever'",
     "then[0].urgency"),
    ('urgency = "urgent", ', '', "a refer change needs an urgency", "then[0]"),
    ('item = "psychiatry", ', '', "a refer change needs an item", "then[0]"),
    ('change_class = "reliably_deteriorated"', 'change_class = "worse"',
     "unknown change_classe 'worse'", "when[0].change_class"),
    ('change_class = "reliably_deteriorated"', 'change_class = "no_reliable_change", '
     'remission = "maybe"', "unknown yes_no_unknown 'maybe'", "when[0].remission"),
    ('change_class = "reliably_deteriorated"', 'instrument = "phq10"',
     "unknown instrument 'phq10'", "when[0].instrument"),
    # `not` only on facts complete before the stage: never on `change`
    ('when = [{ fact = "measure", change_class = "reliably_deteriorated" }]',
     'when = [{ fact = "measure" }, { fact = "change", not = true, kind = "refer" }]',
     "`not` on change facts in stage review", "when[1]"),
])
def test_loader_checks_review_rules(tmp_path: Path, old: str, new: str, message: str,
                                    field: str) -> None:
    assert old in REVIEW_RULE
    with pytest.raises(KnowledgeError) as err:
        load_knowledge([clinic(tmp_path, REVIEW_RULE.replace(old, new, 1))])
    assert err.value.entry == "clinic.review.k10"
    assert message in err.value.message, err.value.message
    assert err.value.field == f"clinic.review.k10.{field}"
    assert err.value.line is not None


@pytest.mark.parametrize(("kind", "item", "message"), [
    ("step_up_care", "hospital", "step_up_care: unknown levels of care 'hospital'"),
    ("step_up_frequency", "9", "step_up_frequency: unknown frequencies '9'"),
    ("change_intervention", "yoga", "change_intervention: unknown modalities 'yoga'"),
    ("add_intervention", "no.such.intervention", "unknown interventions"),
    ("revise_objective", "drop", "unknown objective revisions 'drop'"),
])
def test_a_change_item_must_be_what_its_kind_names(tmp_path: Path, kind: str, item: str,
                                                   message: str) -> None:
    text = REVIEW_RULE.replace('kind = "refer"', f'kind = "{kind}"').replace(
        'item = "psychiatry"', f'item = "{item}"')
    with pytest.raises(KnowledgeError) as err:
        load_knowledge([clinic(tmp_path, text)])
    assert message in err.value.message


def test_a_proposal_rule_cannot_read_progress_facts_nor_conclude_a_change(tmp_path: Path
                                                                          ) -> None:
    reads = REVIEW_RULE.replace('stage = "review"', 'stage = "warn"')
    with pytest.raises(KnowledgeError, match="measure facts do not exist yet in stage warn"):
        load_knowledge([clinic(tmp_path, reads)])
    concludes = REVIEW_RULE.replace('stage = "review"', 'stage = "plan"').replace(
        '{ fact = "measure", change_class = "reliably_deteriorated" }',
        '{ fact = "problem", condition = "depression" }').replace(
        'subject = "{measure.instrument}", ', '').replace("The {measure.name}", "It")
    with pytest.raises(KnowledgeError, match="stage plan rules conclude only"):
        load_knowledge([clinic(tmp_path, concludes)])


def test_durable_limits_apply_to_review_rules(tmp_path: Path) -> None:
    patterns = ", ".join(f'{{ fact = "modality", as = "m{i}", name = "cbt" }}' for i in range(17))
    text = REVIEW_RULE.replace(
        'when = [{ fact = "measure", change_class = "reliably_deteriorated" }]',
        f"when = [{patterns}]").replace('subject = "{measure.instrument}", ', '').replace(
        "The {measure.name} is reliably worse.", "x")
    with pytest.raises(KnowledgeError, match="at most 16 facts"):
        load_knowledge([clinic(tmp_path, text)])


@pytest.mark.parametrize(("text", "message"), [
    ('[primary_measures]\ndepression = "phq10"\n', "unknown instrument 'phq10'"),
    ('[primary_measures]\nsadness = "phq9"\n', "unknown condition 'sadness'"),
    ('[risk_flags]\nphq9 = ["item8_positive"]\n', "phq9 has no flag 'item8_positive'"),
])
def test_review_measures_are_checked(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(KnowledgeError) as err:
        load_knowledge([clinic(tmp_path, text)])
    assert message in err.value.message


def test_a_clinic_overrides_a_primary_measure(tmp_path: Path) -> None:
    kb = load_knowledge([clinic(tmp_path, '[primary_measures]\ndepression = "k10"\n')])
    assert kb.primary_measures["depression"] == "k10"
    assert kb.primary_measures["generalized_anxiety"] == "gad7"


def test_a_clinic_adds_and_disables_review_rules_in_toml(tmp_path: Path) -> None:
    disable = '''
[[rules]]
id = "review.deteriorated.frequency"
stage = "review"
source = "x"
says = "x"
when = [{ fact = "course" }]
then = [{ fact = "change", kind = "review_alliance", reason = "x" }]
enabled = false
'''
    kb = load_knowledge([clinic(tmp_path, REVIEW_RULE + disable)])
    course = _course(sessions_used=4, measures=[{"instrument": "phq9", "points": [
        {"date": "2025-12-01", "total": 10}, {"date": "2025-12-29", "total": 17, "session": 4}]}])
    for engine in ("reference", "durable"):
        r = review(course, kb, engine)
        ids = [c.id for c in r.changes]
        assert "refer:phq9:psychiatry" in ids
        assert not [c for c in r.changes if c.kind == "step_up_frequency"]
        refer = next(c for c in r.changes if c.kind == "refer")
        assert refer.urgency == "urgent" and refer.reason == "The PHQ-9 is reliably worse."
        assert refer.because == ["clinic.review.k10"]


def test_change_class_agrees_with_classify_on_every_total() -> None:
    kb = load_knowledge()
    for inst in kb.instruments.values():
        totals = range(inst.min_total, inst.max_total + 1)
        for b in totals:
            for c in totals:
                assert change_class(inst, b, c) == classify(inst, b, c).change_class, (
                    inst.id, b, c)


def test_progress_facts_are_complete_and_typed() -> None:
    kb = load_knowledge()
    course = _course(
        session_limit=10, modalities=["cbt"], referrals=["psychiatry"],
        objectives=[{"key": "o1", "goal": "g", "target_date": "2026-01-05", "ratings": [2]}],
        measures=[{"instrument": "phq9", "points": [
            {"date": "2025-12-01", "total": 16},
            {"date": "2026-01-26", "total": 14, "session": 8, "flags": ["item9_positive"]}]}],
        feedback=[{"session": 8, "answers": {"heard": 9, "mattered": 8, "approach": 8,
                                              "overall": 8}}])
    facts = progress_facts(course, kb)
    assert {f["fact"] for f in facts} == REVIEW_BASE_TYPES
    for f in facts:
        schema = FACT_TYPES[f["fact"]]
        assert set(f) == {"fact", *schema}
        for attr, spec in schema.items():
            assert type(f[attr]) is spec.type, (f["fact"], attr)
        words = describe_fact(f, kb)
        assert words.endswith(".") and "{" not in words and "_" not in words.split(":")[0]
    by = {f["fact"]: f for f in facts}
    assert by["course"]["sessions_left"] == 2 and by["course"]["weeks_in"] == 8
    assert by["measure"]["sessions"] == 8 and by["measure"]["change_class"] == "no_reliable_change"
    assert by["measure"]["response"] == "no" and by["measure"]["risk_flag"] is True
    assert by["objective_progress"]["overdue"] is True
    assert by["objective_progress"]["weeks_overdue"] == 3
    assert by["risk_signal"]["reemerged"] is True and by["risk_signal"]["session"] == 8
    assert by["feedback"]["latest_mean"] == 8.25 and by["feedback"]["low"] is False


def test_an_unknown_instrument_in_a_course_names_the_field() -> None:
    kb = load_knowledge()
    course = _course(measures=[{"instrument": "phq10", "points": [
        {"date": "2025-12-01", "total": 16}]}])
    with pytest.raises(InputError) as err:
        progress_facts(course, kb)
    assert err.value.field == "measures.phq10"


def test_describe_fact_in_words() -> None:
    kb = load_knowledge()
    measure = make_fact("measure", instrument="phq9", name="PHQ-9", condition="depression",
                        primary=True, baseline=16, latest=14, improvement=2,
                        change_class="no_reliable_change", response="no", remission="no",
                        sessions=8, points=3)
    assert describe_fact(measure, kb) == (
        "PHQ-9 (primary measure of depression): 16 at baseline, 14 now, 8 sessions later "
        "(3 totals): 2 points better, no reliable change; response no, remission no.")
    course = make_fact("course", sessions_used=9, session_limit=10, sessions_left=1, weeks_in=9,
                       weeks_since_review=9, open_objectives=2)
    assert describe_fact(course).startswith(
        "Plan version 1: 9 sessions used of 10 authorised (1 left); week 9;")
    assert describe_fact(make_fact("referral_made", kind="psychiatry")) == (
        "The plan already refers to psychiatry.")


def test_a_clinic_feedback_form_is_refused_not_ignored(tmp_path: Path) -> None:
    (tmp_path / "feedback.toml").write_text("low_below = 5\n")
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge([tmp_path])
    assert "cannot replace the end-of-session feedback form" in str(caught.value)
    assert str(tmp_path / "feedback.toml") in str(caught.value)
