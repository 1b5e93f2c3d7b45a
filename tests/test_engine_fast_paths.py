"""The engine's fast paths (issue 12, the engine per intake and its cold build) give what
the plain ones gave: what durable-rules is sent of a fact, a rule's conclusions from
their parsed templates, the trace's order, the facts' briefs, and a build that leaves
the garbage collector as it found it."""

from __future__ import annotations

import gc
import json
import random
import sys
from pathlib import Path
from typing import Any

import pytest

from planwise.facts import make_fact
from planwise.intake_io import intake_from_data
from planwise.kb import load_knowledge
from planwise.kb.patterns import Ref, fill
from planwise.rules import durable_available, evaluate
from planwise.rules.describe import brief
from planwise.rules.memory import Firing, Memory, fire_rule, trace

ROOT = Path(__file__).parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
from intakes import random_intake  # noqa: E402

needs_durable = pytest.mark.skipif(
    not durable_available(), reason="durable-rules does not import on this Python")


def _clinic(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "clinic.toml").write_text(text)
    return folder


@needs_durable
def test_durable_is_sent_every_attribute_a_rule_of_the_stage_reads() -> None:
    from planwise.rules.durable_backend import DurableBackend

    kb = load_knowledge()
    backend = DurableBackend(kb)
    try:
        checked = 0
        for name, stage in backend.stages.items():
            for rule in kb.rules_in(name):
                types = {p.alias: p.fact for p in rule.patterns}
                for p in rule.patterns:
                    for t in p.tests:
                        assert t.attr in stage.batch.send[p.fact][0], (rule.id, p.alias, t.attr)
                        if isinstance(t.value, Ref):
                            owner = types[t.value.alias]
                            assert t.value.attr in stage.batch.send[owner][0], (rule.id, t.value)
                        checked += 1
        assert checked > 500
        # ... and nothing else: a case fact in the plan stage carries only those.
        plan = backend.stages["plan"]
        case = dict(make_fact("case", age=40), n=1)
        payload = plan.batch.payload(case, "7")
        assert payload is not None
        assert set(payload) == {"sid", "fact", "n", "u", *plan.batch.send["case"][0]}
        assert set(payload) < {"sid", "u", *case}
        # A fact no pattern of the stage could take by its eq/in values is not sent.
        assert plan.batch.payload(dict(make_fact("concern", name="no_such_concern"), n=2), "7") \
            is None
    finally:
        backend.close()


def test_facts_only_rules_that_cannot_fire_would_take_are_not_sent() -> None:
    """The warn stage's interventions are read only by two rules that also need
    `case.profile`: without a therapist profile none is sent, with one they are."""
    from planwise.models.profile import Profile
    from planwise.rules.batch import StageBatch

    kb = load_knowledge()
    batch = StageBatch(kb.rules_in("warn"))
    assert set(batch.few["intervention"]) and len(batch.few["intervention"]) <= 2
    data = {"schema": "planwise.intake/1", "risk": {"ideation": "none"},
            "clinician": {"impressions": ["depression"]}}
    profile = Profile.model_validate({"therapist": {"name": "T", "modalities": ["cbt"],
                                                    "competencies": ["depression"]}})
    sent = {}
    for label, who in (("without", None), ("with", profile)):
        memory = evaluate(intake_from_data(data, kb), who, kb, "reference").memory
        facts = list(memory.facts.values())
        assert any(f["fact"] == "intervention" for f in facts)
        sent[label] = [f["fact"] for f in batch.facts(facts, "1")]
    assert "intervention" not in sent["without"] and "case" in sent["without"]
    assert "intervention" in sent["with"]


@pytest.mark.parametrize("engine", ["reference"] + (["durable"] if durable_available()
                                                     else []))
def test_a_reference_to_an_attribute_only_another_pattern_reads(
        tmp_path: Path, engine: str) -> None:
    # No rule of the warn stage tests `problem.basis`: durable-rules needs it all the
    # same, for the `k` pattern's test against it.
    folder = _clinic(tmp_path / "clinic", '''
[[rules]]
id = "clinic.basis_beside"
stage = "warn"
source = "test"
says = "A concern beside a problem's basis."
when = [
  { fact = "problem", as = "p", condition = "depression" },
  { fact = "concern", as = "k", name = { ne = { ref = "p.basis" } } },
]
then = [{ fact = "warning", kind = "missing_assessment", message = "{p.basis} beside {k.name}" }]
''')
    kb = load_knowledge([folder])
    if engine == "durable":
        from planwise.rules.backends import backend_for

        assert "basis" in backend_for(kb, "durable").stages["warn"].batch.send["problem"][0]
    data = {"schema": "planwise.intake/1", "risk": {"ideation": "none"},
            "screening": {"concerns": ["anxiety"]},
            "clinician": {"impressions": ["depression"]}}
    proposal = evaluate(intake_from_data(data, kb), None, kb, engine).proposal
    assert proposal is not None
    assert [w.message for w in proposal.warnings if " beside " in w.message] == [
        "clinician beside anxiety"]


