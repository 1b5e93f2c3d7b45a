"""`planwise verify`: the hash chain, the triggers and the schema of the database."""

from __future__ import annotations

import click

from planwise.cli.client_cmds import db_option
from planwise.cli.common import echo


@click.command("verify")
@db_option
def verify_cmd(db_path: str | None) -> None:
    """Check that the records are as planwise wrote them: the hash chain over intakes,
    measures, sessions, session feedback, signatures (with the content of each signed
    version) and the audit log; every trigger, table and index as planwise defines it.

    Prints one line per broken record (table and id, never its content) and exits 1,
    or prints the chain head and whether the file is encrypted (SQLCipher) or plain
    SQLite: keep a copy of the head outside the database and compare later (someone
    who can rewrite the file can also recompute the chain).

    \b
    Example:
        planwise verify
        planwise verify --db ./caseload.db
    """
    from pathlib import Path

    from planwise.errors import InputError
    from planwise.store import Store, default_db_path
    from planwise.store.verify import VerifyFailed, verify

    path = Path(db_path) if db_path else default_db_path()
    if not path.is_file():
        raise InputError("no planwise database here (nothing to verify)", file=str(path))
    store = Store(path)
    with store.connect() as conn:
        report = verify(conn.raw)
    for problem in report.problems:
        echo(str(problem))
    if report.problems:
        raise VerifyFailed(f"{len(report.problems)} problem(s) listed above: these records are "
                           "not as planwise wrote them (restore a backup and compare; see "
                           "docs/store.md, Tamper evidence)")
    head = "empty" if report.head is None else f"#{report.head[0]} {report.head[1]}"
    echo(f"ok: schema and triggers as planwise defines them, {report.entries} records in "
         f"the chain\nchain head: {head}\ndatabase: {store.kind}")
