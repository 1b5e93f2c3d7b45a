"""`plan export --format markdown|json` (0600 files), `plan diff`, migrations 3 and 4."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import stat
import tomllib
from pathlib import Path

import pytest
import tomli_w

from planwise.store import SCHEMA_VERSION, Store
from planwise.store.db import migrate
from tests.test_store_helpers import EXAMPLE, Runner

CLIENT_TOML = """
schema = "planwise.client/1"
id = "C1"
name = "Jo Example"
pronouns = "they/them"
[contact]
phone = "555-0100"
[[emergency_contacts]]
name = "Sam Example"
relationship = "sibling"
phone = "555-0101"
[[care_providers]]
name = "Dr Green"
role = "GP"
[[past_diagnoses]]
description = "Depressive episode"
code = "F32.1"
when = "2019"
[[past_treatment]]
description = "CBT, 12 sessions"
outcome = "helpful"
[[significant_events]]
text = "Lost job after 10 years"
date = 2026-09-01
"""


@pytest.fixture()
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Runner:
    r = Runner(tmp_path, monkeypatch)
    r.ok("client", "add", "--name", "Jo Example")
    (tmp_path / "c1.toml").write_text(CLIENT_TOML)
    r.ok("client", "edit", "C1", "--file", str(tmp_path / "c1.toml"))
    r.ok("client", "intake", "C1", str(EXAMPLE))
    r.ok("plan", "draft", "C1", "I1", "--engine", "reference")
    return r


def revise(run: Runner, tmp_path: Path) -> dict[str, str]:
    """Sign v1, then make v2: a goal edited, a referral rejected, an objective added."""
    run.ok("plan", "sign", "P1", "--role", "therapist", "--name", "A. Clinician")
    doc = tomllib.loads(run.ok("plan", "export", "P1"))
    goal = doc["problems"][1]["goals"][0]
    goal["text"] = "Do more of what matters"
    ref = doc["referrals"][0]
    ref["origin"], ref["rejection_reason"] = "proposed_rejected", "already sees the GP"
    goal["objectives"].append({"text": "Walk", "client_tasks": ["Walk for 20 minutes daily"],
                               "measure": "5 walks a week", "interventions":
                               [goal["interventions"][0]["key"]],
                               "anticipated": doc["start_date"] + dt.timedelta(weeks=6)})
    doc["review_date"] = doc["start_date"] + dt.timedelta(weeks=4)
    (tmp_path / "p.toml").write_text(tomli_w.dumps(doc))
    run.ok("plan", "import", "P1", str(tmp_path / "p.toml"), "--reason",
           "client chose walking")
    return {"goal": goal["key"], "referral": ref["key"]}


def test_markdown_has_everything_in_order(run: Runner, tmp_path: Path) -> None:
    revise(run, tmp_path)
    run.ok("session", "add", "P1", "--date", "2026-12-06", "--objective",
           "depression.activity.monitor:5", "--note", "Log reviewed")
    md = run.ok("plan", "export", "P1", "--format", "markdown")
    heads = [ln for ln in md.splitlines() if ln.startswith("## ")]
    assert heads[:3] == ["## Trauma and significant events", "## Current information",
                         "## Problems, goals and objectives"]
    for text in ("version 2 (draft)", "reason: client chose walking", "Lost job after 10 years",
                 "Sam Example, sibling, 555-0101", "Dr Green, GP", "Depressive episode (F32.1)",
                 "CBT, 12 sessions", "they/them", "Do more of what matters", "*(edited)*",
                 "*(rejected: already sees the GP)*", "*(added)*", "Client task:", "Measure:",
                 "Therapist intervention:", "Anticipated: 2026-12-", "status: open",
                 "## Treatment", "sessions, 1 a week", "Level of care: outpatient",
                 "Review every 6 weeks", "Sessions authorised by the payer: 12",
                 "## Referrals", "## Warnings", "## Signatures", "- not signed",
                 "Session 1, 2026-12-06", "Version 1: signed", "Version 2: draft"):
        assert text in md, text
    assert md.index("Lost job") < md.index("## Problems")
    v1 = run.ok("plan", "export", "P1", "--format", "markdown", "--version", "1")
    assert "therapist: A. Clinician, 20" in v1 and "version 1 (signed)" in v1


def test_json_is_the_full_record(run: Runner, tmp_path: Path) -> None:
    revise(run, tmp_path)
    rec = json.loads(run.ok("plan", "export", "P1", "--format", "json", "--version", "1"))
    assert rec["schema"] == "planwise.plan-record/1" and rec["plan"] == "P1"
    assert rec["version"]["state"] == "signed"
    assert rec["signatures"][0]["role"] == "therapist" and rec["signatures"][0]["forced"] is False
    assert rec["client_info"]["significant_events"][0]["text"] == "Lost job after 10 years"
    assert rec["document"]["problems"] and rec["document"]["treatment"]["sessions_min"] > 0
    assert rec["session_limit"] == 12 and rec["lint"] == []
    assert [v["version"] for v in rec["versions"]] == [1, 2]
    cur = json.loads(run.ok("plan", "export", "P1", "--format", "json"))
    assert cur["version"]["reason"] == "client chose walking"


@pytest.mark.parametrize("fmt", ["markdown", "json", "toml"])
def test_output_file_is_private(run: Runner, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"p1.{fmt}"
    out.write_text("old")
    out.chmod(0o644)
    assert run.ok("plan", "export", "P1", "--format", fmt, "--output", str(out)) == \
        f"P1 written to {out}"
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert out.read_text() == run.ok("plan", "export", "P1", "--format", fmt) + "\n"
    fresh = tmp_path / "fresh.md"
    run.ok("plan", "export", "P1", "--format", fmt, "--output", str(fresh))
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o600


def test_export_bad_input(run: Runner, tmp_path: Path) -> None:
    assert "folder does not exist" in run.fails("plan", "export", "P1", "--format", "markdown",
                                                "--output", str(tmp_path / "no" / "p.md"))
    assert "no version 5" in run.fails("plan", "export", "P1", "--format", "json",
                                       "--version", "5")
    code, _, err = run.invoke("plan", "export", "P1", "--format", "pdf")
    assert code == 2 and "pdf" in err


def test_diff(run: Runner, tmp_path: Path) -> None:
    keys = revise(run, tmp_path)
    out = run.ok("plan", "diff", "P1", "1", "2")
    lines = out.splitlines()
    assert lines[0] == "P1: version 1 -> version 2"
    assert "version 2 reason: client chose walking" in lines
    assert any(ln.startswith("~ review_date: ") for ln in lines)
    assert f"~ goal {keys['goal']}" in lines
    assert any("text:" in ln and "Do more of what matters" in ln for ln in lines)
    assert f"~ referral {keys['referral']}" in lines
    assert "    origin: proposed_accepted -> proposed_rejected" in lines
    assert "    rejection_reason: (none) -> already sees the GP" in lines
    assert any(ln.startswith("+ objective added.objective.1 (added): Walk") for ln in lines)
    data = json.loads(run.ok("plan", "diff", "P1", "v1", "v2", "--format", "json"))
    changed = {i["key"]: i for i in data["items"]}
    assert changed[keys["goal"]]["fields"]["origin"] == {"old": "proposed_accepted",
                                                         "new": "proposed_edited"}
    assert data["reasons"] == {"2": "client chose walking"}
    # backwards: the added objective is removed
    assert "- objective added.objective.1" in run.ok("plan", "diff", "P1", "2", "1")
    assert run.ok("plan", "diff", "P1", "1", "1").endswith("no changes")
    assert "no version 3" in run.fails("plan", "diff", "P1", "1", "3")
    assert "a version is a number" in run.fails("plan", "diff", "P1", "one", "2")


def test_migrates_signed_plan_from_version_2(tmp_path: Path) -> None:
    path = tmp_path / "v2.db"
    raw = sqlite3.connect(path, isolation_level=None)
    assert migrate(raw, upto=2) == 2
    raw.executescript("""
        INSERT INTO clients (name, created_at, updated_at) VALUES ('X', 't', 't');
        INSERT INTO plans (client_id, created_at) VALUES (1, 't');
        INSERT INTO plan_versions (plan_id, version, start_date, risk_level, created_at)
            VALUES (1, 1, '2026-01-01', 'low', 't');
        INSERT INTO signatures (version_id, role, name, signed_at) VALUES (1, 'therapist', 'T', 't');
    """)
    raw.close()
    assert SCHEMA_VERSION >= 4
    with Store(path).connect() as c:
        assert c.query("SELECT max(version) v FROM schema_version") == [{"v": SCHEMA_VERSION}]
        assert c.query("SELECT role, forced FROM signatures") == [{"role": "therapist",
                                                                   "forced": 0}]
        assert {"sessions", "session_objectives"} <= set(c.db.table_names())


# --- whole-plan reasoning in the Markdown and in the diff ---------------------------------

def test_markdown_and_diff_show_the_reasoning(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.test_store_plans import reasoning_plan
    from tests.whole_plan import UNTIL

    r = reasoning_plan(tmp_path, monkeypatch)
    md = r.ok("plan", "export", "P1", "--format", "markdown")
    section = md.split("## Problems, goals and objectives")[1].split("## Treatment")[0]
    assert "In the order the plan addresses them (1 first)." in section
    heads = [ln for ln in section.splitlines() if ln.startswith("### ")]
    assert heads[0] == "### 1. suicide risk (severe)"
    assert [h.split(". ")[0] for h in heads] == [f"### {n}" for n in range(1, len(heads) + 1)]
    alcohol = section.split("alcohol use (")[1].split("\n### ")[0]
    assert ("- Basis: a screen only (no concern or impression names it); **not confirmed: "
            "confirm or reject before signing**") in alcohol
    assert "- Basis: the clinician's assessment" in section
    assert any(ln.startswith("#### Goal (") for ln in section.splitlines())
    assert f"- **Deferred until** {UNTIL} (rules: clinic.defer.cbt)" in section

    # Confirm in v1, sign it, then v2 takes a deferral off a goal and changes its phase.
    doc = tomllib.loads(r.ok("plan", "export", "P1", "--format", "toml"))
    next(p for p in doc["problems"] if p["basis"] == "screen_only")["confirmed"] = True
    f = tmp_path / "p.toml"
    f.write_text(tomli_w.dumps(doc))
    r.ok("plan", "import", "P1", str(f))
    assert "**confirmed by the clinician**" in r.ok("plan", "export", "P1", "--format",
                                                     "markdown")
    r.ok("plan", "sign", "P1", "--role", "therapist", "--name", "T", "--force")
    doc = tomllib.loads(r.ok("plan", "export", "P1", "--format", "toml"))
    goal = next(g for p in doc["problems"] for g in p["goals"] if "deferred" in g)
    del goal["deferred"]
    old_phase = goal["phase"]
    goal["phase"] = "maintain" if old_phase != "maintain" else "treat"
    f.write_text(tomli_w.dumps(doc))
    r.ok("plan", "import", "P1", str(f), "--reason", "safety plan written: start the work")
    lines = r.ok("plan", "diff", "P1", "1", "2").splitlines()
    at = lines.index(f"~ goal {goal['key']}")
    fields = lines[at + 1:at + 4]
    assert f"    deferred: deferred until {UNTIL} -> (none)" in fields
    assert f"    phase: {old_phase} -> {goal['phase']}" in fields
    assert "    origin: proposed_accepted -> proposed_edited" in fields


def _section(md: str, title: str) -> str:
    """The lines of one '### title' or '## title' section of the Markdown."""
    lines = md.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.lstrip("#").strip() == title)
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("#")),
               len(lines))
    return "\n".join(lines[start + 1:end])


def test_a_rejected_intervention_is_not_exported_as_active(run: Runner,
                                                           tmp_path: Path) -> None:
    """Issue 11: an intervention rejected in the plan was still listed under its objectives
    as the therapist's intervention."""
    doc = tomllib.loads(run.ok("plan", "export", "P1"))
    goal = next(g for p in doc["problems"] for g in p["goals"]
                if len(g["interventions"]) >= 2
                and any(g["interventions"][0]["key"] in o["interventions"]
                        for o in g["objectives"]))
    dropped, kept = goal["interventions"][0], goal["interventions"][1]
    dropped["origin"], dropped["rejection_reason"] = "proposed_rejected", "not offered here"
    (tmp_path / "p.toml").write_text(tomli_w.dumps(doc))
    run.ok("plan", "import", "P1", str(tmp_path / "p.toml"))
    md = run.ok("plan", "export", "P1", "--format", "markdown")
    assert f"Therapist intervention: {dropped['text']}" not in md
    assert f"- {dropped['text']} ({dropped['modality']}) *(rejected: not offered here)*" in md
    if any(kept["key"] in o["interventions"] for o in goal["objectives"]):
        assert f"Therapist intervention: {kept['text']}" in md
    # The readable and the program's formats agree: the JSON keeps the decision.
    rec = json.loads(run.ok("plan", "export", "P1", "--format", "json"))
    items = [i for p in rec["document"]["problems"] for g in p["goals"]
             for i in g["interventions"] if i["key"] == dropped["key"]]
    assert items[0]["origin"] == "proposed_rejected"


