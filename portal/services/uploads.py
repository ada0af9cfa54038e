"""Evidence files: checked by content, stored outside the web root, committed with their rows.

Accepted types (by content, never by name or browser header): PDF, JPEG,
PNG and OFD (GB/T 33190: a ZIP container with ``OFD.xml`` at its root). A
PNG named ``.pdf`` is accepted and recorded as ``image/png``; anything else
(an ``.exe`` named ``.pdf``, a Word file, a plain ZIP) is refused.

Storage and the database row are committed together or not at all:

1. :func:`stage_all` streams every file to ``<random>.part`` in the upload
   directory (size checked while streaming, SHA-256 computed), checks its
   type, fsyncs it and renames it to its final random name.  Any problem
   deletes every file of the batch and raises :class:`UploadError`.
2. The caller adds the rows (:func:`attach`, flushes) and commits.
3. If the commit fails, the caller calls :func:`discard` (no orphan file).
   A crash between 1 and the commit leaves files without rows (never a row
   without its file); :func:`sweep_orphans` removes them later.

The original file name is kept as given (Chinese names survive) as metadata
only; :func:`download_name` gives the name to send back (with the real
extension appended when the name's extension does not match the content).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import os
import secrets
import unicodedata
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import filetype
import sqlalchemy as sa
from sqlalchemy.orm import Session

from portal import clock
from portal.models import Attachment, Submission

#: content type -> canonical extension
ALLOWED = {
    "application/pdf": ".pdf",
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "application/ofd": ".ofd",
}
EXTENSION_ALIASES = {".jpeg": ".jpg", ".jpe": ".jpg"}
#: the ``accept`` hint of file inputs (a hint only: the server checks the content)
ACCEPT = ".pdf,.jpg,.jpeg,.png,.ofd,application/pdf,image/jpeg,image/png,application/ofd"
_CHUNK = 64 * 1024
_PART = ".part"


class UploadError(ValueError):
    """A file was refused. ``code``: empty | too_large | bad_type | too_many; ``name``: which file."""

    def __init__(self, code: str, name: str = "", limit: int | None = None):
        self.code, self.name, self.limit = code, name, limit
        super().__init__(f"{code}: {name}")


@dataclass(frozen=True)
class StagedFile:
    original_name: str
    stored_name: str
    content_type: str
    size: int
    sha256: str
    path: Path


def clean_name(name: str | None) -> str:
    """The name as the user gave it, minus any directory part and control characters."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C").strip()
    return base[:255] or "file"


def detect_type(path: Path) -> str | None:
    """The content type of the file at ``path`` if it is one we accept, else ``None``."""
    with path.open("rb") as fh:
        head = fh.read(8192)
    kind = filetype.guess(head)
    mime = kind.mime if kind else None
    if mime in ("application/pdf", "image/jpeg", "image/png"):
        return mime
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(path) as archive:
                if "OFD.xml" in archive.namelist():
                    return "application/ofd"
        except (zipfile.BadZipFile, OSError, ValueError):
            return None
    return None


def _prepare_dir(upload_dir: Path) -> Path:
    upload_dir = Path(upload_dir)
    upload_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    return upload_dir


