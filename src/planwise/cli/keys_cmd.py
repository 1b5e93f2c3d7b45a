"""`planwise keys ...`: the practice's key pair for sealed remote responses."""

from __future__ import annotations

import click

from planwise.cli.client_cmds import db_option, open_conn
from planwise.cli.common import echo


@click.group("keys")
@db_option
@click.pass_context
def keys_group(ctx: click.Context, db_path: str | None) -> None:
    """The practice's key pair: clients seal their remote answers to its public key.

    \b
    Example:
        planwise keys show
        planwise keys rotate
    """
    ctx.ensure_object(dict)
    ctx.obj["db_path"] = db_path


@keys_group.command("show")
def keys_show() -> None:
    """Print the current public key's fingerprint (the key is made on first use), so a
    client can be told what to expect, and the older keys still kept.

    \b
    Example:
        planwise keys show
    """
    from planwise.remote import keys

    key = keys.current_key(create=True)
    echo(f"key {key.key_id} (RSA {key.private.key_size} bits, current)")
    echo(f"fingerprint {key.fingerprint}")
    older = [k for k in keys.key_ids() if k != key.key_id]
    if older:
        echo(f"older keys kept for requests not yet expired: {', '.join(older)}")
    echo(f"folder {keys.keys_dir()}")


@keys_group.command("rotate")
@click.pass_context
def keys_rotate(ctx: click.Context) -> None:
    """Make a new key pair for new requests. Requests already sent still open with the
    key they were issued with until they expire; an old key is deleted once every
    request issued with it has expired.

    \b
    Example:
        planwise keys rotate
    """
    from planwise.dates import today
    from planwise.remote import keys
    from planwise.remote.requests import keys_needed

    conn = open_conn(ctx)
    key = keys.rotate()
    gone = keys.prune(keys_needed(conn, today()), today())
    echo(f"new current key {key.key_id}")
    echo(f"fingerprint {key.fingerprint}")
    kept = [k for k in keys.key_ids() if k != key.key_id]
    if kept:
        echo(f"kept until their requests expire: {', '.join(kept)}")
    if gone:
        echo(f"deleted (every request sealed to them has expired): {', '.join(gone)}")
