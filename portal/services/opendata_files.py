"""Export files: built once per publication version, served as files (with Range).

``PORTAL_EXPORT_DIR`` (outside the web root) holds one file per dataset,
jurisdiction, format and language, named after the publication version it holds:
``entries-zh_CN-v42.csv``, ``removals-en-v42.xlsx``, ``entries-all-v42.json``
(JSON is the same in both languages) for the whole portal, ``entries.chizhou-zh_CN-v42.csv``
for one jurisdiction (``?jurisdiction=chizhou``: it and the bureaus below it).  The worker builds the files of a new
version as soon as it sees it (:func:`build_all`); each file is written to a
temporary name, given the time of its version as its modification time, and
renamed into place, so a reader only ever sees a complete file.  The files of
older versions are deleted once the new one is complete.

A request for a version whose file is not there yet builds it itself, under a
file lock shared by every process: one build at a time, never the same file
twice.  While another process holds that lock, the request is answered with
the newest complete file of an earlier version (its own ETag and
Last-Modified: a consistent file, never a partial one); only when there is no
file at all does it wait for the build.
"""
from __future__ import annotations

import datetime as dt
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from filelock import FileLock, Timeout
from flask import current_app
from flask_babel import force_locale
from sqlalchemy.orm import Session

from portal.services import opendata_csv
from portal.services import opendata_formats as formats

FORMATS = ("csv", "xlsx", "json")
#: How long a request waits for another process's build when there is no earlier file it may
#: be given; then 503 with Retry-After (a thread held for minutes per download would let a few
#: dozen downloads of a workbook under construction take every thread of the site).
WAIT_SECONDS = 30
_NAME = re.compile(r"^(?P<dataset>[a-z]+)(?:\.(?P<scope>[a-z][a-z0-9-]*?))?-(?P<language>[A-Za-z_]+)"
                   r"-v(?P<version>\d+)\.(?P<fmt>[a-z]+)$")


@dataclass(frozen=True)
class ExportFile:
    path: Path
    version: int
    language: str
    scope: str | None = None                # the jurisdiction's code (None: the whole portal)

    @property
    def etag(self) -> str:
        return etag(self.version, self.language, self.scope)


def etag(version: int, language: str, scope: str | None = None) -> str:
    return f"export-{version}-{language}" + (f"-{scope}" if scope else "")


def file_language(fmt: str, language: str) -> str:
    return "all" if fmt == "json" else language


def directory(app=None) -> Path:
    path = Path((app or current_app).config["PORTAL_EXPORT_DIR"])
    path.mkdir(parents=True, exist_ok=True)
    return path


def _stem(dataset: str, scope: formats.Scope | None) -> str:
    return f"{dataset}.{scope.code}" if scope is not None and scope.code else dataset


def whole_portal(directory) -> formats.Scope:
    """The scope of the files of the whole portal (named profile: the one all follow)."""
    profiles = {item.profile for item in directory.active}
    return formats.Scope(None, None, profiles.pop() if len(profiles) == 1 else
                         (None if profiles else current_app.config["PORTAL_PROFILE"]))


def scope_of(directory, code: str) -> formats.Scope:
    """The scope of one jurisdiction's files: it and every jurisdiction below it."""
    codes = frozenset(directory.below([code]))
    profiles = {directory.get(c).profile for c in codes}
    return formats.Scope(code, codes, profiles.pop() if len(profiles) == 1 else None)


def scopes(session: Session) -> list[formats.Scope]:
    """The file scopes the worker builds: the whole portal, and each active jurisdiction
    when there are several."""
    from portal.services.jurisdictions import directory as read_directory

    found = read_directory(session)
    if found.single:
        return [whole_portal(found)]
    return [whole_portal(found), *(scope_of(found, item.code) for item in found.active)]


def variants() -> Iterator[tuple[str, str, str]]:
    """Every (dataset, format, language) the portal offers; workbooks last (they take the
    longest to build: the CSV and JSON of a new version come first)."""
    for fmt in ("csv", "json", "xlsx"):
        for dataset in formats.DATASETS:
            for language in (("zh_CN",) if fmt == "json" else current_app.config["LANGUAGES"]):
                yield dataset, fmt, language


def _files(folder: Path, dataset: str, fmt: str, language: str,
           scope: formats.Scope | None = None) -> list[ExportFile]:
    found = []
    code = scope.code if scope is not None else None
    for path in folder.glob(f"{_stem(dataset, scope)}-{language}-v*.{fmt}"):
        match = _NAME.match(path.name)
        if match and match["dataset"] == dataset and match["fmt"] == fmt and match["scope"] == code:
            found.append(ExportFile(path, int(match["version"]), language, code))
    return sorted(found, key=lambda f: f.version)


