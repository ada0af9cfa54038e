"""HTTP caching of public pages, a per-process cache of rendered pages and of aggregates.

Every change to the public projection bumps ``PublicationState.version``
(``portal.services.publication.bump_version``).  Pages derive their ETag and
Last-Modified from it; the version is the one query of a 304.  Rendered pages
(:data:`pages`, bounded in bytes) and aggregates that only change with the
projection (filter counts, statistics) are kept per process under the same
version, so a new publication makes them unreachable at once.
"""
from __future__ import annotations

import datetime as dt
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from cachetools import LRUCache
from flask import current_app, g, has_request_context, request, session
from werkzeug.http import is_resource_modified

from portal import clock, front
from portal.extensions import db
from portal.services import public_queries as queries


def as_utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    value = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).replace(microsecond=0)


_TOKEN = front.TOKEN
_ACTIVE = front.ACTIVE_JURISDICTIONS
#: environ key of the request's jurisdiction scope (``portal.public_scope.scope``).
SCOPE = "portal.public_scope"


def publication_token() -> tuple[int, dt.datetime | None]:
    """(version, changed_at) of the projection, read once per request.

    Kept in the WSGI environ rather than on ``g``: an application context (and
    its ``g``) may outlive one request, e.g. under the test client.
    """
    if not has_request_context():
        return queries.publication_version(db.session)
    token = request.environ.get(_TOKEN)
    if token is None:
        # Core, not an ORM query: a 304 is this statement and little else (~5x cheaper).
        row = db.session.connection().execute(VERSION_QUERY).first()
        token = request.environ[_TOKEN] = (row[0], row[1]) if row else (0, None)
        request.environ[_ACTIVE] = row[2] if row else None
    return token


def active_jurisdictions() -> int:
    """How many jurisdictions are active (read with the publication version, in the same
    statement: a single-city portal knows it is one without a query of its own)."""
    if not has_request_context():
        return _count_active()
    publication_token()
    found = request.environ.get(_ACTIVE)
    if found is None:                      # a token given without the count (a test's stand-in)
        found = request.environ[_ACTIVE] = _count_active()
    return int(found)


def _count_active() -> int:
    return db.session.connection().execute(ACTIVE_QUERY).scalar() or 0


ACTIVE_QUERY, VERSION_QUERY = queries.ACTIVE_QUERY, queries.VERSION_QUERY


def conditional(render: Callable[[], object], day: dt.date | None = None, cache: bool = True):
    """ETag / Last-Modified from the publication version; 304 before rendering when current.

    ``day``: for pages whose content also depends on the date (validity of
    red-list entries, the statistics window): the ETag changes with the day
    and Last-Modified is never before the start of that day (Beijing time).

    ``cache``: a 200 page that does not depend on the visitor (see :func:`_shareable`) is
    kept until the next publication: whole, by the front cache (:mod:`portal.front`),
    when it was asked for without a cookie; otherwise in :data:`pages` under (database,
    version, language, day, URL), served from there without rendering.
    """
    version, changed_at = publication_token()
    language = session.get("lang", "zh_CN")
    if session.get("display") == "large":       # the large-text display is another page
        language += "-large"
    scope = getattr(request.environ.get(SCOPE), "code", None)
    etag = (f"pub-{version}-{language}" + (f"-{day.isoformat()}" if day else "")
            + (f"-{scope}" if scope else ""))
    last_modified = as_utc(changed_at)
    if day is not None:
        midnight = as_utc(clock.day_start(day))
        last_modified = max(last_modified, midnight) if last_modified else midnight
    if not is_resource_modified(request.environ, etag=etag, last_modified=last_modified):
        response = current_app.response_class(status=304)
    else:
        key = None
        if cache and changed_at is not None and request.method == "GET":
            key = (_database(), version, changed_at, language, day, request.full_path)
        kept = pages.get(key) if key else None
        if kept is not None:
            response = current_app.response_class(kept.body, status=kept.status, headers=kept.headers)
        else:
            response = current_app.make_response(render())
            if key and _shareable(response):
                if front.active(request.environ):     # kept whole, as it goes out, in front
                    front.share(request.environ, (version, changed_at))
                else:
                    pages.put(key, CachedPage.of(response))
    response.set_etag(etag, weak=True)
    if last_modified is not None:
        response.last_modified = last_modified
    response.headers["Cache-Control"] = "public, max-age=60"
    response.vary.add("Cookie")
    return response


