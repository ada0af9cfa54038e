"""Webhooks: the bureau's systems register HTTPS endpoints and receive the case events.

* :func:`register` — a new endpoint of an API client (or of another owner, e.g. an
  organisation's watchlist) for some event types; its signing secret is returned once and
  kept sealed (Fernet under a key derived from ``SECRET_KEY``). It starts at the feed's
  head: earlier events are asked for with :func:`replay`.
* :func:`enqueue` — one event for one endpoint (the fan-out's, and any other feature's:
  watchlists call it with their own event types).
* :func:`fan_out` — the worker's job (once for all hosts): the case feed
  (:func:`portal.services.case_feed.feed`, the same items as ``GET /changes``) after each
  active endpoint's cursor, in its client's jurisdictions, queued per matching event type;
  the cursor moves in the same transaction, compared and set, so an event is queued once
  even if two hosts ran the job at once.
* :func:`replay` — move an endpoint's cursor back: the fan-out queues the events after it
  again, with the same event ids (receivers de-duplicate on them).

Sending, back-off and the dead-letter list: :mod:`portal.services.webhook_delivery`.
Functions flush and never commit (:func:`fan_out` calls ``after_each`` per endpoint).
"""
from __future__ import annotations

import datetime as dt
import ipaddress
import secrets
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.orm import Session

