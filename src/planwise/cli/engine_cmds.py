"""`planwise recommend` and `planwise explain`."""

from __future__ import annotations

import click

from planwise.cli.common import (
    echo,
    engine_option,
    knowledge_option,
    load_kb,
    profile_option,
    resolve_profile,
    short_command,
)


@click.command("recommend")
@click.argument("intake")
@profile_option
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json"]), default="text",
              show_default=True, help="Output format.")
@knowledge_option
@engine_option
@short_command
def recommend_cmd(intake: str, profile_path: str | None, fmt: str,
                  knowledge_dirs: tuple[str, ...], engine: str) -> None:
    """Propose a treatment plan for INTAKE (a .toml or .json file, or - for JSON on stdin).

    \b
    Examples:
        planwise recommend examples/depression-alcohol.toml
        planwise recommend intake.json --format json --profile me.toml
        cat intake.json | planwise recommend - --format markdown
    """
    from planwise.intake_io import load_intake
    from planwise.render import render_proposal
    from planwise.rules import evaluate

    kb = load_kb(knowledge_dirs)
    scored = load_intake(intake, kb)
    profile = resolve_profile(profile_path, kb)
    evaluation = evaluate(scored, profile, kb, engine)
    assert evaluation.proposal is not None
    echo(render_proposal(evaluation.proposal, kb, fmt))


@click.command("explain")
@click.argument("intake")
@profile_option
@knowledge_option
@engine_option
@short_command
def explain_cmd(intake: str, profile_path: str | None, knowledge_dirs: tuple[str, ...],
                engine: str) -> None:
    """Walk through why each proposal for INTAKE appeared, rule by rule, for trainees.

    \b
    Example:
        planwise explain examples/depression-alcohol.toml
    """
    from planwise.explain import explain
    from planwise.intake_io import load_intake
    from planwise.rules import evaluate

    kb = load_kb(knowledge_dirs)
    scored = load_intake(intake, kb)
    profile = resolve_profile(profile_path, kb)
    evaluation = evaluate(scored, profile, kb, engine)
    echo(explain(evaluation, scored, kb))
