"""`planwise session ...`: session notes against a plan's objectives (append-only)."""

from __future__ import annotations

import click

from planwise.cli.client_cmds import db_option, open_conn
from planwise.cli.common import echo


@click.group("session")
@db_option
@click.pass_context
def session_group(ctx: click.Context, db_path: str | None) -> None:
    """Session notes: which objectives each session served, progress, sessions left.

    \b
    Example:
        planwise session add P1 --date 2026-12-06 --objective depression.activity.monitor:4 \\
            --note "Reviewed the activity log"
        planwise session --db ./caseload.db list P1
    """
    ctx.ensure_object(dict)
    ctx.obj["db_path"] = db_path


@session_group.command("add")
@click.argument("plan")
@click.option("--date", "date", required=True, help="The session's date (YYYY-MM-DD).")
@click.option("--objective", "objectives", multiple=True, metavar="ID[:RATING]",
              help="An objective of the plan's current version this session addressed, with "
                   "an optional progress rating 0-10 (0 no progress, 10 criterion met). "
                   "May be given more than once.")
@click.option("--note", required=True, help="The session note.")
@click.option("--unplanned", metavar="REASON",
              help="Record a session that addresses no objective of the plan, and why.")
@click.pass_context
def session_add(ctx: click.Context, plan: str, date: str, objectives: tuple[str, ...],
                note: str, unplanned: str | None) -> None:
    """Record a session against the plan's current version; prints its id and the count
    against the payer's authorised limit. Sessions cannot be changed or deleted.

    \b
    Example:
        planwise session add P1 --date 2026-12-06 \\
            --objective depression.activity.monitor:4 --note "Reviewed the activity log"
        planwise session add P1 --date 2026-12-13 --unplanned "crisis: housing" --note "..."
    """
    from planwise.store import ids, sessions

    pid = ids.parse("plan", plan)
    s = sessions.add_session(open_conn(ctx), pid, date, list(objectives), note, unplanned)
    echo(f"{ids.fmt('session', s['id'])}: {sessions.count_text(s['number'], s['limit'])} "
         f"({ids.fmt('plan', pid)} version {s['version']})")


@session_group.command("list")
@click.argument("plan")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Output format.")
@click.pass_context
def session_list(ctx: click.Context, plan: str, fmt: str) -> None:
    """List a plan's sessions: date, version, count, objectives with ratings, note.

    \b
    Example:
        planwise session list P1
    """
    import json

    from planwise.store import ids, sessions

    rows = sessions.list_sessions(open_conn(ctx), ids.parse("plan", plan))
    if fmt == "json":
        echo(json.dumps(sessions.as_json(rows), indent=2, ensure_ascii=False))
    elif rows:
        echo(sessions.render_text(rows))
    else:
        echo("no sessions")
