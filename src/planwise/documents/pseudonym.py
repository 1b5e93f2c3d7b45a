"""A stable pseudonym for a client, for exports that must not name them (`--pseudonymise`).

The pseudonym is an HMAC of the client's id keyed by the moment their record was
created (`clients.created_at`, to the microsecond). It is:

- stable: the same client gets the same pseudonym in every export from the same
  database (CSV rows, FHIR bundles and PDFs can be joined by it);
- not the id: a reader who sees "PW-7KQ3..." cannot count up C1, C2, ... to find
  who it is without the database, which is the point of pseudonymising;
- different across databases: the same id in another caseload is another person.

It is a pseudonym, not anonymisation: whoever holds the database can link it back.
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


def pseudonym(client_id: int, created_at: str) -> str:
    digest = hmac.new(created_at.encode("utf-8"), f"planwise.client/{client_id}".encode(),
                      hashlib.sha256).digest()
    return PREFIX + base64.b32encode(digest).decode("ascii")[:LENGTH]


def client_pseudonym(c: Conn, client_id: int) -> str:
    row = c.one("SELECT created_at FROM clients WHERE id = ?", [client_id])
    if row is None:
        from planwise.store import ids

        raise InputError(f"no client {ids.fmt('client', client_id)}")
    return pseudonym(client_id, str(row["created_at"]))
