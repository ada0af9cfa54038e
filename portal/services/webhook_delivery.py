"""Sending the queued webhook deliveries: signed, at least once, in order per subject, with
exponential back-off, a dead-letter list and a log of every attempt.

:func:`deliver_due` is the worker's job (every host runs it). A round:

1. **claims** due deliveries — pending, ``next_attempt_at`` passed, no lease of another
  worker, the endpoint active and its owner usable (a client not revoked, an organisation's
  account not closed: ``watch_webhooks.owner_open``), and no earlier delivery of the same
  endpoint and subject still pending (``sequence``, then id: a dead one no longer holds
  the others back) — with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, and marks them leased
  to this worker for :data:`LEASE`; that commits before anything is sent, so no
  transaction stays open while a receiver answers, and a worker that dies mid-send leaves
  the delivery to another once the lease ends (at least once);
2. **sends** each (a few at a time, never more than :data:`PER_ENDPOINT` to one endpoint)
  as ``POST`` with the JSON body and the headers ``X-Portal-Event``, ``X-Portal-Event-Id``,
  ``X-Portal-Delivery``, ``X-Portal-Timestamp`` and ``X-Portal-Signature: v1=<hex
  HMAC-SHA256(secret, timestamp + "." + body)>``; redirects are never followed; the answer's
  body is never read; an outsider's endpoint (an organisation's watchlist's) only to an
  address of its host checked at that moment (``portal.services.webhook_guard``: a private
  one is a failed attempt, ``RefusedAddress``);
3. **records** every attempt (:class:`WebhookAttempt`: status code, milliseconds, the
  error's type) and the outcome: 2xx is ``delivered``; anything else counts an attempt and
  the next one waits :func:`pause_after` (2 s, 4 s, 8 s … at most an hour, less up to a
  fifth at random so that receivers coming back are not hit by every sender at once);
  after :data:`MAX_ATTEMPTS` the delivery is ``dead``: the admins see it at
  ``/admin/webhooks`` and may :func:`deliver_again` it.

Nothing here logs a payload, a secret or a receiver's answer.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import random
import ssl
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx
import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from portal import clock
from portal.models import (
    ApiClient,
    DeliveryStatus,
    StaffUser,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from portal.services import audit, permissions, scope, watch_webhooks, webhook_guard, webhooks
from portal.services.scope import Scope
from portal.services.serializers import iso

log = logging.getLogger(__name__)

FIRST_PAUSE = dt.timedelta(seconds=2)
LONGEST_PAUSE = dt.timedelta(hours=1)
#: Attempts before a delivery is dead: 2 s, 4 s … 34 min, then hourly — about 20 hours.
MAX_ATTEMPTS = 30
#: A pause is shortened by up to this share at random.
JITTER = 0.2
#: Seconds a receiver has to connect, to take the request and to answer (each).
DEFAULT_TIMEOUT = 5.0
#: How long a claimed delivery is kept from other workers while it is sent.
LEASE = dt.timedelta(seconds=60)
#: Deliveries claimed at a time, sent by this many threads, at most so many to one endpoint.
BATCH = 20
THREADS = 8
PER_ENDPOINT = 4
#: How many rows the back-office lists show.
LISTED = 200
#: How long a delivered row and its attempts are kept (the delivery log), then pruned.
DELIVERED_KEPT = dt.timedelta(days=30)
USER_AGENT = "portal-webhooks/1"

_random = random.SystemRandom()


class DeliveryError(Exception):
    """A step on a delivery that does not apply to it (``code``: ``not_dead``, ``inactive``:
    its endpoint was removed)."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


# --------------------------------------------------------------------------
# Signing and the request
# --------------------------------------------------------------------------

def signature(secret: str, timestamp: str, body: bytes) -> str:
    """``v1=`` and the hex HMAC-SHA256 under ``secret`` of ``timestamp + "." + body``."""
    mac = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body,
                   hashlib.sha256)
    return "v1=" + mac.hexdigest()


def body_of(delivery: WebhookDelivery) -> bytes:
    """The JSON body: the event's id (the same on every attempt and replay), its type, when
    it was queued and its data (a case event: the item of ``GET /changes``)."""
    return json.dumps({"id": delivery.event_id, "type": delivery.event_type,
                       "created_at": iso(delivery.created_at), "data": delivery.payload},
                      ensure_ascii=False, separators=(",", ":"), default=str).encode("utf-8")


