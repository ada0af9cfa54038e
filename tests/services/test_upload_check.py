"""Reconciliation of evidence files with their rows (`flask --app wsgi uploads check`), in either
storage (a directory, the database), and the copy from one storage to the other."""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
from pathlib import Path

import pytest
import sqlalchemy as sa

from portal import clock
from portal.models import Attachment, AuditEvent, StoredFile
from portal.rules.profiles import load_profile
from portal.rules.workflow import SubmissionKind
from portal.services import storage, submissions, uploads
from portal.services.calendar import load_calendar
from portal.services.upload_check import reconcile
from tests.factories import EVIDENCE
from tests.storage_support import STORAGES, stored_bytes

MB = 1024 * 1024


@pytest.fixture(params=STORAGES)
def upload_storage(request) -> str:
    return request.param


@pytest.fixture
def store(app):
    from tests.storage_support import store

    return store(app)


def _filed(session, store, files):
    profile = load_profile("jiamusi")
    filing = submissions.Filing(kind=SubmissionKind.COMPLAINT, body="举报内容", reported_name="某公司",
                                anonymous=True)
    staged = uploads.stage_all(store, [(n, io.BytesIO(d)) for n, d in files], MB, 5)
    receipt = submissions.file(session, profile, load_calendar(session), filing, dt.date(2026, 5, 6), staged)
    session.commit()
    return receipt.submission


# what an operator, a disk fault or a crash does to the stored files, in either storage

def _put(store, name: str, data: bytes) -> None:
    writing = store.begin(name)
    writing.file.write(data)
    writing.publish(len(data), hashlib.sha256(data).hexdigest())


def _rename(session, store, name: str, new_name: str, age_minutes: int) -> None:
    assert store.take(name, new_name)
    _age(session, store, new_name, age_minutes)


def _alter(session, store, name: str, data: bytes) -> None:
    if isinstance(store, storage.DirectoryStorage):
        store.path(name).write_bytes(data)
    else:                                   # the checksum column is left as it was
        session.execute(sa.update(StoredFile).where(StoredFile.name == name).values(data=data))


def _age(session, store, name: str, minutes: int) -> None:
    old = clock.timestamp() - minutes * 60
    if isinstance(store, storage.DirectoryStorage):
        os.utime(store.path(name), (old, old))
    else:
        session.execute(sa.update(StoredFile).where(StoredFile.name == name)
                        .values(created_at=dt.datetime.fromtimestamp(old, dt.UTC)))


def test_a_clean_storage_is_reported_clean(app, session, store):
    _filed(session, store, [("a.pdf", EVIDENCE["pdf"])])
    assert reconcile(session, store).ok


def test_rows_and_files_that_do_not_match_are_found_and_mended(app, session, store):
    sub = _filed(session, store, [("a.pdf", EVIDENCE["pdf"]), ("b.png", EVIDENCE["png"]),
                                  ("c.jpg", EVIDENCE["jpeg"])])
    a, b, c = sorted(sub.attachments, key=lambda r: r.original_name)
    # a: renamed away (its content survives under another name) -> recovered by checksum
    moved = "f" * 32
    _rename(session, store, a.stored_name, moved, 30)
    # b: deleted -> lost, recorded once
    store.delete(b.stored_name)
    # c: altered -> reported
    _alter(session, store, c.stored_name, EVIDENCE["jpeg"] + b"x")
    # an old file of a crashed filing (and in a directory an old partial upload) -> deleted;
    # a fresh one kept
    stray, fresh = "2" * 32, "3" * 32
    expected_deleted = {moved, stray}
    for name in (stray, fresh):
        _put(store, name, b"%PDF-1.4 partial")
    _age(session, store, stray, 30)
    if isinstance(store, storage.DirectoryStorage):
        partial = store.path("1" * 32 + ".part")
        partial.write_bytes(b"%PDF-1.4 partial")
        _age(session, store, partial.name, 30)
        expected_deleted.add(partial.name)
    session.commit()

    found = reconcile(session, store)
    assert not found.ok
    assert set(found.files_without_row) == expected_deleted | {fresh}
    assert found.rows_without_file and found.corrupted == [(sub.receipt_no, c.id)]

    mended = reconcile(session, store, repair=True)
    session.commit()
    assert mended.recovered == [(sub.receipt_no, a.id)]
    assert stored_bytes(app, a.stored_name) == EVIDENCE["pdf"]
    assert set(mended.deleted) == expected_deleted and store.exists(fresh)
    assert mended.rows_without_file == [(sub.receipt_no, b.id)]
    lost = session.execute(sa.select(AuditEvent).where(AuditEvent.action == "attachment.lost")).scalars().all()
    assert [(e.entity_id, e.data) for e in lost] == [(sub.receipt_no, {"attachment": b.id})]
    # a second run records the loss no second time
    reconcile(session, store, repair=True)
    session.commit()
    assert session.scalar(sa.select(sa.func.count(AuditEvent.id))
                          .where(AuditEvent.action == "attachment.lost")) == 1
    assert session.get(Attachment, b.id) is not None            # the row is kept for the record


