"""The practice's RSA key pair for sealed responses.

Kept in `keys/` in the user data folder (PLANWISE_KEYS_DIR moves it): one PEM file per
key, named by its key id (the first 16 hex digits of the SHA-256 of the public key's
SubjectPublicKeyInfo DER), mode 0600 in a 0700 folder; `current` names the key new
requests are sealed to. A key is created on first use. With a passphrase configured
(the file named by PLANWISE_KEY_PASSPHRASE_FILE or the config file's
`key_passphrase_file`), the private key is encrypted with it (PKCS#8,
BestAvailableEncryption).

Rotation makes a new current key and keeps the old ones: a request remembers the key
it was issued with, so a response to it opens until the request expires. Each key's
`<id>.until` file holds the latest expiry of any request issued with it, from any
database (the folder is the user's, the demo's database and others share it); `prune`
deletes an old key only once that day has passed and no open request of the database
at hand needs it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from planwise.errors import InputError

KEY_BITS = 3072
CURRENT = "current"


def keys_dir() -> Path:
    override = os.environ.get("PLANWISE_KEYS_DIR")
    if override:
        return Path(override)
    from platformdirs import user_data_dir

    return Path(user_data_dir("planwise")) / "keys"


def passphrase() -> bytes | None:
    """The configured passphrase (the first line of its file), or None."""
    name = os.environ.get("PLANWISE_KEY_PASSPHRASE_FILE")
    origin = "PLANWISE_KEY_PASSPHRASE_FILE"
    if not name:
        from planwise.remote.practice import load_practice

        name = load_practice().key_passphrase_file
        origin = "key_passphrase_file"
    if not name:
        return None
    path = Path(name).expanduser()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{origin}: cannot read the key passphrase file "
                         f"({exc.strerror})", file=str(path)) from None
    lines = text.splitlines()
    if not lines or not lines[0]:
        raise InputError(f"{origin}: the key passphrase file is empty", file=str(path))
    return lines[0].encode("utf-8")


@dataclass(frozen=True)
class PracticeKey:
    key_id: str
    private: Any  # RSAPrivateKey (cryptography is imported lazily)

    @property
    def spki(self) -> bytes:
        from cryptography.hazmat.primitives import serialization

        return bytes(self.private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo))

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.spki)


def key_id(spki: bytes) -> str:
    return hashlib.sha256(spki).hexdigest()[:16]


def fingerprint(spki: bytes) -> str:
    """SHA-256 of the public key (SPKI DER) in groups of four hex digits: what a client
    compares with what the practice told them."""
    h = hashlib.sha256(spki).hexdigest()
    return "SHA256 " + " ".join(h[i:i + 4] for i in range(0, len(h), 4))


def _make_private_dir(folder: Path) -> None:
    from planwise.paths import make_private_dir

    make_private_dir(folder)
    os.chmod(folder, 0o700)


def _write_private(path: Path, data: bytes) -> None:
    """Written 0600 from the start (never readable by others, whatever the umask)."""
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def _new_key(folder: Path) -> PracticeKey:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    private = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    secret = passphrase()
    enc: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(secret) if secret
        else serialization.NoEncryption())
    pem = private.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.PKCS8, enc)
    key = PracticeKey("", private)
    key = PracticeKey(key_id(key.spki), private)
    _make_private_dir(folder)
    _write_private(folder / f"{key.key_id}.pem", pem)
    _write_private(folder / CURRENT, (key.key_id + "\n").encode())
    return key


def load_key(kid: str, folder: Path | None = None) -> PracticeKey:
    """The key with this id; InputError when it is gone or cannot be opened."""
    from cryptography.hazmat.primitives import serialization

    folder = folder or keys_dir()
    path = folder / f"{kid}.pem"
    if not kid.isalnum() or not path.is_file():
        raise InputError(f"the practice key {kid[:16]} is not in {folder} (deleted, or "
                         "another machine's keys folder)")
    data = path.read_bytes()
    secret = passphrase()
    try:
        private = serialization.load_pem_private_key(data, password=secret)
    except TypeError:  # encrypted without a passphrase configured, or the reverse
        if secret is None:
            raise InputError("the practice key is protected by a passphrase: set "
                             "PLANWISE_KEY_PASSPHRASE_FILE or key_passphrase_file in the "
                             "config file", file=str(path)) from None
        # A key made before the passphrase was configured: still plain.
        private = serialization.load_pem_private_key(data, password=None)
    except ValueError:
        raise InputError("cannot open the practice key: wrong passphrase, or the file is "
                         "damaged", file=str(path)) from None
    return PracticeKey(kid, private)


def current_key(create: bool = True, folder: Path | None = None) -> PracticeKey:
    """The key new requests use; made on first use when `create`."""
    folder = folder or keys_dir()
    pointer = folder / CURRENT
    if pointer.is_file():
        kid = pointer.read_text(encoding="ascii", errors="replace").strip()
        return load_key(kid, folder)
    if not create:
        raise InputError(f"no practice key yet in {folder}: `planwise keys show` makes one")
    return _new_key(folder)


def rotate(folder: Path | None = None) -> PracticeKey:
    """A new current key; the old ones stay until `prune` finds them unused."""
    return _new_key(folder or keys_dir())


def key_ids(folder: Path | None = None) -> list[str]:
    folder = folder or keys_dir()
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.glob("*.pem"))


def note_use(kid: str, expires: dt.date, folder: Path | None = None) -> None:
    """Remember that a request sealed to `kid` may be answered until `expires`."""
    last = until(kid, folder)
    if last is None or last < expires:
        _write_private((folder or keys_dir()) / f"{kid}.until",
                       (expires.isoformat() + "\n").encode())


def until(kid: str, folder: Path | None = None) -> dt.date | None:
    path = (folder or keys_dir()) / f"{kid}.until"
    try:
        return dt.date.fromisoformat(path.read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        return None


def prune(needed: Iterable[str], today: dt.date, folder: Path | None = None) -> list[str]:
    """Delete every old key whose requests (from any database) have all expired and that
    no open request of this database (`needed`) uses; returns the ids deleted."""
    folder = folder or keys_dir()
    keep = set(needed)
    pointer = folder / CURRENT
    if pointer.is_file():
        keep.add(pointer.read_text(encoding="ascii", errors="replace").strip())
    gone = []
    for kid in key_ids(folder):
        last = until(kid, folder)
        if kid in keep or (last is not None and last >= today):
            continue
        (folder / f"{kid}.pem").unlink()
        (folder / f"{kid}.until").unlink(missing_ok=True)
        gone.append(kid)
    return gone
