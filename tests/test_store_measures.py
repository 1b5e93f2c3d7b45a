"""Repeated measures: parsing answers, scoring, the change since the baseline, the CLI,
append-only rows, the migration's backfill from intakes and the export's score table."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from planwise.clinical.instrument_files import load_instruments
from planwise.errors import InputError
from planwise.store import Store, measures
from planwise.store.db import SCHEMA_VERSION, _raw_connect, migrate
from tests.test_store_helpers import Runner, with_drafted_plan

# The example intake (2026-11-29): PHQ-9 16 (item 9 answered 1), AUDIT 16, ASQ 2.
PHQ9_NINE = "2,1,1,1,1,1,1,1,0"     # total 9, item 9 = 0
ASQ_NO = "wish_dead=no,better_off_dead=no,thoughts=no,attempt_ever=no"
CATALOG = load_instruments()


@pytest.fixture()
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Runner:
    monkeypatch.setenv("PLANWISE_TODAY", "2027-06-01")  # the dates below are in the past
    return with_drafted_plan(tmp_path, monkeypatch)


def add(run: Runner, *args: str) -> str:
    return run.ok("measure", "add", *args)


# --- parse_answers ------------------------------------------------------------------------

def test_parse_list_answers() -> None:
    assert measures.parse_answers(CATALOG["phq9"], " 2, 1,1,1,1,1,1,1,0 ") == \
        [2, 1, 1, 1, 1, 1, 1, 1, 0]
    assert measures.parse_answers(CATALOG["gad7"], "1 1 0  3 0 1 2") == [1, 1, 0, 3, 0, 1, 2]
    # AUDIT items 9 and 10 take 0, 2 or 4 only
    assert measures.parse_answers(CATALOG["audit"], "0,0,0,0,0,0,0,0,2,4")[-2:] == [2, 4]


@pytest.mark.parametrize("text, message", [
    ("", "no answers"),
    ("1,1,1", "PHQ-9 has 9 items, got 3 answers"),
    ("1,1,1,1,1,1,1,1,1,1", "got 10 answers"),
    ("1,1,,1,1,1,1,1,1", "PHQ-9 item 3 has no answer"),
    ("1,1,1,-,1,1,1,1,1", "PHQ-9 item 4 has no answer"),
    ("1,1,1,1,4,1,1,1,1", "PHQ-9 item 5 takes 0-3, got '4'"),
    ("1,1,1,1,1,x,1,1,1", "PHQ-9 item 6 takes 0-3"),
    ("1,1,1,1,1,1,1,1,1.5", "PHQ-9 item 9 takes 0-3"),
])
def test_parse_list_refusals_name_the_option_and_item(text: str, message: str) -> None:
    with pytest.raises(InputError) as err:
        measures.parse_answers(CATALOG["phq9"], text)
    assert str(err.value).startswith("--answers") and message in str(err.value)


def test_parse_audit_item_with_its_own_options() -> None:
    with pytest.raises(InputError, match="AUDIT item 9 takes 0, 2, 4, got '1'"):
        measures.parse_answers(CATALOG["audit"], "0,0,0,0,0,0,0,0,1,0")


def test_parse_asq() -> None:
    asq = CATALOG["asq"]
    got = measures.parse_answers(asq, "wish_dead=YES,better_off_dead=n,thoughts=false,"
                                      "attempt_ever=0")
    assert got == {"wish_dead": True, "better_off_dead": False, "thoughts": False,
                   "attempt_ever": False}  # thoughts_now may be left out
    assert asq.score(got).flags == ["positive"]
    acute = measures.parse_answers(asq, ASQ_NO + ",thoughts_now=yes")
    assert asq.score(acute).band == "acute"
    for text, message in [
        ("wish_dead=no,better_off_dead=no,thoughts=no", "item 4 (attempt_ever) has no answer"),
        (ASQ_NO + ",sad=yes", "unknown ASQ item 'sad'"),
        (ASQ_NO + ",wish_dead=yes", "item wish_dead is given twice"),
        ("wish_dead=maybe,better_off_dead=no,thoughts=no,attempt_ever=no",
         "item wish_dead takes yes or no"),
        ("no,no,no,no", "KEY=ANSWER"),
    ]:
        with pytest.raises(InputError) as err:
            measures.parse_answers(asq, text, option="--measure asq")
        assert str(err.value).startswith("--measure asq") and message in str(err.value)


def test_parse_mdq() -> None:
    mdq = CATALOG["mdq"]
    got = measures.parse_answers(mdq, "symptoms=1111 1110 0000 0,same_period=yes,"
                                      "impairment=Serious")
    assert got["symptoms"] == [True] * 7 + [False] * 6
    assert mdq.score(got).flags == ["positive"]
    with pytest.raises(InputError, match="symptoms needs 13 answers"):
        measures.parse_answers(mdq, "symptoms=111,same_period=yes,impairment=none")
    with pytest.raises(InputError, match="impairment must be one of none, minor"):
        measures.parse_answers(mdq, "symptoms=1111111000000,same_period=yes,impairment=bad")
    with pytest.raises(InputError, match="same_period has no answer"):
        measures.parse_answers(mdq, "symptoms=1111111000000,impairment=none")


# --- the CLI ------------------------------------------------------------------------------

def test_measure_add_shows_the_change_since_the_baseline(run: Runner) -> None:
    out = add(run, "C1", "phq9", "--answers", PHQ9_NINE, "--date", "2027-01-10")
    first = out.splitlines()[0]
    assert first == ("M4: PHQ-9 = 9 (mild) on 2027-01-10; since baseline 16 on 2026-11-29: "
                     "7 points better, reliably improved; recovered")
    assert "Reliable change needs a change of at least 5 points" in out
    assert "Recovered: yes" in out and "Response: no" in out and "Remission: no" in out
    row = run.rows("SELECT * FROM measures WHERE id = 4")[0]
    assert (row["client_id"], row["instrument"], row["date"], row["total"], row["band"],
            row["source"], row["session_id"]) == (1, "phq9", "2027-01-10", 9, "mild",
                                                  "measure", None)
    assert json.loads(row["answers"]) == [2, 1, 1, 1, 1, 1, 1, 1, 0]
    audit = run.rows("SELECT * FROM audit WHERE action = 'measure.add'")
    assert [(a["record_id"], a["client_id"]) for a in audit] == [("M4", 1)]
    detail = json.loads(audit[0]["detail"])
    assert detail == {"instrument": "phq9", "date": "2027-01-10", "total": 9,
                      "source": "measure", "session": None,
                      "change_class": "reliably_improved"}
    assert "Jo" not in audit[0]["detail"]


def test_first_score_is_the_baseline_and_flags_are_said(run: Runner,
                                                         monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    monkeypatch.setenv("PLANWISE_TODAY", "2027-02-01")
    out = add(run, "C1", "GAD-7", "--answers", "1,1,1,0,1,0,1")
    assert out == "M4: GAD-7 = 5 (mild) on 2027-02-01; the first score of this instrument: " \
                  "the baseline"
    out = add(run, "C1", "phq9", "--answers", "1,1,1,1,1,1,1,1,1")
    assert "M5: PHQ-9 = 9 (mild) on 2027-02-01" in out
    assert "flag item9_positive: Item 9" in out and "assess suicide risk" in out
    out = add(run, "C1", "asq", "--answers", ASQ_NO + ",thoughts_now=yes")
    assert "ASQ = 0 (acute)" in out and "not classified" in out
    assert "flag acute:" in out and "emergency evaluation" in out


def test_measure_at_a_session(run: Runner) -> None:
    run.ok("session", "add", "P1", "--date", "2026-12-06", "--objective",
           "depression.activity.monitor", "--note", "x")
    out = add(run, "C1", "phq9", "--answers", PHQ9_NINE, "--session", "S1")
    assert "on 2026-12-06" in out  # the session's date by default
    row = run.rows("SELECT source, session_id, date FROM measures WHERE id = 4")[0]
    assert row == {"source": "session", "session_id": 1, "date": "2026-12-06"}
    assert run.rows("SELECT plan_id FROM audit WHERE action = 'measure.add'") == \
        [{"plan_id": 1}]
    listing = run.ok("measure", "list", "C1", "--instrument", "phq9")
    assert "M4\t2026-12-06\t9\tmild\tsession 1 (S1)\tsince baseline: 7 points better" in listing
    run.ok("client", "add", "--name", "Other Client")
    assert "S1 is not one of C2's sessions" in run.fails(
        "measure", "add", "C2", "phq9", "--answers", PHQ9_NINE, "--session", "S1",
        "--date", "2026-12-06")
    assert "no session S9" in run.fails("measure", "add", "C1", "phq9", "--answers",
                                        PHQ9_NINE, "--session", "S9")
    assert "no session S9" in run.fails("measure", "add", "C1", "phq9", "--answers",
                                        PHQ9_NINE, "--session", "S9", "--date", "2027-01-01")
    assert "S1 was on 2026-12-06, and a measure given at a session has its date" in \
        run.fails("measure", "add", "C1", "phq9", "--answers", PHQ9_NINE, "--session", "S1",
                  "--date", "2026-12-07")


def test_measure_dated_in_the_future_is_refused(run: Runner) -> None:
    err = run.fails("measure", "add", "C1", "phq9", "--answers", PHQ9_NINE, "--date",
                    "2031-05-05")
    assert "--date 2031-05-05 is after today (2027-06-01)" in err
    assert run.rows("SELECT count(*) n FROM measures")[0]["n"] == 3  # the intake's only


@pytest.mark.parametrize("args, message", [
    (["C1", "phq9", "--answers", "1,1,1"], "--answers: PHQ-9 has 9 items, got 3 answers"),
    (["C1", "phq9", "--answers", "1,1,1,1,9,1,1,1,1"], "--answers: PHQ-9 item 5 takes 0-3"),
    (["C1", "phq9", "--answers", "1,1,-,1,1,1,1,1,1"], "PHQ-9 item 3 has no answer"),
    (["C1", "asq", "--answers", "wish_dead=no"], "ASQ item 2 (better_off_dead) has no answer"),
    (["C1", "phq10", "--answers", "1"], "unknown instrument 'phq10' (known: asq, audit"),
    (["C9", "phq9", "--answers", PHQ9_NINE], "no client C9"),
    (["Jo", "phq9", "--answers", PHQ9_NINE], "not a client id"),
    (["C1", "phq9", "--answers", PHQ9_NINE, "--date", "10/01/2027"], "--date must be a date"),
    (["C1", "phq9", "--answers", PHQ9_NINE, "--session", "1"], "not a session id"),
])
def test_bad_measure_exits_2_and_saves_nothing(run: Runner, args: list[str],
                                               message: str) -> None:
    before = (run.rows("SELECT * FROM measures"), run.rows("SELECT * FROM audit"))
    err = run.fails("measure", "add", *args)
    assert message in err, err
    assert (run.rows("SELECT * FROM measures"), run.rows("SELECT * FROM audit")) == before


def test_bad_today_is_an_input_error(run: Runner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLANWISE_TODAY", "soon")
    assert "PLANWISE_TODAY must be a date" in run.fails("measure", "add", "C1", "phq9",
                                                        "--answers", PHQ9_NINE)


def test_measure_list_text_and_json(run: Runner) -> None:
    add(run, "C1", "phq9", "--answers", "3,3,3,3,3,3,3,3,3", "--date", "2027-01-03")
    add(run, "C1", "phq9", "--answers", PHQ9_NINE, "--date", "2027-01-10")
    text = run.ok("measure", "list", "C1")
    assert text.splitlines()[0] == "# ASQ"
    assert "# PHQ-9" in text and "# AUDIT" in text
    assert "M1\t2026-11-29\t16\tmoderately_severe\tintake I1\tbaseline\tflags: item9_positive" \
        in text
    assert "M4\t2027-01-03\t27\tsevere\tmeasure\tsince baseline: 11 points worse, reliably " \
           "deteriorated" in text
    data = json.loads(run.ok("measure", "list", "C1", "--instrument", "phq9", "--format",
                             "json"))
    assert [(d["id"], d["date"], d["total"], d["source"]) for d in data] == [
        ("M1", "2026-11-29", 16, "intake"), ("M4", "2027-01-03", 27, "measure"),
        ("M5", "2027-01-10", 9, "measure")]
    assert data[0]["change"] is None and data[0]["intake_id"] == "I1"
    assert data[0]["answers"] == [2, 3, 2, 2, 1, 2, 2, 1, 1]
    assert data[1]["change"]["change_class"] == "reliably_deteriorated"
    assert data[2]["change"]["change_class"] == "reliably_improved"
    assert data[2]["change"]["baseline_id"] == 1 and data[2]["change"]["recovered"] is True
    assert run.ok("measure", "list", "C1", "--instrument", "gad7") == "no measures"
    assert json.loads(run.ok("measure", "list", "C1", "--instrument", "gad7",
                             "--format", "json")) == []
    assert "unknown instrument 'nope'" in run.fails("measure", "list", "C1",
                                                    "--instrument", "nope")
    assert "no client C4" in run.fails("measure", "list", "C4")


# --- the API ------------------------------------------------------------------------------

def test_api_series_orders_by_date_and_an_earlier_score_becomes_the_baseline(
        run: Runner) -> None:
    with Store(run.db).connect() as c:
        late = measures.add_measure(c, 1, "gad7", [2, 2, 2, 2, 2, 2, 2], "2027-01-10")
        assert late["change"] is None  # the first GAD-7
        early = measures.add_measure(c, 1, "gad7", [1, 1, 1, 1, 1, 1, 1], "2026-12-01",
                                     instruments=CATALOG)
        assert early["change"] is None  # dated before: now it is the baseline
        again = measures.add_measure(c, 1, "gad7", "3,3,3,3,3,3,3", "2027-02-01")
        assert again["change"]["baseline"] == 7 and again["change"]["baseline_date"] == \
            "2026-12-01"
        assert again["change"]["change_class"] == "reliably_deteriorated"
        per = measures.series(c, 1)
        gad = per["gad7"]
        assert [(r["date"], r["total"]) for r in gad] == [
            ("2026-12-01", 7), ("2027-01-10", 14), ("2027-02-01", 21)]
        assert gad[0]["change"] is None
        assert [r["change"]["change_class"] for r in gad[1:]] == [
            "reliably_deteriorated", "reliably_deteriorated"]
        assert list(per) == ["asq", "audit", "gad7", "phq9"]
        rows = measures.list_measures(c, 1, "gad7")
        assert [r["id"] for r in rows] == [early["id"], late["id"], again["id"]]
        assert rows[0]["flags"] == [] and rows[0]["answers"] == [1] * 7
        assert rows[0]["source"] == "measure" and rows[0]["intake_id"] is None
        with pytest.raises(InputError, match="no client C5"):
            measures.list_measures(c, 5)


def test_series_survives_an_instrument_missing_from_the_catalogue(run: Runner) -> None:
    with Store(run.db).connect() as c:
        measures.add_measure(c, 1, "phq9", [0] * 9, "2027-01-10")
        per = measures.series(c, 1, {"asq": CATALOG["asq"]})
        ch = per["phq9"][1]["change"]
        assert ch["change_class"] == "not_classified" and ch["change"] == -16


def test_append_only_in_sql(run: Runner) -> None:
    add(run, "C1", "phq9", "--answers", PHQ9_NINE, "--date", "2027-01-10")
    con = sqlite3.connect(run.db)
    for sql in ("UPDATE measures SET total = 0", "DELETE FROM measures",
                "UPDATE measures SET answers = NULL WHERE source = 'intake'"):
        with pytest.raises(sqlite3.DatabaseError, match="measures are append-only"):
            con.execute(sql)
    con.close()
    assert [r["total"] for r in run.rows("SELECT total FROM measures ORDER BY id")] == \
        [16, 16, 2, 9]


# --- migration 6 --------------------------------------------------------------------------

def test_migration_6_backfills_the_intakes_scores(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    raw = _raw_connect(path)
    assert migrate(raw, upto=5) == 5
    raw.execute("INSERT INTO clients (name, created_at, updated_at) VALUES ('A', 't', 't')")
    data: dict[str, Any] = {"date": "2026-10-01", "instruments": {
        "phq9": [1, 1, 1, 1, 1, 1, 1, 1, 1], "asq": {"wish_dead": True, "better_off_dead": False,
                                                      "thoughts": False,
                                                      "attempt_ever": False}}}
    scores = [{"instrument": "phq9", "total": 9, "band": "mild", "band_label": "Mild",
               "flags": ["item9_positive"], "item_scores": [1] * 9},
              {"instrument": "asq", "total": 1, "band": "positive", "band_label": "P",
               "flags": ["positive"], "item_scores": [1, 0, 0, 0]},
              {"instrument": "gad7", "total": 0, "band": "minimal", "band_label": "M"}]
    raw.execute("INSERT INTO intakes (client_id, date, data, scores, created_at) VALUES "
                "(1, '2026-10-01', ?, ?, '2026-10-01T10:00:00+00:00')",
                [json.dumps(data), json.dumps(scores)])
    with pytest.raises(sqlite3.OperationalError, match="no such table: measures"):
        raw.execute("SELECT * FROM measures")
    assert migrate(raw) == SCHEMA_VERSION
    raw.close()
    with Store(path).connect() as c:
        rows = measures.list_measures(c, 1)
    got = [(r["instrument"], r["date"], r["total"], r["band"], r["flags"], r["answers"],
            r["source"], r["intake_id"]) for r in rows]
    assert got == [
        ("asq", "2026-10-01", 1, "positive", ["positive"], data["instruments"]["asq"],
         "intake", 1),
        ("gad7", "2026-10-01", 0, "minimal", [], None, "intake", 1),
        ("phq9", "2026-10-01", 9, "mild", ["item9_positive"], [1] * 9, "intake", 1)]


def test_stored_intake_is_the_baseline(run: Runner) -> None:
    rows = run.rows("SELECT instrument, total, source, intake_id FROM measures ORDER BY id")
    assert rows == [{"instrument": "phq9", "total": 16, "source": "intake", "intake_id": 1},
                    {"instrument": "audit", "total": 16, "source": "intake", "intake_id": 1},
                    {"instrument": "asq", "total": 2, "source": "intake", "intake_id": 1}]


# --- export -------------------------------------------------------------------------------

def test_export_has_the_score_table(run: Runner) -> None:
    add(run, "C1", "phq9", "--answers", "3,3,3,3,3,3,3,3,3", "--date", "2027-01-03")
    add(run, "C1", "phq9", "--answers", PHQ9_NINE, "--date", "2027-01-10")
    md = run.ok("plan", "export", "P1", "--format", "markdown")
    section = md.split("## Scores over time", 1)[1].split("\n## ", 1)[0]
    assert "published reliable-change figures" in section
    phq = section.split("### PHQ-9", 1)[1].split("###", 1)[0]
    assert "| Date | Total | Band | Change since baseline | Class |" in phq
    assert "| 2026-11-29 | 16 | moderately severe; flags: item9_positive | baseline | - |" \
        in phq
    assert "| 2027-01-03 | 27 | severe; flags: item9_positive | +11 (11 points worse) | " \
           "reliably deteriorated |" in phq
    assert "| 2027-01-10 | 9 | mild | -7 (7 points better) | reliably improved; recovered |" \
        in phq
    assert "### AUDIT" in section and "### ASQ" in section
    assert md.index("## Sessions") < md.index("## Scores over time") < md.index("## Signatures")
    rec = json.loads(run.ok("plan", "export", "P1", "--format", "json"))
    phq_json = next(s for s in rec["scores"] if s["instrument"] == "phq9")
    assert phq_json["name"] == "PHQ-9"
    assert [(s["id"], s["total"], s["change_class"]) for s in phq_json["scores"]] == [
        ("M1", 16, None), ("M4", 27, "reliably_deteriorated"), ("M5", 9, "reliably_improved")]


def test_export_without_scores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = with_drafted_plan(tmp_path, monkeypatch)
    with Store(run.db).connect() as c:
        from planwise.store.export import _score_tables, build_record

        rec = build_record(c, 1)
        rec.scores = []
        assert _score_tables(rec) == ["", "## Scores over time", "", "- none recorded"]


def test_a_missing_knowledge_folder_is_an_input_error(run: Runner, tmp_path: Path) -> None:
    err = run.fails("measure", "add", "C1", "phq9", "--answers", PHQ9_NINE,
                    "--knowledge", str(tmp_path / "no-such-folder"))
    assert "knowledge folder not found" in err
    assert run.rows("SELECT count(*) n FROM measures")[0]["n"] == 3
