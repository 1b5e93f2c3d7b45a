"""`planwise client ...`: clients' current information and their intakes."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from planwise.cli.common import db_option, echo, knowledge_option

if TYPE_CHECKING:
    from planwise.store import Conn

__all__ = ["client_group", "db_option", "open_conn"]


def open_conn(ctx: click.Context) -> Conn:
    """This command's connection (one per process/thread), closed with the context."""
    from planwise.store import Store

    conn = Store(ctx.obj.get("db_path") if ctx.obj else None).connect()
    ctx.call_on_close(conn.close)
    return conn


@click.group("client")
@db_option
@click.pass_context
def client_group(ctx: click.Context, db_path: str | None) -> None:
    """Clients: current information, emergency contacts, care providers, history, intakes.

    \b
    Example:
        planwise client add --name "Jo Example"
        planwise client --db ./caseload.db list --search jo
    """
    ctx.ensure_object(dict)
    ctx.obj["db_path"] = db_path


@client_group.command("add")
@click.option("--name", required=True, help="The client's name (at most 200 characters; no "
                                            "control characters).")
@click.pass_context
def client_add(ctx: click.Context, name: str) -> None:
    """Add a client; prints the new client's id (e.g. C1).

    \b
    Example:
        planwise client add --name "Jo Example"
    """
    from planwise.errors import InputError
    from planwise.store import clients, ids
    from planwise.store.models import MAX_NAME

    if not name.strip():
        raise InputError("--name must not be empty")
    if len(name.strip()) > MAX_NAME:  # the name is never echoed back
        raise InputError(f"--name is longer than {MAX_NAME} characters")
    echo(ids.fmt("client", clients.add_client(open_conn(ctx), name)))


@client_group.command("list")
@click.option("--search", help="Only clients whose name contains TEXT (any case).")
@click.pass_context
def client_list(ctx: click.Context, search: str | None) -> None:
    """List clients (id, name, last change).

    \b
    Example:
        planwise client list --search jo
    """
    from planwise.store import clients, ids

    for row in clients.list_clients(open_conn(ctx), search):
        echo(f"{ids.fmt('client', row['id'])}\t{row['name']}\t{row['updated_at']}")


@client_group.command("show")
@click.argument("client")
@click.pass_context
def client_show(ctx: click.Context, client: str) -> None:
    """Show a client's current information, intakes and plans.

    \b
    Example:
        planwise client show C1
    """
    from planwise.store import clients, ids

    conn = open_conn(ctx)
    cid = ids.parse("client", client)
    echo(clients.export_client(conn, cid).rstrip())
    intakes = clients.list_intakes(conn, cid)
    echo("")
    echo("# intakes" if intakes else "# no intakes")
    for row in intakes:
        scores = ", ".join(f"{s['instrument']} {s['total']} ({s['band']})" for s in row["scores"])
        echo(f"# {ids.fmt('intake', row['id'])}  {row['date']}  {scores}")
    plans = conn.query("SELECT id FROM plans WHERE client_id = ? ORDER BY id", [cid])
    if plans:
        echo("# plans: " + ", ".join(ids.fmt("plan", p["id"]) for p in plans))


@client_group.command("export")
@click.argument("client")
@click.pass_context
def client_export(ctx: click.Context, client: str) -> None:
    """Print the client's information as TOML, to edit and give back to `client edit`.

    \b
    Example:
        planwise client export C1 > c1.toml
    """
    from planwise.store import clients, ids

    echo(clients.export_client(open_conn(ctx), ids.parse("client", client)).rstrip())


@client_group.command("edit")
@click.argument("client")
@click.option("--file", "file", required=True, type=click.Path(dir_okay=False),
              help="The edited TOML (from `planwise client export`).")
@click.pass_context
def client_edit(ctx: click.Context, client: str, file: str) -> None:
    """Replace a client's information from a TOML file; nothing changes if it is invalid.

    \b
    Example:
        planwise client export C1 > c1.toml && $EDITOR c1.toml
        planwise client edit C1 --file c1.toml
    """
    from planwise.store import clients, ids

    cid = ids.parse("client", client)
    changed = clients.edit_client(open_conn(ctx), cid, file)
    echo(f"{ids.fmt('client', cid)} {'updated' if changed else 'unchanged'}")


@client_group.command("intake")
@click.argument("client")
@click.argument("intake_file")
@knowledge_option
@click.pass_context
def client_intake(ctx: click.Context, client: str, intake_file: str,
                  knowledge_dirs: tuple[str, ...]) -> None:
    """Store a validated intake (.toml or .json) with its scores for CLIENT; prints its id.

    \b
    Example:
        planwise client intake C1 examples/depression-alcohol.toml
    """
    from planwise.cli.common import load_kb
    from planwise.store import clients, ids

    conn = open_conn(ctx)
    cid = ids.parse("client", client)
    clients.get_row(conn, cid)
    echo(ids.fmt("intake", clients.add_intake(conn, cid, intake_file, load_kb(knowledge_dirs))))
