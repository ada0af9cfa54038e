"""Reconcile evidence files with their rows: nothing lost, nothing left over.

:func:`reconcile` compares the storage (:mod:`portal.services.storage`: the
upload directory or the ``stored_files`` table) with the ``attachments`` table
and, with ``repair=True``:

* a file without its row, whose checksum is that of a row without its file,
  is put back under the row's stored name (the evidence is recovered);
* any other file without a row (a crash between staging and the commit, a
  partial ``.part`` upload, a form round nobody came back to) older than
  ``older_than`` is deleted;
* a row whose file is gone and cannot be recovered is reported, kept, and an
  audit event records the loss once (staff ask the filer for the file again);
* a file whose content no longer matches its row's checksum is reported only.

:func:`copy_files` copies every attachment's file from one storage to the other
(a deployment changing ``PORTAL_UPLOAD_STORAGE``), checked against its row's checksum.

Nothing here ever prints an original file name's path or contents.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from portal import clock
from portal.models import Attachment, AuditEvent, Submission
from portal.services import audit
from portal.services.storage import PART, Storage, as_store

_CHUNK = 1 << 16


@dataclass
class Reconciliation:
    rows_without_file: list[tuple[str, int]] = field(default_factory=list)   # (receipt, attachment id)
    files_without_row: list[str] = field(default_factory=list)
    corrupted: list[tuple[str, int]] = field(default_factory=list)
    recovered: list[tuple[str, int]] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    recorded_lost: list[tuple[str, int]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.rows_without_file or self.files_without_row or self.corrupted)


def sha256_of(store: Storage, name: str) -> str | None:
    """The checksum of the stored content, read again (``None`` when it is gone)."""
    fh = store.open(name)
    if fh is None:
        return None
    digest = hashlib.sha256()
    with fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _rows(session: Session) -> list:
    return session.execute(
        sa.select(Attachment.id, Attachment.stored_name, Attachment.sha256, Submission.receipt_no)
        .join(Submission, Submission.id == Attachment.submission_id).order_by(Attachment.id)
    ).all()


def reconcile(session: Session, store: Storage | Path, *, repair: bool = False, verify_content: bool = True,
              older_than: dt.timedelta = dt.timedelta(minutes=15)) -> Reconciliation:
    """Compare (and with ``repair`` mend) files and rows; flushes, the caller commits.

    The rows are read before the storage is listed, so a filing committed meanwhile
    cannot look like a row without its file; only files older than ``older_than`` are
    used to recover evidence or deleted (a file being uploaded right now is left alone).
    """
    store = as_store(store)
    result = Reconciliation()
    rows = _rows(session)
    stored = store.listing()
    known = {row.stored_name for row in rows}
    missing: dict[str, list] = {}          # checksum -> rows without their file (same content: several)
    for row in rows:
        if row.stored_name not in stored:
            missing.setdefault(row.sha256, []).append(row)
        elif verify_content and sha256_of(store, row.stored_name) not in (row.sha256, None):
            result.corrupted.append((row.receipt_no, row.id))
    cutoff = clock.timestamp() - older_than.total_seconds()
    for name, modified in sorted(stored.items()):
        if name in known or name.startswith("."):
            continue
        result.files_without_row.append(name)
        if not (repair and modified < cutoff):
            continue
        if not name.endswith(PART) and missing:
            lost = missing.pop(sha256_of(store, name), None)
            if lost:
                for row in lost:                  # the same content for every row that lost it
                    store.copy(name, row.stored_name)
                    result.recovered.append((row.receipt_no, row.id))
        store.delete(name)
        result.deleted.append(name)
    result.rows_without_file = sorted(
        ((row.receipt_no, row.id) for group in missing.values() for row in group
         if not store.exists(row.stored_name)),
        key=lambda item: item[1])
    if repair:
        for receipt_no, attachment_id in result.rows_without_file:
            if _loss_recorded(session, receipt_no, attachment_id):
                continue
            audit.record(session, audit.SYSTEM, "attachment.lost", "submission", receipt_no,
                         {"attachment": attachment_id})
            result.recorded_lost.append((receipt_no, attachment_id))
        session.flush()
    return result


def _loss_recorded(session: Session, receipt_no: str, attachment_id: int) -> bool:
    events = session.execute(
        sa.select(AuditEvent.data).where(AuditEvent.action == "attachment.lost",
                                         AuditEvent.entity_id == receipt_no)
    ).scalars()
    return any((data or {}).get("attachment") == attachment_id for data in events)


def copy_files(session: Session, source: Storage, target: Storage) -> Iterator[tuple[str, str, int]]:
    """Copy the file of every attachment row that ``target`` lacks from ``source``, checked
    against the row's checksum; yields ``(outcome, receipt, attachment id)`` after each
    (outcome: copied | missing | mismatch), so the caller commits file by file."""
    for row in _rows(session):
        if target.exists(row.stored_name):
            continue
        fh = source.open(row.stored_name)
        if fh is None:
            yield "missing", row.receipt_no, row.id
            continue
        digest, size = hashlib.sha256(), 0
        writing = target.begin(row.stored_name)
        try:
            with fh:
                while chunk := fh.read(_CHUNK):
                    size += len(chunk)
                    digest.update(chunk)
                    writing.file.write(chunk)
            if digest.hexdigest() != row.sha256:
                writing.abort()
                yield "mismatch", row.receipt_no, row.id
                continue
            writing.publish(size, row.sha256)
        except BaseException:
            writing.abort()
            raise
        yield "copied", row.receipt_no, row.id
