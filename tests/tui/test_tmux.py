"""Scripted runs of planwise in a real terminal (tmux at 80x24): send-keys in,
capture-pane out. Skipped, saying why, where tmux is not installed. The demo from the
caseload to F1 and Ctrl+Q; the trainee's sign dialog (the focus marked without colour,
Tab in the hint's order, keys typed with Ctrl+G landing in the name); keys typed with the
key that opens the objective dialog, and the dialog's text after a hangup.

`Tmux` is also used by test_recovery.py (SIGHUP in the middle of an edit)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.tui.conftest import TODAY

PLANWISE = Path(sys.executable).with_name("planwise")
TMUX = shutil.which("tmux")
needs_tmux = pytest.mark.skipif(
    TMUX is None, reason="tmux is not installed: the real-terminal run needs tmux "
                         "(apt-get install tmux)")


class Tmux:
    """A private tmux server (its own socket) running one 80x24 window."""

    def __init__(self) -> None:
        assert TMUX is not None
        self.socket = f"planwise-test-{os.getpid()}-{uuid.uuid4().hex[:8]}"

    def tmux(self, *args: str) -> str:
        assert TMUX is not None
        done = subprocess.run([TMUX, "-L", self.socket, "-f", "/dev/null", *args],
                              capture_output=True, text=True, timeout=10)
        if done.returncode != 0:
            raise AssertionError(f"tmux {args[0]} failed: {done.stderr.strip()}")
        return done.stdout

    def start(self, command: str, env: dict[str, str], *, remain: bool = False) -> int:
        """Run `command` in a new 80x24 session; returns the pane's process id."""
        args = ["new-session", "-d", "-s", "main", "-x", "80", "-y", "24"]
        for k, v in env.items():
            args += ["-e", f"{k}={v}"]
        if remain:
            # Keep the pane after the command ends, to read its exit status.
            self.tmux(*args, "sleep 30")
            self.tmux("set-option", "-t", "main", "remain-on-exit", "on")
            self.tmux("respawn-pane", "-k", "-t", "main", command)
        else:
            self._new_session(args, command)
        return int(self.tmux("display", "-p", "-t", "main", "#{pane_pid}").strip())

    def _new_session(self, args: list[str], command: str) -> None:
        # Started again right after its last session ended, the private server may still
        # be shutting down: tmux then says "server exited unexpectedly" (tmux's race, not
        # planwise's; it failed one CI run in five). One retry once it is gone.
        try:
            self.tmux(*args, command)
        except AssertionError as exc:
            if "server exited unexpectedly" not in str(exc):
                raise
            time.sleep(0.5)
            self.tmux(*args, command)

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", "main", *keys)

    def type(self, text: str) -> None:
        self.tmux("send-keys", "-t", "main", "-l", text)

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "main")

    def styled(self) -> str:
        """The screen with its escape codes (bold, reverse, underline, colours)."""
        return self.tmux("capture-pane", "-p", "-e", "-t", "main")

    def wait_for(self, *texts: str, timeout: float = 15.0) -> str:
        """Poll the screen until every text is on it."""
        end = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < end:
            screen = self.screen()
            if all(t in screen for t in texts):
                return screen
            time.sleep(0.05)
        raise AssertionError(f"not on the screen after {timeout} s: "
                             f"{[t for t in texts if t not in screen]}\n{screen}")

    def wait_gone(self, *texts: str, timeout: float = 15.0) -> str:
        end = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < end:
            screen = self.screen()
            if not any(t in screen for t in texts):
                return screen
            time.sleep(0.05)
        raise AssertionError(f"still on the screen after {timeout} s: {texts}\n{screen}")

    def kill_server(self) -> None:
        assert TMUX is not None
        subprocess.run([TMUX, "-L", self.socket, "kill-server"], capture_output=True,
                       timeout=10)


