"""Outbox: rows written in the same transaction as the projection.

Its ids are the change log's positions: every host's index tails it on its own (the
position it reached is kept inside that index: ``portal.services.indexer``), and so do
``/api/v1/changes`` readers. Rows are pruned by ``portal.services.outbox_pruning``.
"""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from portal import clock
from portal.models.base import Base, Timestamp


class OutboxEvent(Base):
    __tablename__ = "outbox"
    __table_args__ = (sa.Index("ix_outbox_record", "topic", "public_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    topic: Mapped[str] = mapped_column(sa.String(20))      # "entry" | "removal" | "redlist"
    action: Mapped[str] = mapped_column(sa.String(10))     # "upsert" | "delete"
    public_id: Mapped[str] = mapped_column(sa.String(20))
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=clock.now)
