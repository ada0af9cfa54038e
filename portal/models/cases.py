"""Listing cases: one per decision procedure, with every date of SPEC §4."""
from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal import clock
from portal.models.base import Base, Timestamp, enum_column
from portal.models.jurisdictions import jurisdiction_column
from portal.models.subjects import Subject
from portal.rules.workflow import CaseState, RemovalReason


class CaseOrigin(str, enum.Enum):
    INSPECTION = "inspection"    # 劳动保障监察 / 稽核
    AUDIT = "audit"              # 专项审计
    REPORT = "report"            # 投诉举报
    COMMITMENT = "commitment"    # 告知承诺制: broken commitment (Jiamusi art. 6)
    IMPORT = "import"            # monthly / quarterly report import
    INTEGRATION = "integration"  # business system through the API


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (
        sa.Index("ix_cases_state_leaves_list_on", "state", "leaves_list_on"),
        sa.Index("ix_cases_subject_state", "subject_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_no: Mapped[str] = mapped_column(sa.String(40), unique=True)
    profile: Mapped[str] = mapped_column(sa.String(20))
    jurisdiction: Mapped[str] = jurisdiction_column(index=True)
    subject_id: Mapped[int] = mapped_column(sa.ForeignKey("subjects.id"), index=True)
    ground: Mapped[str] = mapped_column(sa.String(20))
    severity: Mapped[str] = mapped_column(sa.String(10))
    state: Mapped[CaseState] = mapped_column(enum_column(CaseState), default=CaseState.OPENED)
    origin: Mapped[CaseOrigin] = mapped_column(enum_column(CaseOrigin), default=CaseOrigin.INSPECTION)
    prior_listings: Mapped[int] = mapped_column(default=0)

    facts: Mapped[str] = mapped_column(sa.Text, default="")
    reasons: Mapped[str] = mapped_column(sa.Text, default="")
    document_no: Mapped[str | None] = mapped_column(sa.String(60))      # 文书编号
    amount: Mapped[Decimal | None] = mapped_column(sa.Numeric(14, 2))
    # further figures a ground's threshold may name (portal.rules.thresholds)
    months: Mapped[int | None] = mapped_column()                         # 月数 (e.g. arrears)
    person_times: Mapped[int | None] = mapped_column()                   # 人次
    # the ground's alternative was established (e.g. 经责令退回仍拒不退回)
    alternative_met: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    department: Mapped[str] = mapped_column(sa.String(120), default="")
    department_contact: Mapped[str] = mapped_column(sa.String(120), default="")
    access_code_hash: Mapped[str | None] = mapped_column(sa.String(200))  # printed on letters
    # "<system>:<record id>" of the business-system record an integrated case came from
    # (idempotency key of POST /api/v1/integration/cases)
    external_ref: Mapped[str | None] = mapped_column(sa.String(120), unique=True)

    opened_on: Mapped[dt.date] = mapped_column(sa.Date)
    pre_notice_served_on: Mapped[dt.date | None] = mapped_column(sa.Date)
    defence_due_on: Mapped[dt.date | None] = mapped_column(sa.Date)
    decided_on: Mapped[dt.date | None] = mapped_column(sa.Date)
    publish_due_on: Mapped[dt.date | None] = mapped_column(sa.Date)
    published_on: Mapped[dt.date | None] = mapped_column(sa.Date)
    share_due_on: Mapped[dt.date | None] = mapped_column(sa.Date)
    shared_on: Mapped[dt.date | None] = mapped_column(sa.Date)
    # The removal reported to the sharing platform (it must stop sharing the record, Order 36).
    removal_shared_on: Mapped[dt.date | None] = mapped_column(sa.Date)
    term_start: Mapped[dt.date | None] = mapped_column(sa.Date)
    # The day the subject leaves the list when the term ends: the day after the term's last day
    # (``terms.Term.expires_on``).  Until 2026-12 this column was called ``term_end``.
    leaves_list_on: Mapped[dt.date | None] = mapped_column(sa.Date)
    removed_on: Mapped[dt.date | None] = mapped_column(sa.Date)
    corrected_on: Mapped[dt.date | None] = mapped_column(sa.Date)   # facts corrected (objection upheld)
    removal_reason: Mapped[RemovalReason | None] = mapped_column(enum_column(RemovalReason))
    # Deadlines computed over a provisional calendar year are flagged for recomputation.
    deadlines_provisional: Mapped[bool] = mapped_column(default=False)

    prepared_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_users.id"))
    approved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_users.id"))
    assignee_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_users.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=clock.now)
    updated_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=clock.now, onupdate=clock.now)

    subject: Mapped[Subject] = relationship()

    @property
    def term_last_day(self) -> dt.date | None:
        """The last day of the term: the subject is still listed on it (``terms.Term.last_day``)."""
        return self.leaves_list_on - dt.timedelta(days=1) if self.leaves_list_on else None