def headers_of(delivery: WebhookDelivery, secret: str, timestamp: str, body: bytes) -> dict:
    return {"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT,
            "X-Portal-Event": delivery.event_type, "X-Portal-Event-Id": delivery.event_id,
            "X-Portal-Delivery": str(delivery.id), "X-Portal-Timestamp": timestamp,
            "X-Portal-Signature": signature(secret, timestamp, body)}


def pause_after(attempts: int, rng: random.Random = _random) -> dt.timedelta:
    """The pause after the ``attempts``-th failed attempt: 2 s, 4 s, 8 s … at most an hour,
    less up to :data:`JITTER` of it at random."""
    nominal = min(LONGEST_PAUSE, FIRST_PAUSE * 2 ** min(max(attempts, 1) - 1, 20))
    return nominal * (1 - JITTER * rng.random())


def timeout_of(config: Mapping) -> float:
    return float(config.get("PORTAL_WEBHOOK_TIMEOUT_SECONDS") or DEFAULT_TIMEOUT)


def _verify(config: Mapping) -> ssl.SSLContext | bool:
    bundle = config.get("PORTAL_WEBHOOK_CA_BUNDLE")
    return ssl.create_default_context(cafile=bundle) if bundle else True


def http_client(config: Mapping) -> httpx.Client:
    """One connection pool per round; the bureau's own CA when ``PORTAL_WEBHOOK_CA_BUNDLE``
    names one. Redirects are never followed (a 3xx is a failed attempt)."""
    return httpx.Client(timeout=httpx.Timeout(timeout_of(config)), follow_redirects=False,
                        verify=_verify(config), limits=httpx.Limits(max_connections=THREADS * 2))


def guarded_client(config: Mapping) -> httpx.Client:
    """The same for the endpoints of outsiders (``webhook_guard.applies_to``): every
    connection opened only to an address of the host checked just before, never into a
    private network, never through a proxy (``portal.services.webhook_guard``)."""
    limits = httpx.Limits(max_connections=THREADS * 2)
    return httpx.Client(timeout=httpx.Timeout(timeout_of(config)), follow_redirects=False,
                        transport=webhook_guard.guarded_transport(
                            _verify(config), limits,
                            config.get("PORTAL_WEBHOOK_ALLOW_HTTP_HOSTS") or ()))


# --------------------------------------------------------------------------
# A round
# --------------------------------------------------------------------------

@dataclass
class Outgoing:
    """What one send needs, read from the database before the round lets it go."""

    delivery_id: int
    endpoint_id: int
    url: str
    headers: dict | None       # None: the secret could not be opened
    body: bytes
    #: an outsider's endpoint: sent through the guard (``webhook_guard``)
    guarded: bool = False


@dataclass
class Outcome:
    delivery_id: int
    at: dt.datetime
    status_code: int | None
    error: str | None
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


@dataclass
class DeliveryResult:
    delivered: int = 0
    retrying: int = 0
    dead: int = 0

    @property
    def tried(self) -> int:
        return self.delivered + self.retrying + self.dead


def _due(now: dt.datetime) -> sa.Select:
    earlier = aliased(WebhookDelivery)
    blocked = sa.exists().where(
        earlier.endpoint_id == WebhookDelivery.endpoint_id,
        earlier.subject_key == WebhookDelivery.subject_key,
        earlier.status == DeliveryStatus.PENDING,
        sa.or_(earlier.sequence < WebhookDelivery.sequence,
               sa.and_(earlier.sequence == WebhookDelivery.sequence,
                       earlier.id < WebhookDelivery.id)))
    return (sa.select(WebhookDelivery)
            .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
            .outerjoin(ApiClient, ApiClient.id == WebhookEndpoint.api_client_id)
            .where(WebhookDelivery.status == DeliveryStatus.PENDING,
                   WebhookDelivery.next_attempt_at <= now,
                   sa.or_(WebhookDelivery.leased_until.is_(None),
                          WebhookDelivery.leased_until < now),
                   WebhookEndpoint.active, watch_webhooks.owner_open(),
                   sa.or_(WebhookEndpoint.api_client_id.is_(None),
                          sa.and_(ApiClient.active, ApiClient.revoked_at.is_(None))),
                   ~blocked)
            .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id))


