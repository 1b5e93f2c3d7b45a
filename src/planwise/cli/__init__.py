"""The `planwise` command line. Each group lives in its own module.

Errors the user can fix exit 2 with one line naming file, field and line;
an unexpected failure exits 1 with a one-line message (set PLANWISE_DEBUG=1
for the traceback); a database another process is writing to exits 75
(try again). Every message is printable (control characters escaped), quotes
at most a short excerpt of a value and shortens a long file name. Nothing
here imports Textual.
"""

from __future__ import annotations

import io
import os
import sys

import click

from planwise import __version__
from planwise.cli import global_options
from planwise.cli.backup_cmd import backup_cmd
from planwise.cli.client_cmds import client_group
from planwise.cli.config_cmd import config_cmd
from planwise.cli.db_cmds import db_group
from planwise.cli.engine_cmds import explain_cmd, recommend_cmd
from planwise.cli.keys_cmd import keys_group
from planwise.cli.knowledge_cmds import knowledge_group
from planwise.cli.measure_cmds import measure_group
from planwise.cli.plan_cmds import audit_cmd, plan_group
from planwise.cli.review_cmds import dashboard_cmd, review_cmd, timeline_cmd
from planwise.cli.schema_cmd import schema_cmd
from planwise.cli.search_cmd import search_cmd
from planwise.cli.session_cmds import session_group
from planwise.cli.verify_cmd import verify_cmd
from planwise.errors import InputError, PlanwiseError
from planwise.text import printable

MAX_MESSAGE = 2000  # characters of one error message (a value is quoted as an excerpt)
MAX_SHOWN_PATH = 120  # characters of a file name or a field path in a message


