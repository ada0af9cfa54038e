"""Webhooks: endpoints of the bureau's systems, the deliveries queued for them, and the log of
every attempt.

* :class:`WebhookEndpoint` — an HTTPS address that receives events of the types it chose.
  It belongs to an API client (``api_client_id``), or to another owner named by
  ``owner_kind`` / ``owner_id`` (e.g. a registered organisation's watchlist). Its signing
  secret is stored sealed (Fernet under a key derived from ``SECRET_KEY``) and shown once.
  ``cursor`` is the last position of the case feed the fan-out has looked at.
* :class:`WebhookDelivery` — one event for one endpoint, until the receiver answered 2xx
  (``delivered``) or every attempt failed (``dead``: the admins' dead-letter list).
  ``sequence`` orders the deliveries of one subject (``subject_key``) of an endpoint.
* :class:`WebhookAttempt` — the delivery log: when, the answer's status code, how long,
  the error's type (never the receiver's answer, never the payload).

See ``portal.services.webhooks`` and ``portal.services.webhook_delivery``.
"""
from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from portal import clock
from portal.models.base import Base, Timestamp, enum_column


class DeliveryStatus(str, enum.Enum):
    PENDING = "pending"          # waiting for its (next) attempt at ``next_attempt_at``
    DELIVERED = "delivered"      # the receiver answered 2xx
    DEAD = "dead"                # given up after the last attempt; an admin may deliver it again
    WITHDRAWN = "withdrawn"      # its endpoint was removed before it went: never sent


class WebhookEndpoint(Base):
    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    api_client_id: Mapped[int | None] = mapped_column(sa.ForeignKey("api_clients.id"),
                                                      index=True)
    #: Another owner than an API client ("watchlist": an organisation's watchlist, see
    #: ``portal.services.watch_webhooks``), with its id; None for clients.
    owner_kind: Mapped[str | None] = mapped_column(sa.String(30))
    owner_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    #: The bureau whose staff see the endpoint (the client's).
    jurisdiction: Mapped[str | None] = mapped_column(sa.String(20), index=True)
    url: Mapped[str] = mapped_column(sa.String(500))
    secret_sealed: Mapped[bytes] = mapped_column(sa.LargeBinary)
    #: The first characters of the secret, for recognising it ("whsec_AbCd").
    secret_prefix: Mapped[str] = mapped_column(sa.String(16))
    event_types: Mapped[list] = mapped_column(sa.JSON, default=list)
    active: Mapped[bool] = mapped_column(default=True)
    #: The last position of the case feed the fan-out has looked at for this endpoint.
    cursor: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=clock.now)
    deactivated_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)


class WebhookDelivery(Base):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        sa.Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        sa.Index("ix_webhook_deliveries_subject", "endpoint_id", "subject_key", "status",
                 "sequence"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(
        sa.ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), index=True)
    #: Stable across replays: receivers de-duplicate on it.
    event_id: Mapped[str] = mapped_column(sa.String(80))
    event_type: Mapped[str] = mapped_column(sa.String(40))
    #: The case feed's position of the event (None: an event that is not in the feed).
    position: Mapped[int | None] = mapped_column(sa.BigInteger)
    #: Orders the deliveries of one subject: the position, else the audit chain's head when
    #: the event was queued.
    sequence: Mapped[int] = mapped_column(sa.BigInteger)
    subject_key: Mapped[str] = mapped_column(sa.String(80))
    payload: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    status: Mapped[DeliveryStatus] = mapped_column(enum_column(DeliveryStatus, 10),
                                                   default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    #: A worker sending it now (until ``leased_until``): no other takes it meanwhile.
    leased_by: Mapped[str | None] = mapped_column(sa.String(100))
    leased_until: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    last_status_code: Mapped[int | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(sa.String(80))
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=clock.now)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)


class WebhookAttempt(Base):
    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(
        sa.ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True)
    at: Mapped[dt.datetime] = mapped_column(Timestamp)
    status_code: Mapped[int | None] = mapped_column()
    duration_ms: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(sa.String(80))
