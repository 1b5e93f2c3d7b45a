"""What a trainee reads about risk and sequencing in `planwise explain`."""

from __future__ import annotations

import pytest

from planwise.explain import RISK_NOTE, explain
from planwise.intake_io import intake_from_data
from planwise.kb import load_knowledge
from planwise.rules import durable_available, evaluate

ENGINES = ["reference"] + (["durable"] if durable_available() else [])


@pytest.mark.parametrize("engine", ENGINES)
def test_explain_says_risk_is_a_formulation_and_why_work_waits(engine: str) -> None:
    kb = load_knowledge()
    scored = intake_from_data({
        "schema": "planwise.intake/1", "client": {"id": "C-9"},
        "risk": {"ideation": "active", "plan": True},
        "clinician": {"impressions": ["ptsd"]},
    }, kb)
    text = " ".join(explain(evaluate(scored, None, kb, engine), scored, kb).split())
    note = " ".join(RISK_NOTE.split())
    # Once, at the step where the level is reached, before any risk rule.
    assert text.count(note) == 1
    assert text.index("Step 1.") < text.index(note) < text.index("rule risk.level.high.plan")
    assert "not a prediction" in note and "NICE NG225" in note
    assert "rule sequence.defer.high_risk says" in text
    assert "wait until suicide risk has fallen below high and the safety plan is in use" in text
    assert "rule sequence.priority.suicide_risk says" in text
