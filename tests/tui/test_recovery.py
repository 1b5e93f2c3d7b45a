"""Nothing lost when the terminal dies: planwise runs in a real terminal (tmux at 80x24), an
edit is under way, the process gets SIGHUP (as when an SSH connection drops); started
again, the same screen shows the draft exactly as it was, with a note that it was
recovered. Skipped, saying why, where tmux is not installed."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from planwise.kb import load_knowledge
from planwise.store import plans
from planwise.store.clients import add_client
from planwise.store.db import Store
from planwise.store.drafts import list_drafts, load_draft
from planwise.store.sessions import list_sessions
from tests.tui.conftest import EXAMPLES
from tests.tui.test_tmux import PLANWISE, Tmux, app_env, needs_tmux, wait_exit

pytestmark = needs_tmux

NAME = "Robin Recovery (fictional)"


@pytest.fixture()
def tmux() -> Iterator[Tmux]:
    t = Tmux()
    try:
        yield t
    finally:
        t.kill_server()


@pytest.fixture()
def db(tmp_path: Path) -> tuple[Path, int, int]:
    """A database with one client and a drafted plan (from the example intake)."""
    path = tmp_path / "planwise.db"
    c = Store(path).connect()
    try:
        client_id = add_client(c, NAME)
        plan_id = plans.draft(c, client_id, str(EXAMPLES / "depression-alcohol.toml"),
                              load_knowledge(), None)
    finally:
        c.close()
    return path, client_id, plan_id


def draft_of(path: Path, kind: str, key: str) -> dict[str, Any] | None:
    c = Store(path).connect()
    try:
        return load_draft(c, kind, key)
    finally:
        c.close()


def wait_for_draft(path: Path, kind: str, key: str, ok: Callable[[dict[str, Any]], bool],
                   timeout: float = 10.0) -> dict[str, Any]:
    """The autosave runs in a worker: poll the drafts table until it holds the edit."""
    end = time.monotonic() + timeout
    draft = None
    while time.monotonic() < end:
        draft = draft_of(path, kind, key)
        if draft is not None and ok(draft):
            return draft
        time.sleep(0.05)
    raise AssertionError(f"the {kind} draft never held the edit: {draft!r}")


def start(tmux: Tmux, db: Path, tmp_path: Path) -> int:
    pid = tmux.start(f"exec {PLANWISE} --db {db}", app_env(tmp_path))
    tmux.wait_for(NAME, "1 client")
    time.sleep(1.0)  # keys in the first instant can be lost (see test_tmux.py)
    return pid


def hang_up(tmux: Tmux, pid: int) -> None:
    """The connection drops: SIGHUP to the process; it must end (the window goes too)."""
    os.kill(pid, signal.SIGHUP)
    wait_exit(pid)
    tmux.kill_server()


def tick_rows(tmux: Tmux, labels: list[str], attempts: int = 6) -> str:
    """Tick the first rows of the focused checklist, one at a time, until all show X.

    Once in CI all three keys of Space, Down, Space were lost in a 1-in-many run (the
    screen stayed unticked for 15 s; never reproduced by hand or under load here). Home
    and Down from Home put the cursor on a row whatever came before, so a lost or late
    key is put right on the next round instead of failing the test on the way to what it
    is about (the draft after a hangup); the draft's concerns are asserted exactly below.
    """
    screen = tmux.screen()
    for _ in range(attempts):
        missing = [i for i, label in enumerate(labels) if f"X▌ {label}" not in screen]
        if not missing:
            return screen
        tmux.keys("Home", *["Down"] * missing[0], "Space")
        try:
            screen = tmux.wait_for(f"X▌ {labels[missing[0]]}", timeout=4.0)
        except AssertionError:
            screen = tmux.screen()
    return tmux.wait_for(*[f"X▌ {label}" for label in labels], timeout=1.0)


def open_client(tmux: Tmux) -> None:
    tmux.keys("Enter")
    tmux.wait_for("Trauma and significant events", "Plan P1")


def test_intake_draft_survives_a_hangup(tmux: Tmux, db: tuple[Path, int, int],
                                        tmp_path: Path) -> None:
    path, client_id, _ = db
    pid = start(tmux, path, tmp_path)
    open_client(tmux)
    tmux.keys("i")
    # The scope line is written once the draft lookup is done and the screen takes input.
    tmux.wait_for("[1 Screening]", "Depression", "counts as in scope")
    time.sleep(1.0)  # keys typed while the intake opens can be lost (reported)
    # Tick Depression and Generalized anxiety; the screening calls for PHQ-9 and GAD-7.
    # Ticked before Ctrl+N: a priority key overtakes keys still queued for the list.
    tick_rows(tmux, ["Depression", "Generalized anxiety"])
    tmux.keys("C-n")
    tmux.wait_for("[2 Assessments]", "calls for 2 instruments")
    tmux.keys("C-n")
    tmux.wait_for("[3 Instruments]", "[GAD-7 0/7] PHQ-9 0/9")
    tmux.keys("Tab")                           # the second form
    tmux.wait_for("GAD-7 0/7 [PHQ-9 0/9]")
    for digit in "1203":                       # PHQ-9 items 1-4, then the line drops
        tmux.keys(digit)
    screen = tmux.wait_for("[PHQ-9 4/9]")
    assert "Recovered" not in screen
    wait_for_draft(path, "intake", f"C{client_id}",
                   lambda d: d["intake"]["instruments"].get("phq9", [])[:5] == [1, 2, 0, 3, None])
    hang_up(tmux, pid)

    # The draft is in the database (and nothing else was stored).
    draft = draft_of(path, "intake", f"C{client_id}")
    assert draft is not None
    assert draft["intake"]["screening"]["concerns"] == ["depression", "generalized_anxiety"]
    assert draft["intake"]["instruments"]["phq9"] == [1, 2, 0, 3, None, None, None, None, None]
    assert draft["step"] == 2 and draft["form_index"] == 1

    # Started again: the same client, a new intake -> the intake exactly as it was.
    pid = start(tmux, path, tmp_path)
    open_client(tmux)
    tmux.keys("i")
    screen = tmux.wait_for("Recovered unsaved intake", "[3 Instruments]", "[PHQ-9 4/9]")
    screen = tmux.wait_for("Little interest or pleasure", timeout=5)
    rows = [line for line in screen.splitlines() if line.lstrip(" >").startswith(
        ("1. [", "2. [", "3. [", "4. [", "5. ["))]
    assert [r.split("]")[0].split("[")[1] for r in rows] == ["1", "2", "0", "3", " "], screen
    assert any(line.startswith(">") and "5. [ ]" in line for line in rows)  # the cursor too
    assert "GAD-7 0/7" in screen
    # ... and the screening's ticks: back a form, then two steps.
    tmux.keys("C-b")
    tmux.wait_for("[GAD-7 0/7] PHQ-9 4/9")
    tmux.keys("C-b")
    tmux.wait_for("[2 Assessments]")
    tmux.keys("C-b")
    screen = tmux.wait_for("[1 Screening]")
    ticked = [line.split("▌", 1)[1].strip(" ▎") for line in screen.splitlines()
              if "X▌" in line]
    assert ticked == ["Depression", "Generalized anxiety"], screen
    hang_up(tmux, pid)


def test_session_note_survives_a_hangup(tmux: Tmux, db: tuple[Path, int, int],
                                        tmp_path: Path) -> None:
    path, _client_id, plan_id = db
    pid = start(tmux, path, tmp_path)
    open_client(tmux)
    tmux.keys("s")
    tmux.wait_for("session 1 of 12", "Objectives worked on")
    tmux.keys("7")                                  # the first objective, rated 7
    tmux.wait_for("[x]  7/10")
    tmux.keys("C-n")
    # Ctrl+N moves the focus to the note once it is handled; keys already on their way go
    # to the checklist (reported: type-ahead after Ctrl+N lands on the objectives).
    time.sleep(0.5)
    tmux.type("Slept better; kept the")             # the line drops mid-sentence
    screen = tmux.wait_for("Slept better; kept the")
    assert "Recovered" not in screen
    tmux.keys("C-f")                                # the feedback, half answered
    time.sleep(0.5)
    tmux.keys("8")
    tmux.keys("6")
    tmux.wait_for("Heard          [ 8]", "What mattered  [ 6]")
    wait_for_draft(path, "session", f"P{plan_id}",
                   lambda d: d["note"] == "Slept better; kept the"
                   and d.get("feedback") == {"heard": 8, "mattered": 6})
    hang_up(tmux, pid)

    draft = draft_of(path, "session", f"P{plan_id}")
    assert draft is not None and draft["note"] == "Slept better; kept the"
    assert list(draft["addressed"].values()) == [7]
    assert draft["feedback"] == {"heard": 8, "mattered": 6}
    c = Store(path).connect()
    try:
        assert list_sessions(c, plan_id) == []      # only the draft
        assert [(d["kind"], d["key"]) for d in list_drafts(c)] == [("session", f"P{plan_id}")]
    finally:
        c.close()

    pid = start(tmux, path, tmp_path)
    open_client(tmux)
    tmux.keys("s")
    screen = tmux.wait_for("Recovered unsaved session note", "Slept better; kept the",
                           "[x]  7/10", "Heard          [ 8]", "What mattered  [ 6]")
    assert "1 of" in screen and "worked on, 1 rated" in screen
    assert "incomplete: 2 of 4 answered" in screen
    hang_up(tmux, pid)
