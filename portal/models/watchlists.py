"""Watchlists (关注名单): organisations and the bureau's systems told when a watched subject's
listing changes.

A watchlist belongs to a registered organisation (:class:`Subscriber`, an account of its
own, apart from staff) or to an integration client. Its codes are kept as keyed hashes
only (``portal.security.lookup_hash``) with the masked form the owner sees; a name is the
owner's own label. The worker compares the public change log with the hashes
(``portal.services.watch_alerts``) and writes a :class:`WatchAlert` per change, which the
e-mail, the watchlist's Atom feed and its webhooks carry.
"""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from portal import clock
from portal.models.base import Base, Timestamp


class Subscriber(Base):
    """A registered organisation (a bank, an HR department, a tender committee)."""

    __tablename__ = "subscribers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    email: Mapped[str] = mapped_column(sa.String(200), unique=True)     # lower-cased
    password_hash: Mapped[str] = mapped_column(sa.String(200))
    locale: Mapped[str] = mapped_column(sa.String(10), default="zh_CN")
    email_verified_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    #: SHA-256 of the link's token sent to verify the address (None once verified)
    verify_token_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    verify_sent_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    #: SHA-256 of the one-time link's token sent to set a forgotten password (None once used)
    reset_token_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    reset_sent_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=clock.now)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)

    @property
    def verified(self) -> bool:
        return self.email_verified_at is not None


class SubscriberSession(Base):
    """A signed-in browser: the cookie holds a random token, the row its SHA-256; signing
    out deletes the row."""

    __tablename__ = "subscriber_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    subscriber_id: Mapped[int] = mapped_column(
        sa.ForeignKey("subscribers.id", ondelete="CASCADE"), index=True)
    expires_at: Mapped[dt.datetime] = mapped_column(Timestamp, index=True)


class Watchlist(Base):
    __tablename__ = "watchlists"
    __table_args__ = (sa.CheckConstraint(
        "(subscriber_id IS NULL) <> (api_client_id IS NULL)", name="one_owner"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("subscribers.id", ondelete="CASCADE"), index=True)
    api_client_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("api_clients.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    #: the Atom feed's secret address: SHA-256 to find it, sealed to show it to the owner
    feed_token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    feed_token_sealed: Mapped[bytes] = mapped_column(sa.LargeBinary)
    email_alerts: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=clock.now)


class WatchItem(Base):
    """One watched code: its keyed hash, the masked form shown to the owner, a label."""

    __tablename__ = "watch_items"
    __table_args__ = (sa.UniqueConstraint("watchlist_id", "code_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    watchlist_id: Mapped[int] = mapped_column(
        sa.ForeignKey("watchlists.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(sa.String(64), index=True)
    code_masked: Mapped[str] = mapped_column(sa.String(40))
    label: Mapped[str | None] = mapped_column(sa.String(200))
    added_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=clock.now)


class WatchAlert(Base):
    """A change to a public record that a watched code concerns (public facts only)."""

    __tablename__ = "watch_alerts"
    __table_args__ = (sa.UniqueConstraint("watchlist_id", "position", "public_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    watchlist_id: Mapped[int] = mapped_column(
        sa.ForeignKey("watchlists.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(sa.BigInteger)      # the change log's position
    event: Mapped[str] = mapped_column(sa.String(20))         # listed | corrected | …
    public_id: Mapped[str] = mapped_column(sa.String(20))
    label: Mapped[str | None] = mapped_column(sa.String(200))
    payload: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=clock.now, index=True)
    mailed: Mapped[bool] = mapped_column(default=False)


class WatchSeen(Base):
    """What the watch job last saw of a public entry: tells a listing from a correction, an
    objection, a removal — and keeps the hashes of an entry no longer published."""

    __tablename__ = "watch_seen"

    public_id: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    code_hashes: Mapped[list] = mapped_column(sa.JSON, default=list)
    status: Mapped[str] = mapped_column(sa.String(10))        # listed | removed | gone
    under_objection: Mapped[bool] = mapped_column(default=False)
    corrected_on: Mapped[dt.date | None] = mapped_column(sa.Date)


class WatchProgress(Base):
    """The change-log position the watch job has read up to (one row)."""

    __tablename__ = "watch_progress"

    id: Mapped[int] = mapped_column(primary_key=True)
    position: Mapped[int] = mapped_column(sa.BigInteger, default=0)
