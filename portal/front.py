"""The front cache: whole public pages answered before Flask while their publication stands.

When many people read a newly published list at once they ask for the same few
pages, none of them signed in.  A page that :func:`portal.caching.conditional`
found shareable (the same for every visitor of its language: see ``_shareable``)
or that the API marked so (:func:`share`), asked for **without any cookie**, is
kept here exactly as it went out — status, headers, body — under its address
(scheme, host, path and query), with the publication version and the bureau's
day it was rendered under; only the latest is kept.  The next cookie-less
``GET`` or ``HEAD`` of that address is answered from here without entering
Flask: no session, no rate-limit storage, no template, and a ``304`` when the
visitor's ``If-None-Match`` / ``If-Modified-Since`` still holds.

The publication version is the only thing read for such a request (an address
never kept, such as a look-up, reads nothing here), and each process reads it
at most every ``PORTAL_PUBLICATION_RECHECK_MS`` (1,000 by default; ``0`` reads
it for every request, as the tests do).  A page can therefore
outlive a new publication by at most that long in one process — the pages say
``Cache-Control: public, max-age=60`` to browsers and proxies anyway.

A request with a cookie (a chosen language, a staff member, a filing under
way) always goes through Flask; rendered pages are still kept for it by the
per-process cache in :mod:`portal.caching`.  When the database cannot
be read, nothing is answered from here: Flask answers (and says 503).
"""
from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass

import sqlalchemy as sa
from cachetools import LRUCache
from werkzeug.http import is_resource_modified, parse_date, unquote_etag

from portal import clock, deadline
from portal.services.public_queries import VERSION_QUERY

#: environ key the application sets on a response it allows the front cache to keep:
#: the publication token (version, changed_at) the page was rendered under.
SHARE = "portal.front.share"
#: environ key the front cache sets on every request it would keep a page of.
ACTIVE = "portal.front.active"
#: environ key of the request's publication token (``caching.publication_token``): the front
#: cache's reading serves the request, so it is not read a second time.
TOKEN = "portal.publication_token"
#: environ key of the number of active jurisdictions, read with the publication token.
ACTIVE_JURISDICTIONS = "portal.jurisdictions_active"

#: Headers a 304 carries (RFC 9110 §15.4.5: those a 200 would have sent, less the content's own).
_NOT_IN_304 = frozenset({"content-type", "content-length", "content-encoding", "content-range",
                         "transfer-encoding"})


def share(environ: dict, token: tuple) -> None:
    """Let the front cache keep this request's response (when the request was cookie-less)."""
    if environ.get(ACTIVE):
        environ[SHARE] = token


def active(environ: dict) -> bool:
    """The front cache will keep this request's response if it is shared."""
    return bool(environ.get(ACTIVE))


@dataclass(frozen=True)
class Page:
    """An answer as it went out, with the publication token and the day it was rendered under."""
    status: str
    headers: list[tuple[str, str]]
    body: bytes
    etag: str | None
    last_modified: dt.datetime | None
    token: tuple
    day: dt.date

    @classmethod
    def of(cls, status: str, headers: list[tuple[str, str]], body: bytes, token: tuple,
           day: dt.date) -> Page:
        found = {name.lower(): value for name, value in headers}
        etag = unquote_etag(found["etag"])[0] if "etag" in found else None
        return cls(status, list(headers), body, etag, parse_date(found.get("last-modified")),
                   token, day)

    @property
    def size(self) -> int:
        return len(self.body) + sum(len(k) + len(v) + 16 for k, v in self.headers) + 128

    def answer(self, environ: dict, start_response):
        conditional = "HTTP_IF_NONE_MATCH" in environ or "HTTP_IF_MODIFIED_SINCE" in environ
        if conditional and (self.etag or self.last_modified) and not is_resource_modified(
                environ, etag=self.etag, last_modified=self.last_modified):
            start_response("304 Not Modified",
                           [(k, v) for k, v in self.headers if k.lower() not in _NOT_IN_304])
            return []
        start_response(self.status, self.headers)
        return [] if environ.get("REQUEST_METHOD") == "HEAD" else [self.body]