def newest(folder: Path, dataset: str, fmt: str, language: str,
           scope: formats.Scope | None = None) -> ExportFile | None:
    found = _files(folder, dataset, fmt, file_language(fmt, language), scope)
    return found[-1] if found else None


def _lock(folder: Path, stem: str, fmt: str, language: str) -> FileLock:
    return FileLock(folder / f".{stem}-{file_language(fmt, language)}.{fmt}.lock")


def build(session: Session, folder: Path, dataset: str, fmt: str, language: str, version: int,
          changed_at: dt.datetime | None, *, lock_timeout: float = -1,
          scope: formats.Scope | None = None) -> ExportFile:
    """The file of ``version`` (built now unless it exists); raises ``Timeout`` when another
    process holds the build lock longer than ``lock_timeout`` seconds (-1: wait). ``scope``:
    one jurisdiction's file (None: the whole portal's)."""
    tag = file_language(fmt, language)
    stem = _stem(dataset, scope)
    target = folder / f"{stem}-{tag}-v{version}.{fmt}"
    with _lock(folder, stem, fmt, language).acquire(timeout=lock_timeout):
        # Only a build holding this lock writes this file's temporaries: any found now were
        # left by a build that was cut short (a killed worker), each a full copy of the list.
        for stray in folder.glob(f".{stem}-{tag}-v*.{fmt}.*"):
            stray.unlink(missing_ok=True)
        if not target.exists():
            _write(session, target, dataset, fmt, language, version, changed_at, scope)
        for old in _files(folder, dataset, fmt, tag, scope):
            if old.version < version:
                old.path.unlink(missing_ok=True)
    return ExportFile(target, version, tag, scope.code if scope is not None else None)


def _write(session: Session, target: Path, dataset: str, fmt: str, language: str, version: int,
           changed_at: dt.datetime | None, scope: formats.Scope | None = None) -> None:
    chosen = formats.DATASETS[dataset]
    codes = scope.codes if scope is not None else None
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(handle, "wb") as out, force_locale(language):
            if fmt == "csv" and dataset == "entries":
                opendata_csv.write_entries(out, session, language, codes)
            elif fmt == "csv":
                formats.write_csv(out, session, chosen, language, codes)
            elif fmt == "json":
                formats.write_json(out, session, chosen, language, version, scope)
            else:
                formats.write_xlsx(out, session, chosen, language, codes)
            out.flush()
            os.fsync(out.fileno())
        if changed_at is not None:          # Last-Modified of the file: its version's time
            stamp = (changed_at if changed_at.tzinfo else changed_at.replace(tzinfo=dt.UTC)).timestamp()
            os.utime(temporary, (stamp, stamp))
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def for_request(session: Session, dataset: str, fmt: str, language: str, version: int,
                changed_at: dt.datetime | None, scope: formats.Scope | None = None) -> ExportFile:
    """The file to answer with: the current version's; else built here once (the lock);
    else, while another process builds it, the newest earlier file."""
    folder = directory()
    current = newest(folder, dataset, fmt, language, scope)
    if current is not None and current.version >= version:
        return current
    try:
        return build(session, folder, dataset, fmt, language, version, changed_at, lock_timeout=0,
                     scope=scope)
    except Timeout:
        if current is not None and not withdrawn_since(session, current):
            return current
    # No earlier file, or one that still holds a record withdrawn since (Order 36: it must not
    # be handed out again): wait for the build; Timeout when it takes longer (a 503).
    return build(session, folder, dataset, fmt, language, version, changed_at,
                 lock_timeout=WAIT_SECONDS, scope=scope)


def withdrawn_since(session: Session, found: ExportFile) -> bool:
    """A record was withdrawn from publication after ``found``'s version (its file's time)."""
    from portal.models import PublicationWithdrawal

    try:
        made = dt.datetime.fromtimestamp(found.path.stat().st_mtime, dt.UTC)
    except OSError:
        return True
    return session.execute(sa.select(sa.exists().where(
        PublicationWithdrawal.withdrawn_at >= made - dt.timedelta(seconds=1)))).scalar()


def build_all(session: Session, version: int, changed_at: dt.datetime | None) -> int:
    """Every export file of ``version`` (the worker's job): the whole portal's, and each
    jurisdiction's when there are several; returns how many were built."""
    folder = directory()
    built = 0
    for scope in scopes(session):
        for dataset, fmt, language in variants():
            current = newest(folder, dataset, fmt, language, scope)
            if current is not None and current.version >= version:
                continue
            build(session, folder, dataset, fmt, language, version, changed_at, scope=scope)
            session.rollback()                  # nothing kept between two files
            built += 1
    return built


def missing(version: int, session: Session | None = None) -> bool:
    """Some export file of ``version`` is not built yet."""
    from portal.extensions import db

    folder = directory()
    return any((found := newest(folder, d, f, lang, scope)) is None or found.version < version
               for scope in scopes(session or db.session) for d, f, lang in variants())
