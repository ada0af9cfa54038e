"""Rate-limit keys and their storage: shared by every worker, never holding an identifier.

Limiter keys end up in Redis key names (for as long as the window lasts), so
every key function returns a keyed hash (HMAC with the lookup key) of what it
counts: the client address, a case or receipt number as typed (which may be
an ID number), an API client. The same hash names a client address in the
staff lockout (``portal.services.staff``).

Storage: Redis when ``PORTAL_REDIS_URL`` is set. Without it each process
counts on its own, so :func:`check_workers` refuses a server with more than
one worker process (``gunicorn.conf.py`` runs one worker without Redis).
"""
from __future__ import annotations

import hashlib
import hmac

from flask import current_app
from flask_limiter.util import get_remote_address


class SharedStorageMissing(RuntimeError):
    """More than one worker process would each count the limits separately."""


def keyed(kind: str, value: str) -> str:
    """``kind:`` + a keyed hash of ``value`` (24 hex characters; not reversible without the key)."""
    key = current_app.config["PORTAL_LOOKUP_KEY"].encode()
    digest = hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()[:24]
    return f"{kind}:{digest}"


def client_key() -> str:
    """The client address (as the trusted proxy reports it), hashed."""
    return keyed("addr", get_remote_address() or "-")


def storage_uri(config: dict) -> str:
    return config.get("PORTAL_REDIS_URL") or "memory://"


def check_workers(workers: int, redis_url: str | None) -> None:
    """Refuse a multi-process server whose limits would not be shared (limits would multiply)."""
    if workers > 1 and not redis_url:
        raise SharedStorageMissing(
            f"{workers} worker processes without PORTAL_REDIS_URL: every process would count the "
            "rate limits (sign-in, /check, /track) on its own and let through a multiple of them. "
            "Set PORTAL_REDIS_URL (e.g. redis://127.0.0.1:6379/0) or run one worker "
            "(WEB_CONCURRENCY=1).")
