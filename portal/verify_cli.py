"""``flask --app wsgi verify publication``: is every published date what the law says today?

Recomputes every published date (the term's last day, the day the subject leaves
the list, rectification closes, repair opens, removal at the end of the term, the
publication and sharing dues) from the rules and the current holiday calendar
(``portal.services.published_dates``) and compares it with what is published.
Prints each difference and exits 1 if there is any; otherwise prints a summary.
``--fix`` first rewrites the projection's dates that differ (as a calendar change
does: new entry version, outbox event, audit event by "system"), then checks again.
"""
from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from portal.extensions import db

#: Differences printed in full; the count covers all of them.
SHOWN = 200


@click.group("verify")
def verify_group() -> None:
    """Checks of the published data against the rules."""


@verify_group.command("publication")
@click.option("--fix", is_flag=True, help="Rewrite published entry dates that differ, then check.")
@with_appcontext
def verify_publication(fix: bool) -> None:
    from portal.rules.profiles import load_profile
    from portal.services import audit
    from portal.services.calendar import load_calendar
    from portal.services.published_dates import differences, refresh

    calendar = load_calendar(db.session)
    if fix:
        changes = refresh(db.session, audit.SYSTEM, calendar, load_profile)
        db.session.commit()
        for entry, _case, field, old, new, _provisional in changes[:SHOWN]:
            click.echo(f"fixed entry {entry.public_id}: {field} {old} -> {new}")
        click.echo(f"fixed {len(changes)} published date(s) and flag(s)")
    found, entries = differences(db.session, calendar, load_profile)
    db.session.rollback()
    if found:
        for difference in found[:SHOWN]:
            click.echo(difference.line())
        if len(found) > SHOWN:
            click.echo(f"… and {len(found) - SHOWN} more")
        click.echo(f"publication DIFFERS from the rules: {len(found)} date(s) in {entries} entries")
        sys.exit(1)
    click.echo(f"publication consistent: {entries} entries, every date as the rules and the "
               f"current calendar compute it")
