"""One scripted run of `planwise demo` in a real terminal (tmux at 80x24): send-keys in,
capture-pane out. Skipped, saying why, where tmux is not installed.

`Tmux` is also used by test_recovery.py (SIGHUP in the middle of an edit)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
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
            self.tmux(*args, command)
        return int(self.tmux("display", "-p", "-t", "main", "#{pane_pid}").strip())

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", "main", *keys)

    def type(self, text: str) -> None:
        self.tmux("send-keys", "-t", "main", "-l", text)

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "main")

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
    screen = tmux.wait_for("Plan editor", "Ctrl+G       Sign", "Everywhere")
    assert "F1           Help" in screen
    tmux.keys("Escape")
    tmux.wait_gone("Ctrl+G       Sign")
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
