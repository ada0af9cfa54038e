"""Outgoing mail: a message to a filer, written in the transaction of the step it reports.

A row is the snapshot the message needs (``payload``: receipt number, dates as ISO strings,
masked notes and reasons; never the query code) and its delivery state. The worker sends
the due rows (``portal.services.mail_queue``); a failed send is tried again later, and a
row that never goes out ends ``failed`` for staff to see at ``/admin/mail``. ``last_error``
holds an exception's type name only, never a server's answer or the message.
"""
from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from portal import clock
from portal.models.base import Base, Timestamp, enum_column


class MailStatus(str, enum.Enum):
    PENDING = "pending"      # waiting for its (next) attempt at ``next_attempt_at``
    SENT = "sent"            # the mail server accepted it
    FAILED = "failed"        # given up after the last attempt; staff may send it again


class OutgoingMail(Base):
    __tablename__ = "outgoing_mail"
    __table_args__ = (sa.Index("ix_outgoing_mail_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=clock.now)
    event: Mapped[str] = mapped_column(sa.String(30))          # received | material_requested | decided
    recipient: Mapped[str] = mapped_column(sa.String(200))
    #: The bureau of the filing: its staff see the row (``services.scope``).
    jurisdiction: Mapped[str | None] = mapped_column(sa.String(20))
    payload: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    locale: Mapped[str] = mapped_column(sa.String(10), default="zh_CN")
    status: Mapped[MailStatus] = mapped_column(enum_column(MailStatus, 10),
                                               default=MailStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    last_error: Mapped[str | None] = mapped_column(sa.String(80))
    sent_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)

    @property
    def receipt_no(self) -> str:
        return str((self.payload or {}).get("receipt_no") or "")
