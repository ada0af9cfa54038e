"""Static files under content-hashed names, which browsers and proxies keep for a year.

``url_for('static', filename='css/portal.css')`` gives ``/static/css/portal.<hash>.css``:
the first 12 hex digits of the file's SHA-256, read once per process (again when the file
changes, in debug mode). That name is answered with ``Cache-Control: public,
max-age=31536000, immutable``; a new stylesheet has a new name, so nobody keeps an old one.
The plain name (a bookmark, a tool) is still served, kept for :data:`SHORT_MAX_AGE` only,
and so is a hashed name whose hash is no longer the file's (a page rendered before a
deployment): the current file, briefly kept.

The files are small and few: each is read once into memory with its hash, answered with a
weak ETag (the same for every transfer encoding) and compressed like pages
(:mod:`portal.compression`). A reverse proxy may serve them too: README, "Reverse proxy".
"""
from __future__ import annotations

import hashlib
import mimetypes
import re
import threading
from dataclasses import dataclass
from pathlib import Path

from flask import Flask, abort, current_app, request
from werkzeug.security import safe_join

#: Browsers and proxies keep a hashed name for a year and never ask again.
IMMUTABLE = "public, max-age=31536000, immutable"
#: A plain (or outdated) name: an hour.
SHORT_MAX_AGE = 3600
DIGEST_LENGTH = 12
_HASHED = re.compile(r"^(?P<stem>.+)\.(?P<digest>[0-9a-f]{%d})(?P<suffix>\.[A-Za-z0-9]+)$"
                     % DIGEST_LENGTH)
#: Larger files are served from disk as Flask does, without a hashed name.
MAX_KEPT_BYTES = 2 * 1024 * 1024


@dataclass(frozen=True)
class StaticFile:
    data: bytes
    digest: str
    mtime_ns: int
    size: int


class StaticFiles:
    """The files of one static folder with their content hashes (per process)."""

    def __init__(self, folder: str | Path, watch: bool = False) -> None:
        self.folder = Path(folder)
        self.watch = watch                # debug: notice an edited file
        self._files: dict[str, StaticFile | None] = {}
        self._lock = threading.Lock()

    def get(self, filename: str) -> StaticFile | None:
        """The file (bytes and hash), or None: missing, outside the folder, or too large."""
        found = self._files.get(filename, False)
        if found is not False and not (self.watch and found is not None and self._changed(filename, found)):
            return found
        if any(part in ("", ".", "..") for part in filename.split("/")):
            return None                   # an alias of a file (./, //) is never kept apart
        found = self._read(filename)
        if found is not None:             # only files: a name asked for in vain is not kept
            with self._lock:
                self._files[filename] = found
        return found

    def hashed_name(self, filename: str) -> str:
        """``css/portal.css`` -> ``css/portal.<hash>.css`` (the name itself when unknown)."""
        found = self.get(filename)
        if found is None:
            return filename
        path = Path(filename)
        stem, suffix = (filename[: -len(path.suffix)], path.suffix) if path.suffix else (filename, "")
        return f"{stem}.{found.digest}{suffix}"

    def resolve(self, requested: str) -> tuple[str, bool] | None:
        """(the file's own name, whether ``requested`` carries its current hash)."""
        if self.get(requested) is not None:
            return requested, False
        match = _HASHED.match(requested)
        if match is None:
            return None
        name = match["stem"] + match["suffix"]
        found = self.get(name)
        if found is None:
            return None
        return name, found.digest == match["digest"]

    def _path(self, filename: str) -> Path | None:
        joined = safe_join(str(self.folder), filename)
        return Path(joined) if joined else None

    def _read(self, filename: str) -> StaticFile | None:
        path = self._path(filename)
        try:
            if path is None or not path.is_file():
                return None
            stat = path.stat()
            if stat.st_size > MAX_KEPT_BYTES:
                return None
            data = path.read_bytes()
        except OSError:
            return None
        digest = hashlib.sha256(data).hexdigest()[:DIGEST_LENGTH]
        return StaticFile(data, digest, stat.st_mtime_ns, stat.st_size)

    def _changed(self, filename: str, known: StaticFile) -> bool:
        path = self._path(filename)
        try:
            stat = path.stat() if path else None
        except OSError:
            return True
        return stat is None or (stat.st_mtime_ns, stat.st_size) != (known.mtime_ns, known.size)


def serve(filename: str):
    """The ``static`` endpoint: a hashed name for a year, anything else briefly."""
    files: StaticFiles = current_app.extensions["portal.static"]
    resolved = files.resolve(filename)
    if resolved is None:
        # Not kept in memory (large, or absent): Flask's own answer (404 when absent).
        return current_app.send_static_file(filename)
    name, current = resolved
    found = files.get(name)
    if found is None:                      # pragma: no cover - removed between two reads
        abort(404)
    mimetype = mimetypes.guess_type(name)[0] or "application/octet-stream"
    response = current_app.response_class(found.data, mimetype=mimetype)
    response.set_etag(found.digest, weak=True)
    if current:
        response.headers["Cache-Control"] = IMMUTABLE
    else:
        response.headers["Cache-Control"] = f"public, max-age={SHORT_MAX_AGE}"
    return response.make_conditional(request)


def install(app: Flask) -> StaticFiles:
    """Hashed names in every ``url_for('static', …)``, and the endpoint that answers them."""
    files = StaticFiles(app.static_folder, watch=bool(app.debug or app.config.get("DEBUG")))
    app.extensions["portal.static"] = files

    @app.url_defaults
    def hashed_static_names(endpoint, values):
        if endpoint == "static" and "filename" in values:
            values["filename"] = files.hashed_name(values["filename"])

    app.view_functions["static"] = serve
    return files