def any_due(session: Session, now: dt.datetime) -> bool:
    """Is a delivery ready to be claimed (one indexed look-up)?"""
    return session.execute(_due(now).with_only_columns(WebhookDelivery.id).limit(1)
                           ).first() is not None


def claim(session: Session, host: str, now: dt.datetime, secret_key: str,
          limit: int = BATCH) -> list[Outgoing]:
    """Lease up to ``limit`` due deliveries to ``host`` (flushes; the caller commits before
    sending) and read what sending them needs."""
    rows = list(session.execute(
        _due(now).limit(limit).with_for_update(skip_locked=True, of=WebhookDelivery)
        .execution_options(populate_existing=True)).scalars())
    per_endpoint: dict[int, int] = {}
    taken, secrets_of = [], {}
    for row in rows:
        if per_endpoint.get(row.endpoint_id, 0) >= PER_ENDPOINT:
            continue
        per_endpoint[row.endpoint_id] = per_endpoint.get(row.endpoint_id, 0) + 1
        row.leased_by, row.leased_until = host[:100], now + LEASE
        endpoint = session.get(WebhookEndpoint, row.endpoint_id)
        if endpoint.id not in secrets_of:
            try:
                secrets_of[endpoint.id] = webhooks.secret_of(secret_key, endpoint)
            except ValueError:
                secrets_of[endpoint.id] = None
        secret, body = secrets_of[endpoint.id], body_of(row)
        timestamp = str(int(clock.now().timestamp()))
        taken.append(Outgoing(row.id, endpoint.id, endpoint.url,
                              headers_of(row, secret, timestamp, body) if secret else None, body,
                              guarded=webhook_guard.applies_to(endpoint.api_client_id)))
    session.flush()
    return taken


def send(client: httpx.Client, item: Outgoing) -> Outcome:
    """POST one delivery; never raises (the error's type is the outcome)."""
    at, started = clock.now(), time.monotonic()
    if item.headers is None:
        return Outcome(item.delivery_id, at, None, "SecretUnreadable", 0)
    status, error = None, None
    try:
        with client.stream("POST", item.url, content=item.body, headers=item.headers) as answer:
            status = answer.status_code          # the body is never read
        if not 200 <= status < 300:
            error = "Redirect" if 300 <= status < 400 else "UnexpectedStatus"
    except webhook_guard.Refused as refused:     # a private address: nothing was sent
        error = refused.error
    except httpx.HTTPError as failure:
        error = type(failure).__name__
    except Exception as failure:                 # noqa: BLE001 - one bad address never stops a round
        error = type(failure).__name__
    return Outcome(item.delivery_id, at, status, error[:80] if error else None,
                   int((time.monotonic() - started) * 1000))


def record(session: Session, host: str, outcome: Outcome, result: DeliveryResult,
           rng: random.Random = _random) -> None:
    """Log the attempt and move the delivery on (flushes)."""
    session.add(WebhookAttempt(delivery_id=outcome.delivery_id, at=outcome.at,
                               status_code=outcome.status_code, duration_ms=outcome.duration_ms,
                               error=outcome.error))
    row = session.get(WebhookDelivery, outcome.delivery_id, populate_existing=True)
    if row is None or row.status is not DeliveryStatus.PENDING or row.leased_by != host[:100]:
        session.flush()           # deleted, or another worker took it after our lease ended
        return
    now = clock.now()
    row.attempts = (row.attempts or 0) + 1
    row.last_status_code, row.leased_by, row.leased_until = outcome.status_code, None, None
    if outcome.ok:
        row.status, row.delivered_at, row.next_attempt_at = DeliveryStatus.DELIVERED, now, None
        row.last_error = None
        result.delivered += 1
    else:
        row.last_error = outcome.error
        if row.attempts >= MAX_ATTEMPTS:
            row.status, row.next_attempt_at = DeliveryStatus.DEAD, None
            result.dead += 1
        else:
            row.next_attempt_at = now + pause_after(row.attempts, rng)
            result.retrying += 1
        # ids, the status code and the error's type only: never the payload or the answer
        log.warning("webhook delivery %s to endpoint %s failed (attempt %d, %s): %s %s",
                    row.id, row.endpoint_id, row.attempts, row.status.value,
                    outcome.status_code or "-", outcome.error)
    session.flush()


