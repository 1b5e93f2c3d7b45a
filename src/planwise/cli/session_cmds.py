"""`planwise session ...`: session notes against a plan's objectives (append-only)."""

from __future__ import annotations

from typing import Any

import click

from planwise.cli.client_cmds import db_option, open_conn
from planwise.cli.common import echo, knowledge_option


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
@click.option("--feedback", metavar="ITEM=N,...",
              help="The client's end-of-session feedback, every item 0-10: "
                   "heard=8,mattered=7,approach=9,overall=8 (knowledge/feedback.toml).")
@click.option("--measure", "measure_args", multiple=True, metavar="INSTRUMENT=ANSWERS",
              help="An instrument given at the session, with its answers as for "
                   "`planwise measure add` (phq9=1,1,0,1,0,1,0,0,0). May be given more than "
                   "once.")
@knowledge_option
@click.pass_context
def session_add(ctx: click.Context, plan: str, date: str, objectives: tuple[str, ...],
                note: str, unplanned: str | None, feedback: str | None,
                measure_args: tuple[str, ...], knowledge_dirs: tuple[str, ...]) -> None:
    """Record a session against the plan's current version; prints its id and the count
    against the payer's authorised limit, then each measure with its change since the
    baseline and the feedback. The note, its feedback and its measures are saved together
    or not at all. Sessions cannot be changed or deleted.

    \b
    Example:
        planwise session add P1 --date 2026-12-06 \\
            --objective depression.activity.monitor:4 --note "Reviewed the activity log"
        planwise session add P1 --date 2026-12-13 --unplanned "crisis: housing" --note "..."
        planwise session add P1 --date 2027-01-10 --objective depression.activity.monitor:7 \\
            --note "..." --feedback heard=8,mattered=7,approach=9,overall=8 \\
            --measure phq9=1,1,0,1,0,1,0,0,0
    """
    from pathlib import Path

    from planwise.store import ids, sessions
    from planwise.store.feedback import render_line
    from planwise.store.measures import describe

    pid = ids.parse("plan", plan)
    answers = None
    if feedback is not None:
        from planwise.clinical.feedback import parse_answers

        answers = parse_answers(feedback)
    catalog = None
    given = []
    if measure_args:
        from planwise.clinical.instrument_files import load_instruments

        catalog = load_instruments([Path(d) for d in knowledge_dirs])
        given = [_measure(text, catalog) for text in measure_args]
        seen: set[str] = set()
        for inst_id, _ in given:
            if inst_id in seen:
                from planwise.errors import InputError

                raise InputError(f"--measure {inst_id} is given twice")
            seen.add(inst_id)
    s = sessions.add_session(open_conn(ctx), pid, date, list(objectives), note, unplanned,
                             feedback=answers, measures=given, instruments=catalog)
    echo(f"{ids.fmt('session', s['id'])}: {sessions.count_text(s['number'], s['limit'])} "
         f"({ids.fmt('plan', pid)} version {s['version']})")
    for m in s["measures"]:
        echo(describe(m, catalog))
    if s["feedback"] is not None:
        echo("feedback: " + render_line(s["feedback"]))


def _measure(text: str, catalog: dict[str, Any]) -> tuple[str, Any]:
    """`phq9=1,1,0,...` -> ("phq9", [1, 1, 0, ...]); errors name `--measure`."""
    from planwise.errors import InputError
    from planwise.store.measures import find_instrument, parse_answers

    name, sep, answers = text.partition("=")
    if not sep or not name.strip():
        raise InputError("--measure takes INSTRUMENT=ANSWERS, like phq9=1,1,0,1,0,1,0,0,0")
    inst = find_instrument(name, catalog)
    if inst is None:
        raise InputError(f"--measure: unknown instrument {name.strip()[:40]!r} (known: "
                         f"{', '.join(sorted(catalog))})")
    return inst.id, parse_answers(inst, answers, option=f"--measure {inst.id}")


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
