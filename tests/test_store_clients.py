"""`planwise client ...` against a database in tmp_path."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.test_store_helpers import EXAMPLE, Runner


@pytest.fixture()
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Runner:
    return Runner(tmp_path, monkeypatch)


def test_add_list_show(run: Runner) -> None:
    assert run.ok("client", "add", "--name", "Jo Example") == "C1"
    assert run.ok("client", "add", "--name", "Sam Other") == "C2"
    assert run.ok("client", "list").count("\n") == 1
    out = run.ok("client", "list", "--search", "JO")
    assert "C1\tJo Example" in out and "Sam" not in out
    assert run.ok("client", "list", "--search", "%") == ""
    shown = run.ok("client", "show", "C1")
    assert 'name = "Jo Example"' in shown and 'id = "C1"' in shown


def test_unknown_and_bad_ids(run: Runner) -> None:
    err = run.fails("client", "show", "C99")
    assert "no client C99" in err
    err = run.fails("client", "show", "Jo Example")
    assert "not a client id" in err and "Jo" not in err
    assert "--name must not be empty" in run.fails("client", "add", "--name", " ")


def test_export_edit_round_trip(run: Runner, tmp_path: Path) -> None:
    run.ok("client", "add", "--name", "Jo Example")
    assert 'id = "C1"' in run.ok("client", "export", "C1")
    f = tmp_path / "c1.toml"
    f.write_text("""schema = "planwise.client/1"
id = "C1"
name = "Jo Example"
pronouns = "they/them"
[contact]
phone = "555-0100"
[[emergency_contacts]]
name = "Pat"
relationship = "sibling"
[[care_providers]]
name = "Dr GP"
role = "GP"
[[past_diagnoses]]
description = "Depressive episode"
code = "F32.1"
[[past_treatment]]
description = "CBT, 12 sessions"
when = "2019"
[[significant_events]]
text = "Job loss"
date = 2026-09-01
""")
    assert run.ok("client", "edit", "C1", "--file", str(f)) == "C1 updated"
    again = run.ok("client", "export", "C1")
    f2 = tmp_path / "again.toml"
    f2.write_text(again)
    assert run.ok("client", "edit", "C1", "--file", str(f2)) == "C1 unchanged"
    assert "2026-09-01" in again and "555-0100" in again and "F32.1" in again
    audit = run.rows("SELECT action FROM audit")
    assert [r["action"] for r in audit] == ["client.add", "client.edit"]


@pytest.mark.parametrize("body, field", [
    ('fax = "2"\n', "fax"),
    ('[[emergency_contacts]]\nrelationship = "x"\n', "emergency_contacts[0].name"),
    ('[[significant_events]]\ntext = "x"\ndate = "yesterday"\n', "significant_events[0].date"),
])
def test_edit_errors_name_field_and_change_nothing(run: Runner, tmp_path: Path, body: str,
                                                   field: str) -> None:
    run.ok("client", "add", "--name", "Jo Example")
    before = run.rows("SELECT * FROM clients")
    f = tmp_path / "bad.toml"
    f.write_text('schema = "planwise.client/1"\nid = "C1"\nname = "Jo"\n' + body)
    err = run.fails("client", "edit", "C1", "--file", str(f))
    assert field in err and "Jo" not in err
    assert run.rows("SELECT * FROM clients") == before


def test_edit_bad_files(run: Runner, tmp_path: Path) -> None:
    run.ok("client", "add", "--name", "Jo Example")
    run.ok("client", "add", "--name", "Other")
    f = tmp_path / "c.toml"
    f.write_text("name = [")
    assert "invalid TOML" in run.fails("client", "edit", "C1", "--file", str(f))
    f.write_text(run.ok("client", "export", "C2"))
    assert "for client C2" in run.fails("client", "edit", "C1", "--file", str(f))
    assert "file not found" in run.fails("client", "edit", "C1", "--file", str(tmp_path / "x.toml"))


def test_intake_stored_with_scores(run: Runner) -> None:
    run.ok("client", "add", "--name", "Jo Example")
    assert run.ok("client", "intake", "C1", str(EXAMPLE)) == "I1"
    row = run.rows("SELECT * FROM intakes")[0]
    assert row["date"] == "2026-11-29" and '"phq9"' in row["scores"]
    assert "I1  2026-11-29  phq9" in run.ok("client", "show", "C1")
    assert "no client C5" in run.fails("client", "intake", "C5", str(EXAMPLE))


def test_bad_intake_changes_nothing(run: Runner, tmp_path: Path) -> None:
    run.ok("client", "add", "--name", "Jo Example")
    bad = tmp_path / "bad.toml"
    bad.write_text('schema = "planwise.intake/1"\n[instruments]\nphq9 = [1, 2]\n')
    assert "instruments.phq9" in run.fails("client", "intake", "C1", str(bad))
    assert run.rows("SELECT count(*) n FROM intakes")[0]["n"] == 0


def test_foreign_db_via_cli(run: Runner, tmp_path: Path) -> None:
    other = tmp_path / "other.sqlite"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE x (y)")
    con.commit()
    con.close()
    before = other.read_bytes()
    err = run.fails("client", "--db", str(other), "list", db=False)
    assert "not a planwise database" in err
    assert other.read_bytes() == before


def test_env_db(run: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLANWISE_DB", str(tmp_path / "env.db"))
    assert run.ok("client", "add", "--name", "Env", db=False) == "C1"
    assert (tmp_path / "env.db").exists()


def test_main_exit_code_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from planwise.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["client", "--db", str(tmp_path / "m.db"), "show", "C3"])
    assert exc.value.code == 2
    assert "no client C3" in capsys.readouterr().err
