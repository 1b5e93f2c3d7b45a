"""Encryption at rest (issue 15): SQLCipher behind the store, passphrases, db encrypt /
rekey / decrypt, encrypted backups. docs/store.md, "Encryption at rest"."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from planwise.store import crypto, keys
from tests.main_helpers import Main

NAME = "Wilhelmina Zzyzxcrypt"
NOTE = "Talked about the flood at Quarrybrook"
TABLES = ("clients", "intakes", "measures", "plans", "plan_versions", "plan_items",
          "sessions", "audit", "chain")


# No key remembered from another test, no keyring, no passphrase file (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("no_remembered_keys")


@pytest.fixture()
def main(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
         capsys: pytest.CaptureFixture[str]) -> Main:
    return Main(tmp_path, monkeypatch, capsys)


def secret(tmp_path: Path, text: str, name: str = "pass", mode: int = 0o600) -> Path:
    path = tmp_path / name
    path.write_text(text + "\n", encoding="utf-8")
    os.chmod(path, mode)
    return path


def use(main: Main, passphrase_file: Path | None) -> None:
    """As a new process would start: nothing remembered, this passphrase file."""
    keys._keys.clear()
    if passphrase_file is None:
        main.monkeypatch.delenv("PLANWISE_PASSPHRASE_FILE", raising=False)
    else:
        main.monkeypatch.setenv("PLANWISE_PASSPHRASE_FILE", str(passphrase_file))


def fill(main: Main) -> None:
    """A client with an intake, a plan and a session note."""
    main.ok("client", "add", "--name", NAME)
    main.ok("client", "intake", "C1", str(Path(__file__).parent.parent / "examples" /
                                          "depression-alcohol.toml"))
    main.ok("plan", "draft", "C1", "I1", "--engine", "reference")
    main.ok("session", "add", "P1", "--date", "2027-01-10", "--note", NOTE,
            "--unplanned", "crisis call")


def counts(path: Path, key: crypto.Key | None) -> dict[str, int]:
    con = (crypto.connect(path, key, readonly=True) if key is not None
           else sqlite3.connect(f"file:{path}?mode=ro", uri=True))
    try:
        return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}
    finally:
        con.close()


def key_of(path: Path, passphrase: str) -> crypto.Key:
    return crypto.derive(passphrase, crypto.file_salt(path))


def files(db: Path) -> dict[str, bytes]:
    return {s: Path(str(db) + s).read_bytes() for s in ("", "-wal", "-shm")
            if Path(str(db) + s).exists()}


def digest(db: Path) -> dict[str, str]:
    return {s: hashlib.sha256(b).hexdigest() for s, b in files(db).items()}


def head_line(out: str) -> str:
    return next(line for line in out.splitlines() if line.startswith("chain head: "))


# -- the file holds nothing in clear ------------------------------------------------------

def test_client_name_absent_from_encrypted_file_and_wal(main: Main, tmp_path: Path) -> None:
    use(main, secret(tmp_path, "correct horse battery"))
    fill(main)
    from planwise.store import Store

    # A connection open and a write not yet checkpointed: the records sit in the -wal.
    store = Store(main.db)
    conn = store.connect()
    try:
        with conn.transaction():
            conn.raw.execute("UPDATE clients SET info = ? WHERE id = 1",
                             ('{"notes": "' + NAME + ' again"}',))
        found = files(main.db)
        assert found.get("-wal"), "the test needs a -wal file with the new records in it"
        for suffix, data in found.items():
            assert NAME.encode() not in data, suffix
            assert NAME.split()[1].encode() not in data, suffix
            assert NOTE.encode() not in data, suffix
            assert b"Quarrybrook" not in data, suffix
        assert not found[""].startswith(crypto.SQLITE_HEADER)
        assert store.kind == "encrypted (SQLCipher)"
    finally:
        conn.close()
    with pytest.raises(sqlite3.DatabaseError, match="not a database"):
        sqlite3.connect(main.db).execute("SELECT * FROM clients").fetchall()
    assert "database: encrypted (SQLCipher)" in main.ok("verify")
    assert NAME in main.ok("client", "list")


def test_same_steps_on_a_plain_database_show_the_name(main: Main) -> None:
    """The control for the test above: the bytes searched are where the name would be."""
    fill(main)
    data = b"".join(files(main.db).values())
    assert NAME.encode() in data or NAME.encode() in main.db.read_bytes()
    assert "database: plain SQLite" in main.ok("verify")


def test_a_quoted_passphrase_is_a_key_not_sql(main: Main, tmp_path: Path) -> None:
    """The passphrase never reaches SQL (the raw key does, in hex); the file still opens
    with the passphrase itself, as the `sqlcipher` shell would open it."""
    passphrase = "it's \"x'00'\"; DROP TABLE clients; --"
    use(main, secret(tmp_path, passphrase))
    main.ok("client", "add", "--name", NAME)
    from sqlcipher3 import dbapi2

    con = dbapi2.connect(str(main.db))
    try:
        con.execute("PRAGMA key = '" + passphrase.replace("'", "''") + "'")
        assert con.execute("SELECT name FROM clients").fetchall() == [(NAME,)]
    finally:
        con.close()


# -- passphrases --------------------------------------------------------------------------

def test_wrong_passphrase_refused_and_nothing_changed(main: Main, tmp_path: Path) -> None:
    use(main, secret(tmp_path, "correct horse battery"))
    fill(main)
    keys._keys.clear()
    before = digest(main.db)
    use(main, secret(tmp_path, "wrong horse battery", "wrong"))
    for argv in (("client", "list"), ("client", "add", "--name", "Other"), ("verify",),
                 ("backup", str(tmp_path / "b.db")), ("db", "rekey")):
        err = main.fails(*argv)
        assert "does not open it" in err and "nothing was changed" in err, argv
        assert "wrong horse" not in err
    assert digest(main.db) == before
    assert not (tmp_path / "b.db").exists()
    use(main, tmp_path / "pass")
    assert NAME in main.ok("client", "list")


def test_no_passphrase_at_all_refused(main: Main, tmp_path: Path) -> None:
    use(main, secret(tmp_path, "correct horse battery"))
    main.ok("client", "add", "--name", NAME)
    before = digest(main.db)
    use(main, None)
    err = main.fails("client", "list")
    assert "PLANWISE_PASSPHRASE_FILE" in err and "nothing was written" in err
    assert digest(main.db) == before


def test_asked_on_the_terminal_three_times_at_most(main: Main, tmp_path: Path) -> None:
    use(main, secret(tmp_path, "correct horse battery"))
    main.ok("client", "add", "--name", NAME)
    use(main, None)
    asked: list[str | None] = []

    def asker(answers: list[str]) -> keys.Asker:
        def ask(path: str, why: str | None) -> str | None:
            asked.append(why)
            return answers.pop(0) if answers else None
        return ask

    keys.set_asker(asker(["wrong one", "correct horse battery"]))
    try:
        assert NAME in main.ok("client", "list")
        assert asked == [None, "wrong passphrase"]
        keys._keys.clear()
        asked.clear()
        before = digest(main.db)
        keys.set_asker(asker(["a", "b", "c", "correct horse battery"]))
        err = main.fails("client", "list")
        assert "the passphrase given does not open it" in err
        assert len(asked) == keys.MAX_TRIES and digest(main.db) == before
    finally:
        keys.set_asker(None)


def test_keyring_caches_the_key_where_it_works(main: Main, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """A stand-in for the optional `keyring` package: the key is kept after a passphrase
    opened the database and used on the next start without asking; a stale one is not."""
    import types

    store: dict[tuple[str, str], str] = {}
    fake = types.ModuleType("keyring")
    fake.get_password = lambda s, u: store.get((s, u))  # type: ignore[attr-defined]
    fake.set_password = lambda s, u, p: store.__setitem__((s, u), p)  # type: ignore[attr-defined]
    fake.delete_password = lambda s, u: store.pop((s, u), None)  # type: ignore[attr-defined]
    backends = types.ModuleType("keyring.backends")
    fail = types.ModuleType("keyring.backends.fail")

    class FailKeyring:
        pass

    fail.Keyring = FailKeyring  # type: ignore[attr-defined]
    fake.get_keyring = lambda: object()  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "keyring", fake)
    monkeypatch.setitem(sys.modules, "keyring.backends", backends)
    monkeypatch.setitem(sys.modules, "keyring.backends.fail", fail)
    monkeypatch.delenv("PLANWISE_NO_KEYRING")
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent")

    use(main, secret(tmp_path, "correct horse battery"))
    main.ok("client", "add", "--name", NAME)
    keys._keys.clear()
    keys.unlock(main.db, "correct horse battery")  # as the interface's screen does
    assert len(store) == 1 and "correct horse" not in next(iter(store.values()))
    use(main, None)
    assert NAME in main.ok("client", "list")  # no file, no terminal: the keyring's key
    use(main, None)
    store[next(iter(store))] = "00" * 48  # stale (after a rekey elsewhere): not used
    assert "no passphrase was given" in main.fails("client", "list")
    # Over SSH without a D-Bus session (Linux) it is not even tried.
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS")
    assert (keys._keyring() is None) == sys.platform.startswith("linux")


def test_prefetched_key_is_derived_once(main: Main, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The interface starts deriving the key beside its imports; opening takes it."""
    use(main, secret(tmp_path, "correct horse battery"))
    main.ok("client", "add", "--name", NAME)
    keys._keys.clear()
    calls: list[int] = []
    real = crypto.derive

    def counted(passphrase: str, salt: bytes) -> crypto.Key:
        calls.append(1)
        return real(passphrase, salt)

    monkeypatch.setattr(crypto, "derive", counted)
    keys.prefetch(main.db)
    from planwise.store import Store

    assert Store(main.db, ask=False).encrypted
    assert len(calls) == 1 and not keys._pending
    keys._keys.clear()
    keys.prefetch(tmp_path / "absent.db")  # nothing to derive: no thread
    assert not keys._pending and len(calls) == 1


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604])
def test_passphrase_file_must_be_private(main: Main, tmp_path: Path, mode: int) -> None:
    use(main, secret(tmp_path, "correct horse battery", mode=mode))
    err = main.fails("client", "add", "--name", NAME)
    assert "PLANWISE_PASSPHRASE_FILE" in err and "chmod 600" in err
    assert not main.db.exists()