def _plain_conclusion(conclusion: Any, bound: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """What a conclusion gave before its templates were parsed once: make_fact + fill."""
    return make_fact(conclusion.fact, **fill(conclusion.values, bound))


def test_conclusions_from_parsed_templates_are_those_of_fill() -> None:
    from planwise.kb.loader import CompiledRule
    from planwise.kb.patterns import Conclusion, Pattern

    rule = CompiledRule.__new__(CompiledRule)
    object.__setattr__(rule, "patterns", (Pattern("case", "c", False, ()),
                                          Pattern("problem", "p", False, ())))
    object.__setattr__(rule, "conclusions", (
        Conclusion("warning", {"kind": "age_mismatch", "subject": "{p.condition}",
                               "message": "{p.condition} at {c.age}, {p.severity}!"}),
        Conclusion("treatment_option", {"condition": "{p.condition}",
                                        "modalities": ["cbt", "ba"], "sessions_min": 8}),
        Conclusion("warning", {"kind": "x", "message": "braces { but no template }"}),
    ))
    object.__setattr__(rule, "index", 3)

    class Entry:
        id = "test.templates"

    object.__setattr__(rule, "entry", Entry())
    memory = Memory()
    facts = {}
    for alias, fact in (("c", make_fact("case", age=33)),
                        ("p", make_fact("problem", condition="panic", severity="mild"))):
        n, _ = memory.add(fact)
        facts[alias] = memory.facts[n]
    new = fire_rule(memory, rule, facts)
    want = [_plain_conclusion(c, facts) for c in rule.conclusions]
    assert [{k: v for k, v in f.items() if k != "n"} for f in new] == want
    assert new[0]["message"] == "panic at 33, mild!"
    # No fact shares a list with the knowledge or with another firing's fact.
    again = Memory()
    for f in facts.values():
        again.add({k: v for k, v in f.items() if k != "n"})
    other = fire_rule(again, rule, facts)
    assert other[1]["modalities"] == ["cbt", "ba"]
    assert other[1]["modalities"] is not new[1]["modalities"]
    assert rule.conclusions[1].values["modalities"] is not new[1]["modalities"]
    assert memory.firings[0].rule == "test.templates" and memory.firings[0].rule_index == 3


def _plain_canonical(memory: Memory, order: dict[str, int]) -> list[Firing]:
    """The trace's order as it was: one sort over stage, depth, rule and facts' content."""
    def content(n: int) -> str:
        return json.dumps({k: v for k, v in memory.facts[n].items() if k != "n"},
                          sort_keys=True)

    return sorted(memory.firings, key=lambda f: (order[f.stage], f.depth, f.rule_index,
                                                 [content(n) for n in f.matched]))


@pytest.mark.parametrize("engine", ["reference"] + (["durable"] if durable_available()
                                                     else []))
def test_the_trace_order_is_that_of_one_sort_over_everything(engine: str) -> None:
    from planwise.facts import STAGES

    kb = load_knowledge()
    rng = random.Random(12)
    order = {s: i for i, s in enumerate(STAGES)}
    ties = 0
    for _ in range(60):
        ev = evaluate(intake_from_data(random_intake(kb, rng), kb), None, kb, engine)
        mem = ev.memory
        assert mem.canonical_firings(order) == _plain_canonical(mem, order)
        keys = [(f.stage, f.depth, f.rule_index) for f in mem.firings]
        ties += len(keys) - len(set(keys))
    assert ties > 20  # firings of one rule at one depth, ordered by their facts


def test_briefs_kept_by_content_are_those_of_each_fact() -> None:
    memory = Memory()
    for fact in (make_fact("case", age=40, minor=False), make_fact("case", age=12, minor=True),
                 make_fact("score", instrument="phq9", total=16, band="moderately_severe"),
                 make_fact("treatment_option", condition="panic", modalities=["cbt"])):
        memory.add(fact)
    for n in memory.facts:
        memory.firings.append(Firing("r", "plan", n, [n], [], 0))
    first = trace(memory, ("plan",))
    assert [e["matched"][0] for e in first] == [brief(f) for f in memory.facts.values()]
    assert first[1]["matched"] == ["case(age=12, minor=true)"]
    # The same content again, in another evaluation: the same brief.
    other = Memory()
    other.add(make_fact("score", instrument="phq9", total=16, band="moderately_severe"))
    other.firings.append(Firing("r", "plan", 0, [1], [], 0))
    assert trace(other, ("plan",))[0]["matched"] == [first[2]["matched"][0]]


@needs_durable
def test_building_the_durable_backend_leaves_the_collector_as_it_was(tmp_path: Path) -> None:
    from planwise.errors import EngineError
    from planwise.rules import durable_backend

    kb = load_knowledge()
    assert gc.isenabled()
    durable_backend.DurableBackend(kb).close()
    assert gc.isenabled()
    gc.disable()
    try:
        durable_backend.DurableBackend(kb).close()
        assert not gc.isenabled()  # not switched on behind the caller's back
    finally:
        gc.enable()
    # A build that fails still switches it back on.
    broken = durable_backend.compile_rule
    def fails(rule: Any, group: int = 0) -> dict[str, Any]:
        raise ValueError("a rule that cannot be compiled")

    durable_backend.compile_rule = fails
    try:
        with pytest.raises(EngineError):
            durable_backend.DurableBackend(kb)
    finally:
        durable_backend.compile_rule = broken
    assert gc.isenabled()
