"""Reconcile evidence files with their rows: nothing lost, nothing left over.

:func:`reconcile` compares the upload directory with the ``attachments``
table and, with ``repair=True``:

* a file without its row, whose checksum is that of a row without its file,
  is put back under the row's stored name (the evidence is recovered);
* any other file without a row (a crash between staging and the commit, a
  partial ``.part`` upload) older than ``older_than`` is deleted;
* a row whose file is gone and cannot be recovered is reported, kept, and an
  audit event records the loss once (staff ask the filer for the file again);
* a file whose content no longer matches its row's checksum is reported only.

Nothing here ever prints an original file name's path or contents.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from portal import clock
from portal.models import Attachment, AuditEvent, Submission
from portal.services import audit
from portal.services.uploads import _PART, path_of


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


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 16):
            digest.update(chunk)
    return digest.hexdigest()


def reconcile(session: Session, upload_dir: Path, *, repair: bool = False, verify_content: bool = True,
              older_than: dt.timedelta = dt.timedelta(minutes=15)) -> Reconciliation:
    """Compare (and with ``repair`` mend) files and rows; flushes, the caller commits.

    The rows are read before the directory is listed, so a filing committed meanwhile
    cannot look like a row without its file; only files older than ``older_than`` are
    used to recover evidence or deleted (a file being uploaded right now is left alone).
    """
    upload_dir = Path(upload_dir)
    result = Reconciliation()
    rows = session.execute(
        sa.select(Attachment.id, Attachment.stored_name, Attachment.sha256, Submission.receipt_no)
        .join(Submission, Submission.id == Attachment.submission_id).order_by(Attachment.id)
    ).all()
    on_disk = {p.name: p for p in upload_dir.iterdir() if p.is_file()} if upload_dir.is_dir() else {}
    known = {row.stored_name for row in rows}
    missing: dict[str, list] = {}          # checksum -> rows without their file (same content: several)
    for row in rows:
        path = on_disk.get(row.stored_name)
        if path is None:
            missing.setdefault(row.sha256, []).append(row)
        elif verify_content and _sha256(path) != row.sha256:
            result.corrupted.append((row.receipt_no, row.id))
    cutoff = clock.timestamp() - older_than.total_seconds()
    for name, path in sorted(on_disk.items()):
        if name in known or name.startswith("."):
            continue
        result.files_without_row.append(name)
        try:
            old = path.stat().st_mtime < cutoff
        except FileNotFoundError:
            continue
        if not (repair and old):
            continue
        if not name.endswith(_PART) and missing:
            lost = missing.pop(_sha256(path), None)
            if lost:
                for row in lost:                  # the same content for every row that lost it
                    target = path_of(upload_dir, _as_attachment(row))
                    shutil.copy2(path, target)
                    result.recovered.append((row.receipt_no, row.id))
        path.unlink(missing_ok=True)
        result.deleted.append(name)
    result.rows_without_file = sorted(
        ((row.receipt_no, row.id) for group in missing.values() for row in group
         if not path_of(upload_dir, _as_attachment(row)).exists()),
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


def _as_attachment(row) -> Attachment:
    return Attachment(stored_name=row.stored_name)


def _loss_recorded(session: Session, receipt_no: str, attachment_id: int) -> bool:
    events = session.execute(
        sa.select(AuditEvent.data).where(AuditEvent.action == "attachment.lost",
                                         AuditEvent.entity_id == receipt_no)
    ).scalars()
    return any((data or {}).get("attachment") == attachment_id for data in events)