def wait_exit(pid: int, timeout: float = 10.0) -> None:
    """Wait until a process (not our child: tmux's) has ended."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii") as f:
                if f.read().split(") ", 1)[1].startswith("Z"):
                    return  # ended; its parent has yet to reap it
        except FileNotFoundError:
            return
        time.sleep(0.05)
    raise AssertionError(f"process {pid} still running {timeout} s after the hangup")


def app_env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return {"PLANWISE_TODAY": TODAY, "NO_COLOR": "1", "HOME": str(home),
            "TERM": "xterm-256color", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}


@pytest.fixture()
def tmux() -> Iterator[Tmux]:
    if TMUX is None:
        pytest.skip("tmux is not installed")
    t = Tmux()
    try:
        yield t
    finally:
        t.kill_server()


@needs_tmux
def test_demo_in_a_real_terminal(tmux: Tmux, tmp_path: Path) -> None:
    status = tmp_path / "exit-status"
    pid = tmux.start(f"{PLANWISE} demo; echo $? > {status}", app_env(tmp_path), remain=True)
    assert pid > 0
    # The caseload: the fictional clients, the keys in the footer.
    screen = tmux.wait_for("Ash Demo (fictional)", "Elm Demo (fictional", "5 clients",
                           "New client")
    assert "Birch Demo (fictional)" in screen and "Dogwood Demo (fictional)" in screen
    lines = screen.splitlines()
    assert len(lines) <= 24 and all(len(line) <= 80 for line in lines)
    # / searches as you type. Keys sent in the very instant of the first frame were
    # lost twice in CI (never by hand, nor after a pause; possibly Textual's start-up
    # exchange with the terminal). A person never types that fast: give it a moment.
    time.sleep(1.0)
    tmux.keys("/")
    tmux.type("birch")
    screen = tmux.wait_for("1 client matching 'birch'")
    assert "Birch Demo (fictional)" in screen
    assert "Ash Demo" not in screen and "Cedar Demo" not in screen
    # Enter (in the search) goes to the list, Enter opens the client.
    tmux.keys("Enter")
    time.sleep(0.2)
    tmux.keys("Enter")
    screen = tmux.wait_for("Trauma and significant events", "Plan P")
    assert "Birch Demo (fictional)" in screen
    # p opens the plan editor.
    tmux.keys("p")
    screen = tmux.wait_for("S M A R T")
    assert "P2 v1" in screen
    # F1: the keys of the area in focus.
    tmux.keys("F1")
    tmux.wait_for("Plan editor", "Esc          Back")
    tmux.keys("PageDown")                        # the help scrolls when it is long
    tmux.wait_for("Ctrl+G       Sign")
    tmux.keys("End")
    tmux.wait_for("Everywhere", "F1           Help")
    tmux.keys("Escape")
    tmux.wait_gone("Everywhere")
    # Ctrl+Q quits; the process exits 0.
    tmux.keys("C-q")
    end = time.monotonic() + 10
    # The shell creates the file before it writes the status into it.
    while time.monotonic() < end and not (status.exists() and status.read_text().strip()):
        time.sleep(0.05)
    assert status.read_text().strip() == "0", tmux.screen()
    # (The shell's `echo $?` above is planwise's own exit status; tmux's
    # pane_dead_status was sometimes still empty after the pane died, so it is
    # not used.)


_SGR = re.compile(r"\x1b\[([0-9;:]*)m")


def reversed_text(styled: str) -> list[str]:
    """The runs of text shown in reverse video (SGR 7), in screen order."""
    runs: list[str] = []
    for line in styled.splitlines():
        reverse, current, pos = False, "", 0
        for m in [*_SGR.finditer(line), None]:
            chunk = line[pos:m.start() if m else len(line)]
            if reverse:
                current += chunk
            if m is None:
                break
            codes = [c.split(":")[0] for c in m.group(1).split(";") if c] or ["0"]
            now = reverse
            if "0" in codes or "27" in codes:
                now = False
            if "7" in codes:
                now = True
            if reverse and not now and current.strip():
                runs.append(current.strip())
                current = ""
            reverse, pos = now, m.end()
        if current.strip():
            runs.append(current.strip())
    return runs


def marked(tmux: Tmux, done: Callable[[list[str]], bool], timeout: float = 5.0) -> list[str]:
    """The reverse-video runs once `done` holds for them (or, after `timeout`, as they are:
    the caller's assertion then says what is wrong), polled rather than a fixed pause."""
    end = time.monotonic() + timeout
    while True:
        marks = reversed_text(tmux.styled())
        if done(marks) or time.monotonic() > end:
            return marks
        time.sleep(0.05)


@needs_tmux
def test_sign_dialog_in_a_real_terminal(tmux: Tmux, tmp_path: Path) -> None:
    """The trainee's co-signature, without colour (NO_COLOR): the focused field's label is
    in reverse video, Tab goes name > role and back as the hint says, a name typed with
    Ctrl+G lands in the name, and once the supervisor signs the top line says so and
    "supervisor required" is gone."""
    pid = tmux.start(f"exec {PLANWISE} demo --trainee", app_env(tmp_path))
    tmux.wait_for("Birch Demo (fictional)", "5 clients")
    time.sleep(1.0)  # keys in the very first instant (see test_demo_in_a_real_terminal)
    tmux.keys("Down")
    time.sleep(0.2)
    tmux.keys("Enter")
    tmux.wait_for("Trauma and significant events", "Plan P2")
    tmux.keys("p")
    screen = tmux.wait_for("P2 v1 partly signed (therapist)", "supervisor required")
    # Ctrl+G and the name in one write: keys typed while the dialog opens.
    tmux.keys("C-g", "Dr Second")
    screen = tmux.wait_for("Name    Dr Second", "Tab: name > role")
    assert "Signatures: therapist signed (A. Trainee); supervisor (B. Supervisor)" in screen
    assert "After this signature version 1 is SIGNED and IMMUTABLE" in screen
    assert "▐*▌ supervisor" in screen           # the missing role, not the client
    assert "Name" in reversed_text(tmux.styled())
    tmux.keys("Tab")
    marks = marked(tmux, lambda m: "Role" in m and "Name" not in m)
    assert "Role" in marks and "Name" not in marks
    tmux.keys("Tab")                             # no SMART failure: two stops only
    marks = marked(tmux, lambda m: "Name" in m and "Role" not in m)
    assert "Name" in marks and "Role" not in marks
    tmux.keys("Enter")                           # Enter in the name signs
    screen = tmux.wait_for("P2 v1 signed (therapist, supervisor)")
    assert "supervisor required" not in screen
    tmux.keys("C-q")
    wait_exit(pid)


@needs_tmux
def test_objective_dialog_type_ahead_and_hangup(tmux: Tmux, tmp_path: Path) -> None:
    """`e` and the new text in one write: the text lands in the objective field (before,
    the keys read while the dialog composed its fields went nowhere). The terminal then
    dies with the dialog open; started again, the plan editor opens the dialog with the
    text, and Ctrl+S keeps it."""
    from planwise.kb import load_knowledge
    from planwise.store import plans
    from planwise.store.clients import add_client
    from planwise.store.db import Store
    from planwise.tui.widgets.plan_dialogs import objective_draft_key
    from tests.tui.conftest import EXAMPLES

    path = tmp_path / "planwise.db"
    c = Store(path).connect()
    try:
        client_id = add_client(c, "Robin Ahead (fictional)")
        plan_id = plans.draft(c, client_id, str(EXAMPLES / "depression-alcohol.toml"),
                              load_knowledge(), None)
    finally:
        c.close()

    def kept() -> dict[str, object] | None:
        from planwise.store.drafts import load_draft

        conn = Store(path).connect()
        try:
            return load_draft(conn, "plan", objective_draft_key(plan_id))
        finally:
            conn.close()

    def open_plan() -> int:
        pid = tmux.start(f"exec {PLANWISE} --db {path}", app_env(tmp_path))
        tmux.wait_for("Robin Ahead (fictional)", "1 client")
        time.sleep(1.0)
        tmux.keys("Enter")
        tmux.wait_for("Trauma and significant events", f"Plan P{plan_id}")
        tmux.keys("p")
        return pid

    pid = open_plan()
    tmux.wait_for("S M A R T")
    tmux.keys("e", "Write the plan with the client")
    screen = tmux.wait_for("Objective    Write the plan with the client")
    assert "Objective suicide_risk.safety_plan.write" in screen
    end = time.monotonic() + 10
    while time.monotonic() < end:
        draft = kept()
        if draft and draft["fields"]["text"] == "Write the plan with the client":  # type: ignore[index]
            break
        time.sleep(0.05)
    else:
        raise AssertionError(f"the dialog's text was never kept: {kept()!r}")
    os.kill(pid, signal.SIGHUP)                  # the connection drops, dialog open
    wait_exit(pid)
    tmux.kill_server()

    pid = open_plan()
    screen = tmux.wait_for("Recovered your unsaved edit from",
                           "Objective    Write the plan with the client")
    tmux.keys("C-s")
    tmux.wait_for("Write the plan with the client  [suicide_risk.safety_plan.write]")
    tmux.keys("C-q")
    wait_exit(pid)
    assert kept() is None
    c = Store(path).connect()
    try:
        doc = plans.load_doc_for(c, plan_id)
    finally:
        c.close()
    assert [o.text for p in doc.problems for g in p.goals for o in g.objectives
            if o.key == "suicide_risk.safety_plan.write"] == ["Write the plan with the client"]
