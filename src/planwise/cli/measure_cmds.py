"""`planwise measure ...`: repeated measures (any instrument, given again over time)."""

from __future__ import annotations

import click

from planwise.cli.client_cmds import db_option, open_conn
from planwise.cli.common import echo, knowledge_option


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


@measure_group.command("add")
@click.argument("client")
@click.argument("instrument")
@click.option("--answers", required=True, metavar="TEXT",
              help="The answers in item order, comma-separated (PHQ-9: 1,1,0,1,0,1,0,0,0); "
                   "for the ASQ KEY=yes|no pairs (wish_dead=no,better_off_dead=no,...); for "
                   "the MDQ symptoms=1101100110000,same_period=yes,impairment=moderate. "
                   "Every item must be answered.")
@click.option("--date", "date", metavar="YYYY-MM-DD",
              help="When the instrument was given. Default: the session's date with "
                   "--session, else today (PLANWISE_TODAY if set).")
@click.option("--session", "session", metavar="S",
              help="The session it was given at (a session of this client's plan).")
@knowledge_option
@click.pass_context
def measure_add(ctx: click.Context, client: str, instrument: str, answers: str,
                date: str | None, session: str | None, knowledge_dirs: tuple[str, ...]) -> None:
    """Score an instrument given again and store it; prints the score, the change since
    the baseline (the first score of that instrument) and why. Measures cannot be
    changed or deleted.

    \b
    Example:
        planwise measure add C1 phq9 --answers 1,1,0,1,0,1,0,0,0 --date 2027-01-10
        planwise measure add C1 gad7 --answers 1,1,1,0,1,0,1 --session S4
        planwise measure add C1 asq \\
            --answers wish_dead=no,better_off_dead=no,thoughts=no,attempt_ever=no
    """
    from pathlib import Path

    from planwise.clinical.instrument_files import load_instruments
    from planwise.dates import check_record_date, parse_date
    from planwise.errors import InputError
    from planwise.store import ids, measures

    cid = ids.parse("client", client)
    sid = ids.parse("session", session) if session is not None else None
    catalog = load_instruments([Path(d) for d in knowledge_dirs])
    inst = measures.find_instrument(instrument, catalog)
    if inst is None:
        raise InputError(f"unknown instrument {instrument[:40]!r} (known: "
                         f"{', '.join(sorted(catalog))})")
    parsed = measures.parse_answers(inst, answers)
    if date is not None:
        check_record_date(parse_date(date), option="--date",
                          why="record a measure once it has been given")
    result = measures.add_measure(open_conn(ctx), cid, inst.id, parsed, date, catalog,
                                  session_id=sid)
    echo(measures.describe(result, catalog))


@measure_group.command("list")
@click.argument("client")
@click.option("--instrument", metavar="ID", help="Only this instrument (e.g. phq9).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Output format.")
@click.pass_context
def measure_list(ctx: click.Context, client: str, instrument: str | None, fmt: str) -> None:
    """List a client's measures per instrument in date order, each with the change since
    the baseline.

    \b
    Example:
        planwise measure list C1
        planwise measure list C1 --instrument phq9 --format json
    """
    import json

    from planwise.clinical.instrument_files import load_instruments
    from planwise.errors import InputError
    from planwise.store import ids, measures
    from planwise.text import excerpt

    cid = ids.parse("client", client)
    catalog = load_instruments()
    only = None
    if instrument is not None:
        found = measures.find_instrument(instrument, catalog)
        only = found.id if found is not None else instrument.strip().lower()
    conn = open_conn(ctx)
    per = measures.series(conn, cid, catalog)
    if only is not None:
        if only not in per and only not in catalog:
            raise InputError(f"--instrument: unknown instrument {excerpt(instrument)} (known: "
                             f"{', '.join(sorted(catalog))})")
        per = {only: per.get(only, [])} if per.get(only) else {}
    if fmt == "json":
        out = []
        for rows in per.values():
            for r in rows:
                out.append({**r, "id": ids.fmt("measure", r["id"]),
                            "client": ids.fmt("client", cid),
                            "session_id": (ids.fmt("session", r["session_id"])
                                           if r["session_id"] is not None else None),
                            "intake_id": (ids.fmt("intake", r["intake_id"])
                                          if r["intake_id"] is not None else None)})
        echo(json.dumps(out, indent=2, ensure_ascii=False))
        return
    if not per:
        echo("no measures")
        return
    for key, rows in per.items():
        inst = catalog.get(key)
        echo(f"# {inst.name if inst else key}")
        for r in rows:
            where = (f"session {r['session']} ({ids.fmt('session', r['session_id'])})"
                     if r["session_id"] is not None else
                     f"intake {ids.fmt('intake', r['intake_id'])}"
                     if r["intake_id"] is not None else
                     "remote" if r["source"] == "remote" else "measure")
            change = ("baseline" if r["change"] is None
                      else "since baseline: " + measures.change_words(r["change"]))
            flags = f"\tflags: {', '.join(r['flags'])}" if r["flags"] else ""
            echo(f"{ids.fmt('measure', r['id'])}\t{r['date']}\t{r['total']}\t{r['band']}\t"
                 f"{where}\t{change}{flags}")


