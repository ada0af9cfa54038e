"""One web worker process for tests/web/test_limits.py: its own app, the shared Redis.

Run in a spawned process (a fresh interpreter, as a gunicorn worker is): it builds the
app with the limiter on and sends the given POSTs, returning (pid, status codes).
"""
from __future__ import annotations

import os
from pathlib import Path

from portal import config as portal_config
from portal import create_app
from portal.extensions import db

CHECK_LIMIT = "3 per minute"


def serve(database_url: str, tmp: str, redis_url: str | None, prefix: str,
          posts: list[tuple[str, dict, str]]) -> tuple[int, list[int]]:
    app = create_app({
        **portal_config.testing(database_url, Path(tmp)),
        "RATELIMIT_ENABLED": True,
        "RATELIMIT_KEY_PREFIX": prefix,
        "PORTAL_REDIS_URL": redis_url,
        "PORTAL_CHECK_RATE_LIMIT": CHECK_LIMIT,
    })
    statuses = []
    for path, data, address in posts:
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = address
        statuses.append(client.post(path, data=data).status_code)
    with app.app_context():
        db.engine.dispose()
    return os.getpid(), statuses