def test_the_command_exits_1_and_prints_no_names(app, session, store):
    sub = _filed(session, store, [("身份证复印件.pdf", EVIDENCE["pdf"])])
    store.delete(sub.attachments[0].stored_name)
    session.commit()
    result = app.test_cli_runner().invoke(args=["uploads", "check"])
    assert result.exit_code == 1
    assert f"row without file: {sub.receipt_no}" in result.output
    assert "身份证复印件" not in result.output


def test_the_command_verifies_every_checksum(app, session, store):
    sub = _filed(session, store, [("回单.pdf", EVIDENCE["pdf"]), ("照片.png", EVIDENCE["png"])])
    assert app.test_cli_runner().invoke(args=["uploads", "check"]).exit_code == 0
    changed = sorted(sub.attachments, key=lambda r: r.id)[1]
    _alter(session, store, changed.stored_name, EVIDENCE["png"][:-1] + b"\x00")   # same size
    session.commit()
    result = app.test_cli_runner().invoke(args=["uploads", "check"])
    assert result.exit_code == 1
    assert result.output.splitlines()[0] == f"checksum mismatch: {sub.receipt_no} attachment {changed.id}"
    assert app.test_cli_runner().invoke(args=["uploads", "check", "--no-content"]).exit_code == 0


def test_two_rows_with_the_same_content_are_both_reported_and_both_recovered(app, session, store):
    first = _filed(session, store, [("回单.pdf", EVIDENCE["pdf"])])
    second = _filed(session, store, [("回单.pdf", EVIDENCE["pdf"])])        # the same file twice
    rows = [first.attachments[0], second.attachments[0]]
    kept = "e" * 32
    assert store.take(rows[0].stored_name, kept)
    store.delete(rows[1].stored_name)
    session.commit()
    found = reconcile(session, store)
    assert sorted(found.rows_without_file) == sorted((r.submission.receipt_no, r.id) for r in rows)
    _age(session, store, kept, 30)
    mended = reconcile(session, store, repair=True)
    session.commit()
    assert sorted(mended.recovered) == sorted((r.submission.receipt_no, r.id) for r in rows)
    assert all(stored_bytes(app, r.stored_name) == EVIDENCE["pdf"] for r in rows)
    assert reconcile(session, store).ok


def test_a_file_being_uploaded_now_is_never_taken_to_mend_another_row(app, session, store):
    lost = _filed(session, store, [("回单.pdf", EVIDENCE["pdf"])]).attachments[0]
    store.delete(lost.stored_name)
    staged = uploads.stage_all(store, [("回单.pdf", io.BytesIO(EVIDENCE["pdf"]))], MB, 5)  # the filer re-sends it
    reconcile(session, store, repair=True)
    assert store.exists(staged[0].stored_name)          # not moved away before its commit


def test_files_are_copied_to_the_other_storage_against_their_checksums(app, session, store):
    """`uploads copy --to`: a deployment moving its evidence before changing the setting."""
    other_kind = "database" if store.kind == "directory" else "directory"
    other = storage.from_setting(other_kind, Path(app.config["PORTAL_UPLOAD_DIR"]) / "other", session)
    sub = _filed(session, store, [("回单.pdf", EVIDENCE["pdf"]), ("照片.png", EVIDENCE["png"])])
    damaged, missing = sorted(_filed(session, store, [("a.pdf", EVIDENCE["pdf"]),
                                                      ("b.jpg", EVIDENCE["jpeg"])]).attachments,
                              key=lambda r: r.id)
    _alter(session, store, damaged.stored_name, b"%PDF-1.4 changed")
    store.delete(missing.stored_name)
    session.commit()
    runner = app.test_cli_runner()
    app.config["PORTAL_UPLOAD_DIR"] = str(other.root if other_kind == "directory" else store.root)
    result = runner.invoke(args=["uploads", "copy", "--to", other_kind])
    assert result.exit_code == 1, result.output
    assert f"checksum mismatch: {damaged.submission.receipt_no} attachment {damaged.id}" in result.output
    assert f"not found: {missing.submission.receipt_no} attachment {missing.id}" in result.output
    assert result.output.splitlines()[-1] == "copied=2 missing=1 mismatch=1"
    for row in sub.attachments:
        fh = other.open(row.stored_name)
        assert fh is not None and hashlib.sha256(fh.read()).hexdigest() == row.sha256
        fh.close()
    assert not other.exists(damaged.stored_name) and not other.exists(missing.stored_name)
    again = runner.invoke(args=["uploads", "copy", "--to", other_kind])      # nothing twice
    assert again.output.splitlines()[-1] == "copied=0 missing=1 mismatch=1"