def test_empty_passphrase_file_refused(main: Main, tmp_path: Path) -> None:
    use(main, secret(tmp_path, ""))
    assert "is empty" in main.fails("client", "add", "--name", NAME)


def test_errors_from_an_encrypted_connection_are_sqlite3_errors(main: Main,
                                                                tmp_path: Path) -> None:
    """The store catches sqlite3's classes (busy, damaged): sqlcipher3's are mapped."""
    use(main, secret(tmp_path, "correct horse battery"))
    main.ok("client", "add", "--name", NAME)
    from planwise.store import Store

    conn = Store(main.db).connect()
    try:
        with pytest.raises(sqlite3.OperationalError) as caught:
            conn.raw.execute("SELECT nope FROM clients")
        assert caught.value.sqlite_errorname == "SQLITE_ERROR"
        with pytest.raises(sqlite3.IntegrityError):
            with conn.transaction():
                conn.raw.execute("UPDATE audit SET who = 'x'")
        assert conn.db["clients"].count == 1  # sqlite-utils on the same connection
    finally:
        conn.close()


def test_busy_encrypted_database_exits_75(main: Main, tmp_path: Path) -> None:
    """Another process holding the write lock: busy (exit 75), as on a plain database, not
    'damaged' or a traceback (the mapped exceptions reach the store's busy check)."""
    passphrase = secret(tmp_path, "correct horse battery")
    use(main, passphrase)
    main.ok("client", "add", "--name", NAME)
    code = ("import sys, time; from pathlib import Path; from planwise.store import crypto; "
            "p = Path(sys.argv[1]); k = crypto.derive(sys.argv[2], crypto.file_salt(p)); "
            "c = crypto.connect(p, k); c.execute('BEGIN IMMEDIATE'); "
            "c.execute(\"INSERT INTO drafts VALUES ('client', 'x', NULL, '{}', 't')\"); "
            "print('ready', flush=True); time.sleep(60)")
    holder = subprocess.Popen([sys.executable, "-c", code, str(main.db),
                               "correct horse battery"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        main.monkeypatch.setenv("PLANWISE_BUSY_TIMEOUT", "0.2")
        err = main.fails("client", "add", "--name", "Someone Else", code=75)
        assert "busy" in err and "Nothing was saved" in err
    finally:
        holder.kill()
        holder.wait()
    assert "Someone Else" not in main.ok("client", "list")


def test_plain_database_never_imports_sqlcipher(main: Main) -> None:
    main.ok("client", "add", "--name", NAME)
    code = ("import sys; from planwise.store import Store; from planwise.store.clients import "
            f"list_clients; c = Store({str(main.db)!r}).connect(); list_clients(c, ''); "
            "print(any(m.startswith('sqlcipher3') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert out.stdout.strip() == "False", out.stderr


# -- encrypt, rekey, decrypt --------------------------------------------------------------

def test_encrypt_rekey_decrypt_round_trip(main: Main, tmp_path: Path) -> None:
    fill(main)
    plain_counts = counts(main.db, None)
    head = head_line(main.ok("verify"))
    first = secret(tmp_path, "correct horse battery")

    out = main.ok("db", "encrypt", "--passphrase-file", str(first))
    assert head in out.replace("chain head ", "chain head: ")
    assert crypto.kind(main.db) == "encrypted"
    assert NAME.encode() not in main.db.read_bytes()
    assert not list(tmp_path.glob(".planwise.db.*")), "no temporary or old file left"
    key1 = key_of(main.db, "correct horse battery")
    after = counts(main.db, key1)
    assert after == {**plain_counts, "audit": plain_counts["audit"] + 1,
                     "chain": plain_counts["chain"] + 1}  # + the store.encrypt audit row
    use(main, first)
    assert "ok: schema and triggers" in main.ok("verify")
    assert NAME in main.ok("client", "list")

    second = secret(tmp_path, "staple battery horse", "new")
    out = main.ok("db", "rekey", "--new-passphrase-file", str(second))
    assert "under the new passphrase" in out
    use(main, first)
    assert "does not open it" in main.fails("client", "list")
    use(main, second)
    assert NAME in main.ok("client", "list")
    assert "ok: schema and triggers" in main.ok("verify")
    key2 = key_of(main.db, "staple battery horse")
    assert key2.salt != key1.salt  # rewritten under a new salt, not only a new key
    rekeyed = counts(main.db, key2)
    assert rekeyed == {**after, "audit": after["audit"] + 1, "chain": after["chain"] + 1}

    handover = tmp_path / "handover.db"
    code, _, err = main.run("db", "decrypt", "--to", str(handover), stdin=b"n\n")
    assert code == 1 and "unencrypted" in err and "Aborted" in err
    assert not handover.exists()
    out = main.ok("db", "decrypt", "--to", str(handover), "--yes")
    assert "plain SQLite copy" in out
    assert handover.read_bytes().startswith(crypto.SQLITE_HEADER)
    assert oct(handover.stat().st_mode & 0o777) == oct(0o600)
    assert counts(handover, None) == rekeyed
    use(main, None)
    main.monkeypatch.setenv("PLANWISE_DB", str(handover))
    assert NAME in main.ok("client", "list")
    assert "database: plain SQLite" in main.ok("verify")


def test_encrypt_refuses_what_it_cannot_do(main: Main, tmp_path: Path) -> None:
    main.ok("client", "add", "--name", NAME)
    assert "shorter than 8" in main.fails("db", "encrypt", "--passphrase-file",
                                          str(secret(tmp_path, "short")))
    assert "not encrypted" in main.fails("db", "rekey")
    assert "not encrypted" in main.fails("db", "decrypt", "--to", str(tmp_path / "x.db"),
                                         "--yes")
    good = secret(tmp_path, "correct horse battery", "good")
    main.ok("db", "encrypt", "--passphrase-file", str(good))
    assert "encrypted already" in main.fails("db", "encrypt", "--passphrase-file", str(good))


def test_encrypt_refused_while_the_database_is_open(main: Main, tmp_path: Path) -> None:
    """Another process reading it (the interface, a command): refused, nothing changed.
    (Another process: two SQLite libraries in one process do not see each other's locks.)"""
    main.ok("client", "add", "--name", NAME)
    before = digest(main.db)
    code = ("import sqlite3, sys, time; c = sqlite3.connect(sys.argv[1], isolation_level=None); "
            "c.execute('BEGIN'); c.execute('SELECT count(*) FROM clients').fetchone(); "
            "print('ready', flush=True); time.sleep(60)")
    holder = subprocess.Popen([sys.executable, "-c", code, str(main.db)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        main.monkeypatch.setenv("PLANWISE_BUSY_TIMEOUT", "0.2")
        err = main.fails("db", "encrypt", "--passphrase-file",
                         str(secret(tmp_path, "correct horse battery")))
        assert "open elsewhere" in err
    finally:
        holder.kill()
        holder.wait()
    assert crypto.kind(main.db) == "plain"
    assert digest(main.db)[""] == before[""]


# -- backups ------------------------------------------------------------------------------

def test_encrypted_backup_is_encrypted_checked_and_restores(main: Main, tmp_path: Path) -> None:
    passphrase = secret(tmp_path, "correct horse battery")
    use(main, passphrase)
    fill(main)
    dest = tmp_path / "backup.db"
    out = main.ok("backup", str(dest))
    assert "encrypted (SQLCipher)" in out
    assert NAME.encode() not in dest.read_bytes()
    before = hashlib.sha256(dest.read_bytes()).hexdigest()
    checked = main.ok("backup", "--verify", str(dest))
    assert "integrity ok" in checked and head_line(checked) == head_line(out)
    assert hashlib.sha256(dest.read_bytes()).hexdigest() == before  # read-only
    live = counts(main.db, keys.cached(main.db))

    # Restored: the live file gone, the backup copied in its place.
    for suffix in ("", "-wal", "-shm"):
        Path(str(main.db) + suffix).unlink(missing_ok=True)
    main.db.write_bytes(dest.read_bytes())
    use(main, passphrase)
    assert NAME in main.ok("client", "list")
    restored = counts(main.db, keys.cached(main.db))
    # All but the live database's `store.backup` audit row, written after the copy.
    assert restored == {**live, "audit": live["audit"] - 1, "chain": live["chain"] - 1}
    assert "ok: schema and triggers" in main.ok("verify")


def test_backup_under_another_passphrase(main: Main, tmp_path: Path) -> None:
    use(main, secret(tmp_path, "correct horse battery"))
    fill(main)
    other = secret(tmp_path, "backup only passphrase", "backup-pass")
    dest = tmp_path / "other.db"
    out = main.ok("backup", str(dest), "--passphrase-file", str(other))
    assert "encrypted (SQLCipher)" in out and NAME.encode() not in dest.read_bytes()
    assert "does not open it" in main.fails("backup", "--verify", str(dest))
    assert "integrity ok" in main.ok("backup", "--verify", str(dest), "--passphrase-file",
                                     str(other))
    assert counts(dest, key_of(dest, "backup only passphrase"))["clients"] == 1


def test_backup_verify_finds_damage(main: Main, tmp_path: Path) -> None:
    use(main, secret(tmp_path, "correct horse battery"))
    fill(main)
    dest = tmp_path / "backup.db"
    main.ok("backup", str(dest))
    data = bytearray(dest.read_bytes())
    data[5000] ^= 0xFF  # one byte of page 2: its HMAC no longer matches
    dest.write_bytes(bytes(data))
    keys._keys.clear()
    err = main.fails("backup", "--verify", str(dest), code=1)
    assert "failed its check" in err
    assert "DEST" in main.fails("backup")
