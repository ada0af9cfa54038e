"""Credit grades and the red list in the write model (Zhengzhou §一, §三, §四).

``grade_findings``: each 认定 that a subject committed a catalogue behaviour,
with its source (inspection, a listing case, a verified complaint; or a
complaint found false, against the complainant). The grade itself is never
stored: ``portal.rules.grades.standing`` derives it from the live findings.

``red_list_proposals``: a clerk's proposal to admit a unit to the 守信红名单
with the criteria it meets, decided by a different approver (four-eyes). An
admitted proposal points at its public ``red_list_entries`` row, which only
``portal.services.redlist`` writes.

``score_grade_tables``: the score → grade tables of the credit score (Zhengzhou §三 ¶1), one
row per version: proposed by one member of staff, put in force or rejected by another
approver (four-eyes). Until a jurisdiction has one in force, its profile's provisional table
applies. Scores themselves are never stored (``portal.services.credit_scores``).
"""
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


class FindingSource(str, enum.Enum):
    INSPECTION = "inspection"          # 稽核 / 监督检查
    CASE = "case"                      # found in a listing case
    COMPLAINT = "complaint"            # a verified complaint about the unit
    FALSE_COMPLAINT = "false_complaint"  # a complaint found false: against the complainant


class FindingStatus(str, enum.Enum):
    LIVE = "live"
    WITHDRAWN = "withdrawn"            # taken back by the bureau (mistake, new facts)
    ANNULLED = "annulled"              # set aside by reconsideration or a court


class GradeFinding(Base):
    __tablename__ = "grade_findings"
    __table_args__ = (sa.Index("ix_grade_findings_subject_status", "subject_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    finding_no: Mapped[str] = mapped_column(sa.String(40), unique=True)
    profile: Mapped[str] = mapped_column(sa.String(20))
    jurisdiction: Mapped[str] = jurisdiction_column(index=True)
    subject_id: Mapped[int] = mapped_column(sa.ForeignKey("subjects.id"), index=True)
    behaviour_code: Mapped[str] = mapped_column(sa.String(20))
    grade: Mapped[str] = mapped_column(sa.String(10))
    found_on: Mapped[dt.date] = mapped_column(sa.Date)
    facts: Mapped[str] = mapped_column(sa.Text, default="")
    # figures the behaviour's threshold needs (Zhengzhou arrears: months, amount)
    amount: Mapped[Decimal | None] = mapped_column(sa.Numeric(14, 2))
    months: Mapped[int | None] = mapped_column()
    source: Mapped[FindingSource] = mapped_column(enum_column(FindingSource))
    document_no: Mapped[str | None] = mapped_column(sa.String(60))
    submission_id: Mapped[int | None] = mapped_column(sa.ForeignKey("submissions.id"), index=True)
    case_id: Mapped[int | None] = mapped_column(sa.ForeignKey("cases.id"))          # source case
    listing_case_id: Mapped[int | None] = mapped_column(sa.ForeignKey("cases.id"))  # case opened from it
    status: Mapped[FindingStatus] = mapped_column(enum_column(FindingStatus), default=FindingStatus.LIVE)
    status_on: Mapped[dt.date | None] = mapped_column(sa.Date)
    status_reason: Mapped[str | None] = mapped_column(sa.Text)
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_users.id"))
    status_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=clock.now)

    subject: Mapped[Subject] = relationship()


class ProposalState(str, enum.Enum):
    PROPOSED = "proposed"
    ADMITTED = "admitted"
    REFUSED = "refused"


class RedListProposal(Base):
    __tablename__ = "red_list_proposals"
    __table_args__ = (sa.Index("ix_red_list_proposals_state", "state", "proposed_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_no: Mapped[str] = mapped_column(sa.String(40), unique=True)
    profile: Mapped[str] = mapped_column(sa.String(20))
    jurisdiction: Mapped[str] = jurisdiction_column(index=True)
    subject_id: Mapped[int] = mapped_column(sa.ForeignKey("subjects.id"), index=True)
    unit_type: Mapped[str] = mapped_column(sa.String(30))     # employer | medical_institution
    criteria: Mapped[list] = mapped_column(sa.JSON, default=list)   # codes the clerk found met
    basis: Mapped[str] = mapped_column(sa.Text, default="")   # evidence of the criteria
    state: Mapped[ProposalState] = mapped_column(enum_column(ProposalState),
                                                 default=ProposalState.PROPOSED)
    proposed_on: Mapped[dt.date] = mapped_column(sa.Date)
    proposed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_users.id"))
    decided_on: Mapped[dt.date | None] = mapped_column(sa.Date)
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_users.id"))
    decision_note: Mapped[str | None] = mapped_column(sa.Text)
    entry_id: Mapped[int | None] = mapped_column(sa.ForeignKey("red_list_entries.id"), unique=True)
    removed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_users.id"))
    removal_note: Mapped[str | None] = mapped_column(sa.Text)   # internal; the public row has a code
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=clock.now)

    subject: Mapped[Subject] = relationship()


class ScoreTableStatus(str, enum.Enum):
    PROPOSED = "proposed"
    IN_FORCE = "in_force"
    REJECTED = "rejected"
    SUPERSEDED = "superseded"      # was in force until a later table was put in force


class ScoreGradeTable(Base):
    __tablename__ = "score_grade_tables"
    __table_args__ = (sa.Index("ix_score_grade_tables_jurisdiction_status", "jurisdiction", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    table_no: Mapped[str] = mapped_column(sa.String(40), unique=True)   # the version
    profile: Mapped[str] = mapped_column(sa.String(20))
    jurisdiction: Mapped[str] = jurisdiction_column()
    #: ``[{"grade": "A", "min_score": "90"}, …]``, highest band first (scores as strings)
    bands: Mapped[list] = mapped_column(sa.JSON, default=list)
    note: Mapped[str] = mapped_column(sa.Text, default="")          # why these bands
    status: Mapped[ScoreTableStatus] = mapped_column(enum_column(ScoreTableStatus),
                                                     default=ScoreTableStatus.PROPOSED)
    proposed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_users.id"))
    proposed_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=clock.now)
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_users.id"))
    decided_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    decision_note: Mapped[str | None] = mapped_column(sa.Text)
    in_force_from: Mapped[dt.date | None] = mapped_column(sa.Date)
    superseded_on: Mapped[dt.date | None] = mapped_column(sa.Date)
