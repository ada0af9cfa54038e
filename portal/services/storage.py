"""Where evidence files are kept: a directory, or a table of the database.

``PORTAL_UPLOAD_STORAGE`` chooses the backend (:func:`from_setting`):

* ``directory`` (the default) — :class:`DirectoryStorage`: one file per upload,
  ``<PORTAL_UPLOAD_DIR>/<32 hex>``, mode 0600, on local disk or on a mount every host
  shares (NFS). A write goes to ``<name>.part`` (created exclusively), is fsynced and
  renamed to its name (atomic). The directory is not part of any transaction: when the
  commit of the rows fails the caller deletes the files (:func:`uploads.discard`), and
  files left by a crash are removed by the orphan sweep.
* ``database`` — :class:`DatabaseStorage`: one row of ``stored_files`` per upload,
  inserted through the request's session, so it is committed with the attachment rows
  or rolled back with them (nothing to delete after a failed commit). It is a plain
  table: it works on SQLite (development, tests) as on PostgreSQL, and the database's
  backups hold the evidence.

Both backends keep the same random names, sizes and SHA-256 checksums; what a file
must be (type by content, size while streaming, the checksum) is checked once, in
:mod:`portal.services.uploads`, whatever the backend.

Files kept across a round of a form (sent back with errors, :mod:`portal.submit.files`)
must outlive their request without rows: the database backend commits them then
(:meth:`Storage.keep_staged`; the directory has nothing to do). The ones nobody takes
again are removed by the orphan sweep, in either storage (the sweep of the table commits
on its own: it belongs to no request).
"""
from __future__ import annotations

import datetime as dt
import io
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

import sqlalchemy as sa
from sqlalchemy.orm import Session

from portal import clock
from portal.models import Attachment, StoredFile

KINDS = ("directory", "database")
#: suffix of a directory write in progress (never a stored name)
PART = ".part"
#: bytes read from the database per statement (downloads, checksums)
SLICE = 1024 * 1024
_SPOOL = 1024 * 1024


class Writing(Protocol):
    """A write in progress: fill ``file`` (readable and seekable), then publish or abort."""

    file: BinaryIO

    def publish(self, size: int, sha256: str) -> None:
        """Store the content under its name, atomically (the name appears whole or not at all)."""

    def abort(self) -> None:
        """Forget the content (nothing is left behind)."""


@dataclass(frozen=True)
class Download:
    """What a download sends: a path (sent from disk) or a stream, its size and its date."""

    file: Path | BinaryIO
    size: int
    modified: float


class Storage(Protocol):
    """What :mod:`portal.services.uploads` and the downloads need of a backend."""

    kind: str

    def begin(self, name: str) -> Writing:
        """Start writing the content of ``name`` (a new name)."""

    def open(self, name: str) -> BinaryIO | None:
        """The content as a readable, seekable stream, or ``None`` when there is none."""

    def download(self, name: str) -> Download | None:
        """The content for a response, readable after the request's session has ended."""

    def exists(self, name: str) -> bool: ...

    def delete(self, name: str) -> None:
        """Remove ``name`` if it is there."""

    def take(self, name: str, new_name: str) -> bool:
        """Rename ``name`` to ``new_name`` (its age counted from now); False when it was gone
        (so of two requests racing for one file only one gets it)."""

    def copy(self, name: str, new_name: str) -> None: ...

    def listing(self) -> dict[str, float]:
        """Every stored name, with when it got that name (seconds since the epoch)."""

    def keep_staged(self) -> None:
        """Let what this request stored outlive it without rows (a form round sent back)."""

    def sweep(self, session: Session, cutoff: float) -> list[str]:
        """Remove what no attachment row refers to and got its name before ``cutoff``."""


def check_kind(kind: str | None) -> str:
    """The setting's value, or :class:`ValueError` naming the choices."""
    value = (kind or "directory").strip().lower()
    if value not in KINDS:
        raise ValueError(f"PORTAL_UPLOAD_STORAGE must be one of {', '.join(KINDS)}, not {kind!r}")
    return value


def from_setting(kind: str | None, upload_dir: Path | str, session: Session) -> Storage:
    """The backend ``PORTAL_UPLOAD_STORAGE`` names (``session``: the request's or command's)."""
    if check_kind(kind) == "database":
        return DatabaseStorage(session)
    return DirectoryStorage(upload_dir)


