"""Evidence files: checked by content, stored outside the web root, committed with their rows.

Accepted types (by content, never by name or browser header): PDF, JPEG,
PNG and OFD (GB/T 33190: a ZIP container with ``OFD.xml`` at its root). A
PNG named ``.pdf`` is accepted and recorded as ``image/png``; anything else
(an ``.exe`` named ``.pdf``, a Word file, a plain ZIP) is refused.

These checks are made here, once, whatever the storage
(:mod:`portal.services.storage`: a directory or the database, by
``PORTAL_UPLOAD_STORAGE``). Storage and the database rows are committed
together or not at all:

1. :func:`stage_all` streams every file into the storage under a new random
   name (size checked while streaming, SHA-256 computed), checks its type and
   publishes it atomically: in a directory, ``<random>.part`` fsynced and
   renamed; in the database, a ``stored_files`` row in the request's
   transaction.  Any problem removes every file of the batch and raises
   :class:`UploadError`.
2. The caller adds the rows (:func:`attach`, flushes) and commits.
3. If the commit fails, the caller calls :func:`discard` (no orphan file; in the
   database the rollback has removed them already).  A crash between 1 and the
   commit leaves files without rows in a directory (never a row without its
   file); :func:`sweep_orphans` removes them later, and files kept across a form
   round that nobody took again, in either storage.

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
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import filetype
from sqlalchemy.orm import Session

from portal import clock
from portal.models import Attachment, Submission
from portal.services.storage import DatabaseStorage, DirectoryStorage, Storage, as_store

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
    store: Storage = field(compare=False, repr=False)

    @property
    def path(self) -> Path | None:
        """Where the file lives when it is in a directory."""
        return self.store.path(self.stored_name) if isinstance(self.store, DirectoryStorage) else None


def clean_name(name: str | None) -> str:
    """The name as the user gave it, minus any directory part and control characters."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C").strip()
    return base[:255] or "file"


def detect_type(source: Path | BinaryIO) -> str | None:
    """The content type of ``source`` (a path, or a readable seekable file) if it is one we
    accept, else ``None``."""
    if isinstance(source, str | os.PathLike):
        with open(source, "rb") as fh:
            return detect_type(fh)
    source.seek(0)
    head = source.read(8192)
    kind = filetype.guess(head)
    mime = kind.mime if kind else None
    if mime in ("application/pdf", "image/jpeg", "image/png"):
        return mime
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(source) as archive:
                if "OFD.xml" in archive.namelist():
                    return "application/ofd"
        except (zipfile.BadZipFile, OSError, ValueError):
            return None
    return None


def stage(store: Storage | Path, stream: BinaryIO, original_name: str | None, max_bytes: int) -> StagedFile:
    """Store one upload under a random name; raise :class:`UploadError` (leaving nothing) if refused."""
    store = as_store(store)
    name = clean_name(original_name)
    stored = secrets.token_hex(16)
    digest, size = hashlib.sha256(), 0
    writing = store.begin(stored)
    try:
        out = writing.file
        while chunk := stream.read(_CHUNK):
            size += len(chunk)
            if size > max_bytes:
                raise UploadError("too_large", name, max_bytes)
            digest.update(chunk)
            out.write(chunk)
        if size == 0:
            raise UploadError("empty", name)
        content_type = detect_type(out)
        if content_type is None:
            raise UploadError("bad_type", name)
        writing.publish(size, digest.hexdigest())
    except BaseException:
        writing.abort()
        raise
    return StagedFile(name, stored, content_type, size, digest.hexdigest(), store)


def stage_all(store: Storage | Path, files: Iterable[tuple[str | None, BinaryIO]], max_bytes: int,
              max_files: int) -> list[StagedFile]:
    """Stage a batch (``(name, stream)`` pairs); all or nothing."""
    files = list(files)
    if len(files) > max_files:
        raise UploadError("too_many", limit=max_files)
    staged: list[StagedFile] = []
    try:
        for name, stream in files:
            staged.append(stage(store, stream, name, max_bytes))
    except BaseException:
        discard(staged)
        raise
    return staged


def _is_stored_name(name: str) -> bool:
    return len(name) == 32 and all(c in "0123456789abcdef" for c in name)


def take_held(store: Storage | Path, stored_name: str, original_name: str | None) -> StagedFile | None:
    """A file staged in an earlier round of a form (refused for another reason) and kept for
    the next: renamed to a new random name, so only one request can take it (a second, racing
    one finds nothing), and read again (size, type, checksum).  ``None`` when it is gone (the
    orphan sweep removed it) or is not an accepted file."""
    if not _is_stored_name(stored_name):
        return None
    store = as_store(store)
    stored = secrets.token_hex(16)
    if not store.take(stored_name, stored):
        return None
    fh = store.open(stored)
    if fh is None:
        return None
    digest, size = hashlib.sha256(), 0
    with fh:
        content_type = detect_type(fh)
        fh.seek(0)
        while chunk := fh.read(_CHUNK):
            size += len(chunk)
            digest.update(chunk)
    if content_type is None or size == 0:
        store.delete(stored)
        return None
    return StagedFile(clean_name(original_name), stored, content_type, size, digest.hexdigest(), store)


def drop_held(store: Storage | Path, stored_names: Iterable[str]) -> None:
    """Delete files kept from an earlier round that the filer no longer wants."""
    store = as_store(store)
    for name in stored_names:
        if _is_stored_name(name):
            store.delete(name)


def discard(staged: Iterable[StagedFile]) -> None:
    """Delete staged files (the batch was refused, or its commit failed)."""
    for item in staged:
        item.store.delete(item.stored_name)


def attach(session: Session, submission: Submission, staged: Iterable[StagedFile]) -> list[Attachment]:
    """Add the rows of staged files to ``submission`` (flushes; the caller commits)."""
    rows = [Attachment(original_name=s.original_name, stored_name=s.stored_name,
                       content_type=s.content_type, size=s.size, sha256=s.sha256) for s in staged]
    submission.attachments.extend(rows)
    session.flush()
    return rows


def path_of(upload_dir: Path, attachment: Attachment) -> Path:
    """Where the file of ``attachment`` lives in a directory (its stored name is random hex:
    no traversal)."""
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
    """Delete files that no row refers to (crash before commit, a form round nobody came back
    to, a partial ``.part`` upload) once they are ``older_than``: in the directory and in the
    database, whichever storage is configured (harmless where there is nothing, and a
    deployment that changed its storage may have files in both)."""
    cutoff = (now if now is not None else clock.timestamp()) - older_than.total_seconds()
    removed = DirectoryStorage(upload_dir).sweep(session, cutoff)
    return removed + DatabaseStorage(session).sweep(session, cutoff)
