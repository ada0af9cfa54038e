"""Flask commands: init-db, seed-demo, index, worker, expire (audit and backup: portal.backup_cli;
mail: portal.mail_cli)."""
from __future__ import annotations

import logging
import signal
import sys
import time

import click
import sqlalchemy as sa
from flask import Flask, current_app
from flask.cli import with_appcontext

from portal import backup_cli, clock
from portal.certificates_cli import certificates_group
from portal.extensions import db
from portal.grades_cli import grades_group
from portal.import_cli import import_report
from portal.mail_cli import mail_group
from portal.uploads_cli import uploads_group
from portal.verify_cli import verify_group

log = logging.getLogger("portal.worker")


def init_app(app: Flask) -> None:
    for command in (init_db, seed_demo, demo_logins, expire, worker, index_group,
                    import_report, uploads_group, verify_group, mail_group, certificates_group,
                    grades_group):
        app.cli.add_command(command)
    backup_cli.init_app(app)   # backup, restore, audit anchor


@click.command("init-db")
@with_appcontext
def init_db() -> None:
    """Create or upgrade the database schema to the latest migration."""
    from flask_migrate import upgrade

    upgrade()
    click.echo("database schema is up to date")


@click.command("seed-demo")
@click.option("--count", type=int, default=None,
              help="Large synthetic data set of N entries (benchmarks); default: the demo city.")
@click.option("--province", is_flag=True,
              help="All five demo cities on one database under one provincial platform.")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already has cases.")
@click.option("--seed", type=int, default=20260601, show_default=True)
@with_appcontext
def seed_demo(count: int | None, province: bool, if_empty: bool, seed: int) -> None:
    """Build a believable demo city for the active profile (deterministic); ``--province``:
    the five cities side by side, each under its own rules."""
    from portal.demo import bulk
    from portal.demo import seed as demo
    from portal.models import Case

    if if_empty and db.session.scalar(sa.select(sa.func.count(Case.id))):
        click.echo("database already has data; demo seeding skipped")
        return
    started = time.perf_counter()
    if count and province:
        raise click.UsageError("--count and --province cannot be combined")
    if count:
        report = bulk.seed_bulk(db.session, current_app.config, count, seed=seed, echo=click.echo)
    elif province:
        from portal.demo.province import seed_province

        report = seed_province(db.session, current_app.config, seed=seed)
    else:
        report = demo.seed_city(db.session, current_app.config, seed=seed)
    db.session.commit()
    _analyze()
    click.echo(f"seeded in {time.perf_counter() - started:.1f}s: " +
               ", ".join(f"{k}={v}" for k, v in report.items() if not k.startswith("_")))
    for line in report.get("_logins", []):
        click.echo(line)
    if report.get("_parties"):
        click.echo(PARTY_HEADING)
    for line in report.get("_parties", []):
        click.echo(line)


def _analyze() -> None:
    """Refresh the planner's statistics after a bulk load (SQLite sorts whole tables without them)."""
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("ANALYZE"))


PARTY_HEADING = "Demo listed parties (sign in at /submit/party with case number, access code and USCC):"


@click.command("demo-logins")
@with_appcontext
def demo_logins() -> None:
    """Print the demo staff accounts (only those still using the demo password scheme) and the
    demo listed parties (only those whose documented access code still opens their case)."""
    from portal.models import StaffUser

    users = db.session.execute(sa.select(StaffUser).order_by(StaffUser.id)).scalars().all()
    demo = [u for u in users if u.username.rpartition("-")[2] == u.role.value]
    if demo:
        click.echo("Demo staff logins (back office at /admin):")
    for user in demo:
        click.echo(f"  {user.username:10} password demo-{user.username}-2026   ({user.display_name})")
    if any(u.role.needs_second_factor and not u.totp_secret for u in demo):
        click.echo("  Reviewer, approver and admin enrol an authenticator app (TOTP) at first sign-in.")
    from portal.demo.parties import party_logins
    from portal.services.calendar import load_calendar

    parties = party_logins(db.session, load_calendar(db.session), clock.today())
    if parties:
        click.echo(PARTY_HEADING)
    for line in parties:
        click.echo(line)


