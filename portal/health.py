"""What ``/healthz`` reports: the database, the search index, the worker; and the e-mail to
filers that waits or was not sent.

Each check answers ``ok`` or names what is wrong; one failing check makes the
answer 503, so a load balancer or ``make run`` sees a portal that would serve
errors, empty search results or stale pages.  A probe costs one ``SELECT 1``,
a file read, a look at the index directory and a count of the outgoing mail by
status: the comparison of the index with the projection (a COUNT over the
projection) is the worker's, every minute, and comes with its heartbeat.
Nothing private is reported.

The mail counts (``mail``: pending and failed messages) are reported beside the
checks, never as one: a message the mail server refused does not make the portal
unhealthy; staff see it at /admin/mail. Likewise the webhook deliveries (``webhooks``:
waiting and given up; /admin/webhooks).
"""
from __future__ import annotations

import sqlalchemy as sa
from flask import current_app

from portal import clock
from portal.extensions import db
from portal.heartbeat import heartbeat_path, read_heartbeat


def _database() -> dict:
    try:
        db.session.execute(sa.text("SELECT 1"))
        return {"status": "ok"}
    except sa.exc.SQLAlchemyError:
        db.session.rollback()
        return {"status": "error", "detail": "database unavailable"}


def _index(beat: dict | None) -> dict:
    from portal.search import get_index

    try:
        exists = get_index().exists()
    except OSError:
        return {"status": "error", "detail": "index unreadable"}
    if not exists:
        return {"status": "error", "detail": "index missing"}
    seen = (beat or {}).get("index") or {}
    body = {k: seen[k] for k in ("documents", "expected", "pending") if k in seen}
    if seen and not seen.get("exists", True):
        return {"status": "error", "detail": "index missing", **body}
    if body and body["documents"] + body.get("pending", 0) < body.get("expected", 0):
        return {"status": "error", "detail": "index incomplete", **body}
    return {"status": "ok", **body}


def _worker(beat: dict | None) -> dict:
    if beat is None:
        return {"status": "error", "detail": "no heartbeat"}
    limit = current_app.config["PORTAL_HEARTBEAT_MAX_AGE"]
    now = clock.now()
    age = int((now - beat["at"]).total_seconds())
    body = {"last_heartbeat": beat["at"].isoformat(), "age_seconds": age,
            "state": beat.get("status", "unknown")}
    if beat.get("error"):
        body["last_error"] = beat["error"]
    if age > limit:
        return {"status": "error", "detail": "heartbeat too old", **body}
    round_at = beat.get("round_at")
    if beat.get("status") != "rebuilding" and (
            round_at is None or (now - round_at).total_seconds() > limit):
        return {"status": "error", "detail": "worker stuck", **body}
    return {"status": "ok", **body}


def _mail() -> dict | None:
    from portal.services import mail_queue

    try:
        found = mail_queue.counts(db.session)
    except sa.exc.SQLAlchemyError:
        db.session.rollback()
        return None
    return {"pending": found["pending"], "failed": found["failed"]}


def _webhooks() -> dict | None:
    from portal.services import webhook_delivery

    try:
        found = webhook_delivery.status_counts(db.session)
    except sa.exc.SQLAlchemyError:
        db.session.rollback()
        return None
    return {"pending": found["pending"], "dead": found["dead"]}


def report() -> tuple[dict, int]:
    beat = read_heartbeat(heartbeat_path())
    checks = {"database": _database(), "index": _index(beat), "worker": _worker(beat)}
    healthy = all(c["status"] == "ok" for c in checks.values())
    body = {"status": "ok" if healthy else "error", "checks": checks}
    mail = _mail() if checks["database"]["status"] == "ok" else None
    if mail is not None:
        body["mail"] = mail
    hooks = _webhooks() if checks["database"]["status"] == "ok" else None
    if hooks is not None:
        body["webhooks"] = hooks
    return body, 200 if healthy else 503
