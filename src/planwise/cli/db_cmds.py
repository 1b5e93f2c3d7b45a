"""`planwise db encrypt|rekey|decrypt`: encryption at rest (SQLCipher; docs/store.md)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from planwise.cli.client_cmds import db_option
from planwise.cli.common import echo
from planwise.errors import InputError

if TYPE_CHECKING:
    from planwise.store.convert import Checked

MIN_PASSPHRASE = 8  # characters of a new passphrase


@click.group("db")
def db_group() -> None:
    """Encryption at rest: encrypt a plain database, change its passphrase, or write a
    plain copy. Encrypt and rekey rewrite the file: close planwise elsewhere first.

    The passphrase comes from $PLANWISE_PASSPHRASE_FILE (a private, 0600 file: its
    first line), else it is asked on the terminal.

    \b
    Example:
        planwise db encrypt
        planwise --db ./caseload.db db rekey
        planwise db decrypt --to ./handover.db
    """


def _existing(db_path: str | None) -> Path:
    from planwise.store import default_db_path

    path = Path(db_path) if db_path else default_db_path()
    if not path.is_file():
        raise InputError("no planwise database here", file=str(path))
    return path


def _new_passphrase(option_file: str | None, option: str, *, env: bool) -> str:
    """A new passphrase: the option's file, else (encrypt) $PLANWISE_PASSPHRASE_FILE, else
    asked twice on the terminal."""
    from planwise.store import keys

    from_env = keys.passphrase_file() if env and not option_file else None
    if option_file:
        passphrase = keys.read_passphrase_file(option_file, option)
    elif from_env is not None:
        passphrase = from_env
    elif sys.stdin.isatty():
        passphrase = click.prompt("New passphrase", hide_input=True,
                                  confirmation_prompt="Repeat it", err=True)
    else:
        raise InputError(f"no new passphrase: give {option} FILE (a 0600 file) or run the "
                         "command on a terminal", field=option)
    if len(passphrase) < MIN_PASSPHRASE:
        raise InputError(f"the new passphrase is shorter than {MIN_PASSPHRASE} characters "
                         "(a short one is guessed quickly from a stolen file)", field=option)
    return passphrase


def _summary(checked: Checked) -> str:
    t = checked.tables
    head = "empty" if checked.head is None else f"#{checked.head[0]} {checked.head[1]}"
    return (f"checked: {len(t)} tables, every row ({t.get('clients', 0)} clients, "
            f"{t.get('plan_versions', 0)} plan versions, {t.get('sessions', 0)} sessions), "
            f"chain head {head}")


def _audit(path: Path, action: str) -> None:
    from planwise.store import Store

    store = Store(path)
    with store.connect() as conn, conn.transaction():
        conn.audit(action, "store", "database", detail={"kind": store.kind})


@db_group.command("encrypt")
@db_option
@click.option("--passphrase-file", "passphrase_file", type=click.Path(dir_okay=False),
              metavar="FILE", help="The new passphrase, first line of a 0600 file (else "
                                   "$PLANWISE_PASSPHRASE_FILE, else asked twice).")
def encrypt_cmd(db_path: str | None, passphrase_file: str | None) -> None:
    """Encrypt a plain database with SQLCipher, in place. The encrypted copy is written
    next to it and checked (integrity, every table's rows, `planwise verify`, the chain
    head) before it replaces the plain file, which is then overwritten and removed.

    Backups made before stay plain: make a new one and remove them.

    \b
    Example:
        planwise db encrypt
        planwise --db ./caseload.db db encrypt --passphrase-file ~/.planwise-pass
    """
    from planwise.store import Store, crypto, keys
    from planwise.store.convert import in_place

    path = _existing(db_path)
    if crypto.kind(path) == "encrypted":
        raise InputError("is encrypted already (`planwise db rekey` changes its "
                         "passphrase)", file=str(path))
    Store(path)  # checked and migrated first: the conversion copies an up-to-date database
    key = crypto.new_key(_new_passphrase(passphrase_file, "--passphrase-file", env=True))
    checked = in_place(path, None, key)
    keys.remember(path, key)
    keys.keyring_set(path, key)
    _audit(path, "store.encrypt")
    echo(f"{path}: encrypted (SQLCipher)\n{_summary(checked)}\nthe plain file was "
         "overwritten and removed; backups made before are still plain")


@db_group.command("rekey")
@db_option
@click.option("--new-passphrase-file", "new_file", type=click.Path(dir_okay=False),
              metavar="FILE", help="The new passphrase, first line of a 0600 file (else "
                                   "asked twice).")
def rekey_cmd(db_path: str | None, new_file: str | None) -> None:
    """Change the passphrase of an encrypted database. The current one comes from
    $PLANWISE_PASSPHRASE_FILE or the terminal. The database is rewritten under the new
    key (a new salt), checked, and swapped in; the old file is overwritten.

    Backups keep the passphrase they were made with.

    \b
    Example:
        planwise db rekey
        planwise --db ./caseload.db db rekey --new-passphrase-file ./new-pass
    """
    from planwise.store import Store, crypto, keys
    from planwise.store.convert import in_place

    path = _existing(db_path)
    if crypto.kind(path) != "encrypted":
        raise InputError("is not encrypted (`planwise db encrypt` encrypts it)",
                         file=str(path))
    Store(path)  # the current key (asked), and migrated first
    old = keys.key_for(path)
    new = crypto.new_key(_new_passphrase(new_file, "--new-passphrase-file", env=False))
    checked = in_place(path, old, new)
    keys.remember(path, new)
    keys.keyring_set(path, new)
    _audit(path, "store.rekey")
    echo(f"{path}: encrypted (SQLCipher) under the new passphrase\n{_summary(checked)}")


@db_group.command("decrypt")
@db_option
@click.option("--to", "dest", required=True, type=click.Path(dir_okay=False), metavar="FILE",
              help="The plain copy to write (its folder must exist).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--force", is_flag=True, help="Replace FILE if it already exists.")
def decrypt_cmd(db_path: str | None, dest: str, yes: bool, force: bool) -> None:
    """Write a plain (unencrypted) copy of an encrypted database to FILE, for a handover
    that needs one; the database itself stays encrypted. Anyone who gets FILE reads every
    record: you are asked to confirm, and an audit row records that a copy was made.

    \b
    Example:
        planwise db decrypt --to ./handover.db
        planwise --db ./caseload.db db decrypt --to /media/usb/handover.db --yes
    """
    from planwise.store import Store, crypto, keys
    from planwise.store.convert import to_file

    path = _existing(db_path)
    if crypto.kind(path) != "encrypted":
        raise InputError("is not encrypted: copy it with `planwise backup`", file=str(path))
    Store(path)
    key = keys.key_for(path)
    target = Path(dest)
    if not yes and not click.confirm(f"Write every record of {path}, unencrypted, to "
                                     f"{target}?", err=True):
        raise click.Abort()
    checked = to_file(path, key, target, None, force)
    _audit(path, "store.decrypt_copy")
    echo(f"{target}: plain SQLite copy (0600)\n{_summary(checked)}\nanyone who gets this "
         "file reads every record: remove it when the handover is done")
