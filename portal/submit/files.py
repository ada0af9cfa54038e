"""Uploads from a request, and the commit that keeps files and rows together.

Downloads are :func:`portal.attachments.send_attachment`, shared with the back office.
"""
from __future__ import annotations

from contextlib import contextmanager

from flask import current_app, request
from flask_babel import gettext as _

from portal.attachments import upload_dir
from portal.extensions import db
from portal.services import uploads


def limits() -> tuple[int, int]:
    """(bytes per file, files per form) from the configuration."""
    config = current_app.config
    return int(config["PORTAL_MAX_UPLOAD_MB"]) * 1024 * 1024, int(config["PORTAL_MAX_FILES"])


def selected(*names: str) -> list:
    """The non-empty file parts of the given inputs (an empty input sends a nameless part)."""
    found = []
    for name in names:
        found += [f for f in request.files.getlist(name) if f and (f.filename or "").strip()]
    return found


def stage(files: list) -> list[uploads.StagedFile]:
    """Stage the request's files; raises :class:`uploads.UploadError` (nothing left behind)."""
    max_bytes, max_files = limits()
    return uploads.stage_all(upload_dir(), [(f.filename, f.stream) for f in files], max_bytes, max_files)


def error_message(error: uploads.UploadError) -> str:
    max_bytes, max_files = limits()
    if error.code == "too_many":
        return _("You can attach at most %(n)s files to one form.", n=max_files)
    if error.code == "too_large":
        return _("The file %(name)s is larger than %(mb)s MB.", name=error.name, mb=max_bytes // (1024 * 1024))
    if error.code == "empty":
        return _("The file %(name)s is empty.", name=error.name)
    return _("The file %(name)s is not a PDF, JPEG, PNG or OFD document. Photos and scans in those formats are accepted.",
             name=error.name)


@contextmanager
def committing(staged: list[uploads.StagedFile]):
    """Commit the request's transaction; on any failure roll back and delete the staged files."""
    try:
        yield
        db.session.commit()
    except BaseException:
        db.session.rollback()
        uploads.discard(staged)
        raise

