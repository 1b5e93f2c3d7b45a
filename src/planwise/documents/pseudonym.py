"""A stable pseudonym for a client, for exports that must not name them (`--pseudonymise`).

The pseudonym is `PW-` and the first 12 base32 characters (60 bits) of
HMAC-SHA256(key, "planwise.client/<id>"), keyed by the database's own secret: 32 random
bytes made once when the database is created or upgraded (migration 11,
`planwise.store.pseudonym_key`), kept in the database, never printed or exported. It is:

- stable: the same client gets the same pseudonym in every export from the same
  database (CSV rows and FHIR bundles can be joined by it), also after the file is moved,
  encrypted, decrypted or restored from a backup, which carry the key with the rows;
- not the id: without the key, the pseudonym says nothing about the id;
- different across databases: the same id in another caseload is another person.

Threat model: whoever holds the database (or a backup of it, with its passphrase when
encrypted) or the key can link a pseudonym back to the client, by computing the
pseudonym of every id; a reader who holds only exports cannot, since nothing in an
export narrows 256 random bits the way the old key (the record's creation time, to the
second) could be guessed from an export's dates and searched with small ids. Exports
from before migration 11 used that old key: their pseudonyms do not join with later
ones. It is a pseudonym, not anonymisation: dates, scores and free text can still
describe the person.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import TYPE_CHECKING

from planwise.errors import InputError

if TYPE_CHECKING:
    from planwise.store.db import Conn

PREFIX = "PW-"
LENGTH = 12  # base32 characters: 60 bits, no collision in any caseload
_BYTES = 10  # 80 bits encode to 16 base32 characters, whose first 12 are the 60 bits kept


def _message(client_id: int) -> bytes:
    return b"planwise.client/%d" % client_id


def pseudonym(client_id: int, key: bytes) -> str:
    """The pseudonym of `client_id` under `key` (one at a time; `Pseudonyms` for many)."""
    digest = hmac.digest(key, _message(client_id), "sha256")
    return PREFIX + base64.b32encode(digest[:_BYTES])[:LENGTH].decode("ascii")


class Pseudonyms(dict[int, str]):
    """The pseudonyms of one export, `pseudonyms[client_id]`: the key read once, each
    client's HMAC computed once, on first use (a caseload's CSV asks per row).

    The HMAC's keyed state is built once and copied per client, which skips re-keying it
    for every client; a known client is a plain dict lookup, with no Python call."""

    def __init__(self, c: Conn) -> None:
        from planwise.store.pseudonym_key import read_key

        super().__init__()
        self._keyed = hmac.new(read_key(c.raw), digestmod=hashlib.sha256)

    def __missing__(self, client_id: int) -> str:
        mac = self._keyed.copy()
        mac.update(_message(client_id))
        found = PREFIX + base64.b32encode(mac.digest()[:_BYTES])[:LENGTH].decode("ascii")
        self[client_id] = found
        return found


def client_pseudonym(c: Conn, client_id: int) -> str:
    if c.one("SELECT 1 FROM clients WHERE id = ?", [client_id]) is None:
        from planwise.store import ids

        raise InputError(f"no client {ids.fmt('client', client_id)}")
    return Pseudonyms(c)[client_id]
