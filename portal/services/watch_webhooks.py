"""The webhooks a watchlist's alerts go to.

An API client's watchlist is told at the client's own webhooks that asked for the
``watch.*`` types (``portal.services.webhooks``, registered through the integration API).
An organisation's watchlist has webhooks of its own: endpoints owned by
``owner_kind="watchlist"``, ``owner_id=<the watchlist's id>``, at most
:data:`MAX_ENDPOINTS` active ones, registered and removed by the signed-in owner on the
watchlist's page (audited as every webhook is), receiving only the ``watch.*`` types, and
guarded against addresses in private networks (``portal.services.webhook_guard``).

:func:`endpoints_told` answers, for both owners, which endpoints hear a watchlist's
alerts; ``portal.services.watch_alerts`` queues each alert to them. Functions flush,
never commit.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from portal.models import Subscriber, Watchlist, WebhookEndpoint
from portal.services import webhooks
from portal.services.audit import Actor

OWNER_KIND = "watchlist"
#: Active webhooks an organisation's watchlist may have.
MAX_ENDPOINTS = 3
#: Shown on the page: the latest webhooks of a watchlist, removed ones included.
SHOWN = 10
EVENT_TYPES = webhooks.WATCH_EVENTS


def actor_of(subscriber: Subscriber) -> Actor:
    """The audit log's name of a signed-in organisation (its id: never its address)."""
    return Actor(f"subscriber:{subscriber.id}")


def _own(watchlist: Watchlist):
    # created after the watchlist: a deleted watchlist's id given again (SQLite may) never
    # inherits the old one's webhooks (they are removed with it as well)
    return sa.and_(WebhookEndpoint.owner_kind == OWNER_KIND,
                   WebhookEndpoint.owner_id == watchlist.id,
                   WebhookEndpoint.api_client_id.is_(None),
                   WebhookEndpoint.created_at >= watchlist.created_at)


def owner_open():
    """SQL, of a ``WebhookEndpoint``: its owner may be told now — an API client (whose own
    state the caller checks), or a watchlist whose organisation's account is active (the
    bureau may close it: what was queued before then waits, unsent)."""
    open_account = sa.select(Watchlist.id).join(
        Subscriber, Subscriber.id == Watchlist.subscriber_id).where(
        Watchlist.id == WebhookEndpoint.owner_id, Subscriber.active)
    return sa.or_(WebhookEndpoint.api_client_id.is_not(None),
                  sa.and_(WebhookEndpoint.owner_kind == OWNER_KIND, open_account.exists()))


def endpoints_told(session: Session, watchlist: Watchlist) -> list[WebhookEndpoint]:
    """The active endpoints that hear this watchlist's alerts: its client's, or its own
    (an organisation's, while the organisation's account is active: :func:`owner_open`)."""
    if watchlist.api_client_id is not None:
        owner = WebhookEndpoint.api_client_id == watchlist.api_client_id
    else:
        owner = sa.and_(_own(watchlist), owner_open())
    return list(session.scalars(sa.select(WebhookEndpoint).where(
        owner, WebhookEndpoint.active).order_by(WebhookEndpoint.id)))


def endpoints_of(session: Session, watchlist: Watchlist,
                 limit: int = SHOWN) -> list[WebhookEndpoint]:
    """An organisation's watchlist's own webhooks: the active ones, then the latest removed."""
    return list(session.scalars(sa.select(WebhookEndpoint).where(_own(watchlist)).order_by(
        WebhookEndpoint.active.desc(), WebhookEndpoint.id.desc()).limit(limit)))


def active_count(session: Session, watchlist: Watchlist) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(WebhookEndpoint).where(
        _own(watchlist), WebhookEndpoint.active)) or 0


def endpoint_of(session: Session, watchlist: Watchlist,
                endpoint_id: int) -> WebhookEndpoint | None:
    """The watchlist's own webhook ``endpoint_id`` (another's does not exist for it)."""
    return session.scalar(sa.select(WebhookEndpoint).where(
        WebhookEndpoint.id == endpoint_id, _own(watchlist)))


def register(session: Session, actor: Actor, watchlist: Watchlist, url: str,
             event_types: Iterable[str], *, secret_key: str, now: dt.datetime,
             allow_http_hosts: Iterable[str] = ()) -> tuple[WebhookEndpoint, str]:
    """A new webhook of an organisation's watchlist and its signing secret (shown once);
    ``webhooks.WebhookError`` (``too_many_endpoints``, ``invalid_url``,
    ``https_required``, ``private_address``, ``unresolvable_host``,
    ``invalid_event_types``). Audited."""
    if watchlist.api_client_id is not None:
        raise webhooks.WebhookError("no_owner")
    # one registration at a time per watchlist (PostgreSQL), so the limit holds
    session.execute(sa.select(Watchlist.id).where(Watchlist.id == watchlist.id)
                    .with_for_update())
    if active_count(session, watchlist) >= MAX_ENDPOINTS:
        raise webhooks.WebhookError("too_many_endpoints")
    return webhooks.register(session, actor, url, event_types, secret_key=secret_key, now=now,
                             allow_http_hosts=allow_http_hosts, owner_kind=OWNER_KIND,
                             owner_id=watchlist.id, allowed_events=EVENT_TYPES)


def remove(session: Session, actor: Actor, endpoint: WebhookEndpoint, now: dt.datetime) -> bool:
    """Nothing more is queued or sent to it, what still waits included (audited)."""
    return webhooks.deactivate(session, actor, endpoint, now)


def remove_all(session: Session, actor: Actor, watchlist: Watchlist, now: dt.datetime) -> int:
    """The watchlist is deleted: its webhooks with it (each audited); how many."""
    endpoints = session.scalars(sa.select(WebhookEndpoint).where(
        WebhookEndpoint.owner_kind == OWNER_KIND, WebhookEndpoint.owner_id == watchlist.id,
        WebhookEndpoint.api_client_id.is_(None), WebhookEndpoint.active)).all()
    return sum(webhooks.deactivate(session, actor, endpoint, now) for endpoint in endpoints)
