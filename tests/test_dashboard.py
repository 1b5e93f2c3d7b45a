"""`planwise dashboard`: the clients who need attention, with one reason per flag, computed
in bulk; the flags agree with `attention_flags` on each client's full Course."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from planwise.clinical.review_facts import attention_flags
from planwise.kb.loader import load_knowledge
from planwise.store import Store
from planwise.store.course import load_course
from planwise.store.dashboard import attention
from tests.test_store_helpers import EXAMPLE, Runner

TODAY = dt.date(2027, 3, 1)
# client -> intake date (the plan's start): the example's objectives are due 1 to 12
# weeks after it, its review interval is 6 weeks and its payer allows 12 sessions.
CLIENTS = {"Quiet Client": "2027-02-24", "Worse Client": "2027-02-22",
           "Risk Client": "2027-02-22", "Limit Client": "2027-02-22",
           "Late Client": "2027-01-04"}


def score(run: Runner, client: int, day: str, total: int, flags: str = "[]") -> None:
    from planwise.store.integrity import register

    con = sqlite3.connect(run.db)
    register(con)  # the chain's triggers call planwise's SQL functions
    con.execute("INSERT INTO measures (client_id, instrument, date, total, band, flags, source, "
                "created_at) VALUES (?, 'phq9', ?, ?, 'b', ?, 'measure', 't')",
                [client, day, total, flags])
    con.commit()
    con.close()


@pytest.fixture()
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Runner:
    monkeypatch.setenv("PLANWISE_TODAY", TODAY.isoformat())  # reviews are recorded by then
    r = Runner(tmp_path, monkeypatch)
    text = EXAMPLE.read_text()
    for n, (name, start) in enumerate(CLIENTS.items(), 1):
        intake = tmp_path / f"intake{n}.toml"
        intake.write_text(text.replace("date = 2026-11-29", f"date = {start}"))
        r.ok("client", "add", "--name", name)
        r.ok("client", "intake", f"C{n}", str(intake))
        r.ok("plan", "draft", f"C{n}", f"I{n}", "--engine", "reference")
    score(r, 2, "2027-02-26", 23)  # baseline 16: 7 points worse, reliable
    score(r, 3, "2027-02-27", 15, '["item9_positive"]')  # the plan's risk level is low
    for k in range(10):
        r.ok("session", "add", "P4", "--date", f"2027-02-{22 + k // 2}", "--objective",
             "depression.activity.monitor", "--note", "n")
    return r


def flags_of(rows: list[dict[str, Any]]) -> dict[str, list[str]]:
    return {str(r["client"]): list(r["flags"]) for r in rows}


def full_flags(run: Runner, day: dt.date) -> dict[str, list[str]]:
    kb = load_knowledge([])
    out = {}
    with Store(run.db).connect() as c:
        for n in range(1, len(CLIENTS) + 1):
            found = attention_flags(load_course(c, n, day), kb)
            if found:
                out[f"C{n}"] = found
    return out


def test_crafted_clients_flagged_most_urgent_first(run: Runner) -> None:
    with Store(run.db).connect() as c:
        rows = attention(c, TODAY)
    assert [r["client"] for r in rows] == ["C3", "C2", "C5", "C4"]  # C1 needs nothing
    assert flags_of(rows) == {"C3": ["risk_reemerging"], "C2": ["deteriorated"],
                              "C5": ["objectives_overdue", "review_due"],
                              "C4": ["session_limit_near"]}
    reasons = {r["client"]: r["reasons"] for r in rows}
    assert reasons["C3"] == {"risk_reemerging": "PHQ-9 raised item9 positive on 2027-02-27"}
    assert reasons["C2"] == {"deteriorated": "PHQ-9 16 -> 23 since the baseline, "
                                             "reliably worse"}
    with Store(run.db).connect() as c:
        open_objectives = sum(1 for o in load_course(c, 4, TODAY).objectives
                              if o.status in ("open", "partially_met"))
    assert open_objectives > 2  # the flag is about more work than sessions left
    assert reasons["C4"] == {"session_limit_near": f"2 of 12 sessions left with "
                                                   f"{open_objectives} objectives open"}
    assert reasons["C5"]["review_due"] == ("8 weeks since the start (2027-01-04); review "
                                           "every 6 weeks")
    assert reasons["C5"]["objectives_overdue"].endswith("the earliest due 2027-01-11")
    assert rows[0]["name"] == "Risk Client" and rows[0]["plan"] == "P3"


@pytest.mark.parametrize("day", ["2027-03-01", "2027-02-26", "2027-04-20"])
def test_agrees_with_attention_flags_on_the_full_course(run: Runner, day: str) -> None:
    when = dt.date.fromisoformat(day)
    with Store(run.db).connect() as c:
        rows = attention(c, when)
    assert flags_of(rows) == full_flags(run, when)


def test_cache_is_kept_and_follows_new_records(run: Runner) -> None:
    with Store(run.db).connect() as c:
        first = attention(c, TODAY)
    cached = run.rows("SELECT plan_id, stamp FROM attention_cache ORDER BY plan_id")
    assert [r["plan_id"] for r in cached] == [1, 2, 3, 4, 5]
    assert not any("Client" in r["data"] for r in run.rows("SELECT data FROM attention_cache"))
    with Store(run.db).connect() as c:
        assert attention(c, TODAY) == first
    # A new score for the quiet client changes its stamp: it is flagged at once.
    score(run, 1, "2027-02-28", 24)
    with Store(run.db).connect() as c:
        rows = attention(c, TODAY)
    assert flags_of(rows)["C1"] == ["deteriorated"]
    assert flags_of(rows) == full_flags(run, TODAY)
    # An accepted review counts as the review: no longer due.
    run.ok("review", "P5", "--date", TODAY.isoformat(), "--engine", "reference",
           "--accept-all", "--reason", "week 8 review")
    with Store(run.db).connect() as c:
        rows = attention(c, TODAY)
    assert "review_due" not in flags_of(rows).get("C5", [])
    assert flags_of(rows) == full_flags(run, TODAY)


def test_dashboard_command(run: Runner) -> None:
    out = run.ok("dashboard", "--date", TODAY.isoformat())
    lines = out.splitlines()
    assert lines[0] == "C3\tP3\tRisk Client\trisk re-emerging"
    assert lines[1] == "\trisk re-emerging: PHQ-9 raised item9 positive on 2027-02-27"
    assert lines[-1] == "4 clients need attention"
    assert "Quiet Client" not in out
    only = run.ok("dashboard", "--date", TODAY.isoformat(), "--flag", "review_due")
    assert only.splitlines()[0].startswith("C5\tP5\tLate Client\tobjectives overdue, review due")
    assert only.splitlines()[-1] == "1 client needs attention"
    data = json.loads(run.ok("dashboard", "--date", TODAY.isoformat(), "--format", "json",
                             "--limit", "2"))
    assert [d["client"] for d in data] == ["C3", "C2"]
    assert set(data[0]) == {"client", "client_id", "name", "plan", "plan_id", "flags",
                            "reasons"}
    assert run.ok("dashboard", "--date", "2027-01-05") == "no clients need attention"
    assert "--date" in run.fails("dashboard", "--date", "03/01/2027")


def fresh(run: Runner, day: dt.date) -> list[dict[str, Any]]:
    """The caseload computed from the records alone (nothing kept from an earlier call)."""
    with Store(run.db).connect() as c:
        c.raw.execute("DELETE FROM attention_cache")
        return attention(c, day)


def test_kept_rows_and_quiet_windows_agree_with_a_fresh_computation(run: Runner) -> None:
    # Kept on one day, read on others: before it (records later than the day), the same
    # day, the day before and after the quiet client's first objective falls due
    # (2027-03-03), its first review due (6 weeks from 2027-02-24) and much later.
    days = [dt.date.fromisoformat(d) for d in (
        "2027-02-25", "2027-03-01", "2027-03-03", "2027-03-04", "2027-04-06", "2027-04-07",
        "2027-06-30")]
    expected = {day: fresh(run, day) for day in days}
    for day in days:
        assert flags_of(expected[day]) == full_flags(run, day)
    for kept_on in days:
        fresh(run, kept_on)  # the cache holds what this day computed
        for day in days:
            with Store(run.db).connect() as c:
                assert attention(c, day) == expected[day], (kept_on, day)
    # The quiet client was skipped from its kept window, not recomputed: its row says
    # quiet through its first objective's date, from the start, review every 6 weeks.
    fresh(run, TODAY)
    stamp = run.rows("SELECT stamp FROM attention_cache WHERE plan_id = 1")[0]["stamp"]
    assert stamp.split("|")[1:4] == ["2027-03-03", "", "6"]
    assert "C1" not in flags_of(expected[dt.date(2027, 3, 3)])
    assert flags_of(expected[dt.date(2027, 3, 4)])["C1"] == ["objectives_overdue"]


def test_quiet_window_needs_the_same_knowledge(run: Runner) -> None:
    import dataclasses

    kb = load_knowledge([])
    with Store(run.db).connect() as c:
        c.raw.execute("DELETE FROM attention_cache")
        first = attention(c, TODAY, kb=kb)
        # Another knowledge (a clinic folder) with no primary measure: the kept windows
        # were worked out with the shipped one and are not trusted.
        other = dataclasses.replace(kb, fingerprint="clinic", primary_measures={})
        rows = attention(c, TODAY, kb=other)
    assert "C2" in flags_of(first) and "C2" not in flags_of(rows)  # deteriorated: primary
    kept = run.rows("SELECT stamp FROM attention_cache WHERE plan_id = 1")[0]["stamp"]
    assert kept.endswith("|clinic")
