"""Test isolation (no test reads the user's profile or writes the user's cache, logs or data)
and the suite's speed on every core (xdist groups and workers, Pilot's idle steps)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

_SHARED_SCOPES = ("module", "class", "package")


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """`-n auto`: one worker per CPU this process may run on. With psutil installed,
    xdist would count physical cores: one on a 2-vCPU machine whose vCPUs are
    hyper-threads of one core, half the workers. PYTEST_XDIST_AUTO_NUM_WORKERS wins."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS") or not hasattr(os, "sched_getaffinity"):
        return None  # xdist's own count
    return len(os.sched_getaffinity(0))


# Before xdist's own hook, which reads the marks on a worker.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`make test` runs on every core (pytest-xdist, --dist loadgroup). A module whose tests
    share a module-scoped fixture (a case library drafted once, a browser, a built wheel)
    runs on one worker, so that fixture is built once rather than once per worker; the
    other tests are dealt out one at a time. xdist starts the largest groups first."""
    if not config.pluginmanager.hasplugin("xdist"):
        return  # (-p no:xdist: the mark would be unknown)
    for item in items:
        info = getattr(item, "_fixtureinfo", None)
        if info is None:
            continue
        if any(d.scope in _SHARED_SCOPES
               for defs in info.name2fixturedefs.values() for d in defs):
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::")[0]))
    # After the groups, xdist deals the other tests out in collection order: the long
    # ones first, so that the run ends on tests of a few milliseconds rather than one
    # worker finishing a 10-second interface test while the other waits. (Stable: the
    # order within each part is the collection's.)
    items.sort(key=lambda item: not _long(item.nodeid))


# Files whose tests take seconds each (docs/performance.md, "The test suite").
_LONG = ("tests/tui/", "tests/test_icd_codes.py", "tests/test_durable_guards.py",
         "tests/test_fuzz_inputs.py", "tests/test_knowledge_safety.py",
         "tests/test_reference_index.py", "tests/test_imports.py",
         "tests/test_instruments_properties.py", "tests/test_store_encryption.py",
         "tests/test_packaging.py")


def _long(nodeid: str) -> bool:
    return nodeid.startswith(_LONG)


@pytest.fixture(autouse=True, scope="session")
def _pilot_idle_steps() -> Iterator[None]:
    """Textual's Pilot waits after every key (twice) and every pause() until the process
    has been idle for one step of 20 ms: most of an interface test's time is those steps
    (the keyboard flow test: 18 s, 9 s with 5 ms steps). Pilot still waits first for
    every widget to handle what was sent (_wait_for_screen), and the idle test is the
    same (under a twentieth of the step busy); only the step is shorter."""
    import textual._wait as wait

    mp = pytest.MonkeyPatch()
    mp.setattr(wait, "SLEEP_GRANULARITY", 1 / 200)
    mp.setattr(wait, "SLEEP_IDLE", 1 / 200 / 20)
    yield
    mp.undo()


@pytest.fixture(autouse=True, scope="session")
def _isolated_user_folders(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    mp = pytest.MonkeyPatch()
    root: Path = tmp_path_factory.mktemp("user")
    mp.setenv("PLANWISE_CACHE_DIR", str(root / "cache"))
    mp.setenv("PLANWISE_CONFIG_DIR", str(root / "config"))
    mp.setenv("PLANWISE_KEYS_DIR", str(root / "keys"))  # the practice's key pair (remote)
    # Crash logs and the default database: tests that provoke an internal error wrote
    # their logs into the real ~/.local/state/planwise/log. The XDG folders also reach
    # the planwise processes that tests start.
    mp.setenv("PLANWISE_LOG_DIR", str(root / "logs"))
    mp.setenv("XDG_STATE_HOME", str(root / "state"))
    mp.setenv("XDG_DATA_HOME", str(root / "data"))
    mp.delenv("PLANWISE_PROFILE", raising=False)
    yield
    mp.undo()


@pytest.fixture()
def no_remembered_keys(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No database key remembered from another test, no keyring, no passphrase file (the
    encryption tests: `pytestmark = pytest.mark.usefixtures("no_remembered_keys")`)."""
    from planwise.store import keys

    monkeypatch.setenv("PLANWISE_NO_KEYRING", "1")
    monkeypatch.delenv("PLANWISE_PASSPHRASE_FILE", raising=False)
    keys._keys.clear()
    yield
    keys._keys.clear()
