"""The knowledge cache: used when fresh, ignored when stale or broken."""

from __future__ import annotations

from pathlib import Path

import pytest

from planwise.kb import cache
from planwise.kb.loader import _load, load_knowledge

RULE = '''
[[rules]]
id = "clinic.extra"
stage = "plan"
source = "our clinic protocol"
says = "Depression gets the clinic's extra assessment."
when = [{ fact = "problem", condition = "depression" }]
then = [{ fact = "assessment", instrument = "k10", reason = "clinic protocol" }]
'''


@pytest.fixture()
def cache_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("PLANWISE_CACHE_DIR", str(folder))
    monkeypatch.delenv("PLANWISE_NO_CACHE", raising=False)
    _load.cache_clear()
    return folder


def test_cache_is_written_private_and_read_back(cache_folder: Path, tmp_path: Path) -> None:
    kb = load_knowledge()
    files = list(cache_folder.glob("knowledge-*.pickle"))
    assert len(files) == 1
    assert files[0].stat().st_mode & 0o777 == 0o600
    assert cache_folder.stat().st_mode & 0o777 == 0o700
    _load.cache_clear()
    again = load_knowledge()
    assert again.fingerprint == kb.fingerprint and len(again.rules) == len(kb.rules)


def test_an_edited_clinic_file_is_not_served_from_the_cache(cache_folder: Path,
                                                            tmp_path: Path) -> None:
    clinic = tmp_path / "clinic"
    clinic.mkdir()
    (clinic / "x.toml").write_text(RULE)
    assert load_knowledge([clinic]).rule("clinic.extra") is not None
    (clinic / "x.toml").write_text(RULE.replace("clinic.extra", "clinic.renamed_rule"))
    _load.cache_clear()
    kb = load_knowledge([clinic])
    assert kb.rule("clinic.renamed_rule") is not None and kb.rule("clinic.extra") is None


def test_a_corrupt_cache_is_ignored(cache_folder: Path) -> None:
    load_knowledge()
    for f in cache_folder.glob("knowledge-*.pickle"):
        f.write_bytes(b"not a pickle")
    _load.cache_clear()
    assert len(load_knowledge().rules) > 50


def test_cache_can_be_switched_off(cache_folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLANWISE_NO_CACHE", "1")
    assert not cache.enabled()
    load_knowledge()
    assert not cache_folder.exists()
