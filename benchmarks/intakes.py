"""Random but valid intakes, for benchmarks and property tests."""

from __future__ import annotations

import random
from typing import Any

from planwise.kb.loader import KnowledgeBase


def random_answers(kb: KnowledgeBase, inst_id: str, rng: random.Random) -> Any:
    inst = kb.instruments[inst_id]
    if inst.kind == "asq":
        keys = [i.key for i in inst.items if i.key]
        return {k: rng.random() < 0.25 for k in keys}
    if inst.kind == "mdq":
        return {"symptoms": [rng.random() < 0.5 for _ in range(13)],
                "same_period": rng.random() < 0.5,
                "impairment": rng.choice(["none", "minor", "moderate", "serious"])}
    return [rng.choice(inst.allowed_values(i.number)) for i in inst.items]


def random_intake(kb: KnowledgeBase, rng: random.Random) -> dict[str, Any]:
    conditions = [c for c, e in kb.vocab["conditions"].items() if e.intake]
    concerns = list(kb.vocab["concerns"]) + conditions
    instruments = rng.sample(sorted(kb.instruments), rng.randint(1, 5))
    data: dict[str, Any] = {
        "schema": "planwise.intake/1",
        "client": {"age": rng.randint(8, 80)},
        "screening": {"concerns": rng.sample(concerns, rng.randint(1, 3))},
        "instruments": {i: random_answers(kb, i, rng) for i in instruments},
        "clinician": {"impressions": rng.sample(conditions, rng.randint(0, 2))},
        "history": {"trauma": rng.random() < 0.3,
                    "withdrawal_complications": rng.random() < 0.1},
        "context": {"session_limit": rng.choice([6, 12, 20, 30]),
                    "employment": rng.choice(["employed", "unemployed", "student",
                                              "unable_to_work"]),
                    "housing": rng.choice(["stable", "unstable"])},
    }
    if rng.random() < 0.7:
        data["risk"] = {"ideation": rng.choice(["none", "none", "passive", "active"]),
                        "method": rng.random() < 0.1, "intent": rng.random() < 0.05,
                        "plan": rng.random() < 0.05,
                        "behaviour": rng.choice(["none", "none", "none", "past", "recent"])}
    return data
