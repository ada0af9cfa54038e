"""What ``/healthz`` reports: the database, the search index against the projection, the worker.

Each check answers ``ok`` or names what is wrong; one failing check makes the
answer 503, so a load balancer or ``make run`` sees a portal that would serve
errors, empty search results or stale pages.  Nothing private is reported.
"""
from __future__ import annotations

import sqlalchemy as sa
from flask import current_app

from portal import clock
from portal.extensions import db


def _database() -> dict:
    try:
        db.session.execute(sa.text("SELECT 1"))
        return {"status": "ok"}
    except sa.exc.SQLAlchemyError:
        db.session.rollback()
        return {"status": "error", "detail": "database unavailable"}


def _index() -> dict:
    from portal.public.caching import aggregates
    from portal.search import get_index
    from portal.services.indexer import expected_count
    from portal.worker import index_state

    try:
        # the projection's count changes only with the publication version: counted once per version
        expected = aggregates.get(("index-expected",), lambda: expected_count(db.session))
        state = index_state(db.session, get_index(), expected)
    except sa.exc.SQLAlchemyError:
        db.session.rollback()
        return {"status": "unknown", "detail": "database unavailable"}
    except (OSError, RuntimeError):
        return {"status": "error", "detail": "index unreadable"}
    body = {"documents": state.documents, "expected": state.expected, "pending": state.pending}
    if not state.exists and state.expected:
        return {"status": "error", "detail": "index missing", **body}
    if state.lost:
        return {"status": "error", "detail": "index incomplete", **body}
    return {"status": "ok", **body}


def _worker() -> dict:
    from portal.worker import heartbeat_path, read_heartbeat

    beat = read_heartbeat(heartbeat_path())
    if beat is None:
        return {"status": "error", "detail": "no heartbeat"}
    age = int((clock.now() - beat["at"]).total_seconds())
    body = {"last_heartbeat": beat["at"].isoformat(), "age_seconds": age}
    if age > current_app.config["PORTAL_HEARTBEAT_MAX_AGE"]:
        return {"status": "error", "detail": "heartbeat too old", **body}
    if beat.get("status") != "ok":
        return {"status": "error", "detail": beat.get("error") or "retrying", **body}
    return {"status": "ok", **body}


def report() -> tuple[dict, int]:
    checks = {"database": _database()}
    checks["index"] = _index()
    checks["worker"] = _worker()
    healthy = all(c["status"] == "ok" for c in checks.values())
    return {"status": "ok" if healthy else "error", "checks": checks}, 200 if healthy else 503
