"""Plan files checked like intakes (issue 10, item 3), risk-level changes audited with a
reason, signer names bounded, and `plan draft` leaving nothing half-saved (item 2).

Each refusal: exit 2, a short message naming the field, never the value (a plan file
may hold a client's name anywhere), and the database exactly as it was.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from planwise.store import Store
from tests.test_store_helpers import EXAMPLE, Runner

NAME = "Jo Example"  # a client's name, used as the bad value: it must never be echoed
TODAY = "2026-12-07"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from planwise.kb import load_knowledge
    from planwise.store import clients, plans

    path = tmp_path_factory.mktemp("tpl") / "planwise.db"
    with Store(path).connect() as c:
        cid = clients.add_client(c, NAME)
        plans.draft(c, cid, str(EXAMPLE), load_knowledge([]), None, "reference")
    raw = sqlite3.connect(path)
    raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw.close()
    return path


@pytest.fixture()
def run(template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Runner:
    monkeypatch.setenv("PLANWISE_TODAY", TODAY)
    r = Runner(tmp_path, monkeypatch)
    shutil.copy(template, r.db)
    r.db.chmod(0o600)
    return r


def exported(run: Runner) -> dict[str, Any]:
    return tomllib.loads(run.ok("plan", "export", "P1", "--format", "toml"))


def write(run: Runner, doc: dict[str, Any]) -> str:
    f = run.db.parent / "p.toml"
    f.write_text(tomli_w.dumps(doc))
    return str(f)


def state(run: Runner) -> list[Any]:
    return [run.rows(f"SELECT * FROM {t} ORDER BY rowid")
            for t in ("plan_versions", "plan_items", "signatures", "audit", "chain")]


def goal(d: dict[str, Any]) -> dict[str, Any]:
    return d["problems"][0]["goals"][0]


def objective(d: dict[str, Any]) -> dict[str, Any]:
    return goal(d)["objectives"][0]


Edit = Callable[[dict[str, Any]], Any]
BAD: list[tuple[str, Edit, str, str]] = [
    # vocabularies from the loaded knowledge
    ("risk level", lambda d: d.update(risk_level=NAME), "risk_level", "not a risk level"),
    ("risk level pwned", lambda d: d.update(risk_level="pwned"), "risk_level",
     "not a risk level"),
    ("condition", lambda d: d["problems"][0].update(condition=NAME), "problems[0].condition",
     "not a condition"),
    ("modality", lambda d: goal(d)["interventions"][0].update(modality="astrology"),
     "problems[0].goals[0].interventions[0].modality", "not a modality"),
    ("treatment modality", lambda d: d["treatment"].update(modalities=["cbt", NAME]),
     "treatment.modalities[1]", "not a modality"),
    ("level of care", lambda d: d["treatment"].update(level_of_care="moon"),
     "treatment.level_of_care", "not a level of care"),
    ("instrument", lambda d: d["assessments"][0].update(instrument=NAME),
     "assessments[0].instrument", "not a instrument"),
    ("referral kind", lambda d: d["referrals"][0].update(kind=NAME), "referrals[0].kind",
     "not a referral kind"),
    ("urgency", lambda d: d["referrals"][0].update(urgency=NAME), "referrals[0].urgency",
     "urgency"),
    ("warning kind", lambda d: d["warnings"][0].update(kind=NAME), "warnings[0].kind",
     "not a warning kind"),
    # ranges
    ("sessions_max below sessions_min",
     lambda d: d["treatment"].update(sessions_min=12, sessions_max=6),
     "treatment.sessions_max", "at least sessions_min (12)"),
    ("no sessions", lambda d: d["treatment"].update(sessions_min=0), "treatment.sessions_min",
     "must be 1 to"),
    ("a million sessions", lambda d: d["treatment"].update(sessions_max=10 ** 6),
     "treatment.sessions_max", "at most"),
    ("no frequency", lambda d: d["treatment"].update(frequency_per_week=0),
     "treatment.frequency_per_week", "1 to 7"),
    ("daily twice", lambda d: d["treatment"].update(frequency_per_week=14),
     "treatment.frequency_per_week", "1 to 7"),
    ("review in 20 years", lambda d: d["treatment"].update(review_weeks=1040),
     "treatment.review_weeks", "1 to 104"),
    # dates
    ("review before start", lambda d: d.update(review_date="2026-11-01"), "review_date",
     "before the plan's start date"),
    ("objective before start", lambda d: objective(d).update(anticipated="2026-01-01"),
     "problems[0].goals[0].objectives[0].anticipated", "before the plan's start date"),
    ("start 9999", lambda d: d.update(start_date="9999-12-31", review_date="9999-12-31"),
     "start_date", "after today"),
    ("start 1800", lambda d: d.update(start_date="1800-01-01"), "start_date", "before 1900"),
    ("review 9999", lambda d: d.update(review_date="9999-12-31"), "review_date",
     "more than 10 years"),
    # text
    ("NUL", lambda d: objective(d).update(text=f"{NAME}\x00"),
     "problems[0].goals[0].objectives[0].text", "control character (U+0000)"),
    ("ESC", lambda d: d["warnings"][0].update(message=f"\x1b]0;{NAME}\x07"),
     "warnings[0].message", "control character (U+001B)"),
    ("bidi", lambda d: objective(d).update(measure=f"\u202e{NAME}"),
     "problems[0].goals[0].objectives[0].measure", "control character (U+202E)"),
    ("C1", lambda d: goal(d).update(text=f"{NAME}\x9b2J"), "problems[0].goals[0].text",
     "control character (U+009B)"),
    ("newline in a key", lambda d: objective(d).update(key="a\nb"),
     "problems[0].goals[0].objectives[0].key", "control character (U+000A)"),
    ("long key", lambda d: objective(d).update(key="k" * 300),
     "problems[0].goals[0].objectives[0].key", "longer than 200"),
    ("100,000 characters", lambda d: objective(d).update(text=NAME * 10_000),
     "problems[0].goals[0].objectives[0].text", "at most 4000"),
    ("long task", lambda d: objective(d).update(client_tasks=[NAME * 1000]),
     "client_tasks", "at most 4000"),
]


@pytest.mark.parametrize("edit, field, message", [c[1:] for c in BAD],
                         ids=[c[0] for c in BAD])
def test_bad_plan_file_is_refused_naming_the_field(run: Runner, edit: Edit, field: str,
                                                   message: str) -> None:
    doc = exported(run)
    edit(doc)
    before = state(run)
    code, out, err = run.invoke("plan", "import", "P1", write(run, doc), "--reason", "why")
    assert code == 2, (out, err)
    assert field in err and message in err, err
    assert NAME not in err and "astrology" not in err and "moon" not in err
    assert len(err) < 300 and "Traceback" not in err
    assert state(run) == before


def test_the_shipped_proposal_passes_the_checks(run: Runner) -> None:
    assert run.ok("plan", "import", "P1", write(run, exported(run))) == "P1 version 1 unchanged"


def test_a_clinic_vocabulary_is_honoured(run: Runner, tmp_path: Path) -> None:
    clinic = tmp_path / "clinic"
    clinic.mkdir()
    (clinic / "vocabulary.toml").write_text(
        'modalities = [{ id = "equine_therapy", label = "Equine-assisted therapy" }]\n')
    doc = exported(run)
    doc["treatment"]["modalities"].append("equine_therapy")
    f = write(run, doc)
    assert "not a modality" in run.fails("plan", "import", "P1", f)
    assert run.ok("plan", "import", "P1", f, "--knowledge", str(clinic)) == "P1 version 1 saved"


# -- risk level changes --------------------------------------------------------------------

def test_a_risk_level_change_needs_a_reason_and_is_audited(run: Runner) -> None:
    doc = exported(run)
    old = doc["risk_level"]
    assert old != "none"
    doc["risk_level"] = "none"
    f = write(run, doc)
    before = state(run)
    err = run.fails("plan", "import", "P1", f)
    assert "risk_level" in err and "--reason" in err
    assert state(run) == before
    assert run.ok("plan", "import", "P1", f, "--reason", "reassessed with C-SSRS") == \
        "P1 version 1 saved"
    detail = json.loads(run.rows("SELECT detail FROM audit WHERE action = 'plan.edit'")[0]
                        ["detail"])
    assert detail["risk_level"] == {"old": old, "new": "none"}
    assert detail["reason"] == "reassessed with C-SSRS"
    # A signed version: the revision carries the change and its reason the same way.
    run.ok("plan", "sign", "P1", "--role", "therapist", "--name", "A. Clinician")
    doc = exported(run)
    doc["risk_level"] = "high"
    run.ok("plan", "import", "P1", write(run, doc), "--reason", "disclosed intent")
    detail = json.loads(run.rows("SELECT detail FROM audit WHERE action = 'plan.version'")[0]
                        ["detail"])
    assert detail["risk_level"] == {"old": "none", "new": "high"}
    assert detail["version"] == 2


def test_an_edit_that_keeps_the_risk_level_needs_no_reason(run: Runner) -> None:
    doc = exported(run)
    objective(doc)["status"] = "met"
    run.ok("plan", "import", "P1", write(run, doc))
    detail = json.loads(run.rows("SELECT detail FROM audit WHERE action = 'plan.edit'")[0]
                        ["detail"])
    assert "risk_level" not in detail and "reason" not in detail


# -- signer names ------------------------------------------------------------------------------

@pytest.mark.parametrize("name, message", [
    ("A" * 100_000, "longer than 200 characters"),
    (f"{NAME}\x00", "control character (U+0000)"),
    (f"\x1b[2J{NAME}", "control character (U+001B)"),
])
def test_bad_signer_names_are_refused(run: Runner, name: str, message: str) -> None:
    before = state(run)
    err = run.fails("plan", "sign", "P1", "--role", "therapist", "--name", name)
    assert "--name" in err and message in err and NAME not in err and len(err) < 200
    assert state(run) == before


# -- nothing half-saved ----------------------------------------------------------------------

def test_plan_draft_from_a_far_future_intake_saves_nothing(run: Runner, tmp_path: Path) -> None:
    far = tmp_path / "far.toml"
    far.write_text(EXAMPLE.read_text().replace("date = 2026-11-29", "date = 9999-12-31"))
    assert "9999-12-31" in far.read_text()
    tables = ("clients", "intakes", "measures", "plans", "plan_versions", "audit", "chain")
    before = [run.rows(f"SELECT * FROM {t}") for t in tables]
    code, out, err = run.invoke("plan", "draft", "C1", str(far), "--engine", "reference")
    assert code == 2 and "Traceback" not in err and out == "", (code, out, err)
    assert [run.rows(f"SELECT * FROM {t}") for t in tables] == before


def test_plan_draft_from_a_file_stores_intake_and_plan_together(run: Runner) -> None:
    assert run.ok("plan", "draft", "C1", str(EXAMPLE), "--engine", "reference") == "P2"
    plan = run.rows("SELECT intake_id FROM plans WHERE id = 2")[0]
    actions = [r["action"] for r in run.rows("SELECT action FROM audit ORDER BY id")][-2:]
    assert plan["intake_id"] == 2 and actions == ["intake.add", "plan.draft"]
    assert run.ok("verify").startswith("ok:")
