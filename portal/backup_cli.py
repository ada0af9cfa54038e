"""``flask --app wsgi backup DIR`` / ``restore DIR`` and ``audit verify`` / ``audit anchor``.

Backup: the database (SQLite online backup API or ``pg_dump`` custom format),
the evidence files and a manifest with checksums, counts and the audit head
(``portal.services.backup``); the head is also appended to the signed anchor
file (``portal.services.anchors``).

Restore: into an empty database and upload directory (``--force`` replaces
what is there), then the audit chain is verified against its anchors and the
search index is rebuilt from the restored projection.  A rewound chain (an
older copy) is reported and the command exits 1.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import click
import sqlalchemy as sa
from flask import Flask, current_app
from flask.cli import with_appcontext

from portal.extensions import db


def init_app(app: Flask) -> None:
    app.cli.add_command(audit_group)
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
    audit_group.add_command(anchor_command)


@click.group("audit")
def audit_group() -> None:
    """The hash-chained audit log."""


@audit_group.command("verify")
@with_appcontext
def audit_verify() -> None:
    from portal.models import AuditEvent
    from portal.services.anchors import verify_all

    problems = verify_all(db.session, current_app.config)   # the chain and its external anchors
    total = db.session.scalar(sa.select(sa.func.count(AuditEvent.id)))
    exit_if_broken(problems, f"in {total} events")
    click.echo(f"audit chain intact: {total} events")


def exit_if_broken(problems: list, where: str) -> None:
    """Print the audit chain's problems (at most 50) and exit 1 when there are any."""
    if problems:
        for problem in problems[:50]:
            click.echo(f"row {problem.seq}: {problem.message}", err=True)
        click.echo(f"audit chain BROKEN: {len(problems)} problem(s) {where}", err=True)
        sys.exit(1)


@click.command("backup")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@with_appcontext
def backup_command(directory: Path) -> None:
    """Back up the database and the evidence files into DIRECTORY (new or empty)."""
    from portal.services import anchors
    from portal.services.backup import BackupError, backup

    started = time.perf_counter()
    db.session.remove()
    try:
        manifest = backup(db.engine, current_app.config["PORTAL_UPLOAD_DIR"], directory)
    except BackupError as exc:
        click.echo(f"backup failed: {exc}", err=True)
        sys.exit(1)
    path, key = anchors.anchor_settings(current_app.config)
    anchors.append(path, key, anchors.Head(**manifest["audit_head"]), "backup")
    head = manifest["audit_head"]
    click.echo(f"backup of the {manifest['backend']} database written to {directory} in "
               f"{time.perf_counter() - started:.1f}s: {len(manifest['files'])} files, "
               f"{sum(manifest['counts'].values())} rows, audit head {head['seq']} {head['hash'][:12]}")


@click.command("restore")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--force", is_flag=True,
              help="Replace a database and upload directory that already hold data.")
@with_appcontext
def restore_command(directory: Path, force: bool) -> None:
    """Restore a backup from DIRECTORY, then verify the audit chain and rebuild the index."""
    from portal.search import get_index
    from portal.services import anchors, indexer
    from portal.services.backup import BackupError, restore

    db.session.remove()
    try:
        manifest = restore(db.engine, current_app.config["PORTAL_UPLOAD_DIR"], directory, force=force)
    except BackupError as exc:
        click.echo(f"restore failed: {exc}", err=True)
        sys.exit(1)
    head = manifest["audit_head"]
    click.echo(f"restored {sum(manifest['counts'].values())} rows and "
               f"{sum(1 for f in manifest['files'] if f.startswith('uploads/'))} evidence files "
               f"(backup of {manifest['created_at']}, audit head {head['seq']} {head['hash'][:12]})")
    count = indexer.rebuild(db.session, get_index())
    db.session.commit()
    click.echo(f"search index rebuilt: {count} documents")
    exit_if_broken(anchors.verify_all(db.session, current_app.config), "after the restore")
    click.echo(f"audit chain intact: {head['seq']} events, every anchor reached")


@click.command("anchor")
@click.option("--daily", is_flag=True, help="Only if today's anchor has not been written yet.")
@with_appcontext
def anchor_command(daily: bool) -> None:
    """Append the audit chain's head, signed, to the anchor file (kept outside the database)."""
    from portal.services import anchors

    path, key = anchors.anchor_settings(current_app.config)
    if daily:
        record = anchors.anchor_today(db.session, current_app.config)
    else:
        record = anchors.anchor(db.session, path, key)
    if record is None:
        click.echo("anchor already up to date")
    else:
        click.echo(f"anchored position {record['seq']} {record['hash'][:12]} in {path}")
