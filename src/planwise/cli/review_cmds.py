"""`planwise review`, `planwise timeline` and `planwise dashboard`: is therapy working?"""

from __future__ import annotations

import click

from planwise.cli.client_cmds import db_option


@click.command("review")
@click.argument("plan")
@db_option
def review_cmd(plan: str, db_path: str | None) -> None:
    """Propose plan changes from the course so far (review rules), each with its reasons.

    \b
    Example:
        planwise review P1
    """
    raise click.UsageError("planwise review: being built (issue 6)")


@click.command("timeline")
@click.argument("plan")
@db_option
def timeline_cmd(plan: str, db_path: str | None) -> None:
    """Sessions used and left, open objectives with their dates.

    \b
    Example:
        planwise timeline P1
    """
    raise click.UsageError("planwise timeline: being built (issue 6)")


@click.command("dashboard")
@db_option
def dashboard_cmd(db_path: str | None) -> None:
    """The clients who need attention.

    \b
    Example:
        planwise dashboard
    """
    raise click.UsageError("planwise dashboard: being built (issue 6)")
