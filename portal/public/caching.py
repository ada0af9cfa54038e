"""HTTP caching of public pages and a small per-process cache of aggregates.

Every change to the public projection bumps ``PublicationState.version``
(``portal.services.publication.bump_version``).  Pages derive their ETag and
Last-Modified from it, and aggregates that only change with the projection
(filter counts, statistics) are kept per process under the same version.
"""
from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

from flask import current_app, has_request_context, request, session
from werkzeug.http import is_resource_modified

from portal import clock
from portal.extensions import db
from portal.public import queries


def _as_utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    value = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).replace(microsecond=0)


_TOKEN = "portal.publication_token"


def publication_token() -> tuple[int, dt.datetime | None]:
    """(version, changed_at) of the projection, read once per request.

    Kept in the WSGI environ rather than on ``g``: an application context (and
    its ``g``) may outlive one request, e.g. under the test client.
    """
    if not has_request_context():
        return queries.publication_version(db.session)
    token = request.environ.get(_TOKEN)
    if token is None:
        token = request.environ[_TOKEN] = queries.publication_version(db.session)
    return token


def conditional(render: Callable[[], object], day: dt.date | None = None):
    """ETag / Last-Modified from the publication version; 304 before rendering when current.

    ``day``: for pages whose content also depends on the date (validity of
    red-list entries, the statistics window): the ETag changes with the day
    and Last-Modified is never before the start of that day (Beijing time).
    """
    version, changed_at = publication_token()
    etag = f"pub-{version}-{session.get('lang', 'zh_CN')}" + (f"-{day.isoformat()}" if day else "")
    changed_at = _as_utc(changed_at)
    if day is not None:
        midnight = _as_utc(clock.day_start(day))
        changed_at = max(changed_at, midnight) if changed_at else midnight
    if not is_resource_modified(request.environ, etag=etag, last_modified=changed_at):
        response = current_app.response_class(status=304)
    else:
        response = current_app.make_response(render())
    response.set_etag(etag, weak=True)
    if changed_at is not None:
        response.last_modified = changed_at
    response.headers["Cache-Control"] = "public, max-age=60"
    response.vary.add("Cookie")
    return response


class VersionCache:
    """Values computed from the projection, valid while its version does not change.

    Keyed by the database URL, the publication (version, changed_at) and the
    caller's own key; only the most recent ``size`` values are kept.
    """

    def __init__(self, size: int = 32) -> None:
        self.size = size
        self._values: OrderedDict[Hashable, object] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, compute: Callable[[], object]):
        version, changed_at = publication_token()
        if changed_at is None:  # nothing published through the services yet: no stable key
            return compute()
        full_key = (str(db.engine.url), version, changed_at, key)
        with self._lock:
            if full_key in self._values:
                self._values.move_to_end(full_key)
                return self._values[full_key]
        value = compute()
        with self._lock:
            self._values[full_key] = value
            while len(self._values) > self.size:
                self._values.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._values.clear()


aggregates = VersionCache()
