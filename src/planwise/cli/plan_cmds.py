"""`planwise plan ...`: drafts, TOML round trip, lint, signatures, history, diff, exports, audit."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from planwise.cli.client_cmds import db_option, open_conn
from planwise.cli.common import echo, engine_option, knowledge_option, profile_option

if TYPE_CHECKING:
    from planwise.store.db import Conn

# A version number SQLite can hold (a 30-digit one overflowed: exit 1 before).
VERSION = click.IntRange(1, 1_000_000)


@click.group("plan")
@db_option
@click.pass_context
def plan_group(ctx: click.Context, db_path: str | None) -> None:
    """Treatment plans: draft from an intake, edit via TOML, sign, revise, history, audit.

    \b
    Example:
        planwise plan draft C1 I1
        planwise plan --db ./caseload.db history P1
    """
    ctx.ensure_object(dict)
    ctx.obj["db_path"] = db_path


@plan_group.command("draft")
@click.argument("client")
@click.argument("intake")
@profile_option
@knowledge_option
@engine_option
@click.pass_context
def plan_draft(ctx: click.Context, client: str, intake: str, profile_path: str | None,
               knowledge_dirs: tuple[str, ...], engine: str) -> None:
    """Run the engine on INTAKE (a stored intake id like I1, or an intake file, which is
    stored too) and save a draft plan (version 1) for CLIENT; prints the plan's id.

    \b
    Example:
        planwise plan draft C1 I1 --profile examples/profile-trainee.toml
    """
    from planwise.cli.common import load_kb, resolve_profile
    from planwise.store import ids, plans

    conn = open_conn(ctx)
    cid = ids.parse("client", client)
    kb = load_kb(knowledge_dirs)
    profile = resolve_profile(profile_path, kb)
    echo(ids.fmt("plan", plans.draft(conn, cid, intake, kb, profile, engine)))


@plan_group.command("export")
@click.argument("plan")
@click.option("--format", "fmt", type=click.Choice(["toml", "markdown", "json", "fhir", "pdf"]),
              default="toml", show_default=True,
              help="toml: the editable plan file; markdown: the readable plan document; "
                   "json: the full record; fhir: a FHIR R4 Bundle"
                   "; pdf: the printable document (needs --output).")
@click.option("--audience", type=click.Choice(["record", "client"]), default="record",
              show_default=True,
              help="With --format pdf: the clinical record, or the client's copy in plain "
                   "language (what each of you will do, sessions, crisis contacts, "
                   "signature lines).")
@click.option("--version", "version", type=VERSION, help="A past version (default: the current "
                                                         "one).")
@click.option("--output", "output", type=click.Path(dir_okay=False),
              help="Write to FILE (created with mode 0600) instead of printing. A symbolic "
                   "link is refused unless --force.")
@click.option("--pseudonymise", is_flag=True,
              help="With --format fhir: no name, contact, address or birth date; the "
                   "client is a stable pseudonym (docs/documents.md).")
@click.option("--force", is_flag=True, help="With --output: write through a symbolic link.")
@click.pass_context
def plan_export(ctx: click.Context, plan: str, fmt: str, audience: str, version: int | None,
                output: str | None, force: bool, pseudonymise: bool) -> None:
    """Export a plan version: TOML to edit and give back to `plan import`, or a complete
    document (markdown or JSON) with the client's current information and trauma overview
    at the top, objectives, treatment, referrals, signatures and the version's reason.
    The database's chain head (see `planwise verify`) is printed on stderr.

    \b
    Example:
        planwise plan export P1 --format toml > p1.toml
        planwise plan export P1 --format markdown --output p1.md
        planwise plan export P1 --format markdown --output shared/p1.md --force
        planwise plan export P1 --format fhir --pseudonymise --output p1.fhir.json
        planwise plan export P1 --format pdf --output p1.pdf
        planwise plan export P1 --format pdf --audience client --output p1-client.pdf
    """
    from planwise.store import ids, plans

    conn = open_conn(ctx)
    pid = ids.parse("plan", plan)
    if fmt == "pdf" or audience != "record":
        _export_pdf(conn, pid, fmt, audience, version, output, force)
        return
    if fmt == "fhir" or pseudonymise:
        _export_fhir(conn, pid, fmt, version, pseudonymise, output, force)
        return
    if fmt == "toml":
        text = plans.export_toml(conn, pid, version)
    else:
        from planwise.store import export

        rec = export.build_record(conn, pid, version)
        text = export.render_json(rec) if fmt == "json" else export.render_markdown(rec)
    from planwise.store.integrity import head_text

    if output:
        from planwise.store.export import write_private

        write_private(output, text.rstrip("\n") + "\n", follow_symlink=force)
        echo(f"{ids.fmt('plan', pid)} written to {output}")
    else:
        echo(text.rstrip())
    # On stderr, so stdout stays the document (or the one line above): a copy of the head
    # kept with the export shows later whether the records were rewritten since.
    echo(head_text(conn.raw), err=True)


def _export_pdf(conn: Conn, pid: int, fmt: str, audience: str, version: int | None,
                output: str | None, force: bool) -> None:
    from planwise.errors import InputError
    from planwise.store import ids

    if fmt != "pdf":
        raise InputError("--audience is for --format pdf (the client's copy is a PDF)")
    if not output:
        raise InputError("--format pdf needs --output FILE (a PDF is not for the terminal)")
    from planwise.documents.plan_pdf import plan_pdf
    from planwise.store.export import write_private
    from planwise.store.integrity import head_text

    write_private(output, plan_pdf(conn, pid, version, audience), follow_symlink=force)
    what = "client's copy" if audience == "client" else "clinical record"
    echo(f"{ids.fmt('plan', pid)} {what} written to {output}")
    echo(head_text(conn.raw), err=True)


def _export_fhir(conn: Conn, pid: int, fmt: str, version: int | None, pseudonymise: bool,
                 output: str | None, force: bool) -> None:
    from planwise.errors import InputError
    from planwise.store import ids

    if fmt != "fhir":
        raise InputError("--pseudonymise is for --format fhir")
    from planwise.documents.fhir import export_fhir
    from planwise.store.integrity import head_text
    from planwise.store.lint import code_warnings
    from planwise.store.plans import load_doc_for

    text = export_fhir(conn, pid, version, pseudonymise=pseudonymise)
    if output:
        from planwise.store.export import write_private

        write_private(output, text + "\n", follow_symlink=force)
        echo(f"{ids.fmt('plan', pid)} written to {output}")
    else:
        echo(text)
    # A bundle goes to payers: say on stderr which problems it carries without a billable
    # code (the same warnings as `plan lint --payer`).
    for w in code_warnings(load_doc_for(conn, pid, version), payer=True):
        echo(f"warning: {w}", err=True)
    echo(head_text(conn.raw), err=True)


@plan_group.command("lint")
@click.argument("plan")
@click.option("--version", "version", type=VERSION, help="A past version (default: the current "
                                                         "one).")
@click.option("--payer", is_flag=True,
              help="Also warn of problems without an ICD-10-CM code (a payer-facing "
                   "export such as --format fhir carries them uncoded).")
@click.pass_context
def plan_lint(ctx: click.Context, plan: str, version: int | None,
              payer: bool) -> None:
    """Check every objective is SMART (Specific, Measurable, Attainable, Relevant,
    Time-bound); one line per problem (objective, letter, why), then "N problems".
    `plan sign` refuses a plan with problems unless --force.
    Then warnings on the problems' ICD-10-CM codes (letter "code": a category
    that is not billable; with --payer, a problem without a code), which never
    block signing.

    \b
    Example:
        planwise plan lint P1
        planwise plan lint P1 --payer
    """
    from planwise.store import ids
    from planwise.store.lint import code_warnings, lint_plan, summary
    from planwise.store.plans import load_doc_for

    conn, pid = open_conn(ctx), ids.parse("plan", plan)
    findings = lint_plan(conn, pid, version)
    warnings = code_warnings(load_doc_for(conn, pid, version), payer)
    for f in findings + warnings:
        echo(str(f))
    echo(summary(findings, warnings))


@plan_group.command("diff")
@click.argument("plan")
@click.argument("v1")
@click.argument("v2")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Output format.")
@click.pass_context
def plan_diff(ctx: click.Context, plan: str, v1: str, v2: str, fmt: str) -> None:
    """Show what changed between two versions of a plan, and why: items added, removed
    or changed field by field (origins too), and each version's reason.

    \b
    Example:
        planwise plan diff P1 1 2
    """
    import json

    from planwise.store import diff, ids

    d = diff.diff_versions(open_conn(ctx), ids.parse("plan", plan), diff.parse_version(v1),
                           diff.parse_version(v2))
    echo(json.dumps(d.as_dict(), indent=2, default=str) if fmt == "json"
         else diff.render_text(d))


@plan_group.command("import")
@click.argument("plan")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--reason", help="Why the plan changes (required when the current version is "
                               "signed: the change becomes a new version; and whenever the "
                               "risk level changes: the audit log keeps it).")
@knowledge_option
@click.pass_context
def plan_import(ctx: click.Context, plan: str, file: str, reason: str | None,
                knowledge_dirs: tuple[str, ...]) -> None:
    """Apply an edited plan file: edited proposals become proposed_edited, new items added.

    The file is checked first, like an intake: risk level, conditions, modalities, level
    of care, instruments, referral kinds, urgencies and warning kinds from the knowledge;
    session counts and frequency; dates in order (nothing before the start date, the
    start not after today); text length and control characters. Any problem: exit 2
    naming the field, nothing saved.

    \b
    Example:
        planwise plan import P1 p1.toml
        planwise plan import P1 p1.toml --reason "client chose group work over individual"
    """
    from planwise.cli.common import load_kb
    from planwise.store import ids, plans

    pid = ids.parse("plan", plan)
    kb = load_kb(knowledge_dirs)
    version, changed = plans.import_plan(open_conn(ctx), pid, file, reason, kb)
    name = ids.fmt("plan", pid)
    echo(f"{name} version {version} {'saved' if changed else 'unchanged'}")


@plan_group.command("sign")
@click.argument("plan")
@click.option("--role", type=click.Choice(["therapist", "client", "supervisor"]), required=True)
@click.option("--name", required=True, help="The name of the person signing.")
@click.option("--force", is_flag=True,
              help="Sign although `plan lint` finds problems (recorded as forced).")
@click.pass_context
def plan_sign(ctx: click.Context, plan: str, role: str, name: str, force: bool) -> None:
    """Sign the plan's current version. Signed by the therapist (and the supervisor when
    required), the version can no longer change. Refused while `plan lint` finds problems,
    unless --force (the signature and the audit log then record that it was forced).

    \b
    Example:
        planwise plan sign P1 --role therapist --name "A. Clinician"
    """
    from planwise.store import ids, plans

    pid = ids.parse("plan", plan)
    version, state = plans.sign(open_conn(ctx), pid, role, name, force)
    echo(f"{ids.fmt('plan', pid)} version {version}: signed by the {role} ({state})")


@plan_group.command("history")
@click.argument("plan")
@click.pass_context
def plan_history(ctx: click.Context, plan: str) -> None:
    """List the plan's versions: when, state, why, and who signed.

    \b
    Example:
        planwise plan history P1
    """
    from planwise.store import ids, plans

    for v in plans.history(open_conn(ctx), ids.parse("plan", plan)):
        line = f"v{v['version']}\t{v['created_at']}\t{v['state']}"
        if v["review_date"]:
            line += f"\treview {v['review_date']}"
        if v["reason"]:
            line += f"\t{v['reason']}"
        echo(line)
        for s in v["signatures"]:
            echo(f"\t{s['role']}: {s['name']} at {s['signed_at']}"
                 + (" (forced past SMART lint)" if s.get("forced") else ""))


def _print_audit(ctx: click.Context, plan: str) -> None:
    import json

    from planwise.store import audit, ids
    from planwise.store.integrity import head_text

    conn = open_conn(ctx)
    for row in audit.for_plan(conn, ids.parse("plan", plan)):
        echo(f"{row['at']}\t{row['who']}\t{row['action']}\t{row['record_type']} "
             f"{row['record_id']}\t{json.dumps(json.loads(row['detail']), sort_keys=True)}")
    # The whole database's chain head (docs/store.md, Tamper evidence): a copy kept
    # elsewhere shows later whether the records up to here were rewritten.
    echo(head_text(conn.raw))


@plan_group.command("audit")
@click.argument("plan")
@click.pass_context
def plan_audit(ctx: click.Context, plan: str) -> None:
    """Show the audit log of a plan (who, when, what), oldest first, then the chain head
    (see `planwise verify`).

    \b
    Example:
        planwise plan audit P1
    """
    _print_audit(ctx, plan)


@click.command("audit")
@click.argument("plan")
@db_option
@click.pass_context
def audit_cmd(ctx: click.Context, plan: str, db_path: str | None) -> None:
    """Show the audit log of a plan (who, when, what), oldest first, then the chain head
    (see `planwise verify`).

    \b
    Example:
        planwise audit P1
    """
    ctx.ensure_object(dict)
    ctx.obj["db_path"] = db_path
    _print_audit(ctx, plan)
