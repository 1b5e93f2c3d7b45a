"""Test isolation: no test reads the user's profile or writes the user's cache."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True, scope="session")
def _isolated_user_folders(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    mp = pytest.MonkeyPatch()
    root: Path = tmp_path_factory.mktemp("user")
    mp.setenv("PLANWISE_CACHE_DIR", str(root / "cache"))
    mp.setenv("PLANWISE_CONFIG_DIR", str(root / "config"))
    mp.setenv("PLANWISE_KEYS_DIR", str(root / "keys"))  # the practice's key pair (remote)
    mp.delenv("PLANWISE_PROFILE", raising=False)
    yield
    mp.undo()