def deliver_due(session: Session, config: Mapping, host: str, now: dt.datetime, *,
                after_each: Callable[[], object], limit: int = BATCH * 5,
                stopping: Callable[[], bool] = lambda: False) -> DeliveryResult:
    """Claim, send and record due deliveries, a batch at a time, up to ``limit`` (see the
    module's text). ``after_each`` (the session's commit) ends the claim before anything is
    sent, and each batch's records."""
    result = DeliveryResult()
    with http_client(config) as client, guarded_client(config) as guarded:
        while result.tried < limit and not stopping():
            batch = claim(session, host, now, config["SECRET_KEY"],
                          min(BATCH, limit - result.tried))
            after_each()
            if not batch:
                break
            with ThreadPoolExecutor(max_workers=min(THREADS, len(batch))) as pool:
                outcomes = list(pool.map(
                    lambda item: send(guarded if item.guarded else client, item), batch))
            for outcome in outcomes:
                record(session, host, outcome, result)
            after_each()
            now = clock.now()
    return result


# --------------------------------------------------------------------------
# Staff: the dead-letter list and delivering again
# --------------------------------------------------------------------------

def prune_delivered(session: Session, now: dt.datetime,
                    kept: dt.timedelta = DELIVERED_KEPT) -> int:
    """Delete the deliveries delivered before ``now - kept``, and those withdrawn (their
    endpoint removed) and made before then, with their attempts; how many (flushes, the
    caller commits). Given-up ones stay until an admin has seen to them."""
    old = sa.select(WebhookDelivery.id).where(sa.or_(
        (WebhookDelivery.status == DeliveryStatus.DELIVERED)
        & (WebhookDelivery.delivered_at < now - kept),
        (WebhookDelivery.status == DeliveryStatus.WITHDRAWN)
        & (WebhookDelivery.created_at < now - kept)))
    session.execute(sa.delete(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(old)))
    gone = session.execute(sa.delete(WebhookDelivery).where(WebhookDelivery.id.in_(old)))
    return gone.rowcount or 0


def status_counts(session: Session) -> dict[str, int]:
    """Deliveries per status (every status named)."""
    found = {status.value: 0 for status in DeliveryStatus}
    for status, count in session.execute(sa.select(WebhookDelivery.status, sa.func.count())
                                         .group_by(WebhookDelivery.status)):
        found[DeliveryStatus(status).value] = count
    return found


def dead_letters(session: Session, within: Scope, limit: int = LISTED) -> list[WebhookDelivery]:
    """Dead deliveries of the endpoints in scope (an organisation's, of no bureau: every
    admin's), the latest first."""
    return list(session.execute(
        sa.select(WebhookDelivery).join(
            WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(within.audit_where(WebhookEndpoint.jurisdiction),
               WebhookDelivery.status == DeliveryStatus.DEAD)
        .order_by(WebhookDelivery.id.desc()).limit(limit)).scalars())


def deliver_again(session: Session, user: StaffUser, delivery: WebhookDelivery,
                  now: dt.datetime) -> None:
    """A dead delivery goes out again with the next round, with all its attempts (audited)."""
    actor = permissions.require(permissions.may_manage_webhooks(user), user)
    endpoint = session.get(WebhookEndpoint, delivery.endpoint_id)
    if endpoint.jurisdiction is not None:   # else an organisation's: of no bureau, any admin's
        scope.require(session, user, endpoint.jurisdiction)
    if delivery.status is not DeliveryStatus.DEAD:
        raise DeliveryError("not_dead")
    if not endpoint.active:
        raise DeliveryError("inactive")
    audit.record(session, actor, "webhook.deliver_again", "webhook_delivery", delivery.id,
                 {"endpoint": endpoint.id, "event_id": delivery.event_id,
                  "attempts": delivery.attempts, "last_error": delivery.last_error},
                 jurisdiction=endpoint.jurisdiction)
    delivery.status, delivery.attempts, delivery.next_attempt_at = DeliveryStatus.PENDING, 0, now
    delivery.leased_by = delivery.leased_until = None
    session.flush()
