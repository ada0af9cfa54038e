"""Imports of the periodic dishonesty report: the staged upload between preview and commit.

``rows`` holds the validated, normalised values of every row — full ID
numbers included — so it belongs to the write model only: never logged,
never shown in full, never exported.  ``commit_key`` is the file's SHA-256
once committed: unique, so the same file can open cases only once even when
two clerks commit copies of it at the same moment.
"""
from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal import clock
from portal.models.base import Base, Timestamp, enum_column
from portal.models.jurisdictions import jurisdiction_column
from portal.models.staff import StaffUser


class ImportStatus(str, enum.Enum):
    STAGED = "staged"          # uploaded and validated; nothing written yet
    COMMITTED = "committed"    # every row became a case
    DISCARDED = "discarded"    # thrown away by staff


class ImportBatch(Base):
    __tablename__ = "import_batches"
    __table_args__ = (sa.Index("ix_import_batches_profile_status", "profile", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    profile: Mapped[str] = mapped_column(sa.String(20))
    jurisdiction: Mapped[str] = jurisdiction_column(index=True)
    kind: Mapped[str] = mapped_column(sa.String(20))          # report frequency: monthly | quarterly
    filename: Mapped[str] = mapped_column(sa.String(200))
    sha256: Mapped[str] = mapped_column(sa.String(64), index=True)
    commit_key: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    uploaded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("staff_users.id"))
    committed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_users.id"))
    status: Mapped[ImportStatus] = mapped_column(enum_column(ImportStatus), default=ImportStatus.STAGED)
    default_ground: Mapped[str | None] = mapped_column(sa.String(20))
    rows: Mapped[list] = mapped_column(sa.JSON, default=list)
    unknown_headers: Mapped[list] = mapped_column(sa.JSON, default=list)
    row_count: Mapped[int] = mapped_column(default=0)
    error_count: Mapped[int] = mapped_column(default=0)       # rows with at least one problem
    case_count: Mapped[int] = mapped_column(default=0)        # cases opened by the commit
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=clock.now)
    committed_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)

    uploaded_by: Mapped[StaffUser] = relationship(foreign_keys=[uploaded_by_id])


class CaseReportData(Base):
    """The report fields of an imported case that have no column of their own on the case
    (Zhengzhou: insured employees, months in arrears, collection reminders, remarks;
    Shanghai: the date of the information, other content) — read back by the export."""

    __tablename__ = "case_report_data"

    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"),
                                         primary_key=True)
    batch_id: Mapped[int] = mapped_column(sa.ForeignKey("import_batches.id"), index=True)
    values: Mapped[dict] = mapped_column(sa.JSON, default=dict)   # never an ID number
