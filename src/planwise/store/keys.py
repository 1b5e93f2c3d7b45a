"""Where an encrypted database's passphrase comes from, and the keys of this process.

In order: a key this process already derived (`remember`), the file named by
PLANWISE_PASSPHRASE_FILE (must be 0600: scripts and CI), the OS keyring when the
optional `keyring` package is installed and has a working backend (it caches the
derived key, not the passphrase), else the asker the front end installed (the CLI
asks on the terminal; the interface has its own screen and unlocks before opening).
Without any of them an encrypted file is refused (exit 2) and nothing is written.
A passphrase never appears in a message, a log or an exception.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from planwise.errors import InputError
from planwise.store import crypto
from planwise.store.crypto import Key

PASSPHRASE_ENV = "PLANWISE_PASSPHRASE_FILE"
KEYRING_SERVICE = "planwise-db-key"
MAX_TRIES = 3
MAX_PASSPHRASE_BYTES = 4096

# (file, why the last one failed or None) -> a passphrase, or None to give up
Asker = Callable[[str, str | None], str | None]

_keys: dict[str, Key] = {}
_lock = threading.Lock()
_asker: Asker | None = None
_pending: dict[str, tuple[threading.Thread, list[Key]]] = {}


class WrongPassphrase(InputError):
    """The passphrase does not open the file: exit 2, the file untouched."""


class PassphraseNeeded(InputError):
    """An encrypted file (or not SQLite at all) and no passphrase to try: exit 2."""


def set_asker(asker: Asker | None) -> None:
    global _asker
    _asker = asker


def _id(path: Path | str) -> str:
    return str(Path(path).resolve())


def cached(path: Path | str) -> Key | None:
    with _lock:
        return _keys.get(_id(path))


def remember(path: Path | str, key: Key) -> None:
    with _lock:
        _keys[_id(path)] = key


def forget(path: Path | str) -> None:
    with _lock:
        _keys.pop(_id(path), None)


def passphrase_file() -> str | None:
    """The passphrase in PLANWISE_PASSPHRASE_FILE (its first line), or None when unset."""
    name = os.environ.get(PASSPHRASE_ENV)
    return read_passphrase_file(name, PASSPHRASE_ENV) if name else None


def read_passphrase_file(name: str, what: str) -> str:
    """The first line of a private (0600) file: PLANWISE_PASSPHRASE_FILE, or an option."""
    path = Path(name)
    try:
        st = path.stat()
        if not path.is_file():
            raise InputError("is not a file", file=name, field=what)
        if os.name == "posix" and st.st_mode & 0o077:
            raise InputError(f"others can read or change it (mode {st.st_mode & 0o777:o}); "
                             f"make it private: chmod 600 {name}", file=name, field=what)
        data = path.read_bytes()[:MAX_PASSPHRASE_BYTES + 2]
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc.__class__.__name__}", file=name,
                         field=what) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError("is not UTF-8 text", file=name, field=what) from None
    lines = text.splitlines()
    passphrase = lines[0] if lines else ""
    if not passphrase:
        raise InputError("is empty (the passphrase is its first line)", file=name, field=what)
    if len(passphrase.encode("utf-8")) > MAX_PASSPHRASE_BYTES:
        raise InputError("the passphrase is longer than 4,096 bytes", file=name, field=what)
    return passphrase


# -- the OS keyring, optional ----------------------------------------------------------

def _keyring() -> object | None:
    """The keyring module when it is installed and can work here: over a headless SSH
    session (Linux without a D-Bus session) its backends hang or fail, so it is not tried."""
    if os.environ.get("PLANWISE_NO_KEYRING"):
        return None
    if sys.platform.startswith("linux") and not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        return None
    try:
        import keyring
        from keyring.backends import fail
    except Exception:  # not installed (it is optional), or broken
        return None
    try:
        if isinstance(keyring.get_keyring(), fail.Keyring):
            return None
    except Exception:
        return None
    return keyring


def keyring_get(path: Path | str) -> Key | None:
    kr = _keyring()
    if kr is None:
        return None
    try:
        value = kr.get_password(KEYRING_SERVICE, _id(path))  # type: ignore[attr-defined]
        raw = bytes.fromhex(value) if value else b""
    except Exception:
        return None
    if len(raw) != crypto.KEY_BYTES + crypto.SALT_BYTES:
        return None
    return Key(raw[:crypto.KEY_BYTES], raw[crypto.KEY_BYTES:])


def keyring_set(path: Path | str, key: Key | None) -> None:
    kr = _keyring()
    if kr is None:
        return
    try:
        if key is None:
            kr.delete_password(KEYRING_SERVICE, _id(path))  # type: ignore[attr-defined]
        else:
            kr.set_password(KEYRING_SERVICE, _id(path),  # type: ignore[attr-defined]
                            (key.raw + key.salt).hex())
    except Exception:  # a cache only: a locked or missing keyring means asking next time
        pass


# -- keys ------------------------------------------------------------------------------

def wrong(path: Path | str, source: str) -> WrongPassphrase:
    return WrongPassphrase(f"{source} does not open it (a wrong passphrase, or not a planwise "
                           "database); nothing was changed", file=str(path))


def unlock(path: Path | str, passphrase: str) -> Key:
    """The key for `passphrase` if it opens the encrypted file, remembered; else
    WrongPassphrase. Takes about a quarter of a second (the key derivation)."""
    key = crypto.derive(passphrase, crypto.file_salt(Path(path)))
    if not crypto.opens(Path(path), key):
        raise wrong(path, "the passphrase")
    remember(path, key)
    keyring_set(path, key)
    return key


def prefetch(path: Path | str) -> None:
    """Start deriving the key from PLANWISE_PASSPHRASE_FILE in a thread, for `key_for` to
    take: the derivation (a quarter of a second, in C, without the GIL) then overlaps the
    interface's own imports. Does nothing when there is nothing to derive; any problem is
    left for `key_for` to report."""
    try:
        if cached(path) is not None or crypto.kind(Path(path)) != "encrypted":
            return
        passphrase = passphrase_file()
        salt = crypto.file_salt(Path(path))
    except Exception:
        return
    if passphrase is None:
        return
    result: list[Key] = []
    # Nothing in the thread imports a module (hashlib is loaded): no import races.
    thread = threading.Thread(target=lambda: result.append(crypto.derive(passphrase, salt)),
                              name="planwise-key", daemon=True)
    with _lock:
        _pending[_id(path)] = (thread, result)
    thread.start()


def _prefetched(path: Path, salt: bytes) -> Key | None:
    with _lock:
        found = _pending.pop(_id(path), None)
    if found is None:
        return None
    thread, result = found
    thread.join()
    return result[0] if result and result[0].salt == salt else None


def key_for(path: Path | str, *, ask: bool = True) -> Key:
    """The key that opens the encrypted file `path` (module docstring: the order)."""
    hit = cached(path)
    if hit is not None:
        return hit
    path = Path(path)
    salt = crypto.file_salt(path)
    early = _prefetched(path, salt)
    passphrase = passphrase_file()
    if passphrase is not None:
        key = early or crypto.derive(passphrase, salt)
        if not crypto.opens(path, key):
            raise wrong(path, f"the passphrase in {PASSPHRASE_ENV}")
        remember(path, key)
        return key
    stored = keyring_get(path)
    if stored is not None and stored.salt == salt and crypto.opens(path, stored):
        remember(path, stored)
        return stored
    asker = _asker or (_terminal_asker if _on_terminal() else None)
    if ask and asker is not None:
        why: str | None = None
        for _ in range(MAX_TRIES):
            given = asker(str(path), why)
            if not given:
                break
            try:
                return unlock(path, given)
            except WrongPassphrase:
                why = "wrong passphrase"
        raise wrong(path, "the passphrase given")
    raise PassphraseNeeded("not a planwise database (not SQLite), or an encrypted one and no "
                           f"passphrase was given: set {PASSPHRASE_ENV} to a private file holding "
                           "it, or run the command on a terminal; nothing was written",
                           file=str(path))


def _on_terminal() -> bool:
    try:
        return sys.stdin.isatty() and sys.stderr.isatty()
    except (AttributeError, ValueError):  # closed or replaced streams (tests, pipes)
        return False


def _terminal_asker(path: str, why: str | None) -> str | None:
    """The command line's prompt (no echo), on the terminal: scripts use the file."""
    import getpass

    if why:
        print(f"planwise: {why}; nothing was changed.", file=sys.stderr)
    try:
        return getpass.getpass(f"Passphrase for {path}: ", stream=sys.stderr)
    except (EOFError, KeyboardInterrupt):
        print(file=sys.stderr)
        return None


def key_for_new(path: Path | str) -> Key | None:
    """The key a new database at `path` gets: one chosen already (the interface's first
    run), else one from PLANWISE_PASSPHRASE_FILE; None: a plain database."""
    hit = cached(path)
    if hit is not None:
        return hit
    passphrase = passphrase_file()
    if passphrase is None:
        return None
    key = crypto.new_key(passphrase)
    remember(path, key)
    return key
