"""Full-text search (migration 9, planwise.store.search): built for existing rows, kept in
step by triggers beside the integrity triggers, ranked with snippets, and no input can be
query syntax."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planwise.store import search as search_mod
from planwise.store.db import Store, migrate
from planwise.store.fts import EXTERNAL, TOKENIZE
from planwise.store.integrity import register
from planwise.store.search import MARK_END, MARK_START, match_expression, search
from planwise.store.verify import verify
from tests.test_store_helpers import Runner, with_drafted_plan

OBJ = "depression.activity.monitor"


@pytest.fixture()
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Runner:
    monkeypatch.setenv("PLANWISE_TODAY", "2026-12-31")
    return with_drafted_plan(tmp_path, monkeypatch)


def add_session(run: Runner, date: str, note: str, plan: str = "P1") -> None:
    run.ok("session", "add", plan, "--date", date, "--objective", OBJ, "--note", note)


def refs(results: search_mod.Results) -> list[str]:
    return [h.ref for h in results.hits]


def test_a_session_note_is_found_ranked_with_its_snippet(run: Runner) -> None:
    add_session(run, "2026-12-02", "Reviewed the activity log; slept badly.")
    add_session(run, "2026-12-09", "We talked about the panic attack at work on Monday, "
                                   "what happened just before it and how long it lasted.")
    add_session(run, "2026-12-16", "Panic attacks again: two at work, one on the bus. "
                                   "Panic eased with paced breathing.")
    with Store(run.db).connect() as c:
        found = search(c, "panic attack at work")
        assert refs(found) == ["S3", "S2"]  # more of the words, in a shorter note, first
        assert found.total == 2 and not found.any_words and not found.more
        best = found.hits[0]
        assert (best.kind, best.client_ref, best.plan_id, best.number, best.date) == \
            ("session", "C1", 1, 3, "2026-12-16")
        assert best.client_name == "Jo Example"
        assert f"{MARK_START}Panic{MARK_END} {MARK_START}attacks{MARK_END}" in best.snippet
        assert best.text.startswith("Panic attacks again")
        # Stemming: "attack" found "attacks"; every word must appear, so S1 is not listed.
        assert search(c, "attacks lasted").hits[0].ref == "S2"


def test_names_and_intake_summaries_are_searched_and_one_client_narrows(
        run: Runner) -> None:
    run.ok("client", "add", "--name", "Zoë Drinkwater")
    with Store(run.db).connect() as c:
        assert refs(search(c, "zoe")) == ["C2"]  # diacritics folded
        assert refs(search(c, "drinking")) == ["I1"]  # "...; drinking more" (the example)
        hit = search(c, "low mood").hits[0]
        assert (hit.kind, hit.ref, hit.client_ref, hit.plan_id) == ("intake", "I1", "C1", None)
        assert hit.text == "Low mood since losing job; drinking more"
        assert sorted(refs(search(c, "drink*"))) == ["C2", "I1"]
        assert refs(search(c, "drink*", client_id=2)) == ["C2"]
        assert refs(search(c, "drink*", client_id=1)) == ["I1"]
        assert refs(search(c, "drinkw", prefix_last=True)) == ["C2"]
        assert refs(search(c, "drinkw")) == []  # a whole word unless typed as a prefix


def test_common_words_beside_others_are_left_out(run: Runner) -> None:
    add_session(run, "2026-12-02", "Panic attack during the work meeting.")
    with Store(run.db).connect() as c:
        # "at" is in no note, "the session where we talked about" neither: still found.
        assert refs(search(c, "panic attack at work")) == ["S1"]
        found = search(c, "the session where we talked about the panic attack at work")
        assert refs(found) == ["S1"] and found.any_words
        assert refs(search(c, '"attack at work"')) == []  # a phrase keeps them
        assert refs(search(c, "the")) == ["S1"]  # alone, a common word is searched
    assert match_expression("panic at work") == '"panic" "work"'
    assert match_expression("at the") == '"at" "the"'
    assert match_expression("panic at*") == '"panic" "at"*'


def test_any_word_when_no_record_has_them_all(run: Runner) -> None:
    add_session(run, "2026-12-02", "Talked about the landlord and the repairs.")
    add_session(run, "2026-12-09", "Custody hearing next week.")
    with Store(run.db).connect() as c:
        found = search(c, "landlord custody")
        assert found.any_words and sorted(refs(found)) == ["S1", "S2"]
        assert not search(c, "landlord repairs").any_words


def test_a_client_renamed_is_found_by_the_new_name_only(run: Runner, tmp_path: Path) -> None:
    toml = run.ok("client", "export", "C1")
    path = tmp_path / "c1.toml"
    path.write_text(toml.replace('name = "Jo Example"', 'name = "Jo Newname"'))
    run.ok("client", "edit", "C1", "--file", str(path))
    with Store(run.db).connect() as c:
        assert refs(search(c, "newname")) == ["C1"]
        assert refs(search(c, "example")) == []
        assert verify(c.raw).ok


def test_the_index_leaves_the_records_protected_and_verified(run: Runner) -> None:
    add_session(run, "2026-12-02", "Panic at work.")
    con = sqlite3.connect(run.db)
    register(con)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        con.execute("UPDATE sessions SET note = 'changed' WHERE id = 1")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        con.execute("DELETE FROM sessions WHERE id = 1")
    con.close()
    with Store(run.db).connect() as c:
        report = verify(c.raw)
        assert report.ok, report.problems
        # The index is not chained: the chain holds the records only.
        assert not c.query("SELECT 1 FROM chain WHERE tbl LIKE '%fts%'")
        # Searching writes nothing: no audit row, no chain entry.
        before = c.one("SELECT (SELECT count(*) FROM audit) a, (SELECT count(*) FROM chain) n")
        assert refs(search(c, "panic")) == ["S1"]
        assert c.one("SELECT (SELECT count(*) FROM audit) a, "
                     "(SELECT count(*) FROM chain) n") == before


def test_migration_9_indexes_the_records_already_there(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    raw = sqlite3.connect(path, isolation_level=None)
    migrate(raw, upto=8)
    register(raw)
    raw.execute("BEGIN")
    raw.execute("INSERT INTO clients (name, created_at, updated_at) VALUES ('Ash Tree', 't', 't')")
    raw.execute("INSERT INTO intakes (client_id, date, data, scores, created_at) VALUES "
                "(1, '2026-11-01', json('{\"screening\": {\"summary\": \"Panic on trains\"}}'), "
                "'[]', 't')")
    raw.execute("INSERT INTO intakes (client_id, date, data, scores, created_at) VALUES "
                "(1, '2026-11-02', '{}', '[]', 't')")  # no summary: nothing to index
    raw.execute("INSERT INTO plans (client_id, intake_id, created_at) VALUES (1, 1, 't')")
    raw.execute("INSERT INTO plan_versions (plan_id, version, start_date, risk_level, "
                "created_at) VALUES (1, 1, '2026-11-01', 'low', 't')")
    raw.execute("INSERT INTO sessions (plan_id, version_id, number, date, note, created_at) "
                "VALUES (1, 1, 1, '2026-11-08', 'The panic attack at work', 't')")
    raw.execute("COMMIT")
    raw.close()
    with Store(path).connect() as c:  # migrates to the current version
        assert c.one("SELECT max(version) v FROM schema_version")["v"] >= 9  # type: ignore[index]
        assert sorted(refs(search(c, "panic"))) == ["I1", "S1"]
        assert refs(search(c, "ash")) == ["C1"]
        assert c.one("SELECT count(*) n FROM intake_summaries_fts")["n"] == 1  # type: ignore[index]
        assert verify(c.raw).ok


def test_the_newest_matches_are_ranked_when_there_are_many(
        run: Runner, monkeypatch: pytest.MonkeyPatch) -> None:
    for day in range(1, 6):
        add_session(run, f"2026-12-{day:02d}", "Reviewed homework.")
    monkeypatch.setattr(search_mod, "RANKED", 3)
    with Store(run.db).connect() as c:
        found = search(c, "homework")
        assert sorted(refs(found)) == ["S3", "S4", "S5"]
        assert found.more and found.total == 4  # counted up to RANKED + 1


# -- plain words: nothing the user types is query syntax ----------------------------------

HOSTILE = ['"', '""', '"""', "*", "**", "-", "NOT", "a OR b", "NEAR(a b)", "x:y", "^a",
           "(", ")", "a AND", '"panic', 'panic"', "col:panic", "{note}: panic", "+", "''",
           "\x00", "panic\x00attack", "ÆØÅ", "🙂", "a" * 600, '"*"', "pan *", "* pan"]


