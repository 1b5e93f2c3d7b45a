"""`planwise backup DEST`: an online, verified copy of the database."""

from __future__ import annotations

import click

from planwise.cli.client_cmds import db_option
from planwise.cli.common import echo


@click.command("backup")
@click.argument("dest", type=click.Path(), required=False)
@db_option
@click.option("--force", is_flag=True, help="Replace DEST if it already exists.")
@click.option("--passphrase-file", "passphrase_file", type=click.Path(dir_okay=False),
              metavar="FILE", help="Encrypt the copy under this passphrase (first line of a "
                                   "0600 file) instead of the database's own key; with "
                                   "--verify, the backup's passphrase.")
@click.option("--verify", "verify_file", type=click.Path(dir_okay=False), metavar="FILE",
              help="Check an existing backup, read-only, instead of making one.")
def backup_cmd(dest: str | None, db_path: str | None, force: bool,
               passphrase_file: str | None, verify_file: str | None) -> None:
    """Copy the database to DEST while it stays in use (SQLite's online backup), check the
    copy (PRAGMA integrity_check, planwise's application id) and print what it holds.
    The copy's records are checked like `planwise verify`: broken ones are listed and
    the command exits 1 (the copy is kept); otherwise it prints the chain head.

    DEST is a file (its folder must exist) or an existing folder, which gets a dated
    file name. The copy is private (0600). An existing file is replaced only with
    --force; a copy that fails its check is removed (exit 1).

    An encrypted database's backup is encrypted with the same key (the passphrase it
    had when the backup was made); --passphrase-file encrypts it under another one.
    --verify FILE opens a backup read-only and checks it the same way (exit 1 when it
    fails), asking for an encrypted one's passphrase like any command.

    \b
    Example:
        planwise backup ~/backups/planwise-2026-12-01.db
        planwise backup --db ./caseload.db ~/backups/ --force
        planwise backup --verify ~/backups/planwise-2026-12-01.db
    """
    from planwise.errors import InputError

    if (dest is None) == (verify_file is None):
        raise InputError("give either DEST (make a backup) or --verify FILE (check one)",
                         field="DEST")
    from pathlib import Path

    from planwise.store import crypto
    from planwise.store.backup import backup, check_backup

    key = None
    if passphrase_file:
        from planwise.store import keys

        passphrase = keys.read_passphrase_file(passphrase_file, "--passphrase-file")
        if verify_file is None:
            key = crypto.new_key(passphrase)
        elif crypto.kind(Path(verify_file)) == "encrypted":
            key = crypto.derive(passphrase, crypto.file_salt(Path(verify_file)))
            if not crypto.opens(Path(verify_file), key):
                raise keys.wrong(verify_file, "the passphrase in --passphrase-file")
    if verify_file is not None:
        r = check_backup(Path(verify_file), key)
    else:
        assert dest is not None
        r = backup(db_path, dest, force, key)
    echo(f"{r.path}\t{r.size} bytes\tintegrity ok\tschema {r.schema_version}\t"
         f"{r.clients} clients, {r.plans} plans, {r.versions} plan versions\t{r.kind}")
    for problem in r.problems:
        echo(problem)
    if r.problems:
        from planwise.store.verify import VerifyFailed

        done = "was written" if verify_file is None else "opens"
        raise VerifyFailed(f"the backup {done}, but {len(r.problems)} record(s) listed "
                           "above are not as planwise wrote them (`planwise verify`)")
    echo("chain head: " + ("empty" if r.head is None else f"#{r.head[0]} {r.head[1]}"))
