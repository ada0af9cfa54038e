"""Uploads from a request, files kept across a round of a form, and the commit that keeps
files and rows together.

A form sent back with errors keeps the evidence files it received: the page lists them, each
with a box ticked to keep it, and the next round of the same form (its token, kind and case)
in the same browser (the signed session names them) takes them again (:func:`held`).  Each
open form (tab) keeps its own; a ticked file that is no longer kept sends the form back
asking for it again.  Files nobody takes are removed by the orphan sweep like any staged file.

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


#: The kept files of this browser's open forms, oldest first: ``[[form key, [stored names]], ...]``
#: (a list: the session's JSON has no key order).
_HOLDS = "submit_holds"
#: Forms of one browser that keep files at a time; a new one lets go of the oldest's files.
MAX_HOLDS = 4


def form_key(token: str, kind: str, case_id: int | None = None) -> str:
    """Which form a hold belongs to: its token (one per rendering, so one per tab), its kind
    and, when it is filed on a case, the case."""
    return f"{kind}:{case_id or ''}:{token}"


def _holds() -> list[list]:
    value = session.get(_HOLDS)
    if not isinstance(value, list):
        return []
    return [h for h in value if isinstance(h, list) and len(h) == 2 and isinstance(h[0], str)
            and isinstance(h[1], list)]


def _names(hold: list) -> list[str]:
    return [n for n in hold[1] if isinstance(n, str)]


def hold(key: str, staged: list[uploads.StagedFile]) -> None:
    """Keep ``staged`` for the next round of the form ``key`` (in this browser).  Several forms
    (tabs) keep their own; past :data:`MAX_HOLDS` the oldest form's files are deleted."""
    holds = [h for h in _holds() if h[0] != key]
    if staged:
        holds.append([key, [f.stored_name for f in staged]])
    while len(holds) > MAX_HOLDS:
        uploads.drop_held(store(), _names(holds.pop(0)))
    _save(holds)
    store().keep_staged()       # the database storage commits this round's files


def _save(holds: list[list]) -> None:
    if holds:
        session[_HOLDS] = holds
    else:
        session.pop(_HOLDS, None)


def held(key: str) -> tuple[list[uploads.StagedFile], list[str]]:
    """The files kept from the previous round of the form ``key`` that the filer still ticks
    (``keep``), taken again; the unticked ones are deleted.  Also the names of ticked files
    that are not there any more (removed by the sweep after a long pause, taken by a
    simultaneous post of the same form, let go of when this browser signed out or opened
    more forms, or never kept for this form): the form must not be filed without them.
    A name is "" when the page did not send it back."""
    holds = _holds()
    mine = next((h for h in holds if h[0] == key), None)
    names = _names(mine) if mine is not None else []
    if mine is not None:
        _save([h for h in holds if h is not mine])
    wanted = list(dict.fromkeys(request.form.getlist("keep")))
    uploads.drop_held(store(), [n for n in names if n not in wanted])
    taken, lost = [], []
    for name in wanted:
        original = request.form.get(f"held_name_{name}", "")
        found = uploads.take_held(store(), name, original) if name in names else None
        if found is None:
            lost.append(uploads.clean_name(original) if original.strip() else "")
        else:
            taken.append(found)
    return taken, lost


def drop_holds() -> None:
    """Let go of every file this browser keeps (signing out)."""
    for item in _holds():
        uploads.drop_held(store(), _names(item))
    session.pop(_HOLDS, None)
    store().keep_staged()


def lost_message(names: list[str]) -> str:
    """Ticked files that are no longer kept: each must be chosen again."""
    named = list(dict.fromkeys(n for n in names if n))[:limits()[1]]
    if not named:
        return _("A file you kept with this form was no longer kept: please choose it again.")
    return _("The file %(name)s was no longer kept: please choose it again.", name="、".join(named))


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