@pytest.mark.parametrize("text", HOSTILE)
def test_query_syntax_is_plain_text(run: Runner, text: str) -> None:
    add_session(run, "2026-12-02", "NOT a panic attack OR a drill: col was calm.")
    with Store(run.db).connect() as c:
        found = search(c, text)  # never raises
        assert isinstance(found.total, int)
    assert search_mod.match_expression("NOT panic") == '"NOT" "panic"'
    assert search_mod.match_expression("pan*") == '"pan"*'
    assert search_mod.match_expression('"panic attack" work') == '"panic attack" "work"'


def _quote_fts(text: str) -> str:
    import sqlite_utils

    return sqlite_utils.Database(memory=True).quote_fts(text)


@pytest.fixture(scope="module")
def corpus() -> sqlite3.Connection:
    con = sqlite3.connect(":memory:")
    con.execute(f"CREATE VIRTUAL TABLE t USING fts5(x, tokenize='{TOKENIZE}')")
    words = ["panic", "attack", "work", "not", "or", "near", "and", "a", "b", "x", "y"]
    import itertools

    for i, combo in enumerate(itertools.combinations(words, 3)):
        con.execute("INSERT INTO t (rowid, x) VALUES (?, ?)", (i + 1, " ".join(combo)))
    return con


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(alphabet=st.sampled_from(list('panic attack work NOT OR NEAR AND ab"():^-+*'
                                             "xy\t")), max_size=40))