from portal import clock, labels, security
from portal.models import (
    ApiClient,
    AuditHead,
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from portal.rules.identifiers import mask_ric_numbers
from portal.services import audit, case_feed, credit_scores, scope, webhook_guard
from portal.services.audit import Actor

#: The API scope that registers, lists, replays and removes a client's endpoints.
SCOPE = "webhooks:manage"
#: The event types of the case feed (``event`` of its items), in the feed's order.
FEED_EVENTS = tuple(dict.fromkeys(event for event, _state in case_feed.EVENTS.values()))
#: What a client's watchlists are told (``portal.services.watch_alerts``), as event types.
WATCH_EVENTS = tuple(f"watch.{event}" for event in labels.WATCH_EVENTS)
EVENT_TYPES = FEED_EVENTS + WATCH_EVENTS
SECRET_PREFIX = "whsec_"
SEAL_PURPOSE = b"portal webhook secrets"
MAX_URL = 500
#: Active endpoints one client may have.
MAX_ENDPOINTS = 10
#: Feed items read per page, and pages per endpoint in one round of the fan-out.
FANOUT_PAGE = 500
FANOUT_PAGES = 20


class WebhookError(ValueError):
    """``code`` is machine-readable (the view translates it); ``field`` names the input."""

    def __init__(self, code: str, field_name: str | None = None):
        self.code, self.field = code, field_name
        super().__init__(f"{field_name}: {code}" if field_name else code)


# --------------------------------------------------------------------------
# Addresses and secrets
# --------------------------------------------------------------------------

def check_url(raw: str, allow_http_hosts: Iterable[str] = ()) -> str:
    """The address as given if a receiver may have it: ``https://`` with a host, no user or
    password, no fragment; plain ``http://`` only to a host of ``allow_http_hosts``
    (``PORTAL_WEBHOOK_ALLOW_HTTP_HOSTS``: empty in production)."""
    url = (raw or "").strip()
    if not url or len(url) > MAX_URL or any(ord(c) < 33 or ord(c) == 127 for c in url):
        raise WebhookError("invalid_url", "url")
    try:
        parts = urlsplit(url)
        parts.port                       # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise WebhookError("invalid_url", "url") from None
    host = (parts.hostname or "").lower()
    if not host or parts.username is not None or parts.password is not None or parts.fragment \
            or "@" in parts.netloc or not _host_ok(host):
        raise WebhookError("invalid_url", "url")
    if parts.scheme == "https":
        return url
    if parts.scheme == "http" and host in {h.lower() for h in allow_http_hosts}:
        return url
    raise WebhookError("https_required", "url")


def _host_ok(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    labels = host.rstrip(".").split(".")
    return all(0 < len(label) <= 63 and all(c.isalnum() or c == "-" for c in label)
               and label.isascii() for label in labels)


def host_of(url: str) -> str:
    """What the audit log and the back office say of an address: scheme, host and port (a
    path or query may carry the receiver's own token), a resident ID number in it masked
    (an outsider's address is its own text)."""
    parts = urlsplit(url)
    return mask_ric_numbers(f"{parts.scheme}://{parts.netloc}")


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)         # 256 random bits


def seal(secret_key: str, secret: str) -> bytes:
    return security.fernet(secret_key, SEAL_PURPOSE).encrypt(secret.encode("utf-8"))


def secret_of(secret_key: str, endpoint: WebhookEndpoint) -> str:
    """The endpoint's signing secret; ValueError when it was sealed under another key."""
    from cryptography.fernet import InvalidToken

    try:
        return security.fernet(secret_key, SEAL_PURPOSE).decrypt(
            bytes(endpoint.secret_sealed)).decode("utf-8")
    except (InvalidToken, ValueError) as error:
        raise ValueError("the webhook secret cannot be opened") from error


def head_position(session: Session) -> int:
    """The audit chain's last committed position (0: empty)."""
    return session.scalar(sa.select(AuditHead.seq).where(AuditHead.id == 1)) or 0


# --------------------------------------------------------------------------
# Endpoints
# --------------------------------------------------------------------------

def register(session: Session, actor: Actor, url: str, event_types: Iterable[str], *,
             secret_key: str, now: dt.datetime, allow_http_hosts: Iterable[str] = (),
             client: ApiClient | None = None, owner_kind: str | None = None,
             owner_id: int | None = None, jurisdiction: str | None = None,
             allowed_events: Iterable[str] = EVENT_TYPES) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its signing secret (returned once, stored sealed); audited.

    Owned by ``client`` (its jurisdiction's events), or by ``owner_kind`` / ``owner_id``:
    such an owner is an outsider, and its address must resolve to public addresses only
    (``private_address``, ``unresolvable_host``: :mod:`portal.services.webhook_guard`).
    """
    url = check_url(url, allow_http_hosts)
    allowed = tuple(allowed_events)
    chosen = list(dict.fromkeys(event_types or ()))
    if not chosen or any(e not in allowed for e in chosen):
        raise WebhookError("invalid_event_types", "event_types")
    chosen.sort(key=allowed.index)
    if client is not None:
        owner_kind, owner_id, jurisdiction = None, None, client.jurisdiction
        count = session.scalar(sa.select(sa.func.count()).select_from(WebhookEndpoint).where(
            WebhookEndpoint.api_client_id == client.id, WebhookEndpoint.active))
        if count >= MAX_ENDPOINTS:
            raise WebhookError("too_many_endpoints")
    elif not owner_kind:
        raise WebhookError("no_owner")
    if webhook_guard.applies_to(client.id if client is not None else None):
        try:        # an outsider's address: never into a private network (webhook_guard)
            webhook_guard.check_url(url, allow_http_hosts)
        except webhook_guard.Refused as refused:
            raise WebhookError(refused.code, "url") from None
    secret = new_secret()
    endpoint = WebhookEndpoint(
        api_client_id=client.id if client is not None else None, owner_kind=owner_kind,
        owner_id=owner_id, jurisdiction=jurisdiction, url=url, event_types=chosen,
        secret_sealed=seal(secret_key, secret), secret_prefix=secret[:10], active=True,
        cursor=head_position(session), created_at=now)
    session.add(endpoint)
    session.flush()
    audit.record(session, actor, "webhook.create", "webhook_endpoint", endpoint.id,
                 {"host": host_of(url), "event_types": chosen, "owner": owner_label(endpoint)},
                 jurisdiction=jurisdiction)
    return endpoint, secret


def owner_label(endpoint: WebhookEndpoint) -> str:
    if endpoint.api_client_id is not None:
        return f"api_client:{endpoint.api_client_id}"
    return f"{endpoint.owner_kind}:{endpoint.owner_id}"


def deactivate(session: Session, actor: Actor, endpoint: WebhookEndpoint,
               now: dt.datetime) -> bool:
    """Nothing more is queued or sent to it (final); False when it was inactive already."""
    if not endpoint.active:
        return False
    endpoint.active, endpoint.deactivated_at = False, now
    # what still waits for it will never go: withdrawn (pruned with the delivered ones)
    session.execute(sa.update(WebhookDelivery).where(
        WebhookDelivery.endpoint_id == endpoint.id,
        WebhookDelivery.status == DeliveryStatus.PENDING).values(
        status=DeliveryStatus.WITHDRAWN, next_attempt_at=None, leased_by=None,
        leased_until=None).execution_options(synchronize_session="fetch"))
    session.flush()
    audit.record(session, actor, "webhook.deactivate", "webhook_endpoint", endpoint.id,
                 {"host": host_of(endpoint.url)}, jurisdiction=endpoint.jurisdiction)
    return True


def endpoints_of(session: Session, client: ApiClient) -> list[WebhookEndpoint]:
    return list(session.execute(sa.select(WebhookEndpoint).where(
        WebhookEndpoint.api_client_id == client.id).order_by(WebhookEndpoint.id)).scalars())


def endpoint_of(session: Session, client: ApiClient, endpoint_id: int) -> WebhookEndpoint | None:
    """The client's own endpoint ``endpoint_id`` (another's does not exist for it)."""
    return session.execute(sa.select(WebhookEndpoint).where(
        WebhookEndpoint.id == endpoint_id, WebhookEndpoint.api_client_id == client.id)
    ).scalar_one_or_none()


def replay(session: Session, actor: Actor, endpoint: WebhookEndpoint, from_position: int) -> int:
    """Queue the feed's events after ``from_position`` again (the fan-out does it within
    seconds); the endpoint's cursor after the move. A cursor only moves back: asking to
    replay from beyond it changes nothing. Audited."""
    session.execute(sa.update(WebhookEndpoint).where(WebhookEndpoint.id == endpoint.id).values(
        cursor=sa.case((WebhookEndpoint.cursor > from_position, from_position),
                       else_=WebhookEndpoint.cursor)))
    session.refresh(endpoint, ["cursor"])
    audit.record(session, actor, "webhook.replay", "webhook_endpoint", endpoint.id,
                 {"from_position": from_position, "cursor": endpoint.cursor},
                 jurisdiction=endpoint.jurisdiction)
    return endpoint.cursor


# --------------------------------------------------------------------------
# Queueing
# --------------------------------------------------------------------------

def enqueue(session: Session, endpoint: WebhookEndpoint, event_type: str, subject_key: str,
            payload: dict, position: int | None = None, *, event_id: str | None = None,
            now: dt.datetime | None = None) -> WebhookDelivery:
    """Queue one event for ``endpoint``; it goes out with the worker's next round.

    ``subject_key`` (e.g. ``"subject:42"``): the deliveries of one subject of an endpoint are
    sent in order — of ``position`` (the case feed's), else of the audit chain's head now —
    and one waits while an earlier one is pending. ``event_id`` (default: from the type and
    position, random without a position) is what receivers de-duplicate on.
    """

    now = now or clock.now()
    if event_id is None:
        event_id = (f"{event_type}.{position}" if position is not None
                    else f"{event_type}.{secrets.token_hex(10)}")
    delivery = WebhookDelivery(
        endpoint_id=endpoint.id, event_id=event_id[:80], event_type=event_type[:40],
        position=position, sequence=position if position is not None else head_position(session),
        subject_key=subject_key[:80], payload=payload, status=DeliveryStatus.PENDING,
        attempts=0, next_attempt_at=now, created_at=now)
    session.add(delivery)
    session.flush()
    return delivery


def _fan_out_one(session: Session, endpoint: WebhookEndpoint, client: ApiClient, head: int,
                 now: dt.datetime, page_size: int, pages: int) -> int | None:
    """Queue the endpoint's matching feed events after its cursor; None when another host
    moved the cursor meanwhile (the caller rolls back)."""
    start = cursor = endpoint.cursor
    wanted, queued = set(endpoint.event_types or ()), 0
    within = scope.client_scope(session, client)
    scores: dict[int, dict | None] = {}
    for _ in range(pages):
        page = case_feed.feed(session, cursor, page_size, client.id, within)
        for item, subject_id in zip(page.items, page.subject_ids, strict=True):
            if item["event"] in wanted:
                if subject_id not in scores:       # Zhengzhou §三: the score goes with the event
                    scores[subject_id] = credit_scores.summary(credit_scores.credit_score_of(
                        session, [subject_id], clock.local_day(now), within,
                        client.jurisdiction))
                enqueue(session, endpoint, item["event"], f"subject:{subject_id}",
                        {**item, "credit_score": scores[subject_id]}, item["position"], now=now)
                queued += 1
        cursor = page.position
        if not page.has_more:
            # every event up to ``head`` (read before the feed) was visible to the feed
            cursor = max(cursor, head)
            break
    moved = session.execute(sa.update(WebhookEndpoint).where(
        WebhookEndpoint.id == endpoint.id, WebhookEndpoint.cursor == start,
        WebhookEndpoint.active).values(cursor=cursor))
    return queued if moved.rowcount == 1 else None


def fan_out(session: Session, now: dt.datetime, *, after_each: Callable[[], object],
            page_size: int = FANOUT_PAGE, pages: int = FANOUT_PAGES) -> int:
    """The worker's job: queue the new case events for every active endpoint of a usable
    client (see the module's text); ``after_each`` (commit) after each endpoint. How many
    deliveries were queued."""
    head = head_position(session)
    rows = session.execute(
        sa.select(WebhookEndpoint, ApiClient).join(ApiClient,
                                                   ApiClient.id == WebhookEndpoint.api_client_id)
        .where(WebhookEndpoint.active, WebhookEndpoint.cursor < head, ApiClient.active,
               ApiClient.revoked_at.is_(None))
        .order_by(WebhookEndpoint.id)).all()
    total = 0
    for endpoint, client in rows:
        queued = _fan_out_one(session, endpoint, client, head, now, page_size, pages)
        if queued is None:
            session.rollback()        # another host (or a replay) moved the cursor: next round
            continue
        after_each()
        total += queued
    return total


# --------------------------------------------------------------------------
# What clients and staff read
# --------------------------------------------------------------------------

def deliveries(session: Session, endpoint: WebhookEndpoint, before: int | None, limit: int,
               status: DeliveryStatus | None = None) -> tuple[list[WebhookDelivery], bool]:
    """An endpoint's deliveries, newest first, before delivery id ``before``; (rows, more)."""
    stmt = sa.select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)
    if before is not None:
        stmt = stmt.where(WebhookDelivery.id < before)
    if status is not None:
        stmt = stmt.where(WebhookDelivery.status == status)
    rows = list(session.execute(stmt.order_by(WebhookDelivery.id.desc()).limit(limit + 1))
                .scalars())
    return rows[:limit], len(rows) > limit


def attempts_of(session: Session, delivery_ids: list[int],
                per_delivery: int = 20) -> dict[int, list[WebhookAttempt]]:
    """The latest attempts of each delivery (oldest first)."""
    found: dict[int, list[WebhookAttempt]] = {i: [] for i in delivery_ids}
    if not delivery_ids:
        return found
    for row in session.execute(sa.select(WebhookAttempt).where(
            WebhookAttempt.delivery_id.in_(delivery_ids))
            .order_by(WebhookAttempt.delivery_id, WebhookAttempt.id)).scalars():
        found[row.delivery_id].append(row)
    return {key: rows[-per_delivery:] for key, rows in found.items()}


def counts(session: Session, endpoint_ids: list[int]) -> dict[int, dict[str, int]]:
    """Deliveries per status of each endpoint (every status named)."""
    found = {i: {s.value: 0 for s in DeliveryStatus} for i in endpoint_ids}
    if endpoint_ids:
        for endpoint_id, status, count in session.execute(
                sa.select(WebhookDelivery.endpoint_id, WebhookDelivery.status, sa.func.count())
                .where(WebhookDelivery.endpoint_id.in_(endpoint_ids))
                .group_by(WebhookDelivery.endpoint_id, WebhookDelivery.status)):
            found[endpoint_id][DeliveryStatus(status).value] = count
    return found