def stage(upload_dir: Path, stream: BinaryIO, original_name: str | None, max_bytes: int) -> StagedFile:
    """Write one upload under a random name; raise :class:`UploadError` (leaving nothing) if refused."""
    upload_dir = _prepare_dir(upload_dir)
    name = clean_name(original_name)
    stored = secrets.token_hex(16)
    part = upload_dir / (stored + _PART)
    digest, size = hashlib.sha256(), 0
    try:
        fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(_CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise UploadError("too_large", name, max_bytes)
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if size == 0:
            raise UploadError("empty", name)
        content_type = detect_type(part)
        if content_type is None:
            raise UploadError("bad_type", name)
        final = upload_dir / stored
        os.replace(part, final)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return StagedFile(name, stored, content_type, size, digest.hexdigest(), final)


def stage_all(upload_dir: Path, files: Iterable[tuple[str | None, BinaryIO]], max_bytes: int,
              max_files: int) -> list[StagedFile]:
    """Stage a batch (``(name, stream)`` pairs); all or nothing."""
    files = list(files)
    if len(files) > max_files:
        raise UploadError("too_many", limit=max_files)
    staged: list[StagedFile] = []
    try:
        for name, stream in files:
            staged.append(stage(upload_dir, stream, name, max_bytes))
    except BaseException:
        discard(staged)
        raise
    return staged


def _is_stored_name(name: str) -> bool:
    return len(name) == 32 and all(c in "0123456789abcdef" for c in name)


def take_held(upload_dir: Path, stored_name: str, original_name: str | None) -> StagedFile | None:
    """A file staged in an earlier round of a form (refused for another reason) and kept for
    the next: renamed to a new random name, so only one request can take it (a second, racing
    one finds nothing), and read again (size, type, checksum).  ``None`` when it is gone (the
    orphan sweep removed it) or is not an accepted file."""
    if not _is_stored_name(stored_name):
        return None
    upload_dir = _prepare_dir(upload_dir)
    stored = secrets.token_hex(16)
    final = upload_dir / stored
    try:
        os.rename(upload_dir / stored_name, final)
    except OSError:
        return None
    os.utime(final)          # a new round: the sweep counts the file's age from now
    content_type = detect_type(final)
    size = final.stat().st_size
    if content_type is None or size == 0:
        final.unlink(missing_ok=True)
        return None
    digest = hashlib.sha256()
    with final.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return StagedFile(clean_name(original_name), stored, content_type, size, digest.hexdigest(), final)


def drop_held(upload_dir: Path, stored_names: Iterable[str]) -> None:
    """Delete files kept from an earlier round that the filer no longer wants."""
    for name in stored_names:
        if _is_stored_name(name):
            (Path(upload_dir) / name).unlink(missing_ok=True)


def discard(staged: Iterable[StagedFile]) -> None:
    """Delete staged files (the batch was refused, or its commit failed)."""
    for item in staged:
        item.path.unlink(missing_ok=True)


def attach(session: Session, submission: Submission, staged: Iterable[StagedFile]) -> list[Attachment]:
    """Add the rows of staged files to ``submission`` (flushes; the caller commits)."""
    rows = [Attachment(original_name=s.original_name, stored_name=s.stored_name,
                       content_type=s.content_type, size=s.size, sha256=s.sha256) for s in staged]
    submission.attachments.extend(rows)
    session.flush()
    return rows


def path_of(upload_dir: Path, attachment: Attachment) -> Path:
    """Where the file of ``attachment`` lives (its stored name is random hex: no traversal)."""
    if not all(c in "0123456789abcdef" for c in attachment.stored_name):
        raise ValueError("unexpected stored name")
    return Path(upload_dir) / attachment.stored_name


def download_name(attachment: Attachment) -> str:
    """The original name, with the real extension appended when the name's does not match."""
    name = attachment.original_name
    real = ALLOWED.get(attachment.content_type, "")
    ext = os.path.splitext(name)[1].lower()
    if real and EXTENSION_ALIASES.get(ext, ext) != real:
        name += real
    return name


def sweep_orphans(session: Session, upload_dir: Path, older_than: dt.timedelta = dt.timedelta(hours=1),
                  now: float | None = None) -> list[str]:
    """Delete files that no row refers to (crash before commit) once they are ``older_than``."""
    upload_dir = Path(upload_dir)
    if not upload_dir.is_dir():
        return []
    cutoff = (now if now is not None else clock.timestamp()) - older_than.total_seconds()
    candidates = {p.name: p for p in upload_dir.iterdir() if p.is_file() and p.stat().st_mtime < cutoff}
    if not candidates:
        return []
    known = set(session.execute(
        sa.select(Attachment.stored_name).where(
            Attachment.stored_name.in_([n.removesuffix(_PART) for n in candidates]))
    ).scalars())
    removed = []
    for name, path in sorted(candidates.items()):
        if name.endswith(_PART) or name not in known:
            path.unlink(missing_ok=True)
            removed.append(name)
    return removed
