"""The practice's key pair: made on first use, private (0600 in a 0700 folder),
passphrase-protected when one is configured; `keys show` prints the fingerprint;
rotation keeps old requests readable until they expire."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest

from planwise.remote import keys
from tests.remote_helpers import import_text, remote_runner, request, sealed, spki
from tests.test_store_helpers import Runner


@pytest.fixture()
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Runner:
    return remote_runner(tmp_path, monkeypatch)


def mode(p: Path) -> int:
    return stat.S_IMODE(os.stat(p).st_mode)


def test_key_made_on_first_use_private_and_fingerprint_shown(run: Runner,
                                                             tmp_path: Path) -> None:
    folder = tmp_path / "keys"
    assert not folder.exists()
    out = run.ok("keys", "show")
    pems = list(folder.glob("*.pem"))
    assert len(pems) == 1 and mode(pems[0]) == 0o600 and mode(folder) == 0o700
    assert b"BEGIN PRIVATE KEY" in pems[0].read_bytes()  # no passphrase configured
    assert "RSA 3072 bits" in out
    # The fingerprint is the SHA-256 of the key in the packets: what a client can check.
    req = request(run, tmp_path, "phq9")
    digest = hashlib.sha256(spki(req)).hexdigest()
    shown = next(line for line in out.splitlines() if line.startswith("fingerprint"))
    assert shown.replace("fingerprint SHA256 ", "").replace(" ", "") == digest
    assert run.ok("keys", "show") == out  # the same key the next time


def test_passphrase_protects_the_private_key(run: Runner, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    secret = tmp_path / "passphrase"
    secret.write_text("correct horse battery staple\n")
    monkeypatch.setenv("PLANWISE_KEY_PASSPHRASE_FILE", str(secret))
    run.ok("keys", "show")
    pem = next((tmp_path / "keys").glob("*.pem")).read_bytes()
    assert b"BEGIN ENCRYPTED PRIVATE KEY" in pem
    req = request(run, tmp_path, "phq9")
    monkeypatch.setenv("PLANWISE_TODAY", "2026-12-10")
    secret.write_text("wrong\n")
    code, _out, err = import_text(run, tmp_path, sealed(req))
    assert code == 2 and "wrong passphrase" in err
    monkeypatch.delenv("PLANWISE_KEY_PASSPHRASE_FILE")
    code, _out, err = import_text(run, tmp_path, sealed(req))
    assert code == 2 and "protected by a passphrase" in err
    monkeypatch.setenv("PLANWISE_KEY_PASSPHRASE_FILE", str(secret))
    secret.write_text("correct horse battery staple\n")
    assert import_text(run, tmp_path, sealed(req))[0] == 0


def test_passphrase_from_the_config_file(run: Runner, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "pp").write_text("s3cret\n")
    cfg = tmp_path / "config.toml"
    cfg.write_text('key_passphrase_file = "pp"\n')
    monkeypatch.setenv("PLANWISE_CONFIG", str(cfg))
    run.ok("keys", "show")
    assert b"ENCRYPTED" in next((tmp_path / "keys").glob("*.pem")).read_bytes()


def test_rotation_keeps_old_requests_readable_until_they_expire(
        run: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    old = request(run, tmp_path, "phq9", "--expires", "7d", name="old.html")
    out = run.ok("keys", "rotate")
    assert "kept until their requests expire" in out
    new = request(run, tmp_path, "phq9", "--expires", "30d", name="new.html")
    assert spki(old) != spki(new)
    assert len(keys.key_ids(tmp_path / "keys")) == 2
    monkeypatch.setenv("PLANWISE_TODAY", "2026-12-10")
    assert import_text(run, tmp_path, sealed(old), name="a.txt")[0] == 0  # the old key opens it
    assert import_text(run, tmp_path, sealed(new), name="b.txt")[0] == 0
    # Used, but not expired yet: kept (another database may hold a request sealed to it).
    run.ok("keys", "rotate")
    assert len(keys.key_ids(tmp_path / "keys")) == 3
    monkeypatch.setenv("PLANWISE_TODAY", "2026-12-15")  # the old request expired on the 14th
    out = run.ok("keys", "rotate")
    assert "deleted (every request sealed to them has expired)" in out
    left = keys.key_ids(tmp_path / "keys")
    assert len(left) == 2 and keys.key_id(spki(new)) in left  # new's request runs to 01-06


def test_a_key_another_database_still_needs_is_kept(run: Runner, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """One keys folder serves every database of the user (the demo's too): rotating while
    another database is open must not delete a key its open requests need."""
    req = request(run, tmp_path, "phq9")
    other = tmp_path / "other.db"
    run.ok("client", "--db", str(other), "list", db=False)
    run.ok("keys", "--db", str(other), "rotate", db=False)
    run.ok("keys", "--db", str(other), "rotate", db=False)
    assert keys.key_id(spki(req)) in keys.key_ids(tmp_path / "keys")
    monkeypatch.setenv("PLANWISE_TODAY", "2026-12-10")
    assert import_text(run, tmp_path, sealed(req))[0] == 0


def test_rotation_deletes_a_key_once_its_requests_expired(
        run: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "keys"
    request(run, tmp_path, "phq9", "--expires", "7d")
    first = keys.key_ids(folder)
    run.ok("keys", "rotate")
    assert len(keys.key_ids(folder)) == 2
    run.ok("keys", "rotate")  # the request is still open: its key stays
    assert set(first) <= set(keys.key_ids(folder))
    monkeypatch.setenv("PLANWISE_TODAY", "2026-12-15")  # the request expired on the 14th
    out = run.ok("keys", "rotate")
    left = keys.key_ids(folder)
    assert first[0] in out and first[0] not in left and len(left) == 1
    assert (folder / "current").read_text().strip() == left[0]
    assert mode(folder / f"{left[0]}.pem") == 0o600
