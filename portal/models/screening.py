"""Batch screening files (核查名单批量比对): an upload waiting for the worker, its progress,
and its results until the retention ends.

The uploaded rows (names and full codes) and the results are stored sealed
(:mod:`portal.services.screening_batches`): the rows only until the worker has read them,
the results (masked codes only) until ``expires_at``; then the row goes entirely.
"""
from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base, Timestamp, enum_column


class BatchStatus(str, enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class ScreeningBatch(Base):
    """One uploaded file of records to screen. Reached by a secret token (only its SHA-256
    is kept); processed by the workers in chunks under a lease, so a host that dies leaves
    the rest to another."""

    __tablename__ = "screening_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    status: Mapped[BatchStatus] = mapped_column(enum_column(BatchStatus, 16), index=True)
    filename: Mapped[str] = mapped_column(sa.String(200))
    total: Mapped[int] = mapped_column(sa.Integer)
    processed: Mapped[int] = mapped_column(sa.Integer, default=0)
    matched: Mapped[int] = mapped_column(sa.Integer, default=0)
    invalid: Mapped[int] = mapped_column(sa.Integer, default=0)
    threshold: Mapped[float] = mapped_column(sa.Float)
    jurisdiction: Mapped[str | None] = mapped_column(sa.String(40))   # the one asked for
    #: the jurisdictions looked in, comma-separated (None: the whole portal)
    codes: Mapped[str | None] = mapped_column(sa.Text)
    #: the rows to screen, sealed; emptied once every row is screened
    rows: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    leased_by: Mapped[str | None] = mapped_column(sa.String(100))
    lease_until: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp)
    started_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    finished_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    expires_at: Mapped[dt.datetime] = mapped_column(Timestamp, index=True)
    #: the publication version the last chunk was screened against
    publication_version: Mapped[int | None] = mapped_column(sa.Integer)
    failure: Mapped[str | None] = mapped_column(sa.String(40))


class ScreeningChunk(Base):
    """The results of rows ``start`` … ``start + count - 1`` of a batch, sealed."""

    __tablename__ = "screening_chunks"
    __table_args__ = (sa.UniqueConstraint("batch_id", "start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(
        sa.ForeignKey("screening_batches.id", ondelete="CASCADE"), index=True)
    start: Mapped[int] = mapped_column(sa.Integer)
    count: Mapped[int] = mapped_column(sa.Integer)
    results: Mapped[bytes] = mapped_column(sa.LargeBinary)
