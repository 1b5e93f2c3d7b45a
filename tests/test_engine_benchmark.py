"""benchmarks/engine.py's generated knowledge (`--knowledge-scale N`, also used by
benchmarks/growth.py): N times the shipped rules, which the loader accepts and which
conclude what the shipped knowledge concludes."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path
from typing import Any

from planwise.intake_io import intake_from_data
from planwise.kb import load_knowledge
from planwise.models.proposal import Proposal
from planwise.rules import recommend

ROOT = Path(__file__).parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
import engine as bench  # noqa: E402


def test_five_times_the_knowledge_loads_and_concludes_the_same(tmp_path: Path) -> None:
    shipped = load_knowledge()
    written = bench.clinic_copies(5, tmp_path / "scaled")
    assert written == 4 * len(shipped.rules)
    kb = load_knowledge([tmp_path / "scaled"])
    assert len(kb.rules) == 5 * len(shipped.rules)
    assert {r.id for r in kb.rules} >= {f"scale4.{r.id}" for r in shipped.rules}
    for stage in dict.fromkeys(r.stage for r in shipped.rules):
        assert len(kb.rules_in(stage)) == 5 * len(shipped.rules_in(stage))
    case = tomllib.loads((ROOT / "tests/fixtures/cases/depression_severe_low_risk.toml")
                        .read_text())["intake"]
    one = recommend(intake_from_data(case, shipped), None, shipped, "reference")
    five = recommend(intake_from_data(case, kb), None, kb, "reference")

    def outcome(p: Proposal) -> tuple[Any, ...]:
        return (p.risk.level, [(x.condition, x.severity, [g.id for g in x.goals])
                               for x in p.problems], p.treatment and p.treatment.sessions)

    assert outcome(five) == outcome(one)
    # Every copy fires beside its original, so it is named beside it.
    assert five.risk.because and all(
        any(b == f"scale{k}.{r}" for b in five.risk.because)
        for r in one.risk.because if not r.startswith("engine.") for k in range(1, 5))
