"""The passphrase screen (issue 15): asked once per start before the caseload, a wrong one
said with nothing opened or changed; a first run chooses one or keeps a plain database."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Static

from planwise.store import crypto, keys
from planwise.store.clients import add_client
from planwise.store.db import Store
from planwise.tui.app import PlanwiseApp
from planwise.tui.screens.caseload import CaseloadScreen
from planwise.tui.screens.passphrase import WRONG, PassphraseScreen
from planwise.tui.services import Services
from tests.tui.conftest import run, settle

NAME = "Ulrike Cryptclient (fictional)"
PASSPHRASE = "correcthorsebattery"


# No key remembered from another test, no keyring, no passphrase file (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("no_remembered_keys")


def encrypted(tmp_path: Path) -> Path:
    path = tmp_path / "enc.db"
    keys.remember(path, crypto.new_key(PASSPHRASE))
    conn = Store(path).connect()
    try:
        add_client(conn, NAME)
    finally:
        conn.close()
    keys._keys.clear()  # as at a new start: nothing remembered
    return path


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


async def until(app: PlanwiseApp, pilot: Any, ready: Callable[[], bool]) -> None:
    """Workers and the screen settled until `ready` (a loaded machine is slow: the key
    derivation alone takes up to a second)."""
    end = time.monotonic() + 20
    while not ready():
        assert time.monotonic() < end, "not ready after 20 s"
        await settle(app, pilot)


def rows(app: PlanwiseApp) -> int:
    from textual.widgets import DataTable

    screen = app.screen
    return screen.query_one(DataTable).row_count if isinstance(screen, CaseloadScreen) else 0


def header(app: PlanwiseApp) -> str:
    """The title line every screen shows."""
    from textual.widgets._header import HeaderTitle

    return str(app.screen.query_one(HeaderTitle).render())


def message(app: PlanwiseApp) -> str:
    return str(app.screen.query_one("#passphrase-message", Static).render())


def test_wrong_passphrase_said_then_the_right_one_opens(tmp_path: Path) -> None:
    path = encrypted(tmp_path)
    before = digest(path)
    services = Services.open(path)
    assert services.locked == path and not services.first_run
    app = PlanwiseApp(services, blink=False)

    async def go() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(app, pilot)
            assert isinstance(app.screen, PassphraseScreen)
            await pilot.press(*"wrongpassphrase", "enter")
            await until(app, pilot, lambda: message(app) == WRONG)
            assert isinstance(app.screen, PassphraseScreen)
            assert app.screen.query_one("#passphrase").value == ""  # type: ignore[attr-defined]
            assert digest(path) == before
            await pilot.press(*PASSPHRASE, "enter")
            await until(app, pilot, lambda: rows(app) > 0)
            assert header(app) == "planwise (encrypted) — Caseload"
            assert NAME in app.screen.query_one("DataTable").get_row_at(0)[1]  # type: ignore[attr-defined]

    try:
        run(go())
    finally:
        services.close()


def test_escape_quits_without_opening(tmp_path: Path) -> None:
    path = encrypted(tmp_path)
    before = digest(path)
    services = Services.open(path)
    app = PlanwiseApp(services, blink=False)

    async def go() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(app, pilot)
            await pilot.press("escape")
            await pilot.pause()
        assert app.return_code == 0

    try:
        run(go())
    finally:
        services.close()
    assert digest(path) == before and keys.cached(path) is None


def test_first_run_chooses_a_passphrase(tmp_path: Path) -> None:
    path = tmp_path / "new" / "planwise.db"
    services = Services.open(path, first_run=True)
    assert services.locked == path and services.first_run and not path.exists()
    app = PlanwiseApp(services, blink=False)

    async def go() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(app, pilot)
            await pilot.press(*"longenough1", "enter", *"longenough2", "enter")
            await until(app, pilot, lambda: "do not match" in message(app))
            await pilot.press(*"short", "enter", *"short", "enter")
            await until(app, pilot, lambda: "At least 8" in message(app))
            await pilot.press(*PASSPHRASE, "enter", *PASSPHRASE, "enter")
            await until(app, pilot, lambda: isinstance(app.screen, CaseloadScreen))

    try:
        run(go())
    finally:
        services.close()
    assert crypto.kind(path) == "encrypted"
    keys._keys.clear()
    keys.unlock(path, PASSPHRASE)  # the passphrase chosen opens it


def test_first_run_both_empty_keeps_a_plain_database_and_says_so(tmp_path: Path) -> None:
    path = tmp_path / "planwise.db"
    services = Services.open(path, first_run=True)
    app = PlanwiseApp(services, blink=False)

    async def go() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(app, pilot)
            await pilot.press("enter", "enter")
            await until(app, pilot, lambda: isinstance(app.screen, CaseloadScreen))
            assert header(app) == "planwise — Caseload"
            shown = [n.message for n in app._notifications]
            assert any("Plain SQLite: not encrypted" in m for m in shown), shown

    try:
        run(go())
    finally:
        services.close()
    assert crypto.kind(path) == "plain"


def test_default_database_on_a_fresh_machine_is_a_first_run(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    from planwise.tui import _first_run

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    from platformdirs import user_data_dir

    default = Path(user_data_dir("planwise")) / "planwise.db"
    assert _first_run(default)
    assert not _first_run(tmp_path / "named.db")  # --db, PLANWISE_DB: created plain
    secret = tmp_path / "pass"
    secret.write_text(PASSPHRASE)
    secret.chmod(0o600)
    monkeypatch.setenv("PLANWISE_PASSPHRASE_FILE", str(secret))
    assert not _first_run(default)  # created encrypted with the file's passphrase