def test_a_rejected_treatment_block_is_not_in_force(run: Runner, tmp_path: Path) -> None:
    doc = tomllib.loads(run.ok("plan", "export", "P1"))
    doc["treatment"]["origin"] = "proposed_rejected"
    doc["treatment"]["rejection_reason"] = "inpatient first"
    (tmp_path / "p.toml").write_text(tomli_w.dumps(doc))
    run.ok("plan", "import", "P1", str(tmp_path / "p.toml"))
    treatment = _section(run.ok("plan", "export", "P1", "--format", "markdown"), "Treatment")
    assert "- None in force: the proposed block was rejected: inpatient first" in treatment
    assert "- Modalities:" not in treatment


def test_prior_treatment_typed_in_the_intake_is_exported(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    """Issue 11: the intake's prior treatment was missing ('none recorded')."""
    r = Runner(tmp_path, monkeypatch)
    r.ok("client", "add", "--name", "Jo Example")
    r.ok("client", "intake", "C1", str(EXAMPLE))
    r.ok("plan", "draft", "C1", "I1", "--engine", "reference")
    md = r.ok("plan", "export", "P1", "--format", "markdown")
    past = _section(md, "Past treatment")
    assert "none recorded" not in past
    assert "- CBT, 2019, helpful (at intake I1, " in past
    rec = json.loads(r.ok("plan", "export", "P1", "--format", "json"))
    assert rec["intake_history"]["prior_treatment"] == ["CBT, 2019, helpful"]
    assert rec["intake_history"]["intake"] == "I1"
