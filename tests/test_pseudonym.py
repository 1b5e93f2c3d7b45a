"""The pseudonym of `--pseudonymise` exports (planwise.documents.pseudonym): keyed by the
database's own random key (migration 11, planwise.store.pseudonym_key), which the
database keeps through backups, encryption and decryption, and which cannot be changed."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import os
import re
import sqlite3
from pathlib import Path

import pytest

from planwise.documents.pseudonym import Pseudonyms, client_pseudonym, pseudonym
from planwise.errors import InputError, PlanwiseError
from planwise.store import Store, crypto, keys
from planwise.store.clients import add_client
from planwise.store.db import Conn
from planwise.store.pseudonym_key import MIGRATION_11, read_key
from planwise.store.verify import verify
from tests.main_helpers import Main

FORMAT = re.compile(r"PW-[A-Z2-7]{12}")


# No key remembered from another test, no keyring, no passphrase file (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("no_remembered_keys")


def store_with_clients(path: Path, n: int) -> Conn:
    conn = Store(path).connect()
    for i in range(n):
        add_client(conn, f"Client {i}")
    return conn


def the_key(path: Path, key: crypto.Key | None = None) -> bytes:
    con = (crypto.connect(path, key, readonly=True) if key is not None
           else sqlite3.connect(f"file:{path}?mode=ro", uri=True))
    try:
        return bytes(con.execute("SELECT key FROM pseudonym_key").fetchone()[0])
    finally:
        con.close()


def old_scheme(client_id: int, created_at: str) -> str:
    """The pseudonym before migration 11: HMAC keyed by clients.created_at."""
    digest = hmac.new(created_at.encode("utf-8"), f"planwise.client/{client_id}".encode(),
                      hashlib.sha256).digest()
    return "PW-" + base64.b32encode(digest).decode("ascii")[:12]


def test_format_stable_and_the_hmac_of_the_id(tmp_path: Path) -> None:
    conn = store_with_clients(tmp_path / "a.db", 5)
    key = read_key(conn.raw)
    names = [client_pseudonym(conn, cid) for cid in range(1, 6)]
    assert all(FORMAT.fullmatch(p) for p in names), names
    assert len(set(names)) == 5
    assert names == [client_pseudonym(conn, cid) for cid in range(1, 6)]
    assert names == [pseudonym(cid, key) for cid in range(1, 6)]
    many = Pseudonyms(conn)
    assert [many[cid] for cid in (1, 2, 3, 4, 5, 1, 2)] == names + names[:2]
    assert len(many) == 5  # each computed once
    # The full digest's base32, cut to 12, as before: only the key changed.
    digest = hmac.new(key, b"planwise.client/3", hashlib.sha256).digest()
    assert names[2] == "PW-" + base64.b32encode(digest).decode("ascii")[:12]
    with pytest.raises(InputError, match="no client C99"):
        client_pseudonym(conn, 99)
    conn.close()


def test_key_is_random_per_database(tmp_path: Path) -> None:
    a = store_with_clients(tmp_path / "a.db", 2)
    b = store_with_clients(tmp_path / "b.db", 2)
    ka, kb = read_key(a.raw), read_key(b.raw)
    assert len(ka) == len(kb) == 32 and ka != kb
    assert ka.count(0) < 8  # random bytes, not a zeroed placeholder
    assert client_pseudonym(a, 1) != client_pseudonym(b, 1)
    # Created once: reopening the same file keeps it.
    a.close()
    again = Store(tmp_path / "a.db").connect()
    assert read_key(again.raw) == ka
    again.close()
    b.close()


@pytest.mark.parametrize("sql", [
    "UPDATE pseudonym_key SET key = randomblob(32)",
    "DELETE FROM pseudonym_key",
    "INSERT OR REPLACE INTO pseudonym_key (id, key) VALUES (1, randomblob(32))",
    "REPLACE INTO pseudonym_key (id, key) VALUES (1, zeroblob(32))",
    "INSERT INTO pseudonym_key (id, key) VALUES (2, randomblob(32))",
    "UPDATE OR REPLACE pseudonym_key SET id = 1",
])
def test_key_cannot_be_changed_even_by_another_client(tmp_path: Path, sql: str) -> None:
    conn = store_with_clients(tmp_path / "a.db", 1)
    before = client_pseudonym(conn, 1)
    conn.close()
    other = sqlite3.connect(tmp_path / "a.db", isolation_level=None)  # not planwise's
    with pytest.raises(sqlite3.IntegrityError, match="pseudonym key never changes"):
        other.execute(sql)
    assert other.execute("SELECT count(*) FROM pseudonym_key").fetchone()[0] == 1
    other.close()
    conn = Store(tmp_path / "a.db").connect()
    assert client_pseudonym(conn, 1) == before
    assert verify(conn.raw).ok
    conn.close()


def test_a_removed_key_is_reported_not_replaced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    main = Main(tmp_path, monkeypatch, capsys)
    main.ok("client", "add", "--name", "Jo Example")
    main.ok("client", "intake", "C1", str(Path(__file__).parent.parent / "examples" /
                                          "depression-alcohol.toml"))
    assert "PW-" in main.ok("measure", "export", "--pseudonymise")
    # Someone who drops the trigger, deletes the key and puts the trigger back: the schema
    # is planwise's again, but there is no key.
    con = sqlite3.connect(main.db, isolation_level=None)
    con.execute("DROP TRIGGER pseudonym_key_no_delete")
    con.execute("DELETE FROM pseudonym_key")
    trigger = next(s for s in MIGRATION_11.split(";\nCREATE ")
                   if s.startswith("TRIGGER pseudonym_key_no_delete"))
    con.execute("CREATE " + trigger.strip().rstrip(";") + ";")
    con.close()
    err = main.fails("measure", "export", "--pseudonymise", code=1)
    assert "no pseudonym key" in err and "planwise verify" in err
    code, out, _ = main.run("verify")
    assert code == 1 and "pseudonym_key: no key (deleted?)" in out
    assert "trigger" not in out  # the schema itself is as planwise made it
    assert "C1" in main.ok("measure", "export")  # nothing else is refused
    with pytest.raises(PlanwiseError):
        conn = Store(main.db).connect()
        try:
            Pseudonyms(conn)
        finally:
            conn.close()


def test_brute_force_over_created_at_finds_the_old_pseudonym_not_the_new(
        tmp_path: Path) -> None:
    """What a reader of an export could try: the creation time within hours of the export's
    first date, to the second, and the first ids."""
    conn = store_with_clients(tmp_path / "a.db", 3)
    created = {r["id"]: r["created_at"] for r in conn.query("SELECT id, created_at FROM clients")}
    target_id = 3
    new = client_pseudonym(conn, target_id)
    old = old_scheme(target_id, created[target_id])
    assert new != old
    centre = dt.datetime.fromisoformat(created[target_id])
    found_old: set[int] = set()
    found_new: set[int] = set()
    for delta in range(-3600, 3601):
        guess = (centre + dt.timedelta(seconds=delta)).isoformat(timespec="seconds")
        for cid in (1, 2, 3, 4):
            value = old_scheme(cid, guess)
            if value == old:
                found_old.add(cid)
            if value == new:
                found_new.add(cid)
    assert found_old == {target_id}  # the old scheme falls to this search
    assert found_new == set()
    conn.close()


def secret(tmp_path: Path, text: str, name: str) -> Path:
    path = tmp_path / name
    path.write_text(text + "\n", encoding="utf-8")
    os.chmod(path, 0o600)
    return path


def test_key_survives_backup_encrypt_and_decrypt(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    main = Main(tmp_path, monkeypatch, capsys)
    main.with_plan()

    def exports() -> tuple[str, str]:
        csv_text = main.ok("measure", "export", "--pseudonymise")
        bundle = json.loads(main.ok("plan", "export", "P1", "--format", "fhir",
                                    "--pseudonymise"))
        ids = [e["resource"]["identifier"][0]["value"] for e in bundle["entry"]
               if e["resource"]["resourceType"] == "Patient"]
        return csv_text, ids[0]

    csv_text, patient = exports()
    key = the_key(main.db)
    assert FORMAT.fullmatch(patient) and f"\n{patient}," in csv_text  # one pseudonym for both
    for shown in (key.hex(), base64.b64encode(key).decode(), base64.b32encode(key).decode()):
        assert shown not in csv_text

    copy = tmp_path / "copy.db"
    main.ok("backup", str(copy))
    assert the_key(copy) == key

    passphrase = secret(tmp_path, "correct horse battery", "pass")
    main.ok("db", "encrypt", "--passphrase-file", str(passphrase))
    keys._keys.clear()
    monkeypatch.setenv("PLANWISE_PASSPHRASE_FILE", str(passphrase))
    assert the_key(main.db, crypto.derive("correct horse battery",
                                          crypto.file_salt(main.db))) == key
    assert exports() == (csv_text, patient)
    encrypted_copy = tmp_path / "encrypted-copy.db"
    main.ok("backup", str(encrypted_copy))

    handover = tmp_path / "handover.db"
    main.ok("db", "decrypt", "--to", str(handover), "--yes")
    assert the_key(handover) == key
    keys._keys.clear()
    monkeypatch.delenv("PLANWISE_PASSPHRASE_FILE")
    monkeypatch.setenv("PLANWISE_DB", str(handover))
    assert exports() == (csv_text, patient)
    assert "ok: schema and triggers" in main.ok("verify")

    # The plain backup, moved elsewhere and opened there.
    moved = tmp_path / "elsewhere" / "moved.db"
    moved.parent.mkdir(mode=0o700)
    copy.rename(moved)
    monkeypatch.setenv("PLANWISE_DB", str(moved))
    assert exports() == (csv_text, patient)

    # The encrypted backup, opened with its passphrase.
    keys._keys.clear()
    monkeypatch.setenv("PLANWISE_PASSPHRASE_FILE", str(passphrase))
    monkeypatch.setenv("PLANWISE_DB", str(encrypted_copy))
    assert exports() == (csv_text, patient)
