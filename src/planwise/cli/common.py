"""Options and loading shared by the commands."""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:  # the real imports are deferred: `planwise --help` stays fast
    from planwise.kb.loader import KnowledgeBase
    from planwise.models.profile import Profile

F = TypeVar("F", bound=Callable[..., Any])


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cycle collector off for a short command's start (the collector ran
    dozens of times over the objects the imports, the knowledge and the engine make,
    none of them garbage: about a tenth of a cold `planwise recommend`). The
    collector comes back on afterwards, whatever happened."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


_short_done = False


def short_command(command: F) -> F:
    """A command that runs for a fraction of a second: its whole run with the collector
    paused (collector_paused), and, run as the process's own command (`main()` with no
    arguments), an exit without Python's tear-down (exit_now). Only for commands whose
    work is bounded (one intake), that write nothing but their output: never one that
    writes a file or the database, loops over a caseload or opens the interface."""
    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        global _short_done
        with collector_paused():
            result = command(*args, **kwargs)
        _short_done = True
        return result

    return run  # type: ignore[return-value]


def exit_now_if_short() -> None:
    """After a short command succeeded: its output flushed, the process ends at once.
    Python's tear-down (freeing every module and object, a last collection) took about
    40 ms of a cold `planwise recommend`'s 0.28 s, for nothing a short command needs:
    it opened no database and wrote no file. Should the output not flush (a closed
    pipe), the normal exit reports it as before."""
    if not _short_done:
        return
    import os
    import sys

    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except Exception:
        return
    if "logging" in sys.modules:
        import logging

        logging.shutdown()
    os._exit(0)


knowledge_option = click.option(
    "--knowledge", "knowledge_dirs", multiple=True, type=click.Path(file_okay=False),
    help="A clinic's knowledge folder, added to (and overriding by id) the shipped one. "
         "May be given more than once; added after any given as `planwise --knowledge "
         "DIR`. Default: $PLANWISE_KNOWLEDGE, the config file.")
engine_option = click.option(
    "--engine", type=click.Choice(["auto", "durable", "reference"]), default="auto",
    show_default=True, help="Rule engine: durable-rules, or the pure-Python reference evaluator.")
# The older place for --db (on a group or a command: `planwise client --db PATH list`,
# `planwise review P1 --db PATH`), kept working; `planwise --db PATH ...` is the one place
# the docs give. The environment and the config file are applied after both
# (cli/global_options.py), so this option reads no environment variable itself.
db_option = click.option(
    "--db", "db_path", type=click.Path(dir_okay=False), metavar="PATH",
    help="The planwise database; the same as `planwise --db PATH` before the command.")
profile_option = click.option(
    "--profile", "profile_path", type=click.Path(dir_okay=False),
    help="Therapist profile (TOML); the same as `planwise --profile PATH` before the "
         "command. Default: $PLANWISE_PROFILE, the config file, profile.toml in the user "
         "config folder.")


def load_kb(knowledge_dirs: tuple[str, ...]) -> KnowledgeBase:
    from planwise.kb.loader import load_knowledge

    return load_knowledge([Path(d) for d in knowledge_dirs])


def resolve_profile(profile_path: str | None, kb: KnowledgeBase) -> Profile | None:
    from planwise.intake_io import resolve_profile as resolve

    return resolve(profile_path, kb)


def echo(text: str, **kwargs: Any) -> None:
    """Every line planwise prints: names, notes and file contents may hold terminal
    control sequences, which are shown escaped (planwise.text.printable)."""
    from planwise.text import printable

    click.echo(printable(text), **kwargs)