def _database() -> str:
    """The database a page was read from (tests and tools may run several apps in a process)."""
    engine = db.engine
    name = _ENGINE_NAMES.get(engine)
    if name is None:
        name = _ENGINE_NAMES[engine] = str(engine.url)
    return name


_ENGINE_NAMES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _shareable(response) -> bool:
    """A page that is the same for every visitor of this language: a plain 200 with its whole
    body in memory, no cookie, and nothing of the visitor's session in it — no CSRF token
    issued, no flash message taken, no session change."""
    if response.status_code != 200 or response.is_streamed or response.direct_passthrough:
        return False
    if "Set-Cookie" in response.headers or getattr(session, "modified", False):
        return False
    return current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token") not in g


@dataclass(frozen=True)
class CachedPage:
    status: int
    headers: list
    body: bytes

    #: headers that conditional() or the after-request hooks set again on every answer
    SKIP = frozenset({"etag", "last-modified", "cache-control", "vary", "set-cookie", "content-length"})

    @classmethod
    def of(cls, response) -> CachedPage:
        headers = [(k, v) for k, v in response.headers.items() if k.lower() not in cls.SKIP]
        return cls(response.status_code, headers, response.get_data())

    @property
    def size(self) -> int:
        return len(self.body) + 64 * (len(self.headers) + 4)


class PageCache:
    """Rendered pages, least recently used out first, bounded by their size in bytes."""

    def __init__(self, max_bytes: int = 32 * 1024 * 1024) -> None:
        self._pages = LRUCache(maxsize=max_bytes, getsizeof=lambda page: page.size)
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> CachedPage | None:
        with self._lock:
            return self._pages.get(key)

    def put(self, key: Hashable, page: CachedPage) -> None:
        if page.size > self._pages.maxsize:
            return
        with self._lock:
            self._pages[key] = page

    @property
    def bytes(self) -> int:
        return self._pages.currsize

    def __len__(self) -> int:
        return len(self._pages)

    def clear(self) -> None:
        with self._lock:
            self._pages.clear()


pages = PageCache()


class VersionCache:
    """Values computed from the projection, valid while its version does not change.

    Keyed by the database URL, the publication (version, changed_at) and the
    caller's own key; only the most recent ``size`` values are kept. A value is
    computed by one thread at a time: the others asking for it meanwhile wait for
    that result instead of running the same query (after a publication, every
    request of a busy list would otherwise run the list's GROUP BY at once).
    """

    def __init__(self, size: int = 32) -> None:
        self.size = size
        self._values: OrderedDict[Hashable, object] = OrderedDict()
        self._lock = threading.Lock()
        self._computing: dict[Hashable, threading.Lock] = {}

    def _kept(self, full_key: Hashable) -> tuple[bool, object]:
        with self._lock:
            if full_key in self._values:
                self._values.move_to_end(full_key)
                return True, self._values[full_key]
            return False, None

    def get(self, key: Hashable, compute: Callable[[], object]):
        version, changed_at = publication_token()
        if changed_at is None:  # nothing published through the services yet: no stable key
            return compute()
        full_key = (str(db.engine.url), version, changed_at, key)
        found, value = self._kept(full_key)
        if found:
            return value
        with self._lock:
            turn = self._computing.setdefault(full_key, threading.Lock())
        with turn:
            found, value = self._kept(full_key)       # computed while this thread waited
            if found:
                return value
            try:
                value = compute()
                with self._lock:
                    self._values[full_key] = value
                    while len(self._values) > self.size:
                        self._values.popitem(last=False)
            finally:                    # kept before the turn goes: no second computation
                with self._lock:
                    self._computing.pop(full_key, None)
        return value

    def clear(self) -> None:
        with self._lock:
            self._values.clear()


aggregates = VersionCache()
