"""A plan version as PDF, from the store: the record `plan export` builds for Markdown and
JSON (store/export.py), the instruments for the score charts and the chain head for the
clinical record's verification line. One function for the command line and the
interface."""

from __future__ import annotations

import datetime as dt

from planwise.store.db import Conn

AUDIENCES = ("record", "client")


def plan_pdf(c: Conn, plan_id: int, version: int | None = None, audience: str = "record",
             generated: dt.datetime | None = None) -> bytes:
    from planwise.store.export import build_record

    rec = build_record(c, plan_id, version)
    if audience == "client":
        from planwise.documents import pdf_client
        from planwise.remote.practice import load_practice

        practice = load_practice()
        # Only the practice's own list: the default text repeats the emergency-number line.
        lines = practice.crisis_contacts if practice.contacts_configured else ()
        return pdf_client.render(rec, generated, lines)
    from planwise.clinical.instrument_files import load_instruments
    from planwise.documents import pdf_record
    from planwise.store.integrity import head

    h = head(c.raw)
    chain = None if h is None else f"chain head: #{h[0]} {h[1]}"
    return pdf_record.render(rec, load_instruments(), chain, generated)
