"""``flask --app wsgi uploads check [--repair]``: evidence files against their rows, in the
storage ``PORTAL_UPLOAD_STORAGE`` names (the upload directory or the database).

Exit status 1 when a row lacks its file, a file lacks its row or a file's
content no longer matches its checksum (after ``--repair``: what is left).

``flask --app wsgi uploads copy --to database|directory``: copy every attachment's file
the other storage lacks into it (before changing ``PORTAL_UPLOAD_STORAGE``); exit status 1
when a file is missing or does not match its checksum.

Only receipt numbers, row ids and random stored names are printed.
"""
from __future__ import annotations

import datetime as dt
import sys

import click
from flask import current_app
from flask.cli import with_appcontext


@click.group("uploads")
def uploads_group() -> None:
    """Evidence files: reconcile the storage with the attachment rows, copy between storages."""


def _store(kind: str | None = None):
    from portal.extensions import db
    from portal.services.storage import from_setting

    config = current_app.config
    return from_setting(kind or config.get("PORTAL_UPLOAD_STORAGE"), config["PORTAL_UPLOAD_DIR"], db.session)


@uploads_group.command("check")
@click.option("--repair", is_flag=True,
              help="Recover files by checksum, delete old files without rows, record lost files.")
@click.option("--older-than", type=int, default=15, show_default=True,
              help="Minutes a file without a row must be old before --repair deletes it.")
@click.option("--no-content", is_flag=True, help="Skip the checksum of every file (faster).")
@with_appcontext
def uploads_check(repair: bool, older_than: int, no_content: bool) -> None:
    from portal.extensions import db
    from portal.services.upload_check import reconcile

    result = reconcile(db.session, _store(), repair=repair,
                       verify_content=not no_content, older_than=dt.timedelta(minutes=older_than))
    db.session.commit()
    for receipt_no, attachment_id in result.recovered:
        click.echo(f"recovered: {receipt_no} attachment {attachment_id}")
    for name in result.deleted:
        click.echo(f"deleted file without row: {name}")
    for receipt_no, attachment_id in result.rows_without_file:
        click.echo(f"row without file: {receipt_no} attachment {attachment_id}"
                   + (" (loss recorded in the audit log)" if (receipt_no, attachment_id)
                      in result.recorded_lost else ""))
    for receipt_no, attachment_id in result.corrupted:
        click.echo(f"checksum mismatch: {receipt_no} attachment {attachment_id}")
    left = [n for n in result.files_without_row if n not in result.deleted]
    for name in left:
        click.echo(f"file without row: {name}")
    click.echo(f"rows without file={len(result.rows_without_file)} files without row={len(left)} "
               f"checksum mismatches={len(result.corrupted)} recovered={len(result.recovered)} "
               f"deleted={len(result.deleted)}")
    if result.rows_without_file or left or result.corrupted:
        sys.exit(1)


@uploads_group.command("copy")
@click.option("--to", "target", type=click.Choice(["database", "directory"]), required=True,
              help="The storage to fill (from the other one).")
@with_appcontext
def uploads_copy(target: str) -> None:
    """Copy every attachment's file the target storage lacks from the other storage."""
    from portal.extensions import db
    from portal.services.upload_check import copy_files

    source = _store("directory" if target == "database" else "database")
    counts = {"copied": 0, "missing": 0, "mismatch": 0}
    for outcome, receipt_no, attachment_id in copy_files(db.session, source, _store(target)):
        db.session.commit()                 # file by file: a long copy keeps what it has done
        counts[outcome] += 1
        if outcome != "copied":
            click.echo(f"{'not found' if outcome == 'missing' else 'checksum mismatch'}: "
                       f"{receipt_no} attachment {attachment_id}")
    click.echo(" ".join(f"{k}={v}" for k, v in counts.items()))
    if counts["missing"] or counts["mismatch"]:
        sys.exit(1)
