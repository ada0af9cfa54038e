"""Hash-chained audit log: each row stores the hash of the previous row.

Changing, removing or reordering a row breaks the chain; ``flask --app wsgi
audit verify`` recomputes it (``portal.services.audit.verify``).
"""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base, Timestamp


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (sa.Index("ix_audit_entity", "entity_type", "entity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(unique=True)          # position in the chain, 1-based, no gaps
    at: Mapped[dt.datetime] = mapped_column(Timestamp, index=True)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_users.id"), index=True)
    actor_label: Mapped[str] = mapped_column(sa.String(100))   # "staff:li.na", "party", "public", "system"
    action: Mapped[str] = mapped_column(sa.String(60), index=True)
    entity_type: Mapped[str] = mapped_column(sa.String(30))
    entity_id: Mapped[str] = mapped_column(sa.String(60))
    data: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    #: The jurisdiction of the case or filing the event concerns (None: portal-wide, e.g.
    #: accounts and the calendar). Not part of the hash: it scopes the audit views.
    jurisdiction: Mapped[str | None] = mapped_column(sa.String(20), index=True)
    prev_hash: Mapped[str] = mapped_column(sa.String(64))
    hash: Mapped[str] = mapped_column(sa.String(64))


class AuditHead(Base):
    """One row: the chain's last position and hash, locked by each appender."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(default=0)
    hash: Mapped[str] = mapped_column(sa.String(64))
