"""``flask --app wsgi mail send|status``: the e-mail to filers from the command line.

``send`` delivers what is due now, once (the worker does the same every round), commits
after every message and exits 1 when the mail server could not be reached or is not
configured while messages wait. ``status`` prints the number of messages per status.
Neither prints an address or a message: counts only.
"""
from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import with_appcontext


@click.group("mail")
def mail_group() -> None:
    """E-mail to filers: send what is due, count what waits."""


@mail_group.command("send")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True,
              help="Messages per connection to the mail server.")
@with_appcontext
def mail_send(limit: int) -> None:
    """Send the messages that are due now (each pending one once; failures wait for their
    next attempt), and delete sent messages older than 30 days."""
    from portal import clock
    from portal.extensions import db
    from portal.services import mail_queue

    now = clock.now()
    sent = retrying = failed = 0
    while True:
        result = mail_queue.deliver_due(db.session, current_app.config, now, limit,
                                        after_each=db.session.commit)
        db.session.commit()
        sent, retrying, failed = (sent + result.sent, retrying + result.retrying,
                                  failed + result.failed)
        if result.unreachable or not result.configured or result.tried < limit:
            break
    pruned = mail_queue.prune_sent(db.session, now)
    db.session.commit()
    waiting = mail_queue.counts(db.session)["pending"]
    click.echo(f"sent={sent} retrying={retrying} failed={failed} pruned={pruned} "
               f"pending={waiting}")
    if not result.configured and waiting:
        click.echo("PORTAL_SMTP_HOST is not set: nothing can be sent", err=True)
        sys.exit(1)
    if result.unreachable:
        click.echo("the mail server could not be reached; the messages wait for their next "
                   "attempt", err=True)
        sys.exit(1)


@mail_group.command("status")
@with_appcontext
def mail_status() -> None:
    """The number of messages per status (pending, sent, failed) and how many are due now."""
    from portal import clock
    from portal.extensions import db
    from portal.services import mail_queue

    found = mail_queue.counts(db.session)
    due = mail_queue.due_count(db.session, clock.now())
    click.echo(" ".join(f"{status}={count}" for status, count in found.items()) + f" due={due}")
