"""`planwise review`, `planwise timeline` and `planwise dashboard`: is therapy working?"""

from __future__ import annotations

import datetime as dt
import json
import textwrap
from typing import TYPE_CHECKING, Any

import click

from planwise.cli.client_cmds import db_option, open_conn
from planwise.cli.common import echo, engine_option, knowledge_option

if TYPE_CHECKING:
    from planwise.kb.loader import KnowledgeBase
    from planwise.models.review import ProposedChange, Review

date_option = click.option("--date", "day", metavar="YYYY-MM-DD",
                           help="The day to look from (default: today). Records dated later "
                                "are left out.")
format_option = click.option("--format", "fmt", type=click.Choice(["text", "json"]),
                             default="text", show_default=True, help="Output format.")


def _day(text: str | None) -> dt.date:
    from planwise.dates import check_view_date, parse_date, today

    return today() if text is None else check_view_date(parse_date(text))


def _ctx(ctx: click.Context, db_path: str | None) -> None:
    ctx.ensure_object(dict)
    ctx.obj["db_path"] = db_path


# --- review ---------------------------------------------------------------------------

def headline(ch: ProposedChange, kb: KnowledgeBase) -> str:
    """One line naming what the change does."""
    from planwise.clinical.review_facts import change_headline

    return change_headline(ch, kb)


def render_review(review: Review, kb: KnowledgeBase, course_line: str) -> str:
    from planwise.explain import _wrap

    lines = [f"{review.plan} review on {review.today}: {course_line}", ""]
    if review.changes:
        # The list first: what the therapist decides on; the reasons follow.
        lines.append(f"Proposed changes ({len(review.changes)}):")
        for n, ch in enumerate(review.changes, 1):
            lines.append(textwrap.fill(headline(ch, kb), width=78,
                                       initial_indent=f"  {n:>2}. ", subsequent_indent=" " * 6))
            lines.append(f"      id {ch.id}")
        lines.append("")
    lines.append("Progress so far:")
    lines += [_wrap(f"- {f}", "  ") for f in review.facts] or ["  (no progress facts)"]
    lines.append("")
    if review.changes:
        lines.append("Why each change:")
    for n, ch in enumerate(review.changes, 1):
        lines.append(f"  {n}. {ch.id}")
        lines.append(_wrap(headline(ch, kb), "     "))
        lines.append(_wrap(f"why: {ch.reason}", "     "))
        for rid in ch.because:
            rule = kb.rule(rid)
            if rule is None:
                lines.append(f"     because rule {rid}")
                continue
            lines.append(_wrap(f"because rule {rid} says: {rule.entry.says}", "     "))
            lines.append(_wrap(f"Source: {rule.entry.source}.", "       "))
        for f in ch.facts:
            lines.append(_wrap(f"fact: {f}", "       "))
    n = len(review.changes)
    if n:
        lines.append("")
        lines.append(f"{n} change{'' if n == 1 else 's'} proposed; to accept: planwise review "
                     f"{review.plan} --accept ID --reason TEXT (or --accept-all --reason TEXT)")
    else:
        lines.append("No changes proposed: the plan stands as it is.")
    return "\n".join(lines)


def course_line(course: Any) -> str:
    limit = (f" of {course.session_limit}" if course.session_limit is not None else "")
    return (f"version {course.version}, {course.sessions_used} session"
            f"{'' if course.sessions_used == 1 else 's'}{limit} used")


def accepted_text(plan: str, result: dict[str, Any]) -> str:
    n = len(result["accepted"])
    what = f"{n} change{'' if n == 1 else 's'} accepted ({', '.join(result['accepted'])})"
    if not result["changed"]:
        return f"{what}; {plan} version {result['version']} unchanged (already in the plan)"
    if result["new_version"]:
        return (f"{what}; {plan} version {result['version']} saved with the reason (version "
                f"{result['version'] - 1} is {result['previous_state'].replace('_', ' ')} and "
                "stays as it was)")
    return (f"{what}; {plan} version {result['version']} edited in place (an unsigned draft: "
            "no new version; the reason is kept in the review's audit row only as the "
            "accepted ids)")


