"""Options and loading shared by the commands."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:  # the real imports are deferred: `planwise --help` stays fast
    from planwise.kb.loader import KnowledgeBase
    from planwise.models.profile import Profile

knowledge_option = click.option(
    "--knowledge", "knowledge_dirs", multiple=True, type=click.Path(file_okay=False),
    help="A clinic's knowledge folder, added to (and overriding by id) the shipped one. "
         "May be given more than once.")
engine_option = click.option(
    "--engine", type=click.Choice(["auto", "durable", "reference"]), default="auto",
    show_default=True, help="Rule engine: durable-rules, or the pure-Python reference evaluator.")
profile_option = click.option(
    "--profile", "profile_path", type=click.Path(dir_okay=False),
    help="Therapist profile (TOML). Default: the configured profile, if any "
         "(PLANWISE_PROFILE or the user config folder).")


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
