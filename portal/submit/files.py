"""Uploads from a request, files kept across a round of a form, and the commit that keeps
files and rows together.

A form sent back with errors keeps the evidence files it received: the page lists them, each
with a box ticked to keep it, and the next round of the same form (its token) in the same
browser (the signed session names them) takes them again (:func:`held`).  Files nobody takes
are removed by the orphan sweep like any staged file.

Downloads are :func:`portal.attachments.send_attachment`, shared with the back office.
"""
from __future__ import annotations

from contextlib import contextmanager

from flask import current_app, request, session
from flask_babel import gettext as _

from portal.attachments import store
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


def stage(files: list, kept: int = 0) -> list[uploads.StagedFile]:
    """Stage the request's files (``kept``: files already kept count towards the limit);
    raises :class:`uploads.UploadError` (nothing left behind)."""
    max_bytes, max_files = limits()
    if files and len(files) + kept > max_files:
        raise uploads.UploadError("too_many", limit=max_files)
    return uploads.stage_all(store(), [(f.filename, f.stream) for f in files], max_bytes, max_files)


def stage_each(files: list, kept: int = 0) -> tuple[list[uploads.StagedFile], list[str]]:
    """Stage each of the request's files on its own (a filing form keeps what it received):
    the accepted files, and a message for each refused one.  Too many files: none is staged."""
    max_bytes, max_files = limits()
    if files and len(files) + kept > max_files:
        return [], [error_message(uploads.UploadError("too_many", limit=max_files))]
    staged, refused = [], []
    for item in files:
        try:
            staged.append(uploads.stage(store(), item.stream, item.filename, max_bytes))
        except uploads.UploadError as error:
            refused.append(error_message(error))
    return staged, refused


_HELD = "submit_held"


def hold(token: str, staged: list[uploads.StagedFile]) -> None:
    """Keep ``staged`` for the next round of the form with ``token`` (in this browser)."""
    if staged:
        session[_HELD] = {"token": token, "names": [f.stored_name for f in staged]}
    else:
        session.pop(_HELD, None)
    store().keep_staged()       # the database storage commits this round's files


def held(token: str) -> tuple[list[uploads.StagedFile], list[str]]:
    """The files kept from the previous round of this form that the filer still ticks
    (``keep``), taken again; the unticked ones are deleted.  Also the names of ticked files
    that are gone (removed by the sweep after a long pause)."""
    data = session.pop(_HELD, None)
    if not isinstance(data, dict) or data.get("token") != token:
        return [], []
    names = [n for n in data.get("names") or [] if isinstance(n, str)]
    wanted = set(request.form.getlist("keep"))
    uploads.drop_held(store(), [n for n in names if n not in wanted])
    taken, lost = [], []
    for name in names:
        if name not in wanted:
            continue
        original = request.form.get(f"held_name_{name}", "")
        found = uploads.take_held(store(), name, original)
        if found is None:
            lost.append(uploads.clean_name(original))
        else:
            taken.append(found)
    return taken, lost


def lost_message(names: list[str]) -> str:
    return _("The file %(name)s was no longer kept: please choose it again.", name="、".join(names))


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

