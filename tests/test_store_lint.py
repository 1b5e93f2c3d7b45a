"""SMART lint: the pure checks, `plan lint`, and `plan sign` refusing unless --force."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import tomllib
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from planwise.store.lint import lint_doc, measurable, observable
from planwise.store.models import PlanDoc
from tests.test_store_helpers import Runner, with_drafted_plan

START = dt.date(2026, 11, 29)


@pytest.fixture()
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Runner:
    return with_drafted_plan(tmp_path, monkeypatch)


def export(run: Runner) -> dict[str, Any]:
    return tomllib.loads(run.ok("plan", "export", "P1", "--format", "toml"))


def save(run: Runner, tmp_path: Path, doc: dict[str, Any], *extra: str) -> str:
    f = tmp_path / "p.toml"
    f.write_text(tomli_w.dumps(doc))
    return run.ok("plan", "import", "P1", str(f), *extra)


def objective(**kw: Any) -> dict[str, Any]:
    base = {"key": "o1", "origin": "added", "text": "Walk", "interventions": ["i1"],
            "client_tasks": ["Walk for 20 minutes after lunch"],
            "measure": "5 walks a week for 4 weeks", "anticipated": START + dt.timedelta(weeks=4)}
    return {**base, **kw}


def doc(obj: dict[str, Any], goal: dict[str, Any] | None = None,
        problem: dict[str, Any] | None = None) -> PlanDoc:
    g = {"key": "g1", "origin": "added", "text": "Move more", "objectives": [obj],
         "interventions": [{"key": "i1", "origin": "added", "text": "BA", "modality": "ba"}],
         **(goal or {})}
    p = {"key": "p1", "origin": "added", "condition": "depression", "severity": "mild",
         "goals": [g], **(problem or {})}
    return PlanDoc.model_validate({"plan": "P1", "client": "C1", "version": 1,
                                   "start_date": START, "risk_level": "low", "problems": [p]})


def letters(d: PlanDoc, **kw: Any) -> list[str]:
    return [f.letter for f in lint_doc(d, **kw)]


def test_smart_objective_passes() -> None:
    assert lint_doc(doc(objective())) == []


@pytest.mark.parametrize("change, letter", [
    ({"client_tasks": ["Feel better"]}, "S"),
    ({"client_tasks": ["Be much happier with life"]}, "S"),
    ({"client_tasks": ["Walk for 20 minutes", "Understand my feelings more deeply"]}, "S"),
    ({"measure": "client feels better"}, "M"),
    ({"anticipated": START + dt.timedelta(days=3)}, "A"),
    ({"anticipated": START - dt.timedelta(days=7)}, "A"),
    ({"interventions": []}, "R"),
    ({"anticipated": None}, "T"),
])
def test_each_letter(change: dict[str, Any], letter: str) -> None:
    assert letters(doc(objective(**change))) == [letter]


def test_attainable_uses_knowledge_minimum_and_relevant_rejections() -> None:
    d = doc(objective(anticipated=START + dt.timedelta(weeks=3)))
    assert letters(d, min_weeks={"o1": 4}) == ["A"]
    assert letters(d, min_weeks={"o1": 3}) == []
    rej = {"origin": "proposed_rejected", "rejection_reason": "not now"}
    # rejecting a goal or a problem rejects the objectives under it: not linted
    assert letters(doc(objective(measure="vague"), goal=rej)) == []
    assert letters(doc(objective(measure="vague"), problem=rej)) == []
    # a rejected objective is not linted
    assert letters(doc(objective(measure="vague", **rej))) == []


def test_instrument_counts_as_measure() -> None:
    assert measurable("PHQ-9 below the clinical band", ["PHQ-9"])
    assert not measurable("mood better", ["PHQ-9"])
    assert letters(doc(objective(measure="GAD-7 in the mild band")),
                   instruments=["GAD-7"]) == []


def test_every_knowledge_objective_is_smart_shaped() -> None:
    from planwise.kb.loader import load_knowledge
    from planwise.store.lint import instrument_names

    kb = load_knowledge([])
    names = instrument_names()
    for g in kb.goals.values():
        for o in g.objectives:
            assert observable(o.client_action) is None, (o.id, o.client_action)
            assert measurable(o.measure, names), o.id


def _problem(doc: dict, condition: str) -> dict:  # type: ignore[type-arg]
    return next(p for p in doc["problems"] if p["condition"] == condition)


def test_lint_command_and_letters(run: Runner, tmp_path: Path) -> None:
    assert run.ok("plan", "lint", "P1") == "0 problems"
    d = export(run)
    objs = _problem(d, "depression")["goals"][0]["objectives"]
    objs[0]["client_tasks"] = ["Do it"]
    objs[0]["measure"] = "better mood"
    objs[1]["anticipated"] = d["start_date"] + dt.timedelta(days=2)
    objs.append({"text": "Extra", "client_tasks": ["Write a letter to a friend"],
                 "measure": "1 letter", "interventions": []})
    save(run, tmp_path, d)
    out = run.ok("plan", "lint", "P1").splitlines()
    k0, k1 = objs[0]["key"], objs[1]["key"]
    assert out[-1] == "5 problems"
    got = [tuple(ln.split("\t")[:2]) for ln in out[:-1]]
    assert got == [(k0, "S"), (k0, "M"), (k1, "A"), ("added.objective.1", "R"),
                   ("added.objective.1", "T")]
    # an edit to a proposed objective may not bring it sooner than the knowledge's target
    d = export(run)
    o = _problem(d, "depression")["goals"][1]["objectives"][0]   # knowledge target: 6 weeks
    assert o["key"] == "depression.thinking.record"
    o["anticipated"] = d["start_date"] + dt.timedelta(weeks=2)
    save(run, tmp_path, d)
    assert (o["key"], "A") in [tuple(ln.split("\t")[:2])
                               for ln in run.ok("plan", "lint", "P1").splitlines()]
    assert "no version 9" in run.fails("plan", "lint", "P1", "--version", "9")
    assert "not a plan id" in run.fails("plan", "lint", "Jo")


def test_sign_refused_until_forced(run: Runner, tmp_path: Path) -> None:
    d = export(run)
    _problem(d, "depression")["goals"][0]["objectives"][0]["measure"] = "better mood"
    save(run, tmp_path, d)
    before = run.rows("SELECT * FROM signatures"), run.rows("SELECT * FROM audit")
    err = run.fails("plan", "sign", "P1", "--role", "therapist", "--name", "T")
    key = _problem(d, "depression")["goals"][0]["objectives"][0]["key"]
    assert "--force" in err and f"{key} M" in err
    assert (run.rows("SELECT * FROM signatures"), run.rows("SELECT * FROM audit")) == before
    out = run.ok("plan", "sign", "P1", "--role", "therapist", "--name", "T", "--force")
    assert "(signed)" in out
    sig = run.rows("SELECT role, forced FROM signatures")
    assert sig == [{"role": "therapist", "forced": 1}]
    last = run.rows("SELECT action, detail FROM audit ORDER BY id DESC LIMIT 1")[0]
    detail = json.loads(last["detail"])
    assert last["action"] == "plan.sign" and detail["forced"] is True
    assert detail["lint"] == [f"{key}:M"]
    assert "forced past SMART lint" in run.ok("plan", "history", "P1")
    # the flag is as immutable as the rest of the signature
    con = sqlite3.connect(run.db)
    with pytest.raises(sqlite3.DatabaseError, match="cannot be changed"):
        con.execute("UPDATE signatures SET forced = 0")
    con.close()


def test_clean_plan_signs_without_force_and_force_is_not_recorded(run: Runner) -> None:
    run.ok("plan", "sign", "P1", "--role", "client", "--name", "Jo", "--force")
    run.ok("plan", "sign", "P1", "--role", "therapist", "--name", "T")
    assert {r["forced"] for r in run.rows("SELECT forced FROM signatures")} == {0}


# --- a screen-only problem: confirmed or rejected before signing ----------------------------

def test_unconfirmed_screen_only_problem_is_a_finding() -> None:
    from planwise.store.lint import SCREEN

    found = lint_doc(doc(objective(), problem={"basis": "screen_only"}))
    assert [(f.objective, f.letter) for f in found] == [("p1", SCREEN)]
    assert found[0].blocking
    assert "depression rests on a screen only" in found[0].message
    assert "confirm it" in found[0].message and "reject it" in found[0].message


@pytest.mark.parametrize("problem", [
    {"basis": "screen_only", "confirmed": True},
    {"basis": "screen_only", "origin": "proposed_rejected", "rejection_reason": "no"},
    {"basis": "screen_and_concern"},
    {"basis": "clinician"},
    {},                                   # a plan drafted before the basis existed
])
def test_confirmed_rejected_or_not_screen_only_is_no_finding(problem: dict[str, Any]) -> None:
    assert lint_doc(doc(objective(), problem=problem)) == []


def test_confirmed_false_is_not_a_confirmation() -> None:
    assert letters(doc(objective(), problem={"basis": "screen_only", "confirmed": False})) \
        == ["screen"]


def test_sign_refuses_an_unconfirmed_screen_even_with_force(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.test_store_plans import reasoning_plan

    r = reasoning_plan(tmp_path, monkeypatch)
    lines = r.ok("plan", "lint", "P1").splitlines()
    assert "problem.alcohol_use\tscreen\talcohol use rests on a screen only" in lines[0]
    for extra in ((), ("--force",)):
        err = r.fails("plan", "sign", "P1", "--role", "therapist", "--name", "T", *extra)
        assert "cannot be signed (not even with --force)" in err
        assert "problem.alcohol_use" in err and "confirmed = true" in err
    assert r.rows("SELECT count(*) n FROM signatures")[0]["n"] == 0
    # Confirmed in the plan file: signing is possible (the SMART letters still count).
    d = tomllib.loads(r.ok("plan", "export", "P1", "--format", "toml"))
    alcohol = next(p for p in d["problems"] if p["basis"] == "screen_only")
    alcohol["confirmed"] = True
    save(r, tmp_path, d)
    assert "screen" not in [x.split("\t")[1] for x in r.ok("plan", "lint", "P1").splitlines()
                            if "\t" in x]
    r.ok("plan", "sign", "P1", "--role", "therapist", "--name", "T", "--force")


def test_sign_accepts_a_rejected_screen_only_problem(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.test_store_plans import reasoning_plan

    r = reasoning_plan(tmp_path, monkeypatch)
    d = tomllib.loads(r.ok("plan", "export", "P1", "--format", "toml"))
    alcohol = next(p for p in d["problems"] if p["basis"] == "screen_only")
    alcohol["origin"] = "proposed_rejected"
    alcohol["rejection_reason"] = "drinking was a one-off around a bereavement"
    save(r, tmp_path, d)
    r.ok("plan", "sign", "P1", "--role", "therapist", "--name", "T", "--force")