@click.command("review")
@click.argument("plan")
@date_option
@format_option
@engine_option
@knowledge_option
@click.option("--accept", "accept", multiple=True, metavar="ID",
              help="Accept the proposed change ID (as listed); may be given more than once.")
@click.option("--accept-all", "accept_all", is_flag=True, help="Accept every proposed change.")
@click.option("--no-changes", "no_changes", is_flag=True,
              help="Record that the plan was reviewed on --date and stays as it is (the "
                   "review-due flag clears; the plan is not changed).")
@click.option("--reason", help="Why the plan changes (required when accepting; recorded with "
                               "the new plan version).")
@db_option
@click.pass_context
def review_cmd(ctx: click.Context, plan: str, day: str | None, fmt: str, engine: str,
               knowledge_dirs: tuple[str, ...], accept: tuple[str, ...], accept_all: bool,
               no_changes: bool, reason: str | None, db_path: str | None) -> None:
    """Propose plan changes from the course so far (review rules), each with its reasons:
    the progress facts in words, then each change numbered with its id, why, and the rules
    (what each says, its source). Accepting changes saves the plan: a signed version gets a
    new version with --reason; an unsigned draft is edited in place.

    \b
    Example:
        planwise review P1
        planwise review P1 --date 2027-01-24 --format json
        planwise review P1 --accept refer:depression:psychiatry --reason "no change after 8"
        planwise review P1 --accept-all --reason "review at week 12"
        planwise review P1 --no-changes
    """
    from planwise.cli.common import load_kb
    from planwise.dates import check_record_date, parse_date
    from planwise.errors import InputError
    from planwise.rules import review as run_review
    from planwise.store import ids
    from planwise.store.course import load_course

    _ctx(ctx, db_path)
    if accept and accept_all:
        raise InputError("give --accept ID or --accept-all, not both")
    if no_changes and (accept or accept_all or reason is not None):
        raise InputError("--no-changes records a review that changes nothing: drop --accept, "
                         "--accept-all and --reason", field="--no-changes")
    if (accept or accept_all) and not (reason or "").strip():
        raise InputError("--reason is required when accepting changes (it is recorded with "
                         "the new plan version)", field="--reason")
    if reason is not None and not (accept or accept_all):
        raise InputError("--reason goes with --accept or --accept-all", field="--reason")
    if (accept or accept_all or no_changes) and day is not None:
        # The last review's day drives "review due": a review dated ahead would hide it.
        check_record_date(parse_date(day), option="--date",
                          why="a review is recorded on the day it is held")
    today = _day(day)
    pid = ids.parse("plan", plan)
    conn = open_conn(ctx)
    kb = load_kb(knowledge_dirs)
    course = load_course(conn, pid, today)
    rv = run_review(course, kb, engine)
    if no_changes:
        from planwise.store.review_apply import record_no_changes

        version = record_no_changes(conn, pid, rv, today)
        n = len(rv.changes)
        if fmt == "json":
            echo(json.dumps({"plan": ids.fmt("plan", pid), "version": version,
                             "date": today.isoformat(), "proposed": n, "accepted": []},
                            indent=2))
            return
        echo(f"{ids.fmt('plan', pid)} version {version} reviewed on {today}: no changes "
             f"({n} proposed, none accepted); the next review is due in "
             f"{course.review_weeks} weeks")
        return
    result = None
    if accept or accept_all:
        from planwise.store.review_apply import accept as accept_changes

        wanted = [c.id for c in rv.changes] if accept_all else list(accept)
        if wanted:
            result = accept_changes(conn, pid, rv, wanted, reason or "", kb, today)
    name = ids.fmt("plan", pid)
    if fmt == "json":
        data = rv.model_dump(mode="json", by_alias=True)
        if accept or accept_all:
            data["accepted"] = result or {"accepted": [], "changed": False}
        echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    if not (accept or accept_all):
        echo(render_review(rv, kb, course_line(course)))
        return
    if result is None:
        echo("nothing to accept: no changes proposed")
        return
    by_id = {ch.id: ch for ch in rv.changes}
    for cid in result["accepted"]:
        echo(f"  + {headline(by_id[cid], kb)}  [{cid}]")
    echo(accepted_text(name, result))


