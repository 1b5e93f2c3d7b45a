"""`planwise knowledge check|list|show`."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import click

from planwise.cli.common import echo, knowledge_option, load_kb


@click.group("knowledge")
def knowledge_group() -> None:
    """Inspect and check the clinical knowledge (rules, goals, instruments).

    \b
    Example:
        planwise knowledge check
        planwise knowledge show risk.level.high.plan
    """


@knowledge_group.command("check")
@click.argument("folder", required=False, type=click.Path(file_okay=False))
def check_cmd(folder: str | None) -> None:
    """Validate the shipped knowledge plus FOLDER (a clinic's own), and print counts.

    Exits 2 when a file is broken or a quality check fails.

    \b
    Examples:
        planwise knowledge check
        planwise knowledge check ./our-clinic-knowledge
    """
    from planwise.errors import InputError
    from planwise.kb.quality import check_quality

    if folder and not Path(folder).is_dir():
        raise InputError("knowledge folder not found", file=folder)
    kb = load_kb((folder,) if folder else ())
    findings = check_quality(kb)
    by_stage = Counter(r.stage for r in kb.rules)
    echo(f"knowledge {kb.fingerprint}: {len(kb.rules)} rules "
         f"({', '.join(f'{s} {n}' for s, n in by_stage.items())}), {len(kb.goals)} goals, "
         f"{len(kb.objectives)} objectives, {len(kb.interventions)} interventions, "
         f"{len(kb.instruments)} instruments")
    if kb.disabled:
        echo(f"disabled by override: {', '.join(kb.disabled)}")
    if findings:
        for f in findings:
            echo(str(f), err=True)
        raise InputError(f"{len(findings)} quality problem(s) in the knowledge")
    echo("ok")


@knowledge_group.command("list")
@click.option("--kind", type=click.Choice(["rules", "goals", "instruments", "conditions"]),
              default="rules", show_default=True)
@knowledge_option
def list_cmd(kind: str, knowledge_dirs: tuple[str, ...]) -> None:
    """List rules (with stage and file), goals, instruments or conditions.

    \b
    Examples:
        planwise knowledge list
        planwise knowledge list --kind goals
    """
    kb = load_kb(knowledge_dirs)
    if kind == "rules":
        for r in kb.rules:
            echo(f"{r.id:55} {r.stage:9} {Path(r.file).name}")
    elif kind == "goals":
        for g in kb.goals.values():
            echo(f"{g.id:45} {g.condition:24} {g.text}")
    elif kind == "instruments":
        for i in kb.instruments.values():
            echo(f"{i.id:10} {i.name:10} {i.title}")
    else:
        for c in kb.vocab["conditions"].values():
            echo(f"{c.id:26} {c.label}")


@knowledge_group.command("show")
@click.argument("entry_id")
@knowledge_option
def show_cmd(entry_id: str, knowledge_dirs: tuple[str, ...]) -> None:
    """Print one rule, goal, objective, intervention or instrument with its source.

    \b
    Examples:
        planwise knowledge show depression.treatment.severe
        planwise knowledge show depression.activity
    """
    from planwise.explain import show_entry

    kb = load_kb(knowledge_dirs)
    echo(show_entry(kb, entry_id))
