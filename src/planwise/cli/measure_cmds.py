"""`planwise measure ...`: repeated measures (any instrument, given again over time)."""

from __future__ import annotations

import click

from planwise.cli.client_cmds import db_option


@click.group("measure")
@db_option
@click.pass_context
def measure_group(ctx: click.Context, db_path: str | None) -> None:
    """Repeated measures: give an instrument again and see the change since the baseline.

    \b
    Example:
        planwise measure add C1 phq9 --answers 1,1,0,1,0,1,0,0,0 --date 2027-01-10
        planwise measure list C1
    """
    ctx.ensure_object(dict)
    ctx.obj["db_path"] = db_path
