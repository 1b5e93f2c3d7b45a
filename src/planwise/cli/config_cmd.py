"""`planwise config`: every setting, its value and where it came from."""

from __future__ import annotations

import click

from planwise.cli import global_options
from planwise.cli.common import echo


@global_options.uses("db", "profile", "knowledge", "theme")
@click.command("config")
@click.pass_context
def config_cmd(ctx: click.Context) -> None:
    """Show the settings every command and the interface will use, each with where it
    came from: the command line (options before the command), the environment
    (PLANWISE_DB, PLANWISE_PROFILE, PLANWISE_KNOWLEDGE, PLANWISE_THEME), the config file,
    or the default. A broken config file exits 2 naming the file, the key and the line.

    \b
    Example:
        planwise config
        planwise --db ./caseload.db config
    """
    from planwise.config import Origin

    s = global_options.settings(ctx)
    cfg = s.config_file()

    def line(name: str, value: str, origin: Origin) -> None:
        echo(f"{name:<10} {value}  ({origin.describe()})")

    echo(f"{'config':<10} {cfg.path if cfg.path else '(none)'}"
         + ("" if cfg.path else f"  (would be read from {_default_file()})"))
    db = s.database()
    line("database", db.value, db.origin)
    profile = s.profile_choice()
    if profile is None:
        echo(f"{'profile':<10} (none: every condition counts as in scope)")
    else:
        line("profile", profile.value, profile.origin)
    folders, origin = s.knowledge_choice()
    if folders:
        line("knowledge", "shipped + " + ", ".join(folders), origin)
    else:
        echo(f"{'knowledge':<10} shipped only")
    theme = s.theme_choice()
    if theme is None:
        echo(f"{'theme':<10} textual-dark  (the default)")
    else:
        line("theme", theme.value, theme.origin)


def _default_file() -> str:
    from planwise.config import config_file_path

    return str(config_file_path()[0])