# --- timeline -------------------------------------------------------------------------

@click.command("timeline")
@click.argument("plan")
@date_option
@click.option("--format", "fmt", type=click.Choice(["text", "json", "ics"]), default="text",
              show_default=True,
              help="ics: the review date and open objectives' target dates as an iCalendar "
                   "file of all-day events, naming the plan, not the client.")
@click.option("--name", "with_name", is_flag=True,
              help="With --format ics: put the client's name in each event's title.")
@click.option("--output", "output", type=click.Path(dir_okay=False),
              help="With --format ics: write to FILE (mode 0600) instead of printing.")
@db_option
@click.pass_context
def timeline_cmd(ctx: click.Context, plan: str, day: str | None, fmt: str, with_name: bool,
                 output: str | None, db_path: str | None) -> None:
    """Sessions used and left against the authorised limit, the open objectives with their
    anticipated dates (overdue ones marked), and a warning when the sessions left cannot
    cover them.

    \b
    Example:
        planwise timeline P1
        planwise timeline P1 --date 2027-02-01 --format json
        planwise timeline P1 --format ics --output p1.ics
    """
    from planwise.clinical.timeline import render_text, timeline
    from planwise.store import ids
    from planwise.store.course import load_course

    _ctx(ctx, db_path)
    if fmt == "ics" or with_name or output:
        _timeline_ics(ctx, plan, fmt, with_name, output)
        return
    today = _day(day)
    tl = timeline(load_course(open_conn(ctx), ids.parse("plan", plan), today))
    echo(tl.model_dump_json(indent=2) if fmt == "json" else render_text(tl))


def _timeline_ics(ctx: click.Context, plan: str, fmt: str, with_name: bool,
                  output: str | None) -> None:
    from planwise.documents import ics
    from planwise.documents.pdf_base import generated_at
    from planwise.errors import InputError
    from planwise.store import ids

    if fmt != "ics":
        raise InputError("--name and --output are for --format ics")
    pid = ids.parse("plan", plan)
    data = ics.render(ics.events(open_conn(ctx), pid, with_name), generated_at())
    if output:
        from planwise.store.export import write_private

        write_private(output, data, follow_symlink=False)
        echo(f"{ids.fmt('plan', pid)} calendar written to {output}")
    else:
        click.echo(data.decode("utf-8"), nl=False)


# --- dashboard ------------------------------------------------------------------------

@click.command("dashboard")
@date_option
@format_option
@click.option("--flag", "flag", type=click.Choice(
    ["risk_reemerging", "deteriorated", "not_on_track", "objectives_overdue",
     "session_limit_near", "review_due", "remote_risk"]), help="Only clients with this flag.")
@click.option("--limit", "limit", type=click.IntRange(min=1), help="At most N clients.")
@knowledge_option
@db_option
@click.pass_context
def dashboard_cmd(ctx: click.Context, day: str | None, fmt: str, flag: str | None,
                  limit: int | None, knowledge_dirs: tuple[str, ...],
                  db_path: str | None) -> None:
    """The clients who need attention, most urgent first: risk re-emerging, deteriorated,
    not on track, objectives overdue, session limit near, review due; one reason per flag.

    \b
    Example:
        planwise dashboard
        planwise dashboard --flag deteriorated --format json
    """
    from planwise.cli.common import load_kb
    from planwise.store.dashboard import attention, render_text

    _ctx(ctx, db_path)
    rows = attention(open_conn(ctx), _day(day), flag=flag, limit=limit,
                     kb=load_kb(knowledge_dirs))
    if fmt == "json":
        echo(json.dumps(rows, indent=2, ensure_ascii=False))
    else:
        echo(render_text(rows))
        _remote_requests(ctx, _day(day))


def _remote_requests(ctx: click.Context, day: Any) -> None:
    """Remote questionnaires sent and not answered yet, pending or expired (docs/remote.md)."""
    import sqlite3

    from planwise.remote.requests import render_unused, unused

    try:
        rows = unused(open_conn(ctx), day)
    except sqlite3.OperationalError:  # read-only database older than migration 10
        return
    if rows:
        echo(f"\nremote questionnaires not answered yet ({len(rows)}):")
        echo(render_unused(rows))
