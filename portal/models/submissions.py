"""Submissions (filings by parties and the public), their history and evidence."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal import clock
from portal.models.base import Base, Timestamp, enum_column
from portal.rules.workflow import SubmissionKind, SubmissionState


class Submission(Base):
    __tablename__ = "submissions"
    __table_args__ = (sa.Index("ix_submissions_state_due", "state", "due_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    receipt_no: Mapped[str] = mapped_column(sa.String(40), unique=True)
    kind: Mapped[SubmissionKind] = mapped_column(enum_column(SubmissionKind), index=True)
    state: Mapped[SubmissionState] = mapped_column(
        enum_column(SubmissionState), default=SubmissionState.RECEIVED
    )
    case_id: Mapped[int | None] = mapped_column(sa.ForeignKey("cases.id"), index=True)
    #: The bureau that handles it: its case's, or the one a complaint was addressed to.
    jurisdiction: Mapped[str] = mapped_column(sa.String(20), index=True)
    query_code_hash: Mapped[str] = mapped_column(sa.String(200))
    # One filing per form token: a refresh or double click finds the first one.
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(64), unique=True)

    filer_name: Mapped[str | None] = mapped_column(sa.String(100))   # None when anonymous
    filer_contact: Mapped[str | None] = mapped_column(sa.String(200))
    filer_email: Mapped[str | None] = mapped_column(sa.String(200))
    anonymous: Mapped[bool] = mapped_column(default=False)
    reported_name: Mapped[str | None] = mapped_column(sa.String(200))  # complaints
    category: Mapped[str | None] = mapped_column(sa.String(40))        # e.g. objection ground
    body: Mapped[str] = mapped_column(sa.Text, default="")
    details: Mapped[dict] = mapped_column(sa.JSON, default=dict)

    received_on: Mapped[dt.date] = mapped_column(sa.Date)
    due_on: Mapped[dt.date | None] = mapped_column(sa.Date)
    due_provisional: Mapped[bool] = mapped_column(default=False)
    due_basis: Mapped[str | None] = mapped_column(sa.String(80))
    paused_since: Mapped[dt.date | None] = mapped_column(sa.Date)     # 补正 pauses the clock
    decided_on: Mapped[dt.date | None] = mapped_column(sa.Date)
    decision_reasons: Mapped[str | None] = mapped_column(sa.Text)
    assignee_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_users.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=clock.now)

    events: Mapped[list[SubmissionEvent]] = relationship(
        back_populates="submission", cascade="all, delete-orphan", order_by="SubmissionEvent.id"
    )
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="submission", cascade="all, delete-orphan", order_by="Attachment.id"
    )


class SubmissionEvent(Base):
    """A line of the status history that the submitter sees on /track."""

    __tablename__ = "submission_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(sa.ForeignKey("submissions.id", ondelete="CASCADE"), index=True)
    state: Mapped[SubmissionState] = mapped_column(enum_column(SubmissionState))
    note: Mapped[str] = mapped_column(sa.Text, default="")   # shown to the submitter
    at: Mapped[dt.datetime] = mapped_column(Timestamp, default=clock.now)

    submission: Mapped[Submission] = relationship(back_populates="events")


class Attachment(Base):
    """Evidence file, stored outside the web root under a random name."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(sa.ForeignKey("submissions.id", ondelete="CASCADE"), index=True)
    original_name: Mapped[str] = mapped_column(sa.String(255))
    stored_name: Mapped[str] = mapped_column(sa.String(80), unique=True)
    content_type: Mapped[str] = mapped_column(sa.String(80))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=clock.now)

    submission: Mapped[Submission] = relationship(back_populates="attachments")
