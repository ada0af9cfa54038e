"""Reconciliation of evidence files with their rows (`flask --app wsgi uploads check`)."""
from __future__ import annotations

import datetime as dt
import io
import os
from pathlib import Path

import pytest
import sqlalchemy as sa

from portal import clock
from portal.models import Attachment, AuditEvent
from portal.rules.profiles import load_profile
from portal.rules.workflow import SubmissionKind
from portal.services import submissions, uploads
from portal.services.calendar import load_calendar
from portal.services.upload_check import reconcile
from tests.factories import EVIDENCE

MB = 1024 * 1024


@pytest.fixture
def upload_dir(app):
    return Path(app.config["PORTAL_UPLOAD_DIR"])


def _filed(session, upload_dir, files):
    profile = load_profile("jiamusi")
    filing = submissions.Filing(kind=SubmissionKind.COMPLAINT, body="举报内容", reported_name="某公司",
                                anonymous=True)
    staged = uploads.stage_all(upload_dir, [(n, io.BytesIO(d)) for n, d in files], MB, 5)
    receipt = submissions.file(session, profile, load_calendar(session), filing, dt.date(2026, 5, 6), staged)
    session.commit()
    return receipt.submission


def _age(path: Path, minutes: int) -> None:
    old = clock.timestamp() - minutes * 60
    os.utime(path, (old, old))


def test_a_clean_directory_is_reported_clean(app, session, upload_dir):
    _filed(session, upload_dir, [("a.pdf", EVIDENCE["pdf"])])
    assert reconcile(session, upload_dir).ok


def test_rows_and_files_that_do_not_match_are_found_and_mended(app, session, upload_dir):
    sub = _filed(session, upload_dir, [("a.pdf", EVIDENCE["pdf"]), ("b.png", EVIDENCE["png"]),
                                       ("c.jpg", EVIDENCE["jpeg"])])
    a, b, c = sorted(sub.attachments, key=lambda r: r.original_name)
    # a: renamed away (its content survives under another name) -> recovered by checksum
    moved = upload_dir / ("f" * 32)
    os.replace(uploads.path_of(upload_dir, a), moved)
    _age(moved, 30)
    # b: deleted -> lost, recorded once
    uploads.path_of(upload_dir, b).unlink()
    # c: altered -> reported
    uploads.path_of(upload_dir, c).write_bytes(EVIDENCE["jpeg"] + b"x")
    # an old partial upload and an old file of a crashed filing -> deleted; a fresh one kept
    partial, stray, fresh = upload_dir / ("1" * 32 + ".part"), upload_dir / ("2" * 32), upload_dir / ("3" * 32)
    for path in (partial, stray, fresh):
        path.write_bytes(b"%PDF-1.4 partial")
    _age(partial, 30), _age(stray, 30)

    found = reconcile(session, upload_dir)
    assert not found.ok
    assert {n for n in found.files_without_row} == {moved.name, partial.name, stray.name, fresh.name}
    assert found.rows_without_file and found.corrupted == [(sub.receipt_no, c.id)]

    mended = reconcile(session, upload_dir, repair=True)
    session.commit()
    assert mended.recovered == [(sub.receipt_no, a.id)]
    assert uploads.path_of(upload_dir, a).read_bytes() == EVIDENCE["pdf"]
    assert set(mended.deleted) == {moved.name, partial.name, stray.name} and fresh.exists()
    assert mended.rows_without_file == [(sub.receipt_no, b.id)]
    lost = session.execute(sa.select(AuditEvent).where(AuditEvent.action == "attachment.lost")).scalars().all()
    assert [(e.entity_id, e.data) for e in lost] == [(sub.receipt_no, {"attachment": b.id})]
    # a second run records the loss no second time
    reconcile(session, upload_dir, repair=True)
    session.commit()
    assert session.scalar(sa.select(sa.func.count(AuditEvent.id))
                          .where(AuditEvent.action == "attachment.lost")) == 1
    assert session.get(Attachment, b.id) is not None            # the row is kept for the record


def test_the_command_exits_1_and_prints_no_names(app, session, upload_dir):
    sub = _filed(session, upload_dir, [("身份证复印件.pdf", EVIDENCE["pdf"])])
    uploads.path_of(upload_dir, sub.attachments[0]).unlink()
    result = app.test_cli_runner().invoke(args=["uploads", "check"])
    assert result.exit_code == 1
    assert f"row without file: {sub.receipt_no}" in result.output
    assert "身份证复印件" not in result.output


def test_two_rows_with_the_same_content_are_both_reported_and_both_recovered(app, session, upload_dir):
    first = _filed(session, upload_dir, [("回单.pdf", EVIDENCE["pdf"])])
    second = _filed(session, upload_dir, [("回单.pdf", EVIDENCE["pdf"])])        # the same file twice
    rows = [first.attachments[0], second.attachments[0]]
    kept = upload_dir / ("e" * 32)
    os.replace(uploads.path_of(upload_dir, rows[0]), kept)
    uploads.path_of(upload_dir, rows[1]).unlink()
    found = reconcile(session, upload_dir)
    assert sorted(found.rows_without_file) == sorted((r.submission.receipt_no, r.id) for r in rows)
    _age(kept, 30)
    mended = reconcile(session, upload_dir, repair=True)
    session.commit()
    assert sorted(mended.recovered) == sorted((r.submission.receipt_no, r.id) for r in rows)
    assert all(uploads.path_of(upload_dir, r).read_bytes() == EVIDENCE["pdf"] for r in rows)
    assert reconcile(session, upload_dir).ok


def test_a_file_being_uploaded_now_is_never_taken_to_mend_another_row(app, session, upload_dir):
    lost = _filed(session, upload_dir, [("回单.pdf", EVIDENCE["pdf"])]).attachments[0]
    uploads.path_of(upload_dir, lost).unlink()
    staged = uploads.stage_all(upload_dir, [("回单.pdf", io.BytesIO(EVIDENCE["pdf"]))], MB, 5)  # the filer re-sends it
    reconcile(session, upload_dir, repair=True)
    session.commit()
    assert staged[0].path.exists()                     # not moved away before its commit
