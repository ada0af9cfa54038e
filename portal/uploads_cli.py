"""``flask --app wsgi uploads check [--repair]``: evidence files against their rows.

Exit status 1 when a row lacks its file, a file lacks its row or a file's
content no longer matches its checksum (after ``--repair``: what is left).
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
    """Evidence files: reconcile the upload directory with the database."""


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

    result = reconcile(db.session, current_app.config["PORTAL_UPLOAD_DIR"], repair=repair,
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