@measure_group.command("request")
@click.argument("client")
@click.argument("instruments", metavar="INSTRUMENT[,INSTRUMENT]")
@click.option("--feedback", is_flag=True, help="Add the end-of-session feedback form.")
@click.option("--expires", default="14d", show_default=True, metavar="14d|2w|YYYY-MM-DD",
              help="When the request expires (1 to 90 days from today).")
@click.option("--output", "output", required=True, type=click.Path(dir_okay=False),
              metavar="FILE.html", help="The packet to write (a new file, mode 0600).")
@knowledge_option
@click.pass_context
def measure_request(ctx: click.Context, client: str, instruments: str, feedback: bool,
                    expires: str, output: str, knowledge_dirs: tuple[str, ...]) -> None:
    """Write a questionnaire packet for a client to answer away from the session: one
    HTML file that opens offline in any browser and seals the answers to the practice's
    key (docs/remote.md). Only instruments whose licence allows their item text can be
    sent; the others are refused with the reason. The request is stored and used once.

    \b
    Example:
        planwise measure request C1 phq9,gad7 --feedback --expires 14d --output c1.html
    """
    from pathlib import Path

    from planwise.clinical.instrument_files import load_instruments
    from planwise.dates import today
    from planwise.remote.issue import issue, split_names
    from planwise.store import ids

    cid = ids.parse("client", client)
    catalog = load_instruments([Path(d) for d in knowledge_dirs])
    r = issue(open_conn(ctx), cid, split_names(instruments), feedback, expires, Path(output),
              today(), catalog)
    echo(f"{r['id']}: {', '.join(r['instruments'])}{' + feedback' if r['feedback'] else ''}"
         f" for {ids.fmt('client', cid)}, issued {r['issued']}, expires {r['expires']}")
    echo(f"written {r['file']} (send it to the client; it holds no name)")
    echo(f"sealed to the key with fingerprint {r['fingerprint']}")
    if not r["contacts_configured"]:
        echo("note: no crisis_contacts in the config file; the page shows only the "
             "emergency-number text (docs/remote.md)")


@measure_group.command("import")
@click.argument("source", metavar="FILE|-")
@knowledge_option
@click.pass_context
def measure_import(ctx: click.Context, source: str, knowledge_dirs: tuple[str, ...]) -> None:
    """Import a client's sealed response (a file, or - for standard input): checks it
    (request known, unused and unexpired; sealed to the practice and intact; only what
    was requested, every answer in range; completed between the request and today),
    then stores the measures dated on completion and marks the request used. An answer
    that signals risk puts the client first on `planwise dashboard`.

    \b
    Example:
        planwise measure import response.txt
        pbpaste | planwise measure import -
    """
    import sys
    from pathlib import Path

    from planwise.clinical.instrument_files import load_instruments
    from planwise.dates import today
    from planwise.errors import InputError
    from planwise.remote.importer import describe, import_response
    from planwise.remote.seal import MAX_TEXT

    if source == "-":
        text = sys.stdin.read(MAX_TEXT + 1)
    else:
        path = Path(source)
        try:
            with path.open(encoding="utf-8", errors="replace") as f:
                text = f.read(MAX_TEXT + 1)
        except OSError as exc:
            raise InputError(f"cannot read the response ({exc.strerror})",
                             file=source) from None
    catalog = load_instruments([Path(d) for d in knowledge_dirs])
    result = import_response(open_conn(ctx), text, today(), catalog)
    echo(describe(result, catalog))


@measure_group.command("export")
@click.option("--format", "fmt", type=click.Choice(["csv"]), default="csv", show_default=True,
              help="Output format (CSV, one header row; columns in docs/documents.md).")
@click.option("--records", type=click.Choice(["measures", "sessions", "feedback"]),
              default="measures", show_default=True,
              help="measures: every score with its change class against the baseline; "
                   "sessions: each session against the limit; feedback: each session's "
                   "feedback form.")
@click.option("--pseudonymise", is_flag=True,
              help="Write each client as a stable pseudonym (PW-...) instead of the id, and "
                   "plans by their place among the client's plans.")
@click.option("--since", "since", metavar="YYYY-MM-DD",
              help="Only rows dated on or after this day (change is still judged against "
                   "the baseline, however old).")
@click.option("--output", "output", type=click.Path(dir_okay=False),
              help="Write to FILE (mode 0600) instead of printing. A symbolic link is "
                   "refused unless --force.")
@click.option("--force", is_flag=True, help="With --output: write through a symbolic link.")
@click.pass_context
def measure_export(ctx: click.Context, fmt: str, records: str, pseudonymise: bool,
                   since: str | None, output: str | None, force: bool) -> None:
    """Export the whole caseload's measures (or sessions, or feedback) as CSV: ids or
    pseudonyms, dates and numbers only, never names or notes.

    \b
    Example:
        planwise measure export --format csv --pseudonymise --output measures.csv
        planwise measure export --records sessions --since 2027-01-01 > sessions.csv
    """
    from planwise.dates import parse_date
    from planwise.documents.csv_export import to_csv

    day = parse_date(since, "--since") if since is not None else None
    conn = open_conn(ctx)
    text = to_csv(conn, records, day, pseudonymise)
    if output:
        from planwise.store.export import write_private

        write_private(output, text, follow_symlink=force)
        echo(f"{text.count(chr(10)) - 1} {records} rows written to {output}")
    else:
        echo(text.rstrip("\n"))
