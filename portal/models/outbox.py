"""Outbox: rows written in the same transaction as the projection, drained by the indexer."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from portal import clock
from portal.models.base import Base, Timestamp


class OutboxEvent(Base):
    __tablename__ = "outbox"
    __table_args__ = (sa.Index("ix_outbox_pending", "processed_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    topic: Mapped[str] = mapped_column(sa.String(20))      # "entry" | "removal" | "redlist"
    action: Mapped[str] = mapped_column(sa.String(10))     # "upsert" | "delete"
    public_id: Mapped[str] = mapped_column(sa.String(20))
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=clock.now)
    processed_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
