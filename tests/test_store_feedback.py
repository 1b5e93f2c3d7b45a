"""End-of-session feedback in the store: validation, low and falling signals, one row per
session, the caller's transaction, append-only rows."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from planwise.errors import InputError
from planwise.store import Store, feedback, sessions
from tests.test_store_helpers import Runner, with_drafted_plan

OBJ = "depression.activity.monitor"
GOOD = {"heard": 8, "mattered": 7, "approach": 9, "overall": 8}


@pytest.fixture()
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Runner:
    monkeypatch.setenv("PLANWISE_TODAY", "2026-12-31")  # sessions are not dated ahead
    r = with_drafted_plan(tmp_path, monkeypatch)
    for date in ("2026-12-06", "2026-12-13", "2026-12-20"):
        r.ok("session", "add", "P1", "--date", date, "--objective", OBJ, "--note", "x")
    return r


def test_feedback_per_session_with_low_and_falling(run: Runner) -> None:
    with Store(run.db).connect() as c:
        first = feedback.add_feedback(c, 1, {"overall": 8, "heard": 8, "mattered": 7,
                                             "approach": 9})
        assert first == {"session_id": 1, "session": 1, "answers": GOOD, "mean": 8.0,
                         "lowest": 7, "low": False, "falling": False}
        assert list(first["answers"]) == ["heard", "mattered", "approach", "overall"]
        # session 3 compares with session 1 (session 2 has no feedback): mean 8 -> 6
        third = feedback.add_feedback(c, 3, {"heard": 7, "mattered": 7, "approach": 5,
                                             "overall": 5})
        assert (third["mean"], third["lowest"], third["low"], third["falling"]) == \
            (6.0, 5, True, True)
        rows = feedback.for_plan(c, 1)
    assert [(r["session"], r["session_id"], r["date"], r["low"], r["falling"]) for r in rows] \
        == [(1, 1, "2026-12-06", False, False), (3, 3, "2026-12-20", True, True)]
    assert rows[1]["answers"] == {"heard": 7, "mattered": 7, "approach": 5, "overall": 5}
    assert run.rows("SELECT session_id, mean, lowest FROM session_feedback ORDER BY "
                    "session_id") == [{"session_id": 1, "mean": 8.0, "lowest": 7},
                                      {"session_id": 3, "mean": 6.0, "lowest": 5}]
    audit = run.rows("SELECT record_id, plan_id, client_id, detail FROM audit WHERE "
                     "action = 'feedback.add' ORDER BY id")
    assert [(a["record_id"], a["plan_id"], a["client_id"]) for a in audit] == \
        [("S1", 1, 1), ("S3", 1, 1)]
    assert json.loads(audit[1]["detail"])["falling"] is True


def test_a_small_fall_is_not_falling(run: Runner) -> None:
    with Store(run.db).connect() as c:
        feedback.add_feedback(c, 1, GOOD)
        second = feedback.add_feedback(c, 2, {"heard": 8, "mattered": 7, "approach": 7,
                                              "overall": 7})  # mean 8 -> 7.25
        assert (second["low"], second["falling"]) == (False, False)


@pytest.mark.parametrize("answers, message", [
    ({"heard": 8, "mattered": 7, "approach": 9}, "no answer for overall"),
    ({**GOOD, "overall": 11}, "--feedback overall: the answer must be a whole number from 0"),
    ({**GOOD, "heard": -1}, "from 0 to 10"),
    ({**GOOD, "mood": 3}, "unknown item 'mood'"),
])
def test_bad_feedback_saves_nothing(run: Runner, answers: dict[str, int], message: str
                                    ) -> None:
    before = run.rows("SELECT * FROM audit")
    with Store(run.db).connect() as c, pytest.raises(InputError) as err:
        feedback.add_feedback(c, 1, answers)
    assert message in str(err.value)
    assert run.rows("SELECT * FROM session_feedback") == []
    assert run.rows("SELECT * FROM audit") == before


def test_one_feedback_per_session_and_unknown_session(run: Runner) -> None:
    with Store(run.db).connect() as c:
        feedback.add_feedback(c, 1, GOOD)
        with pytest.raises(InputError, match="S1 already has feedback"):
            feedback.add_feedback(c, 1, GOOD)
        with pytest.raises(InputError, match="no session S9"):
            feedback.add_feedback(c, 9, GOOD)
        with pytest.raises(InputError, match="no plan P4"):
            feedback.for_plan(c, 4)
    assert len(run.rows("SELECT * FROM session_feedback")) == 1


def test_inside_the_callers_transaction(run: Runner) -> None:
    with Store(run.db).connect() as c:
        with pytest.raises(RuntimeError, match="boom"), c.transaction():
            feedback.add_feedback(c, 2, GOOD)
            assert c.raw.in_transaction  # no nested BEGIN, no early COMMIT
            raise RuntimeError("boom")
        assert feedback.for_plan(c, 1) == []
        with c.transaction():
            feedback.add_feedback(c, 2, GOOD)
        assert [f["session"] for f in feedback.for_plan(c, 1)] == [2]


def test_listed_with_the_sessions(run: Runner) -> None:
    with Store(run.db).connect() as c:
        feedback.add_feedback(c, 1, GOOD)
        feedback.add_feedback(c, 2, {"heard": 3, "mattered": 4, "approach": 4, "overall": 5})
        rows = sessions.list_sessions(c, 1)
    text = sessions.render_text(rows)
    assert "feedback: heard 8, mattered 7, approach 9, overall 8 (mean 8, lowest 7)\n" in text
    assert "(mean 4, lowest 3); LOW: an answer below the form's threshold; FALLING since the " \
           "previous session: review the alliance" in text
    data = sessions.as_json(rows)
    assert data[0]["feedback"] == {"answers": GOOD, "mean": 8.0, "lowest": 7, "low": False,
                                   "falling": False}
    assert data[2]["feedback"] is None


def test_append_only_in_sql(run: Runner) -> None:
    with Store(run.db).connect() as c:
        feedback.add_feedback(c, 1, GOOD)
    con = sqlite3.connect(run.db)
    for sql in ("UPDATE session_feedback SET mean = 10", "DELETE FROM session_feedback"):
        with pytest.raises(sqlite3.DatabaseError, match="session feedback is append-only"):
            con.execute(sql)
    con.close()
    assert run.rows("SELECT mean FROM session_feedback") == [{"mean": 8.0}]
