"""`planwise search TEXT`: full-text search over client names, intake summaries and
session notes (planwise.store.search)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from planwise.cli.common import db_option, echo

if TYPE_CHECKING:
    from planwise.store.search import Hit


@click.command("search")
@click.argument("text")
@click.option("--client", "client", metavar="C", help="Only this client's records (C12).")
@click.option("--limit", type=click.IntRange(1, 200), default=20, show_default=True,
              help="How many records to list, best first.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="text: two lines a record; json: a list of objects.")
@db_option
def search_cmd(text: str, client: str | None, limit: int, fmt: str,
               db_path: str | None) -> None:
    """Find records by the words in them: client names, intake summaries and session
    notes, best match first, each with the words found in [brackets].

    TEXT is plain words: every word must appear (in any order; "attack" also finds
    "attacks"), but common ones (at, the, we...) beside others are left out; "a quoted
    phrase" must appear as written; a word ending in * is a prefix (pan* finds
    panic). When no record has every word, the records with any
    of them are listed instead, and the command says so. More than 1,000 matches:
    the newest 1,000 are ranked (add a word to narrow).

    \b
    Example:
        planwise search "panic attack at work"
        planwise search sleep --client C12 --limit 5
        planwise --db ./caseload.db search '"argument with" partner' --format json
    """
    import json

    from planwise.errors import InputError
    from planwise.store import Store, ids
    from planwise.store.search import RANKED, match_expression, rows, search

    client_id = ids.parse("client", client) if client is not None else None
    if not match_expression(text):
        raise InputError("give at least one word to search for", field="TEXT")
    with Store(db_path).connect() as conn:
        if client_id is not None:
            from planwise.store.clients import get_row

            get_row(conn, client_id)  # "no client C12" rather than no results
        found = search(conn, text, client_id=client_id, limit=limit)
    if fmt == "json":
        echo(json.dumps({"total": found.total, "more": found.more, "any_words": found.any_words,
                         "results": rows(found)}, indent=2, ensure_ascii=False))
        return
    if not found.hits:
        echo("no records match" + (f" in {ids.fmt('client', client_id)}'s records"
                                   if client_id is not None else ""))
        return
    if found.any_words:
        echo("no record has every word; these have some of them:")
    for row, hit in zip(rows(found), found.hits, strict=True):
        echo(f"{row['client']} {' '.join(hit.client_name.split())}  {heading(hit, row)}")
        echo(f"    {row['snippet']}")
    total = f"more than {RANKED:,}" if found.more else f"{found.total:,}"
    echo(f"{len(found.hits)} of {total} matching record{'s' if found.total != 1 else ''}"
         + (f" (the newest {RANKED:,} ranked; add a word to narrow)" if found.more else ""))


def heading(hit: Hit, row: dict[str, Any]) -> str:
    """What the record is: `name`, `intake I3 2026-11-02`, `session S40 2026-12-01
    (session 4 of P2)`."""
    if hit.kind == "client":
        return "name"
    if hit.kind == "intake":
        return f"intake {row['id']} {row['date']}"
    return f"session {row['id']} {row['date']} (session {hit.number} of {row['plan']})"
