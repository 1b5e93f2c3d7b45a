"""`planwise backup DEST`: an online, verified copy of the database."""

from __future__ import annotations

import click

from planwise.cli.client_cmds import db_option
from planwise.cli.common import echo


@click.command("backup")
@click.argument("dest", type=click.Path())
@db_option
@click.option("--force", is_flag=True, help="Replace DEST if it already exists.")
def backup_cmd(dest: str, db_path: str | None, force: bool) -> None:
    """Copy the database to DEST while it stays in use (SQLite's online backup), check the
    copy (PRAGMA integrity_check, planwise's application id) and print what it holds.
    The copy's records are checked like `planwise verify`: broken ones are listed and
    the command exits 1 (the copy is kept); otherwise it prints the chain head.

    DEST is a file (its folder must exist) or an existing folder, which gets a dated
    file name. The copy is private (0600). An existing file is replaced only with
    --force; a copy that fails its check is removed (exit 1).

    \b
    Example:
        planwise backup ~/backups/planwise-2026-12-01.db
        planwise backup --db ./caseload.db ~/backups/ --force
    """
    from planwise.store.backup import backup

    r = backup(db_path, dest, force)
    echo(f"{r.path}\t{r.size} bytes\tintegrity ok\tschema {r.schema_version}\t"
         f"{r.clients} clients, {r.plans} plans, {r.versions} plan versions")
    for problem in r.problems:
        echo(problem)
    if r.problems:
        from planwise.store.verify import VerifyFailed

        raise VerifyFailed(f"the backup was written, but {len(r.problems)} record(s) listed "
                           "above are not as planwise wrote them (`planwise verify`)")
    echo("chain head: " + ("empty" if r.head is None else f"#{r.head[0]} {r.head[1]}"))