def as_store(where: Storage | Path | str) -> Storage:
    """A backend; a path means the directory backend there."""
    return DirectoryStorage(where) if isinstance(where, str | os.PathLike) else where


def _timestamp(moment: dt.datetime) -> float:
    """SQLite gives timestamps back without their zone: they were written in UTC."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).timestamp()


# --------------------------------------------------------------------------- directory


class _FileWriting:
    def __init__(self, root: Path, name: str):
        root.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.part, self.final = root / (name + PART), root / name
        fd = os.open(self.part, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        self.file = os.fdopen(fd, "w+b")

    def publish(self, size: int, sha256: str) -> None:
        self.file.flush()
        os.fsync(self.file.fileno())
        self.file.close()
        os.replace(self.part, self.final)

    def abort(self) -> None:
        self.file.close()
        self.part.unlink(missing_ok=True)


class DirectoryStorage:
    """Files in a directory (local disk or a shared mount); names as they always were."""

    kind = "directory"

    def __init__(self, root: Path | str):
        self.root = Path(root)

    def path(self, name: str) -> Path:
        if not name or name in (".", "..") or Path(name).name != name or "\\" in name:
            raise ValueError("unexpected stored name")
        return self.root / name

    def begin(self, name: str) -> Writing:
        return _FileWriting(self.root, self.path(name).name)

    def open(self, name: str) -> BinaryIO | None:
        try:
            return self.path(name).open("rb")
        except (FileNotFoundError, IsADirectoryError):
            return None

    def download(self, name: str) -> Download | None:
        path = self.path(name)
        try:
            stat = path.stat()
        except FileNotFoundError:
            return None
        return Download(path, stat.st_size, stat.st_mtime) if path.is_file() else None

    def exists(self, name: str) -> bool:
        return self.path(name).is_file()

    def delete(self, name: str) -> None:
        self.path(name).unlink(missing_ok=True)

    def take(self, name: str, new_name: str) -> bool:
        target = self.path(new_name)
        try:
            os.rename(self.path(name), target)
        except OSError:
            return False
        os.utime(target)          # a new round: the sweep counts the file's age from now
        return True

    def copy(self, name: str, new_name: str) -> None:
        shutil.copy2(self.path(name), self.path(new_name))

    def listing(self) -> dict[str, float]:
        if not self.root.is_dir():
            return {}
        found = {}
        for path in self.root.iterdir():
            try:
                if path.is_file():
                    found[path.name] = path.stat().st_mtime
            except FileNotFoundError:      # removed meanwhile
                continue
        return found

    def keep_staged(self) -> None:
        """Nothing to do: the files are on disk already."""

    def sweep(self, session: Session, cutoff: float) -> list[str]:
        candidates = sorted(name for name, mtime in self.listing().items() if mtime < cutoff)
        if not candidates:
            return []
        known = set(session.execute(
            sa.select(Attachment.stored_name).where(
                Attachment.stored_name.in_([n.removesuffix(PART) for n in candidates]))
        ).scalars())
        removed = []
        for name in candidates:
            if name.endswith(PART) or name not in known:
                self.delete(name)
                removed.append(name)
        return removed


# --------------------------------------------------------------------------- database

_files = StoredFile.__table__


class _RowReader(io.RawIOBase):
    """A stored file read slice by slice (``fetch(offset, length)``), seekable."""

    def __init__(self, fetch: Callable[[int, int], bytes | None], size: int):
        super().__init__()
        self._fetch, self._size, self._pos = fetch, size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        if base + offset < 0:
            raise ValueError("negative seek position")
        self._pos = base + offset
        return self._pos

    def readinto(self, buffer) -> int:
        wanted = min(len(buffer), self._size - self._pos, SLICE)
        if wanted <= 0:
            return 0
        data = self._fetch(self._pos, wanted)
        if not data:
            raise OSError("the stored file is gone")
        n = len(data)
        buffer[:n] = data
        self._pos += n
        return n


def _slice(name: str, offset: int, length: int) -> sa.Select:
    piece = sa.func.substr(_files.c.data, sa.cast(offset + 1, sa.Integer), sa.cast(length, sa.Integer),
                           type_=sa.LargeBinary)
    return sa.select(piece).where(_files.c.name == name)


class _RowWriting:
    def __init__(self, session: Session, name: str):
        self.session, self.name = session, name
        self.file = tempfile.SpooledTemporaryFile(max_size=_SPOOL)

    def publish(self, size: int, sha256: str) -> None:
        self.file.seek(0)
        data = self.file.read()          # the one copy in memory: a bytea value is sent whole
        self.file.close()
        # parameters of the execution, not of the statement: the compiled statement is cached
        # and would keep the first file's bytes alive
        self.session.execute(sa.insert(_files), {"name": self.name, "data": data, "size": size,
                                                 "sha256": sha256, "created_at": clock.now()})

    def abort(self) -> None:
        self.file.close()


class DatabaseStorage:
    """Rows of ``stored_files`` written through ``session``: in the transaction of the rows
    that refer to them. The bytes are never loaded as a whole but on insert."""

    kind = "database"

    def __init__(self, session: Session):
        self.session = session

    def begin(self, name: str) -> Writing:
        return _RowWriting(self.session, name)

    def _size(self, name: str) -> tuple[int, dt.datetime] | None:
        """The length of the bytes as stored (not the size recorded with them: a check must
        read all there is) and when they got their name."""
        row = self.session.execute(
            sa.select(sa.func.length(_files.c.data).label("size"), _files.c.created_at)
            .where(_files.c.name == name)).first()
        return (row.size, row.created_at) if row is not None else None

    def open(self, name: str) -> BinaryIO | None:
        found = self._size(name)
        if found is None:
            return None
        session = self.session
        reader = _RowReader(lambda offset, n: session.execute(_slice(name, offset, n)).scalar(), found[0])
        return io.BufferedReader(reader, buffer_size=SLICE)

    def download(self, name: str) -> Download | None:
        found = self._size(name)
        if found is None:
            return None
        engine = self.session.get_bind()

        def fetch(offset: int, n: int) -> bytes | None:
            # read while the response is sent, after the request's session has ended:
            # a pooled connection for each slice, none held while the client is slow
            with engine.connect() as conn:
                return conn.execute(_slice(name, offset, n)).scalar()

        reader = io.BufferedReader(_RowReader(fetch, found[0]), buffer_size=SLICE)
        return Download(reader, found[0], _timestamp(found[1]))

    def exists(self, name: str) -> bool:
        return self._size(name) is not None

    def delete(self, name: str) -> None:
        if not self.session.is_active:     # a failed transaction: its rollback removes the row
            return
        self.session.execute(sa.delete(_files).where(_files.c.name == name))

    def take(self, name: str, new_name: str) -> bool:
        done = self.session.execute(sa.update(_files).where(_files.c.name == name)
                                    .values(name=new_name, created_at=clock.now()))
        return done.rowcount == 1

    def copy(self, name: str, new_name: str) -> None:
        self.session.execute(sa.insert(_files).from_select(
            ["name", "data", "size", "sha256", "created_at"],
            sa.select(sa.literal(new_name, sa.String), _files.c.data, _files.c.size, _files.c.sha256,
                      sa.literal(clock.now(), _files.c.created_at.type))
            .where(_files.c.name == name)))

    def listing(self) -> dict[str, float]:
        rows = self.session.execute(sa.select(_files.c.name, _files.c.created_at))
        return {row.name: _timestamp(row.created_at) for row in rows}

    def keep_staged(self) -> None:
        """Commit: the round's files (and the ones it dropped) outlive the request."""
        self.session.commit()

    def sweep(self, session: Session, cutoff: float) -> list[str]:
        """In a transaction of its own, committed here: the sweep is maintenance that belongs
        to no request (and the worker rolls its session back after it)."""
        moment = dt.datetime.fromtimestamp(cutoff, dt.UTC)
        orphan = sa.and_(_files.c.created_at < moment, ~sa.exists().where(
            Attachment.stored_name == _files.c.name))
        with session.get_bind().begin() as conn:
            return sorted(conn.execute(sa.delete(_files).where(orphan).returning(_files.c.name)).scalars())