def test_same_records_as_sqlite_utils_quoting(corpus: sqlite3.Connection, text: str) -> None:
    """Without a `*`, the records found are those sqlite-utils' quote_fts finds; with one,
    the expression still parses."""
    mine = match_expression(text, prefix_last=True, drop_common=False)
    if mine:
        got = {r[0] for r in corpus.execute("SELECT rowid FROM t WHERE t MATCH ?", [mine])}
    else:
        got = set()
    if "*" in text:
        return
    mine_whole = match_expression(text, drop_common=False)
    theirs = _quote_fts(text)
    expected = {r[0] for r in corpus.execute("SELECT rowid FROM t WHERE t MATCH ?", [theirs])
                } if theirs and re.search(r"\w", theirs) else set()
    found = {r[0] for r in corpus.execute("SELECT rowid FROM t WHERE t MATCH ?",
                                          [mine_whole])} if mine_whole else set()
    assert found == expected
    assert got >= found  # a prefix finds at least what the whole word finds


# -- the index is sqlite-utils' own shape --------------------------------------------------

def _norm(sql: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r'["\[\]]', "", sql)).strip()


@pytest.mark.parametrize("table, column", EXTERNAL)
def test_index_is_what_sqlite_utils_enable_fts_makes(tmp_path: Path, table: str,
                                                      column: str) -> None:
    import sqlite_utils

    store = Store(tmp_path / "p.db")
    with store.connect() as c:
        ours = {r["name"]: _norm(r["sql"]) for r in c.query(
            "SELECT name, sql FROM sqlite_master WHERE name IN (?, ?, ?, ?)",
            [f"{table}_fts", f"{table}_ai", f"{table}_ad", f"{table}_au"])}
    scratch = sqlite_utils.Database(memory=True)
    scratch.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, {column} TEXT)")
    scratch[table].enable_fts([column], tokenize=TOKENIZE, create_triggers=True)
    theirs = {r[0]: _norm(r[1]) for r in scratch.execute(
        "SELECT name, sql FROM sqlite_master WHERE name IN (?, ?, ?, ?)",
        [f"{table}_fts", f"{table}_ai", f"{table}_ad", f"{table}_au"])}
    assert ours == theirs and len(ours) == 4


def test_sqlite_utils_tools_work_on_the_index(run: Runner) -> None:
    import sqlite_utils

    add_session(run, "2026-12-02", "The panic attack at work.")
    db = sqlite_utils.Database(run.db)
    register(db.conn)
    assert db["sessions"].detect_fts() == "sessions_fts"
    assert [r["id"] for r in db["sessions"].search("panic", columns=["id"])] == [1]
    assert [r["id"] for r in db["clients"].search("example", columns=["id"])] == [1]
    db["sessions"].rebuild_fts()
    assert [r["id"] for r in db["sessions"].search("attack", columns=["id"])] == [1]
    db.conn.close()
