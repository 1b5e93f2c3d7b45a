"""The bundled examples the README points to: each gives a proposal, same on both engines."""

from __future__ import annotations

from pathlib import Path

import pytest

from planwise.intake_io import load_intake, load_profile
from planwise.kb import load_knowledge
from planwise.rules import durable_available, recommend

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
INTAKES = sorted(p for p in EXAMPLES.glob("*.toml") if not p.name.startswith("profile"))


def test_examples_exist() -> None:
    assert len(INTAKES) >= 4


@pytest.mark.parametrize("path", INTAKES, ids=[p.stem for p in INTAKES])
def test_example_gives_a_plan_on_both_engines(path: Path) -> None:
    kb = load_knowledge()
    scored = load_intake(str(path), kb)
    profile = load_profile(str(EXAMPLES / "profile-trainee.toml"), kb)
    reference = recommend(scored, profile, kb, "reference")
    assert reference.problems and reference.treatment is not None
    if durable_available():
        assert recommend(scored, profile, kb, "durable") == reference


def test_ptsd_example_stabilises_first_and_warns() -> None:
    kb = load_knowledge()
    p = recommend(load_intake(str(EXAMPLES / "ptsd-trauma.toml"), kb), None, kb, "reference")
    ptsd = next(x for x in p.problems if x.condition == "ptsd")
    assert ptsd.goals[0].id == "ptsd.stabilisation"
    assert "trauma_caution" in {w.kind for w in p.warnings}


def test_schizophrenia_example_gets_ips_and_housing_help() -> None:
    kb = load_knowledge()
    p = recommend(load_intake(str(EXAMPLES / "schizophrenia-work.toml"), kb), None, kb,
                  "reference")
    kinds = {r.kind for r in p.referrals}
    assert {"ips_employment", "community_services", "psychiatry"} <= kinds