class PlanwiseGroup(click.Group):
    """The top-level group: every argument is checked before any command runs."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        for n, arg in enumerate(args, 1):
            # Bytes that are not UTF-8 reach Python as lone surrogates, which SQLite and
            # the terminal cannot take: refuse them here, naming the position only.
            if any("\ud800" <= ch <= "\udfff" for ch in arg):
                raise InputError(f"argument {n} is not valid UTF-8 text; check the "
                                 "terminal's encoding (LANG, LC_ALL)")
        return super().parse_args(ctx, args)


@click.group(cls=PlanwiseGroup, context_settings={"help_option_names": ["-h", "--help"]},
             invoke_without_command=True)
@click.version_option(__version__, prog_name="planwise")
@click.option("--db", "db_path", type=click.Path(dir_okay=False), metavar="PATH",
              help="The planwise database, for every command and the interface (else "
                   "$PLANWISE_DB, the config file, planwise.db in the user data folder).")
@click.option("--profile", "profile_path", type=click.Path(dir_okay=False), metavar="PATH",
              help="The therapist profile (TOML), for every command that reads one (else "
                   "$PLANWISE_PROFILE, the config file, profile.toml in the config folder).")
@click.option("--knowledge", "knowledge_dirs", multiple=True, metavar="DIR",
              type=click.Path(file_okay=False),
              help="A clinic's knowledge folder, for every command that reads the knowledge "
                   "and the interface (else $PLANWISE_KNOWLEDGE, the config file). May be "
                   "given more than once.")
@click.option("--theme", metavar="NAME",
              help="The interface's theme: ansi (the terminal's 16 colours) or a Textual "
                   "theme (else $PLANWISE_THEME, the config file).")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), metavar="FILE",
              help="The config file (else $PLANWISE_CONFIG, else config.toml in the user "
                   "config folder). `planwise config` shows what it sets.")
@click.pass_context
def cli(ctx: click.Context, db_path: str | None, profile_path: str | None,
        knowledge_dirs: tuple[str, ...], theme: str | None, config_path: str | None) -> None:
    """planwise: from screening and assessment to an explained treatment plan.

    Without a command, opens the terminal interface on your database. The options
    above go before the command and hold for it (`planwise --db PATH client list`); a
    command that cannot use one refuses it. Each setting: the command line, else the
    environment, else the config file, else the default.

    \b
    Example:
        planwise
        planwise demo
        planwise --db ./caseload.db client list
        planwise recommend examples/depression-alcohol.toml
        planwise explain examples/depression-alcohol.toml
    """
    settings = global_options.start(ctx, db=db_path, profile=profile_path,
                                    knowledge=knowledge_dirs, theme=theme, config=config_path)
    if ctx.invoked_subcommand is None:
        from planwise.tui import run

        settings.config_file()
        run(settings.db_path(), profile_path=settings.profile_path(),
            knowledge_dirs=settings.knowledge_dirs(), theme=settings.theme_choice())


@global_options.uses("knowledge", "theme")
@click.command("demo")
@click.option("--profile", "profile_path", type=click.Path(dir_okay=False),
              help="Therapist profile (TOML) for the demo (same as `planwise --profile`).")
@click.option("--trainee", is_flag=True,
              help="As a fictional trainee supervised by B. Supervisor: every plan needs the "
                   "supervisor's co-signature, and Birch's plan, signed by the trainee, "
                   "waits for it.")
@click.pass_context
def demo_cmd(ctx: click.Context, profile_path: str | None, trainee: bool) -> None:
    """Open the interface on a temporary database of clearly fictional clients.

    The database is deleted when the interface closes. The profile, clinic knowledge
    and theme are yours (options, environment, config file); the database never is.
    --trainee uses the demo's own trainee profile instead of yours.

    \b
    Example:
        planwise demo
        planwise demo --trainee
    """
    from planwise.tui import run

    if trainee:
        if profile_path:
            raise click.UsageError("--trainee uses the demo's trainee profile; leave out "
                                   "--profile")
        from planwise.tui.demo import trainee_profile

        profile_path = str(trainee_profile())
    settings = global_options.settings(ctx)
    run(None, demo=True, profile_path=profile_path, knowledge_dirs=settings.knowledge_dirs(),
        theme=settings.theme_choice())


cli.add_command(demo_cmd)
cli.add_command(recommend_cmd)
cli.add_command(explain_cmd)
cli.add_command(knowledge_group)
cli.add_command(schema_cmd)
cli.add_command(client_group)
cli.add_command(plan_group)
cli.add_command(session_group)
cli.add_command(measure_group)
cli.add_command(keys_group)
cli.add_command(review_cmd)
cli.add_command(timeline_cmd)
cli.add_command(dashboard_cmd)
cli.add_command(audit_cmd)
cli.add_command(backup_cmd)
cli.add_command(verify_cmd)
cli.add_command(search_cmd)
cli.add_command(db_group)
cli.add_command(config_cmd)
global_options.install(cli)


def error_message(exc: PlanwiseError) -> str:
    """The one line shown for an error: a long file name shortened, controls escaped, the
    whole capped (a value in a message is an excerpt already; this is the backstop)."""
    if isinstance(exc, InputError):
        exc = InputError(exc.message, file=_shorten(exc.file), field=_shorten(exc.field),
                         line=exc.line)
    text = str(exc)
    if len(text) > MAX_MESSAGE:
        text = text[:MAX_MESSAGE] + "... (message cut)"
    return printable(text)


def _shorten(text: str | None) -> str | None:
    if text is None or len(text) <= MAX_SHOWN_PATH:
        return text
    half = MAX_SHOWN_PATH // 2
    return f"{text[:half]}...{text[-half:]}"


def _say(text: str) -> None:
    click.echo(printable(text), err=True)


def _command_name(args: list[str]) -> str:
    """`planwise client add`: the command's own words, never a value given to it."""
    words = ["planwise"]
    group: click.Command = cli
    for arg in args:
        commands = getattr(group, "commands", {})
        if arg in commands:
            words.append(arg)
            group = commands[arg]
    return " ".join(words)


def main(argv: list[str] | None = None) -> None:
    try:
        cli.main(args=argv, prog_name="planwise", standalone_mode=False)
    except click.exceptions.Abort:
        _say("Aborted.")
        sys.exit(1)
    except click.ClickException as exc:
        # click quotes the value it refused (`--format` 'x'): shown escaped like the rest.
        shown = io.StringIO()
        exc.show(file=shown)
        click.echo(printable(shown.getvalue()), err=True, nl=False)
        sys.exit(exc.exit_code)
    except PlanwiseError as exc:
        _say(f"planwise: error: {error_message(exc)}")
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # never a traceback for the user
        if os.environ.get("PLANWISE_DEBUG"):
            raise
        # Scrubbed: a message may quote the input, which may be a client's name; the
        # traceback (never its local variables) goes to the private log (crashlog.py).
        from planwise.crashlog import describe, write_log

        log = write_log(exc, {"command": _command_name(argv if argv is not None
                                                       else sys.argv[1:])})
        where = f"; details in {log}" if log else ""
        _say(f"planwise: internal error: {describe(exc)}{where} "
             "(PLANWISE_DEBUG=1 shows the traceback)")
        sys.exit(1)
    if argv is None:  # the process's own command line, not a caller's (tests call main(args))
        from planwise.cli.common import exit_now_if_short

        exit_now_if_short()
    sys.exit(0)
