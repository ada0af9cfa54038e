"""What the workers of several hosts share: which index replicas tail the outbox, and
which once-only jobs ran when."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base, Timestamp


class IndexReplica(Base):
    """One host's search index, as its worker last reported it. The index itself holds its
    position (in the same commit as its documents); this row lets the pruning job and
    ``/healthz`` see every replica's."""

    __tablename__ = "index_replicas"

    name: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    position: Mapped[int] = mapped_column(sa.Integer, default=0)
    pending: Mapped[int] = mapped_column(sa.Integer, default=0)
    seen_at: Mapped[dt.datetime] = mapped_column(Timestamp)


class JobRun(Base):
    """A job that runs once for all hosts: when it last ran (``last_day``: the bureau's day
    of a daily job) and, for the outbox pruning, the position pruned through (``mark``)."""

    __tablename__ = "job_runs"

    name: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    last_day: Mapped[dt.date | None] = mapped_column(sa.Date)
    last_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    host: Mapped[str | None] = mapped_column(sa.String(100))
    mark: Mapped[int | None] = mapped_column(sa.Integer)
