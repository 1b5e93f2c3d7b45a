"""Plans: draft from the engine, TOML round trip, origins, signatures, immutability, audit."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import tomllib
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from tests.test_store_helpers import EXAMPLE, Runner

TRAINEE = EXAMPLE.parent / "profile-trainee.toml"


@pytest.fixture()
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Runner:
    r = Runner(tmp_path, monkeypatch)
    r.ok("client", "add", "--name", "Jo Example")
    r.ok("client", "intake", "C1", str(EXAMPLE))
    return r


def draft(run: Runner, *extra: str) -> str:
    return run.ok("plan", "draft", "C1", "I1", "--engine", "reference", *extra)


def export(run: Runner, tmp_path: Path, name: str = "p.toml") -> tuple[Path, dict[str, Any]]:
    text = run.ok("plan", "export", "P1", "--format", "toml")
    f = tmp_path / name
    f.write_text(text)
    return f, tomllib.loads(text)


def write(f: Path, doc: dict[str, Any]) -> Path:
    f.write_text(tomli_w.dumps(doc))
    return f


def items(run: Runner, version: int = 1) -> list[dict[str, Any]]:
    return run.rows("SELECT i.* FROM plan_items i JOIN plan_versions v ON v.id = i.version_id "
                    "WHERE v.version = ? ORDER BY position", [version])


def test_draft_structure(run: Runner, tmp_path: Path) -> None:
    assert draft(run) == "P1"
    _, doc = export(run, tmp_path)
    assert doc["version"] == 1 and doc["client"] == "C1"
    start = dt.date(2026, 11, 29)
    assert doc["start_date"] == start
    assert doc["review_date"] == start + dt.timedelta(weeks=doc["treatment"]["review_weeks"])
    goals = [g for p in doc["problems"] for g in p["goals"]]
    objectives = [o for g in goals for o in g["objectives"]]
    assert goals and objectives
    for g in goals:
        keys = {i["key"] for i in g["interventions"]}
        for o in g["objectives"]:
            assert o["client_tasks"] and o["measure"] and o["status"] == "open"
            assert "actual" not in o and isinstance(o["anticipated"], dt.date)
            assert o["anticipated"] > start
            assert set(o["interventions"]) <= keys
    rows = items(run)
    assert {r["origin"] for r in rows} == {"proposed_accepted"}
    assert all(r["proposed"] == r["data"] for r in rows)
    kinds = {r["kind"] for r in rows}
    assert {"problem", "goal", "objective", "intervention", "treatment", "referral",
            "warning"} <= kinds


def test_round_trip_unchanged(run: Runner, tmp_path: Path) -> None:
    draft(run)
    f, doc = export(run, tmp_path)
    before = items(run)
    assert run.ok("plan", "import", "P1", str(f)) == "P1 version 1 unchanged"
    assert items(run) == before
    f2, doc2 = export(run, tmp_path, "again.toml")
    assert doc2 == doc


def test_edit_reject_add(run: Runner, tmp_path: Path) -> None:
    draft(run)
    f, doc = export(run, tmp_path)
    first = tomllib.loads(f.read_text())
    goal = doc["problems"][0]["goals"][0]
    obj = goal["objectives"][0]
    obj["measure"] = "weekly count of uses, at least 3 by week 4"
    obj["status"] = "met"
    obj["actual"] = dt.date(2026, 12, 20)
    rejected = doc["referrals"][0]
    rejected["origin"] = "proposed_rejected"
    rejected["rejection_reason"] = "client already sees their GP monthly"
    goal["objectives"].append({"text": "Walk daily", "client_tasks": ["walk 20 minutes"],
                               "measure": "5 walks a week for 4 weeks",
                               "interventions": [goal["interventions"][0]["key"]]})
    doc["review_date"] = dt.date(2027, 1, 3)
    assert run.ok("plan", "import", "P1", str(write(f, doc))) == "P1 version 1 saved"
    by_key = {r["key"]: r for r in items(run)}
    assert by_key[obj["key"]]["origin"] == "proposed_edited"
    assert json.loads(by_key[obj["key"]]["data"])["actual"] == "2026-12-20"
    assert by_key[rejected["key"]]["origin"] == "proposed_rejected"
    assert by_key[rejected["key"]]["rejection_reason"].startswith("client already")
    added = [r for r in by_key.values() if r["origin"] == "added"]
    assert len(added) == 1 and added[0]["key"] == "added.objective.1"
    assert added[0]["proposed"] is None
    # Every field round-trips; an item edited back to the proposal is accepted again.
    _, doc2 = export(run, tmp_path, "again.toml")
    assert doc2["review_date"] == dt.date(2027, 1, 3)
    assert doc2["problems"][0]["goals"][0]["objectives"][0]["actual"] == dt.date(2026, 12, 20)
    # Back to the proposal: edits undone, the rejection withdrawn, the added item deleted.
    # (`first` is stale now: the optimistic check wants the current row_version.)
    first["row_version"] = doc2["row_version"]
    run.ok("plan", "import", "P1", str(write(tmp_path / "orig.toml", first)))
    assert {r["origin"] for r in items(run)} == {"proposed_accepted"}
    audit = run.rows("SELECT action, detail FROM audit WHERE plan_id = 1")
    assert [a["action"] for a in audit] == ["plan.draft", "plan.edit", "plan.edit"]


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d["referrals"][0].update(origin="proposed_rejected"), "rejection_reason"),
    (lambda d: d["referrals"].pop(0), "is missing"),
    (lambda d: d["problems"][0]["goals"][0]["objectives"][0].update(client_tasks=[]),
     "client_tasks"),
    (lambda d: d["problems"][0]["goals"][0]["objectives"][0].update(interventions=["nope"]),
     "interventions[0]"),
    (lambda d: d["problems"][0]["goals"][0]["objectives"][0].update(colour="red"), "colour"),
    (lambda d: d["problems"][0]["goals"][0]["objectives"][0].update(anticipated="soon"),
     "anticipated"),
    (lambda d: d.update(version=7), "version"),
    (lambda d: d.update(plan="P9"), "plan P9"),
    (lambda d: d["referrals"].append({"kind": "specialist", "urgency": "routine", "reason": "r",
                                      "origin": "proposed_rejected",
                                      "rejection_reason": "no"}), "only a proposed item"),
    (lambda d: d["warnings"].append(dict(d["warnings"][0])), "used twice"),
])
def test_bad_plan_file_changes_nothing(run: Runner, tmp_path: Path, mutate: Any,
                                       message: str) -> None:
    draft(run)
    f, doc = export(run, tmp_path)
    mutate(doc)
    before = (items(run), run.rows("SELECT * FROM plan_versions"))
    err = run.fails("plan", "import", "P1", str(write(f, doc)))
    assert message in err, err
    assert "Jo" not in err
    assert (items(run), run.rows("SELECT * FROM plan_versions")) == before


def test_bad_toml_syntax(run: Runner, tmp_path: Path) -> None:
    draft(run)
    f = tmp_path / "p.toml"
    f.write_text('schema = "planwise.plan/1"\nplan = [\n')
    assert "invalid TOML" in run.fails("plan", "import", "P1", str(f))
    assert "not a plan id" in run.fails("plan", "export", "C1")
    assert "no plan P4" in run.fails("plan", "history", "P4")


def test_intake_of_another_client_refused(run: Runner) -> None:
    run.ok("client", "add", "--name", "Other")
    assert "another client" in run.fails("plan", "draft", "C2", "I1", "--engine", "reference")


def test_sign_locks_version_and_revision_needs_reason(run: Runner, tmp_path: Path) -> None:
    draft(run)
    f, doc = export(run, tmp_path)
    run.ok("plan", "sign", "P1", "--role", "client", "--name", "Jo Example")
    out = run.ok("plan", "sign", "P1", "--role", "therapist", "--name", "A. Clinician")
    assert "(signed)" in out
    assert "already signed" in run.fails("plan", "sign", "P1", "--role", "therapist",
                                         "--name", "X")
    doc["problems"][0]["goals"][0]["text"] = "A revised goal"
    write(f, doc)
    assert "--reason" in run.fails("plan", "import", "P1", str(f))
    assert run.ok("plan", "import", "P1", str(f), "--reason", "client asked") == \
        "P1 version 2 saved"
    hist = run.ok("plan", "history", "P1")
    assert "v1" in hist and "signed" in hist and "v2" in hist and "client asked" in hist
    # version 2 is a draft, edited in place; the stale v1 file is refused
    assert "exported from version 1" in run.fails("plan", "import", "P1", str(f))
    v1 = items(run, 1)
    assert {r["origin"] for r in v1} == {"proposed_accepted"}
    edited = [r for r in items(run, 2) if r["origin"] == "proposed_edited"]
    assert len(edited) == 1 and json.loads(edited[0]["data"])["text"] == "A revised goal"


def test_supervisor_required_for_trainee(run: Runner, tmp_path: Path) -> None:
    draft(run, "--profile", str(TRAINEE))
    assert run.rows("SELECT requires_supervisor, supervisor FROM plans")[0][
        "requires_supervisor"] == 1
    out = run.ok("plan", "sign", "P1", "--role", "therapist", "--name", "T")
    assert "partly_signed" in out
    # still editable in the database: not locked until the supervisor signs
    con = sqlite3.connect(run.db)
    con.execute("UPDATE plan_versions SET review_date = review_date")
    con.commit()
    assert "(signed)" in run.ok("plan", "sign", "P1", "--role", "supervisor", "--name", "S")
    with pytest.raises(sqlite3.DatabaseError, match="immutable"):
        con.execute("UPDATE plan_versions SET review_date = '2030-01-01'")
    with pytest.raises(sqlite3.DatabaseError, match="fixed"):
        con.execute("UPDATE plans SET requires_supervisor = 0")
    con.close()


def test_signed_version_immutable_in_sql(run: Runner) -> None:
    draft(run)
    run.ok("plan", "sign", "P1", "--role", "therapist", "--name", "T")
    con = sqlite3.connect(run.db)
    con.execute("PRAGMA foreign_keys = ON")
    statements = [
        "UPDATE plan_items SET data = '{}'",
        "UPDATE plan_items SET origin = 'added', proposed = NULL",
        "DELETE FROM plan_items",
        "INSERT INTO plan_items (version_id, kind, key, position, origin, data) "
        "VALUES (1, 'warning', 'sneaky', 99, 'added', '{}')",
        "UPDATE plan_versions SET reason = 'x'",
        "DELETE FROM plan_versions",
        "UPDATE signatures SET name = 'someone else'",
        "DELETE FROM signatures",
        "DELETE FROM plans",
    ]
    for sql in statements:
        with pytest.raises(sqlite3.DatabaseError, match="immutable|cannot|fixed"):
            con.execute(sql)
    con.close()
    n = run.rows("SELECT count(*) n FROM plan_items")[0]["n"]
    assert n > 0
    # the client may still sign a locked version
    run.ok("plan", "sign", "P1", "--role", "client", "--name", "Jo Example")


def test_audit_every_write(run: Runner, tmp_path: Path) -> None:
    draft(run)
    f, doc = export(run, tmp_path)
    doc["warnings"][0]["origin"] = "proposed_rejected"
    doc["warnings"][0]["rejection_reason"] = "discussed with supervisor"
    run.ok("plan", "import", "P1", str(write(f, doc)))
    run.ok("plan", "sign", "P1", "--role", "therapist", "--name", "A. Clinician")
    out = run.ok("plan", "audit", "P1")
    *lines, head = out.splitlines()
    assert [ln.split("\t")[2] for ln in lines] == ["plan.draft", "plan.edit", "plan.sign"]
    assert head.startswith("chain head: #")  # docs/store.md, Tamper evidence
    # `planwise audit PLAN` (plan_cmds.audit_cmd; registered at the top level by the lead)
    from click.testing import CliRunner

    from planwise.cli.plan_cmds import audit_cmd
    top = CliRunner().invoke(audit_cmd, ["P1", "--db", str(run.db)])
    assert top.exit_code == 0 and top.output.rstrip("\n") == out
    every = run.rows("SELECT action, who, detail FROM audit ORDER BY id")
    assert [a["action"] for a in every] == ["client.add", "intake.add", "plan.draft",
                                            "plan.edit", "plan.sign"]
    import getpass
    assert {a["who"] for a in every} == {getpass.getuser()}
    assert not any("Jo" in a["detail"] or "Clinician" in a["detail"] for a in every)


def test_save_doc_is_a_step_of_the_callers_transaction(run: Runner, tmp_path: Path) -> None:
    """Inside a caller's transaction, save_doc commits or rolls back with what follows it
    (an accepted review's audit row and its new version are one write)."""
    from planwise.store import Store
    from planwise.store.plans import load_doc_for, save_doc

    draft(run)
    run.ok("plan", "sign", "P1", "--role", "therapist", "--name", "A. Clinician", "--force")
    c = Store(run.db).connect()
    try:
        doc = load_doc_for(c, 1)
        doc.review_date = dt.date(2027, 6, 1)

        with pytest.raises(RuntimeError), c.within():
            version, changed = save_doc(c, 1, doc, "review")
            c.audit("plan.review", "plan", "P1", client_id=1, plan_id=1,
                    detail={"version": version})
            raise RuntimeError("the audit write failed")
        assert [r["version"] for r in c.query("SELECT version FROM plan_versions")] == [1]
        assert c.query("SELECT * FROM audit WHERE action = 'plan.review'") == []

        seen: list[tuple[int, int, bool]] = []
        with c.within():
            version, changed = save_doc(c, 1, doc, "review")
            seen.append((1, version, changed))
        assert (version, changed) == (2, True) and seen == [(1, 2, True)]
    finally:
        c.close()


# --- whole-plan reasoning: basis, priority, phase, deferral, confirmation -------------------

def reasoning_plan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Runner:
    """P1 drafted (with the test clinic's rules) from an intake with a screen-only problem
    and deferred goals."""
    from tests.whole_plan import write_case

    intake, clinic = write_case(tmp_path)
    r = Runner(tmp_path, monkeypatch)
    r.ok("client", "add", "--name", "Wen Example")
    r.ok("plan", "draft", "C1", str(intake), "--knowledge", str(clinic), "--engine",
         "reference")
    return r


def test_doc_from_proposal_keeps_the_reasoning() -> None:
    from planwise.store.plans import doc_from_proposal
    from tests.whole_plan import proposal

    doc = doc_from_proposal(proposal(), 1, 1, dt.date(2026, 11, 18))
    assert [(p.condition, p.basis, p.priority, p.confirmed) for p in doc.problems] == [
        ("suicide_risk", "clinician", 1, None), ("ptsd", "screen_and_concern", 2, None),
        ("depression", "screen_only", 3, None)]
    ptsd = doc.problems[1]
    assert [g.phase for g in ptsd.goals] == ["stabilise", "treat", "maintain"]
    assert ptsd.goals[0].deferred is None
    wait = ptsd.goals[1].deferred
    assert wait is not None and wait.until == "suicide risk is no longer high"
    assert wait.because == ["risk.defer.trauma"]


def test_reasoning_round_trips_through_the_toml(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.whole_plan import UNTIL

    r = reasoning_plan(tmp_path, monkeypatch)
    text = r.ok("plan", "export", "P1", "--format", "toml")
    doc = tomllib.loads(text)
    probs = {p["condition"]: p for p in doc["problems"]}
    assert probs["suicide_risk"]["priority"] == 1
    assert probs["alcohol_use"]["basis"] == "screen_only"
    assert "confirmed" not in probs["alcohol_use"]
    goals = [g for p in doc["problems"] for g in p["goals"]]
    assert all(g["phase"] in ("stabilise", "treat", "maintain") for g in goals)
    waiting = [g for g in goals if "deferred" in g]
    assert waiting and all(UNTIL in g["deferred"]["until"] and
                           "clinic.defer.cbt" in g["deferred"]["because"] for g in waiting)
    # The deferral reads with its goal, before the objectives.
    first = text.index("[problems.goals.deferred]")
    assert text.index("[[problems.goals.objectives]]", first) > first
    before = r.rows("SELECT key, origin, data, proposed FROM plan_items ORDER BY position")
    f = tmp_path / "same.toml"
    f.write_text(text)
    assert r.ok("plan", "import", "P1", str(f)) == "P1 version 1 unchanged"
    assert r.rows("SELECT key, origin, data, proposed FROM plan_items ORDER BY position") \
        == before


def test_confirming_is_not_an_edit_but_changing_the_reasoning_is(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    r = reasoning_plan(tmp_path, monkeypatch)
    doc = tomllib.loads(r.ok("plan", "export", "P1", "--format", "toml"))
    probs = {p["condition"]: p for p in doc["problems"]}
    probs["alcohol_use"]["confirmed"] = True
    goal = probs["suicide_risk"]["goals"][0]
    new_phase = "maintain" if goal["phase"] != "maintain" else "treat"
    goal["phase"] = new_phase
    write(tmp_path / "p.toml", doc)
    assert r.ok("plan", "import", "P1", str(tmp_path / "p.toml")) == "P1 version 1 saved"
    rows = {x["key"]: x for x in items(r)}
    alcohol = rows["problem.alcohol_use"]
    assert alcohol["origin"] == "proposed_accepted"
    assert json.loads(alcohol["data"])["confirmed"] is True
    assert "confirmed" not in json.loads(alcohol["proposed"])
    assert rows[goal["key"]]["origin"] == "proposed_edited"
    assert json.loads(rows[goal["key"]]["data"])["phase"] == new_phase


def test_reasoning_fields_are_checked_on_import(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    r = reasoning_plan(tmp_path, monkeypatch)
    doc = tomllib.loads(r.ok("plan", "export", "P1", "--format", "toml"))
    doc["problems"][0]["goals"][0]["phase"] = "later"
    err = r.fails("plan", "import", "P1", str(write(tmp_path / "p.toml", doc)))
    assert "problems[0].goals[0].phase" in err and "p.toml" in err
    doc["problems"][0]["goals"][0]["phase"] = "treat"
    doc["problems"][0]["priority"] = 0
    err = r.fails("plan", "import", "P1", str(write(tmp_path / "p.toml", doc)))
    assert "problems[0].priority" in err


def test_a_plan_stored_before_the_reasoning_still_reads_and_saves_unchanged(
        run: Runner, tmp_path: Path) -> None:
    """Rows written before basis, priority, phase and deferred existed (none of the keys):
    export, import unchanged, origins kept."""
    draft(run)
    con = sqlite3.connect(run.db)
    for rid, data, proposed in con.execute("SELECT id, data, proposed FROM plan_items"):
        old = {k: v for k, v in json.loads(data).items()
               if k not in ("basis", "priority", "phase", "deferred")}
        old_p = None if proposed is None else json.dumps(
            {k: v for k, v in json.loads(proposed).items()
             if k not in ("basis", "priority", "phase", "deferred")}, sort_keys=True)
        con.execute("UPDATE plan_items SET data = ?, proposed = ? WHERE id = ?",
                    [json.dumps(old, sort_keys=True), old_p, rid])
    con.commit()
    con.close()
    before = items(run)
    f, doc = export(run, tmp_path)
    assert all("basis" not in p and "priority" not in p for p in doc["problems"])
    assert all("phase" not in g for p in doc["problems"] for g in p["goals"])
    assert run.ok("plan", "import", "P1", str(f)) == "P1 version 1 unchanged"
    assert items(run) == before
    assert run.ok("plan", "lint", "P1").endswith("0 problems")


def test_draft_save_writes_only_the_changed_rows_and_ends_as_a_full_write(
        run: Runner, tmp_path: Path) -> None:
    # P1 is a draft edited in place; P2 (another client, the same intake) is signed, so the
    # same edits make its version 2 by inserting every row: the two must hold the same rows.
    draft(run)
    run.ok("client", "add", "--name", "Sam Example")
    run.ok("client", "intake", "C2", str(EXAMPLE))
    run.ok("plan", "draft", "C2", "I2", "--engine", "reference")
    run.ok("plan", "sign", "P2", "--role", "therapist", "--name", "A. Clinician", "--force")
    def rows(plan: int, version: int = 1) -> dict[str, dict[str, Any]]:
        return {r["key"]: r for r in run.rows(
            "SELECT i.* FROM plan_items i JOIN plan_versions v ON v.id = i.version_id "
            "WHERE v.plan_id = ? AND v.version = ?", [plan, version])}

    before = rows(1)
    f, doc = export(run, tmp_path)
    goal = doc["problems"][0]["goals"][0]
    goal["objectives"][0]["measure"] = "weekly count of uses, at least 3 by week 4"
    goal["objectives"].reverse()  # every position in the goal moves
    goal["objectives"].append({"text": "Walk daily", "client_tasks": ["walk 20 minutes"],
                               "measure": "5 walks a week for 4 weeks",
                               "interventions": [goal["interventions"][0]["key"]]})
    doc["referrals"][0].update(origin="proposed_rejected", rejection_reason="sees a GP")
    assert run.ok("plan", "import", "P1", str(write(f, doc))) == "P1 version 1 saved"
    doc["plan"], doc["client"] = "P2", "C2"
    doc["row_version"] = tomllib.loads(run.ok("plan", "export", "P2", "--format",
                                              "toml"))["row_version"]
    run.ok("plan", "import", "P2", str(write(tmp_path / "p2.toml", doc)), "--reason", "same")

    def content(plan: int, version: int) -> list[dict[str, Any]]:
        return run.rows("SELECT i.kind, i.key, i.parent_key, i.position, i.origin, "
                        "i.rejection_reason, i.proposed, i.data, i.because FROM plan_items i "
                        "JOIN plan_versions v ON v.id = i.version_id WHERE v.plan_id = ? AND "
                        "v.version = ? ORDER BY i.position", [plan, version])

    assert content(1, 1) == content(2, 2)
    # A row whose content is the same is the same row (not deleted and inserted again).
    after = rows(1)
    same = [k for k in before if {**after[k], "id": 0} == {**before[k], "id": 0}]
    assert same and all(after[k]["id"] == before[k]["id"] for k in same)
    assert "added.objective.1" in after and len(after) == len(before) + 1
    # A further edit that deletes the added objective leaves no trace of it.
    f, doc = export(run, tmp_path, "again.toml")
    doc["problems"][0]["goals"][0]["objectives"].pop()
    run.ok("plan", "import", "P1", str(write(f, doc)))
    assert set(rows(1)) == set(before)
