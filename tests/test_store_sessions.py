"""Session notes: objectives with ratings, the payer's limit, refusals, append-only."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.test_store_helpers import EXAMPLE, Runner, with_drafted_plan

OBJ = "depression.activity.monitor"
OBJ2 = "suicide_risk.safety_plan.write"


@pytest.fixture()
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Runner:
    # Sessions cannot be dated after today: a fixed today after every date below.
    monkeypatch.setenv("PLANWISE_TODAY", "2026-12-31")
    return with_drafted_plan(tmp_path, monkeypatch)


def add(run: Runner, date: str, *args: str) -> str:
    return run.ok("session", "add", "P1", "--date", date, *args)


def test_sessions_count_against_the_limit(run: Runner) -> None:
    out = add(run, "2026-12-06", "--objective", f"{OBJ}:4", "--objective", OBJ2,
              "--note", "Reviewed the activity log")
    assert out == "S1: session 1 of 12, 11 left (P1 version 1)"
    out = add(run, "2026-12-13", "--objective", f"{OBJ}:6", "--note", "Log kept 6 days")
    assert "session 2 of 12, 10 left" in out
    out = add(run, "2026-12-14", "--unplanned", "housing crisis", "--note", "Crisis call")
    assert "session 3 of 12, 9 left" in out
    listing = run.ok("session", "list", "P1")
    assert f"{OBJ}: 4/10" in listing and f"{OBJ2}: not rated" in listing
    assert "unplanned: housing crisis" in listing and "note: Crisis call" in listing
    data = json.loads(run.ok("session", "list", "P1", "--format", "json"))
    assert [s["number"] for s in data] == [1, 2, 3]
    assert data[0]["objectives"] == [{"key": OBJ, "rating": 4}, {"key": OBJ2, "rating": None}]
    assert data[2]["unplanned_reason"] == "housing crisis" and data[2]["objectives"] == []
    audit = run.rows("SELECT action, record_id, detail FROM audit WHERE action = 'session.add'")
    assert [a["record_id"] for a in audit] == ["S1", "S2", "S3"]
    assert not any("activity log" in a["detail"] or "Crisis" in a["detail"] for a in audit)
    assert json.loads(audit[0]["detail"])["objectives"] == {OBJ: 4, OBJ2: None}


def test_over_the_limit_is_recorded_and_said(run: Runner) -> None:
    from planwise.store.integrity import register

    con = sqlite3.connect(run.db)
    register(con)  # the chain's triggers call planwise's SQL functions
    for n in range(1, 13):
        con.execute("INSERT INTO sessions (plan_id, version_id, number, date, note, "
                    "session_limit, created_at) VALUES (1, 1, ?, '2026-12-01', 'n', 12, 't')",
                    [n])
    con.commit()
    con.close()
    out = add(run, "2026-12-20", "--objective", OBJ, "--note", "n")
    assert "session 13 of 12, 1 over the authorised limit" in out


@pytest.mark.parametrize("args, message", [
    (["--note", "x"], "--unplanned"),
    (["--objective", "nope:3", "--note", "x"], "not an objective of P1 version 1"),
    (["--objective", f"{OBJ}:11", "--note", "x"], "from 0 to 10"),
    (["--objective", f"{OBJ}:good", "--note", "x"], "from 0 to 10"),
    (["--objective", OBJ, "--objective", f"{OBJ}:3", "--note", "x"], "twice"),
    (["--objective", OBJ, "--note", "  "], "--note must not be empty"),
    (["--unplanned", " ", "--note", "x"], "--unplanned needs a reason"),
    (["--objective", OBJ, "--unplanned", "why", "--note", "x"], "addresses no objective"),
    (["--objective", "depression.activity", "--note", "x"], "not an objective"),  # a goal
])
def test_bad_session_saves_nothing(run: Runner, args: list[str], message: str) -> None:
    before = run.rows("SELECT * FROM audit")
    err = run.fails("session", "add", "P1", "--date", "2026-12-06", *args)
    assert message in err, err
    assert run.rows("SELECT * FROM sessions") == [] and run.rows("SELECT * FROM audit") == before


def test_bad_dates_and_plans(run: Runner) -> None:
    assert "date like" in run.fails("session", "add", "P1", "--date", "tomorrow",
                                    "--objective", OBJ, "--note", "x")
    assert "before the plan's start date" in run.fails(
        "session", "add", "P1", "--date", "2026-01-01", "--objective", OBJ, "--note", "x")
    add(run, "2026-12-10", "--objective", OBJ, "--note", "x")
    assert "before session 1" in run.fails("session", "add", "P1", "--date", "2026-12-09",
                                           "--objective", OBJ, "--note", "x")
    assert "no plan P7" in run.fails("session", "list", "P7")
    assert "not a plan id" in run.fails("session", "add", "Jo", "--date", "2026-12-10",
                                        "--objective", OBJ, "--note", "x")


def test_rejected_objective_refused(run: Runner, tmp_path: Path) -> None:
    import tomllib

    import tomli_w

    doc = tomllib.loads(run.ok("plan", "export", "P1"))
    o = next(p for p in doc["problems"] if p["condition"] == "depression")["goals"][0]["objectives"][0]
    assert o["key"] == OBJ
    o["origin"], o["rejection_reason"] = "proposed_rejected", "client already keeps a diary"
    (tmp_path / "p.toml").write_text(tomli_w.dumps(doc))
    run.ok("plan", "import", "P1", str(tmp_path / "p.toml"))
    assert "rejected in P1 version 1" in run.fails(
        "session", "add", "P1", "--date", "2026-12-06", "--objective", OBJ, "--note", "x")


def test_sessions_follow_the_current_version(run: Runner, tmp_path: Path) -> None:
    import tomllib

    import tomli_w

    run.ok("plan", "sign", "P1", "--role", "therapist", "--name", "T")
    add(run, "2026-12-06", "--objective", OBJ, "--note", "x")
    doc = tomllib.loads(run.ok("plan", "export", "P1"))
    goal = doc["problems"][1]["goals"][0]
    goal["objectives"].append({"text": "Walk", "client_tasks": ["Walk for 20 minutes daily"],
                               "measure": "5 walks a week", "interventions":
                               [goal["interventions"][0]["key"]],
                               "anticipated": doc["start_date"].replace(year=2027)})
    (tmp_path / "p.toml").write_text(tomli_w.dumps(doc))
    run.ok("plan", "import", "P1", str(tmp_path / "p.toml"), "--reason", "walking added")
    out = add(run, "2026-12-13", "--objective", "added.objective.1:2", "--note", "x")
    assert "(P1 version 2)" in out and "session 2 of 12" in out
    assert [r["version"] for r in json.loads(run.ok("session", "list", "P1", "--format",
                                                    "json"))] == [1, 2]


def test_sessions_are_append_only_in_sql(run: Runner) -> None:
    add(run, "2026-12-06", "--objective", f"{OBJ}:4", "--note", "x")
    con = sqlite3.connect(run.db)
    con.execute("PRAGMA foreign_keys = ON")
    for sql in ("UPDATE sessions SET note = 'changed'", "DELETE FROM sessions",
                "UPDATE session_objectives SET rating = 9", "DELETE FROM session_objectives",
                "DELETE FROM plans"):
        with pytest.raises(sqlite3.DatabaseError, match="append-only|FOREIGN KEY"):
            con.execute(sql)
    con.close()
    assert run.rows("SELECT note FROM sessions") == [{"note": "x"}]
    assert run.rows("SELECT rating FROM session_objectives") == [{"rating": 4}]


def test_no_limit_recorded(run: Runner, tmp_path: Path) -> None:
    text = EXAMPLE.read_text().replace("session_limit = 12\n", "")
    (tmp_path / "nolimit.toml").write_text(text)
    run.ok("client", "intake", "C1", str(tmp_path / "nolimit.toml"))
    run.ok("plan", "draft", "C1", "I2", "--engine", "reference")
    out = run.ok("session", "add", "P2", "--date", "2026-12-06", "--objective", OBJ,
                 "--note", "x")
    assert "session 1 (no authorised limit recorded)" in out


# --- feedback and measures given at a session --------------------------------------------

FEEDBACK = "heard=8,mattered=7,approach=9,overall=8"


def test_session_with_feedback_and_measures(run: Runner) -> None:
    out = add(run, "2026-12-06", "--objective", f"{OBJ}:4", "--note", "x",
              "--feedback", FEEDBACK, "--measure", "phq9=2,1,1,1,1,1,1,1,0",
              "--measure", "GAD-7=1,1,1,0,1,0,1")
    lines = out.splitlines()
    assert lines[0] == "S1: session 1 of 12, 11 left (P1 version 1)"
    assert lines[1] == ("M4: PHQ-9 = 9 (mild) on 2026-12-06; since baseline 16 on "
                        "2026-11-29: 7 points better, reliably improved; recovered")
    assert "M5: GAD-7 = 5 (mild) on 2026-12-06; the first score of this instrument" in out
    assert lines[-1] == "feedback: heard 8, mattered 7, approach 9, overall 8 (mean 8, lowest 7)"
    rows = run.rows("SELECT id, instrument, date, source, session_id, client_id FROM measures "
                    "WHERE source = 'session' ORDER BY id")
    assert rows == [
        {"id": 4, "instrument": "phq9", "date": "2026-12-06", "source": "session",
         "session_id": 1, "client_id": 1},
        {"id": 5, "instrument": "gad7", "date": "2026-12-06", "source": "session",
         "session_id": 1, "client_id": 1}]
    assert run.rows("SELECT session_id, lowest FROM session_feedback") == \
        [{"session_id": 1, "lowest": 7}]
    actions = [a["action"] for a in run.rows("SELECT action FROM audit WHERE plan_id = 1 "
                                             "AND action NOT LIKE 'plan.%' ORDER BY id")]
    assert actions == ["session.add", "measure.add", "measure.add", "feedback.add"]
    listing = run.ok("session", "list", "P1")
    assert "\tM4 phq9: 9 (mild)\n\tM5 gad7: 5 (mild)\n\tfeedback: heard 8" in listing
    data = json.loads(run.ok("session", "list", "P1", "--format", "json"))
    assert data[0]["measures"] == [
        {"id": "M4", "instrument": "phq9", "total": 9, "band": "mild", "flags": []},
        {"id": "M5", "instrument": "gad7", "total": 5, "band": "mild", "flags": []}]
    assert data[0]["feedback"]["answers"] == {"heard": 8, "mattered": 7, "approach": 9,
                                              "overall": 8}
    out = add(run, "2026-12-13", "--objective", OBJ, "--note", "x",
              "--feedback", "heard=5,mattered=6,approach=6,overall=6",
              "--measure", "phq9=1,1,1,1,1,1,1,1,1")
    assert "flag item9_positive" in out
    assert out.endswith("LOW: an answer below the form's threshold; FALLING since the "
                        "previous session: review the alliance")
    listing = run.ok("session", "list", "P1")
    assert "M6 phq9: 9 (mild, flags: item9_positive)" in listing


@pytest.mark.parametrize("args, message", [
    (["--measure", "phq9=0,0,0,0,0,0,0,0,0", "--measure", "gad7=1,1,1"],
     "--measure gad7: GAD-7 has 7 items, got 3 answers"),
    (["--measure", "phq9=0,0,0,0,0,0,0,0,0", "--measure", "gad7=1,1,1,1,1,1,5"],
     "--measure gad7: GAD-7 item 7 takes 0-3"),
    (["--measure", "phq9=0,0,0,0,0,0,0,0,0", "--measure", "phq10=1"],
     "--measure: unknown instrument 'phq10'"),
    (["--measure", "phq9=0,0,0,0,0,0,0,0,0", "--measure", "phq9=1,1,1,1,1,1,1,1,1"],
     "--measure phq9 is given twice"),
    (["--measure", "phq9"], "--measure takes INSTRUMENT=ANSWERS"),
    (["--measure", "asq=wish_dead=no"], "--measure asq: ASQ item 2"),
    (["--measure", "phq9=0,0,0,0,0,0,0,0,0", "--feedback", "heard=8,mattered=7"],
     "--feedback: no answer for approach, overall"),
    (["--feedback", "heard=8,mattered=7,approach=9,overall=12"], "from 0 to 10"),
    (["--feedback", "heard:8"], "is not ITEM=ANSWER"),
    (["--feedback", "heard=8,heard=7,mattered=7,approach=9,overall=8"],
     "--feedback: heard is given twice"),
])
def test_bad_measure_or_feedback_saves_nothing(run: Runner, args: list[str],
                                               message: str) -> None:
    tables = ("sessions", "session_objectives", "measures", "session_feedback", "audit")
    before = {t: run.rows(f"SELECT * FROM {t}") for t in tables}
    err = run.fails("session", "add", "P1", "--date", "2026-12-06", "--objective", OBJ,
                    "--note", "x", *args)
    assert message in err, err
    assert {t: run.rows(f"SELECT * FROM {t}") for t in tables} == before


def test_a_measure_refused_inside_the_transaction_rolls_back_the_session(run: Runner
                                                                          ) -> None:
    from planwise.errors import InputError
    from planwise.store import Store, sessions

    tables = ("sessions", "session_objectives", "measures", "session_feedback", "audit")
    before = {t: run.rows(f"SELECT * FROM {t}") for t in tables}
    with Store(run.db).connect() as c:
        with pytest.raises(InputError, match=r"--answers\[7\]: answer 9 is out of range"):
            sessions.add_session(c, 1, "2026-12-06", [OBJ], "x",
                                 feedback={"heard": 8, "mattered": 7, "approach": 9,
                                           "overall": 8},
                                 measures=[("phq9", [0] * 9), ("gad7", [1, 1, 1, 1, 1, 1, 9])])
        assert not c.raw.in_transaction
        s = sessions.add_session(c, 1, "2026-12-06", [OBJ], "x",
                                 measures=[("phq9", "0,0,0,0,0,0,0,0,0")])
        assert s["feedback"] is None and s["number"] == 1
        assert [(m["instrument"], m["total"], m["change"]["change_class"])
                for m in s["measures"]] == [("phq9", 0, "reliably_improved")]
    after = {t: run.rows(f"SELECT * FROM {t}") for t in tables}
    assert len(after["sessions"]) == 1 and len(after["measures"]) == len(before["measures"]) + 1
