"""`planwise recommend --format text|markdown` and `planwise explain` show the whole-plan
reasoning: problems in priority order, the screen-only mark, goals' phases and deferrals."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from planwise.cli import cli
from planwise.kb import load_knowledge
from planwise.kb.loader import KnowledgeBase
from planwise.render import render_proposal
from tests.whole_plan import UNTIL, proposal, write_case


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return load_knowledge()


def _problem_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if re.match(r"\d+\. ", line)]


def test_text_numbers_problems_by_priority_and_marks_screen_only(kb: KnowledgeBase) -> None:
    p = proposal()
    p.problems.reverse()              # listed out of order: the priority decides
    text = render_proposal(p, kb, "text")
    assert "PROBLEMS (in the order the plan addresses them)" in text
    assert _problem_lines(text) == [
        "1. Suicide risk (severe)",
        "2. Post-traumatic stress (moderate)  [screen and concern]",
        "3. Depression (moderate)  [screen only: confirm or reject]",
    ]


def test_text_shows_goal_phases_and_deferral_with_its_rules(kb: KnowledgeBase) -> None:
    text = render_proposal(proposal(), kb, "text")
    assert "Goal (stabilise): Keep the client safe" in text
    assert "Goal (maintain): Keep the gains" in text
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if "Process the trauma memory" in line)
    assert "Goal (treat): Process the trauma memory" in lines[at]
    assert lines[at + 1].strip() == ("deferred until suicide risk is no longer high "
                                     "(rules: risk.defer.trauma)")
    # A goal that starts with the plan has no deferral line.
    at = next(i for i, line in enumerate(lines) if "Manage flashbacks" in line)
    assert "deferred" not in lines[at + 1]
    for kind in ("unconfirmed_screen", "risk_conflict", "course_overload"):
        assert f"! {kind}:" in text


def test_markdown_shows_order_basis_phase_and_deferral(kb: KnowledgeBase) -> None:
    md = render_proposal(proposal(), kb, "markdown")
    heads = [line for line in md.splitlines() if line.startswith("### ")]
    assert heads == ["### 1. Suicide risk (severe)", "### 2. Post-traumatic stress (moderate)",
                     "### 3. Depression (moderate)"]
    assert "**Screen only: confirm or reject.**" in md.split("### 3.")[1]
    assert "*Basis:* screen and concern" in md
    assert "#### Goal (treat): Process the trauma memory" in md
    assert ("**Deferred until** suicide risk is no longer high (rules: risk.defer.trauma)"
            in md)


def test_a_proposal_without_reasoning_still_renders(kb: KnowledgeBase) -> None:
    p = proposal()
    for prob in p.problems:
        prob.basis = prob.priority = None
        for g in prob.goals:
            g.phase = g.deferred = None
    text = render_proposal(p, kb, "text")
    assert _problem_lines(text) == ["1. Suicide risk (severe)", "2. Post-traumatic stress (moderate)",
                                    "3. Depression (moderate)"]
    assert "deferred" not in text and "Goal: Keep the client safe" in text


def test_recommend_and_explain_end_to_end(tmp_path: Path) -> None:
    intake, clinic = write_case(tmp_path)
    runner = CliRunner()
    base = ["--knowledge", str(clinic), "--engine", "reference"]
    out = runner.invoke(cli, ["recommend", str(intake), *base])
    assert out.exit_code == 0, out.output
    lines = _problem_lines(out.output)
    assert lines[0] == "1. Suicide risk (severe)"
    assert any(re.match(r"\d\. Alcohol use \(\w+\)  \[screen only: confirm or reject\]", x)
               for x in lines)
    assert f"deferred until {UNTIL}" in " ".join(out.output.split())
    assert "clinic.defer.cbt" in out.output

    js = json.loads(runner.invoke(cli, ["recommend", str(intake), *base, "--format",
                                        "json"]).output)
    alcohol = next(p for p in js["problems"] if p["condition"] == "alcohol_use")
    assert alcohol["basis"] == "screen_only" and alcohol["priority"] > 1
    assert any(g["deferred"] and UNTIL in g["deferred"]["until"]
               for p in js["problems"] for g in p["goals"])

    ex = runner.invoke(cli, ["explain", str(intake), *base])
    assert ex.exit_code == 0, ex.output
    order = ex.output.split("The order of the plan")[1].split("In all:")[0]
    assert "1. Suicide risk" in order
    assert "Alcohol use (moderate) [screen only: confirm or reject]" in order
    assert f"is deferred until {UNTIL}" in " ".join(order.split())
    assert f"wait until {UNTIL}" in " ".join(ex.output.split())


def test_shipped_knowledge_high_risk_ptsd_end_to_end(tmp_path: Path) -> None:
    """The shipped rules alone: high risk defers PTSD's trauma processing, a positive AUDIT
    that nothing names is a screen-only problem; both engines, as the user sees them."""
    from tests.whole_plan import HIGH_RISK_PTSD

    intake = tmp_path / "ptsd-high.toml"
    intake.write_text(HIGH_RISK_PTSD)
    runner = CliRunner()
    for engine in ("reference", "auto"):
        js = json.loads(runner.invoke(cli, ["recommend", str(intake), "--engine", engine,
                                            "--format", "json"]).output)
        ptsd = next(p for p in js["problems"] if p["condition"] == "ptsd")
        assert js["problems"][0]["condition"] == "suicide_risk"
        assert ptsd["basis"] == "clinician"
        waiting = [g for g in ptsd["goals"] if g["deferred"]]
        assert waiting and all(g["phase"] == "treat" for g in waiting)
        assert any(g["phase"] == "stabilise" and not g["deferred"] for g in ptsd["goals"])
        alcohol = next(p for p in js["problems"] if p["condition"] == "alcohol_use")
        assert alcohol["basis"] == "screen_only"
        assert "unconfirmed_screen" in {w["kind"] for w in js["warnings"]}

        text = runner.invoke(cli, ["recommend", str(intake), "--engine", engine]).output
        flat = " ".join(text.split())
        assert "1. Suicide risk (severe)" in text
        assert re.search(r"\d\. Alcohol use \(\w+\) \[screen only: confirm or reject\]", flat)
        assert f"deferred until {waiting[0]['deferred']['until']}" in flat
        assert "! unconfirmed_screen:" in text
