"""Issuing a request: store it and write its packet, for the command line and the
interface alike."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

from planwise.errors import InputError
from planwise.store.db import Conn


def split_names(text: str) -> list[str]:
    return [n.strip() for n in text.replace(" ", ",").split(",") if n.strip()]


def write_private(path: Path, text: str) -> None:
    """A new file, 0600 from the start; an existing file is never overwritten."""
    if path.exists():
        raise InputError("the file exists already; choose another name (nothing was "
                         "written)", file=str(path))
    if not path.parent.is_dir():
        raise InputError("no such folder", file=str(path.parent))
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise InputError(f"cannot write the file ({exc.strerror})", file=str(path)) from None
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(path, 0o600)


def issue(c: Conn, client_id: int, instruments: list[str], feedback: bool, expires: str,
          output: Path, today: dt.date, catalog: dict[str, Any] | None = None
          ) -> dict[str, Any]:
    """Store a request and write its packet to `output` (both or neither). Returns the
    request row plus `fingerprint` and `refused` (always empty: a refusal raises)."""
    from planwise.remote import keys, packet
    from planwise.remote.practice import load_practice
    from planwise.remote.requests import add_request, parse_expiry

    if catalog is None:
        from planwise.clinical.instrument_files import load_instruments

        catalog = load_instruments()
    chosen = packet.askable(instruments, catalog)
    until = parse_expiry(expires, today)
    practice = load_practice()
    key = keys.current_key(create=True)
    with c.transaction():
        req = add_request(c, client_id, [i.id for i in chosen], feedback, today, until,
                          key.key_id)
        keys.note_use(key.key_id, until)  # kept at least this long, whatever the database
        page = packet.build(req, practice.name, practice.crisis_contacts, chosen, feedback,
                            key.spki)
        write_private(output, page)  # an error here rolls the request back
    return {**req, "fingerprint": key.fingerprint, "file": str(output),
            "contacts_configured": practice.contacts_configured}
