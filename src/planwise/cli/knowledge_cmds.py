"""`planwise knowledge check|list|show`."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import click

from planwise.cli.common import echo, knowledge_option, load_kb

if TYPE_CHECKING:
    from planwise.kb.loader import KnowledgeBase


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
@knowledge_option
def check_cmd(folder: str | None, knowledge_dirs: tuple[str, ...]) -> None:
    """Validate the shipped knowledge plus FOLDER (a clinic's own), and print counts.
    The clinic folders planwise already uses (`planwise --knowledge DIR`,
    $PLANWISE_KNOWLEDGE, the config file) are checked too, FOLDER after them.

    Lists every safety-critical override and every shipped rule or goal FOLDER
    replaces, then runs the shipped case library against the combined knowledge.
    Exits 2 when a file is broken, a quality check fails, a case cannot be
    evaluated (a rule chain that does not settle, rules the engine cannot build)
    or a case's safety outcome is weaker than the library expects.

    \b
    Examples:
        planwise knowledge check
        planwise knowledge check ./our-clinic-knowledge
    """
    from planwise.errors import InputError
    from planwise.kb.quality import check_quality

    if folder and not Path(folder).is_dir():
        raise InputError("knowledge folder not found", file=folder)
    kb = load_kb((*knowledge_dirs, folder) if folder else knowledge_dirs)
    findings = check_quality(kb)
    by_stage = Counter(r.stage for r in kb.rules)
    echo(f"knowledge {kb.fingerprint}: {len(kb.rules)} rules "
         f"({', '.join(f'{s} {n}' for s, n in by_stage.items())}), {len(kb.goals)} goals, "
         f"{len(kb.objectives)} objectives, {len(kb.interventions)} interventions, "
         f"{len(kb.instruments)} instruments")
    if kb.disabled:
        echo(f"disabled by override: {', '.join(kb.disabled)}")
    for key, what, reason, file in kb.overrides:
        echo(f"override: {key} ({what}, {Path(file).name}): {reason}")
    for ident, file in kb.replaced:
        echo(f"replaced: {ident} by {file}")
    if findings:
        for f in findings:
            echo(str(f), err=True)
        raise InputError(f"{len(findings)} quality problem(s) in the knowledge")
    failures = _check_cases(kb)
    if failures:
        raise InputError(f"{failures} case(s) of the case library failed with this knowledge")
    echo("ok")


def _check_cases(kb: KnowledgeBase) -> int:
    """Run the case library; print what differs; return how many cases fail."""
    from planwise.paths import shipped_cases_dir
    from planwise.rules.caselib import run_case_library

    folder = shipped_cases_dir()
    if folder is None:
        echo("case library: not installed here, not run")
        return 0
    results = run_case_library(kb, folder)
    failed = 0
    for r in results:
        if r.error:
            failed += 1
            echo(f"case {r.name}: cannot be evaluated: {r.error}", err=True)
        elif r.safety:
            failed += 1
            echo(f"case {r.name}: safety outcome weaker: {'; '.join(r.safety)}", err=True)
    differ = [r.name for r in results if not r.error and not r.safety and r.other]
    echo(f"case library: {len(results)} cases, {failed} failed"
         + (f", {len(differ)} differ from the shipped plans: {', '.join(differ[:8])}"
            + (" ..." if len(differ) > 8 else "") if differ else ""))
    return failed


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