class FrontCache:
    """WSGI middleware around the Flask application (see the module's description)."""

    def __init__(self, app, wsgi_app) -> None:
        self.app, self.wsgi_app = app, wsgi_app
        config = app.config
        self.recheck = max(0, int(config.get("PORTAL_PUBLICATION_RECHECK_MS", 1000))) / 1000
        self.zone = config.get("PORTAL_TIMEZONE") or clock.DEFAULT_TIMEZONE
        size = int(config.get("PORTAL_FRONT_CACHE_MB", 32) * 1024 * 1024)
        self.pages: LRUCache = LRUCache(maxsize=size, getsizeof=lambda page: page.size)
        self._lock = threading.Lock()
        self._token: tuple | None = None
        self._active: int | None = None
        self._read_at = float("-inf")
        self._engine = None
        self.version_reads = 0      # how often the version was read (for the tests)

    # ------------------------------------------------------------------ the request

    def __call__(self, environ: dict, start_response):
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD") or environ.get("HTTP_COOKIE") \
                or environ.get("HTTP_AUTHORIZATION") or self.pages.maxsize <= 0:
            return self.wsgi_app(environ, start_response)
        environ[ACTIVE] = True
        address = self._address(environ)
        with self._lock:
            page = self.pages.get(address)
        if page is not None:            # an address never kept (a look-up, a file) costs nothing
            token = self.publication()
            if token is not None:
                environ[TOKEN] = token
                environ[ACTIVE_JURISDICTIONS] = self._active
                if page.token == token and page.day == clock.today_in(self.zone):
                    return page.answer(environ, start_response)
        return self._through(environ, start_response, address)

    def _through(self, environ: dict, start_response, address: tuple):
        """Let Flask answer; keep the answer when the application shared it."""
        seen: dict = {}
        # The day the views will take as theirs (a page begun before midnight is that day's).
        day = clock.today_in(self.zone)

        def remember(status, headers, exc_info=None):
            seen["status"], seen["headers"] = status, headers
            return start_response(status, headers, exc_info)

        body = self.wsgi_app(environ, remember)
        token = environ.get(SHARE)
        if (token is None or environ["REQUEST_METHOD"] != "GET"
                or not seen.get("status", "").startswith("200 ")
                or any(name.lower() == "set-cookie" for name, _ in seen.get("headers", ()))):
            return body
        try:
            content = b"".join(body)
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()
        page = Page.of(seen["status"], seen["headers"], content, token, day)
        if page.size <= self.pages.maxsize:
            with self._lock:
                self.pages[address] = page          # the latest version of an address only
        return [content]

    @staticmethod
    def _address(environ: dict) -> tuple:
        return (environ.get("wsgi.url_scheme"), environ.get("HTTP_HOST") or environ.get("SERVER_NAME"),
                environ.get("SCRIPT_NAME", ""), environ.get("PATH_INFO", ""),
                environ.get("QUERY_STRING", ""),
                # a page goes out compressed as each browser asks (portal.compression)
                "".join(environ.get("HTTP_ACCEPT_ENCODING", "").lower().split())[:80])

    # ------------------------------------------------------------------ the publication version

    def publication(self) -> tuple | None:
        """(version, changed_at) of the projection, at most ``recheck`` seconds old (changed_at
        None: nothing published through the services yet); None when the database cannot be
        read."""
        now = time.monotonic()
        if now - self._read_at < self.recheck:
            return self._token
        token = self._read()
        self._token, self._read_at = token, (now if token is not None else float("-inf"))
        return token

    def _read(self) -> tuple | None:
        config = self.app.config
        deadline.start(int(config.get("PORTAL_PUBLIC_REQUEST_BUDGET_MS", 5000)),
                       int(config.get("PORTAL_PUBLIC_STATEMENT_TIMEOUT_MS", 2000)))
        try:
            with self.engine().connect() as connection:
                row = connection.execute(VERSION_QUERY).first()
        except (sa.exc.SQLAlchemyError, deadline.Exceeded):
            return None                      # Flask answers, and says what is wrong
        finally:
            deadline.stop()
        self.version_reads += 1
        self._active = row[2] if row is not None else None
        return (row[0], row[1]) if row is not None else (0, None)

    def engine(self):
        if self._engine is None:
            from portal.extensions import db

            with self.app.app_context():
                self._engine = db.engine
        return self._engine

    def clear(self) -> None:
        with self._lock:
            self.pages.clear()
        self._read_at = float("-inf")


def install(app) -> FrontCache:
    """Put the front cache in front of the application (inside any proxy fix-up)."""
    front = FrontCache(app, app.wsgi_app)
    app.wsgi_app = front
    app.extensions["portal.front"] = front
    return front