@click.command("expire")
@click.option("--today", type=click.DateTime(["%Y-%m-%d"]), default=None)
@with_appcontext
def expire(today) -> None:
    """Remove every entry whose term has ended, then stop publishing the removal notices and
    removed entries whose publication period has ended (idempotent)."""
    from portal.worker import end_of_day

    removed, ended = end_of_day(today.date() if today else clock.today())   # one bureau day
    click.echo(f"removed {len(removed)} expired entries")
    click.echo(f"withdrew {len(ended)} removal notices and removed entries after their publication period")


@click.command("worker")
@click.option("--interval", type=float, default=0.25, show_default=True,
              help="Seconds between outbox polls.")
@click.option("--once", is_flag=True, help="Drain once and exit.")
@with_appcontext
def worker(interval: float, once: bool) -> None:
    """The background worker: outbox → search index, expiry of terms, upload sweeps."""
    from portal.search import get_index
    from portal.worker import Worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s worker %(message)s")
    # one line per message: the root handler above, not also Flask's own on the app's logger
    from flask.logging import default_handler

    current_app.logger.removeHandler(default_handler)
    loop = Worker(get_index(), interval=interval)
    signal.signal(signal.SIGTERM, loop.stop)
    signal.signal(signal.SIGINT, loop.stop)
    loop.run(once=once)


@click.group("index")
def index_group() -> None:
    """Search index: rebuild, sync or check against the projection."""


@index_group.command("rebuild")
@with_appcontext
def index_rebuild() -> None:
    from portal.search import get_index
    from portal.services import indexer

    started = time.perf_counter()
    count = indexer.rebuild(db.session, get_index(),
                            current_app.config.get("PORTAL_INDEX_BUILD_PROCESSES"))
    db.session.rollback()
    click.echo(f"indexed {count} documents in {time.perf_counter() - started:.1f}s")


@index_group.command("sync")
@with_appcontext
def index_sync() -> None:
    from portal.search import get_index
    from portal.services import indexer

    total = 0
    while done := indexer.sync(db.session, get_index()):
        db.session.rollback()
        total += done
    click.echo(f"applied {total} outbox rows")


@index_group.command("snapshot")
@click.argument("target", type=click.Path(dir_okay=False, writable=True))
@with_appcontext
def index_snapshot(target: str) -> None:
    """Copy this host's index into TARGET (.tar.gz) for another host's `index restore`."""
    from portal.search import get_index

    try:
        copied = get_index().snapshot(target)
    except FileNotFoundError as error:
        raise click.ClickException(str(error)) from None
    position = copied["position"] or {}
    click.echo(f"copied {copied['documents']} documents at outbox position "
               f"{position.get('low', 'unknown')} to {target}")


@index_group.command("restore")
@click.argument("source", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def index_restore(source: str) -> None:
    """Start this host's index from another host's copy; the worker then applies what
    changed since the copy (or rebuilds, if the copy does not know its position)."""
    from portal.search import get_index
    from portal.services import indexer
    from search_index import SnapshotError

    index = get_index()
    try:
        restored = index.restore(source)
    except SnapshotError as error:
        raise click.ClickException(str(error)) from None
    position = indexer.position_of(index)
    behind = indexer.pending(db.session, position)
    click.echo(f"restored {restored['documents']} documents at outbox position "
               f"{position.low if position else 'unknown'}; {behind} outbox rows to apply")


@index_group.command("replicas")
@with_appcontext
def index_replicas() -> None:
    """Every host's index as its worker last reported it."""
    import sqlalchemy as sa

    from portal.models import IndexReplica

    for row in db.session.scalars(sa.select(IndexReplica).order_by(IndexReplica.name)):
        click.echo(f"{row.name}\tposition {row.position}\tpending {row.pending}\t"
                   f"seen {row.seen_at.isoformat(timespec='seconds')}")


@index_group.command("check")
@with_appcontext
def index_check() -> None:
    from portal.search import get_index
    from portal.services import indexer

    index = get_index()
    result = indexer.check(db.session, index)
    click.echo(f"missing={len(result.missing)} extra={len(result.extra)} stale={len(result.stale)}")
    if index.exists() and not index.current():
        click.echo("the index was written with an earlier analysis: run `index rebuild`")
        sys.exit(1)
    if not result.ok:
        for label, ids in (("missing", result.missing), ("extra", result.extra), ("stale", result.stale)):
            for public_id in ids[:20]:
                click.echo(f"  {label}: {public_id}")
        sys.exit(1)
