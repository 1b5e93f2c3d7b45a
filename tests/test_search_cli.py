"""`planwise search TEXT [--client C] [--limit N] [--format json]`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.test_store_helpers import Runner, with_drafted_plan

OBJ = "depression.activity.monitor"


@pytest.fixture()
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Runner:
    monkeypatch.setenv("PLANWISE_TODAY", "2026-12-31")
    r = with_drafted_plan(tmp_path, monkeypatch)
    r.ok("session", "add", "P1", "--date", "2026-12-02", "--objective", OBJ, "--note",
         "Reviewed the activity log.")
    r.ok("session", "add", "P1", "--date", "2026-12-09", "--objective", OBJ, "--note",
         "We talked about the panic attack at work on Monday\nand what came just before.")
    r.ok("client", "add", "--name", "Sam Panicker")
    return r


def test_lists_the_best_records_with_their_snippets(run: Runner) -> None:
    out = run.ok("search", "panic attack at work")
    assert out.splitlines() == [
        "C1 Jo Example  session S2 2026-12-09 (session 2 of P1)",
        "    We talked about the [panic] [attack] at [work] on Monday and what came just…",
        "1 of 1 matching record",
    ]


def test_any_word_and_one_client_and_limit(run: Runner) -> None:
    out = run.ok("search", "panic sleepwalking")
    assert out.startswith("no record has every word; these have some of them:")
    assert "S2" in out
    assert "C2 Sam Panicker" not in run.ok("search", "panic*", "--client", "C1")
    assert run.ok("search", "panic*", "--client", "C2").splitlines()[0] == "C2 Sam Panicker  name"
    assert run.ok("search", "panic*", "--limit", "1").splitlines()[-1] == \
        "1 of 2 matching records"
    assert run.ok("search", "nightmares") == "no records match"
    assert run.ok("search", "nightmares", "--client", "C2") == \
        "no records match in C2's records"


def test_json(run: Runner) -> None:
    data = json.loads(run.ok("search", "panic*", "--format", "json"))
    assert data["total"] == 2 and not data["more"] and not data["any_words"]
    kinds = {r["id"]: r for r in data["results"]}
    assert set(kinds) == {"S2", "C2"}
    assert kinds["S2"]["plan"] == "P1" and kinds["S2"]["number"] == 2
    assert kinds["S2"]["client"] == "C1" and kinds["S2"]["name"] == "Jo Example"
    assert "[panic]" in kinds["S2"]["snippet"]


def test_the_global_db_option_is_honoured(run: Runner) -> None:
    out = run.ok("--db", str(run.db), "search", "panic", db=False)
    assert "S2" in out


@pytest.mark.parametrize("args, message", [
    (["search", ""], "TEXT: give at least one word to search for"),
    (["search", '" * -'], "TEXT: give at least one word to search for"),
    (["search", "panic", "--client", "Jo"], "not a client id"),
    (["search", "panic", "--client", "C9"], "no client C9"),
])
def test_bad_input_is_exit_2_without_traceback(run: Runner, args: list[str],
                                               message: str) -> None:
    before = run.rows("SELECT count(*) n FROM audit")
    assert message in run.fails(*args)
    assert run.rows("SELECT count(*) n FROM audit") == before


@pytest.mark.parametrize("text", ['"', "NOT", "a OR", "NEAR(", "col:x", "^", "pan\"ic"])
def test_query_syntax_is_searched_as_words(run: Runner, text: str) -> None:
    code, out, err = run.invoke("search", text)
    assert code in (0, 2) and "Traceback" not in out + err
    if code == 0:
        assert out.strip().endswith(("no records match", "matching record",
                                     "matching records"))


def test_a_control_sequence_in_a_note_is_shown_escaped(run: Runner) -> None:
    import sqlite3

    from planwise.store.integrity import register

    con = sqlite3.connect(run.db)
    register(con)
    con.execute("INSERT INTO sessions (plan_id, version_id, number, date, note, created_at) "
                "VALUES (1, 1, 3, '2026-12-10', 'panic \x1b]0;owned\x07 here', 't')")
    con.commit()
    con.close()
    out = run.ok("search", "owned")
    assert "\x1b" not in out and "\\x1b" in out
