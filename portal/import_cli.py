"""``flask --app wsgi import-report FILE``: the back office's report import from the command line.

Same service as the upload page (``portal.services.imports``): every row is
checked, and only a file without problems opens its cases, all in one
transaction.  ``--dry-run`` checks and writes nothing.  Row problems are
printed with their line numbers; identity numbers are never printed.
"""
from __future__ import annotations

import sys
from pathlib import Path

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import with_appcontext


@click.command("import-report")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--profile", "profile_code", default=None,
              help="Profile whose report format the file follows (default: PORTAL_PROFILE).")
@click.option("--jurisdiction", "jurisdiction_code", default=None,
              help="Bureau whose report it is; its cases are opened under it and its profile "
                   "(default: the bureau of --profile).")
@click.option("--user", "username", required=True,
              help="User name of the clerk or reviewer who opens the cases.")
@click.option("--ground", default=None, help="Ground for rows without a ground code column.")
@click.option("--dry-run", is_flag=True, help="Check the file only; write nothing.")
@with_appcontext
def import_report(file: Path, profile_code: str | None, jurisdiction_code: str | None,
                  username: str, ground: str | None, dry_run: bool) -> None:
    """Check a monthly/quarterly dishonesty report (CSV or XLSX) and open its cases."""
    from flask_babel import get_locale

    from portal.clock import today
    from portal.extensions import db
    from portal.import_messages import file_problem, import_problem, row_error
    from portal.models import StaffUser
    from portal.rules.profiles import load_profile
    from portal.services import imports, jurisdictions
    from portal.services.permissions import PermissionDenied
    from portal.services.report_format import report_format

    profile = load_profile(profile_code or current_app.config["PORTAL_PROFILE"])
    user = db.session.execute(sa.select(StaffUser).where(StaffUser.username == username,
                                                          StaffUser.active.is_(True))).scalar()
    if user is None:
        raise click.ClickException(f"no active staff user {username!r}")
    if jurisdiction_code is not None:
        bureau = jurisdictions.directory(db.session).get(jurisdiction_code)
        if bureau is None or not bureau.active:
            raise click.ClickException(f"no active jurisdiction {jurisdiction_code!r}")
        profile = bureau.rules
    fmt = report_format(profile)
    locale = str(get_locale() or "zh_CN")
    max_bytes, max_rows = imports.limits(current_app.config)
    raw = file.read_bytes()
    key = current_app.config["PORTAL_LOOKUP_KEY"]
    try:
        batch = imports.stage(db.session, user, profile, filename=file.name, raw=raw,
                              default_ground=ground, key=key, today=today(), max_bytes=max_bytes,
                              max_rows=max_rows, jurisdiction=jurisdiction_code)
    except imports.FileProblem as exc:
        db.session.rollback()
        raise click.ClickException(file_problem(exc.code, exc.params, fmt, locale)) from None
    except imports.ImportProblem as exc:
        db.session.rollback()
        raise click.ClickException(import_problem(exc.code, exc.params)) from None
    except PermissionDenied:
        db.session.rollback()
        raise click.ClickException(f"{username} may not open these cases (clerks and reviewers "
                                   "of the jurisdiction do)") from None
    for row in batch.rows:
        for code, params in row["errors"]:
            click.echo(f"line {row['line']}: {row_error(code, params, fmt, locale)}")
    click.echo(f"{batch.row_count} rows, {batch.error_count} with problems")
    if dry_run or batch.error_count:
        db.session.rollback()
        if batch.error_count:
            click.echo("nothing imported")
            sys.exit(1)
        click.echo("dry run: nothing imported")
        return
    result = imports.commit(db.session, user, batch.id, profile, key=key, today=today())
    db.session.commit()
    click.echo(f"{len(result.cases)} cases opened: "
               + ", ".join(c.case_no for c in result.cases))
