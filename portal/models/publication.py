"""The public projection: exactly what may be published, already masked.

Public pages, exports, feeds, the API and the search index read only these
tables. Only ``portal.services.publication`` writes them.
"""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from portal import clock
from portal.models.base import Base, Timestamp
from portal.models.jurisdictions import jurisdiction_column


class PublishedEntry(Base):
    __tablename__ = "published_entries"
    __table_args__ = (
        sa.Index("ix_published_entries_listed", "listed_on", "id"),
        # The current list in its order: a page from a cursor is one index range on both
        # databases (portal.paging), never a sort of every listed row.
        sa.Index("ix_published_entries_status_listed", "status", "visible", "listed_on", "id"),
        sa.Index("ix_published_entries_ground_listed", "ground_code", "listed_on"),
        sa.Index("ix_published_entries_year_listed", "listing_year", "listed_on"),
        # Narrow covering indexes for the GROUP BY queries of /entries (filter counts) and
        # /stats: index-only scans instead of reading the wide rows (1M rows: 1.6 s -> 0.3 s).
        sa.Index("ix_published_entries_facets", "status", "visible", "ground_code", "subject_kind",
                 "severity", "department", "listing_year"),
        sa.Index("ix_published_entries_listed_published", "listed_on", "published_on", "visible"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(sa.String(20), unique=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"), unique=True)
    profile: Mapped[str] = mapped_column(sa.String(20))
    jurisdiction: Mapped[str] = jurisdiction_column(index=True)
    subject_kind: Mapped[str] = mapped_column(sa.String(20), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    code_display: Mapped[str] = mapped_column(sa.String(20), default="")   # USCC, or masked ID
    code_hash: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    extra_codes: Mapped[list] = mapped_column(sa.JSON, default=list)        # legacy org code, reg no
    legal_rep_name: Mapped[str | None] = mapped_column(sa.String(100))
    legal_rep_id_masked: Mapped[str | None] = mapped_column(sa.String(20))
    ground_code: Mapped[str] = mapped_column(sa.String(20))
    ground_text: Mapped[str] = mapped_column(sa.Text)
    ground_text_en: Mapped[str] = mapped_column(sa.Text, default="")
    severity: Mapped[str] = mapped_column(sa.String(10), index=True)
    facts: Mapped[str] = mapped_column(sa.Text, default="")
    reasons: Mapped[str] = mapped_column(sa.Text, default="")
    legal_basis: Mapped[str] = mapped_column(sa.Text, default="")
    document_no: Mapped[str | None] = mapped_column(sa.String(60))
    department: Mapped[str] = mapped_column(sa.String(120), index=True)
    department_contact: Mapped[str] = mapped_column(sa.String(120), default="")
    listed_on: Mapped[dt.date] = mapped_column(sa.Date)          # date of the listing decision
    listing_year: Mapped[int] = mapped_column()
    published_on: Mapped[dt.date] = mapped_column(sa.Date)
    # The term runs from the decision day (``term_start``) to ``term_last_day`` inclusive; the
    # subject leaves the list on ``leaves_list_on``, the next day (``terms.entry_dates``).
    term_start: Mapped[dt.date] = mapped_column(sa.Date)
    term_last_day: Mapped[dt.date] = mapped_column(sa.Date)
    leaves_list_on: Mapped[dt.date] = mapped_column(sa.Date)
    repeat_listing: Mapped[bool] = mapped_column(default=False)
    rectification_closes_on: Mapped[dt.date | None] = mapped_column(sa.Date)
    repair_opens_on: Mapped[dt.date | None] = mapped_column(sa.Date)
    # Names of the dates above that rest on a provisional calendar year (they may still move).
    dates_provisional: Mapped[list] = mapped_column(sa.JSON, default=list, server_default="[]")
    under_objection: Mapped[bool] = mapped_column(default=False)
    # The day an upheld objection corrected the facts or reasons (the entry shows the corrected text)
    corrected_on: Mapped[dt.date | None] = mapped_column(sa.Date)
    # False for natural persons where the profile forbids publishing them (exact look-up only)
    visible: Mapped[bool] = mapped_column(default=True)
    status: Mapped[str] = mapped_column(sa.String(10), default="listed", index=True)  # listed | removed
    removed_on: Mapped[dt.date | None] = mapped_column(sa.Date)
    removal_reason: Mapped[str | None] = mapped_column(sa.String(30))
    version: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=clock.now)


class RemovalNotice(Base):
    __tablename__ = "removal_notices"
    __table_args__ = (
        sa.Index("ix_removal_notices_removed", "removed_on", "id"),
        sa.Index("ix_removal_notices_visible_removed", "visible", "removed_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(sa.String(20), unique=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"), unique=True)
    profile: Mapped[str] = mapped_column(sa.String(20))
    jurisdiction: Mapped[str] = jurisdiction_column(index=True)
    subject_kind: Mapped[str] = mapped_column(sa.String(20))
    name: Mapped[str] = mapped_column(sa.String(200))
    code_display: Mapped[str] = mapped_column(sa.String(20), default="")
    code_hash: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    ground_code: Mapped[str] = mapped_column(sa.String(20))
    ground_text: Mapped[str] = mapped_column(sa.Text)
    listed_on: Mapped[dt.date] = mapped_column(sa.Date)
    removed_on: Mapped[dt.date] = mapped_column(sa.Date)
    reason: Mapped[str] = mapped_column(sa.String(30), index=True)
    department: Mapped[str] = mapped_column(sa.String(120))
    # None once the entry is unpublished; indexed: withdrawing an entry finds its notices by it
    entry_public_id: Mapped[str | None] = mapped_column(sa.String(20), index=True)
    # Same rule as the entry: False for persons a profile does not publish (exact look-up only)
    visible: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    version: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=clock.now)

    @property
    def term_last_day(self) -> dt.date | None:
        """For a removal at the end of the term: the term's last day (the day before removal)."""
        if self.reason != "term_expired" or self.removed_on is None:
            return None
        return self.removed_on - dt.timedelta(days=1)


class PublicationWithdrawal(Base):
    """A tombstone: a public record withdrawn from publication (Order 36), so that the API,
    the exports and the feeds can say it is gone instead of letting it vanish.

    ``reason``: ``credit_repaired``, ``objection_upheld``, ``revoked`` (the entry), or
    ``period_ended`` (an entry or notice after the profile's publication period).
    """

    __tablename__ = "publication_withdrawals"
    __table_args__ = (sa.UniqueConstraint("topic", "public_id"),
                      sa.Index("ix_publication_withdrawals_withdrawn", "withdrawn_on", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    topic: Mapped[str] = mapped_column(sa.String(10))          # entry | removal
    public_id: Mapped[str] = mapped_column(sa.String(20))
    profile: Mapped[str] = mapped_column(sa.String(20))
    jurisdiction: Mapped[str] = jurisdiction_column(index=True)
    withdrawn_on: Mapped[dt.date] = mapped_column(sa.Date)
    reason: Mapped[str] = mapped_column(sa.String(30))
    withdrawn_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=clock.now)


class PublicationHistory(Base):
    """One published listing interval of a subject: kept for good, never public as such.

    Written by ``portal.services.publication`` in the transaction that publishes, corrects or
    removes the entry, and never deleted — not when the entry or its removal notice stops
    being published. It answers "was this code listed on day D?" (``/check`` with a date;
    ``portal.services.publication_history.listed_on``) and nothing else reads it.
    ``code_hash`` is the same keyed hash as the projection's; no name, no number, no text.
    """

    __tablename__ = "publication_history"
    __table_args__ = (
        sa.Index("ix_publication_history_jurisdiction_listed", "jurisdiction", "listed_from"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"), unique=True)
    public_id: Mapped[str] = mapped_column(sa.String(20), unique=True)   # the entry's
    profile: Mapped[str] = mapped_column(sa.String(20))
    jurisdiction: Mapped[str] = jurisdiction_column()
    code_hash: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    subject_kind: Mapped[str] = mapped_column(sa.String(20))
    # as the entry: False for a person the profile does not publish, or a ground not published
    visible: Mapped[bool] = mapped_column(default=True)
    ground_code: Mapped[str] = mapped_column(sa.String(20))
    listed_from: Mapped[dt.date] = mapped_column(sa.Date)       # the listing day (decision)
    published_on: Mapped[dt.date] = mapped_column(sa.Date)
    listed_until: Mapped[dt.date | None] = mapped_column(sa.Date)   # the removal day
    removal_reason: Mapped[str | None] = mapped_column(sa.String(30))
    # every day an upheld objection corrected the published facts or reasons (ISO dates)
    corrected_on: Mapped[list] = mapped_column(sa.JSON, default=list, server_default="[]")
    # the day the entry stopped being published (credit repair, withdrawal, period ended)
    unpublished_on: Mapped[dt.date | None] = mapped_column(sa.Date)
    updated_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=clock.now)


class RedListEntry(Base):
    """守信红名单 (Zhengzhou §一): admitted units, their criteria and incentives."""

    __tablename__ = "red_list_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(sa.String(20), unique=True)
    profile: Mapped[str] = mapped_column(sa.String(20))
    jurisdiction: Mapped[str] = jurisdiction_column(index=True)
    subject_id: Mapped[int] = mapped_column(sa.ForeignKey("subjects.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    code_display: Mapped[str] = mapped_column(sa.String(20))
    criteria: Mapped[list] = mapped_column(sa.JSON, default=list)      # criterion codes met
    admitted_on: Mapped[dt.date] = mapped_column(sa.Date, index=True)
    valid_until: Mapped[dt.date | None] = mapped_column(sa.Date)
    removed_on: Mapped[dt.date | None] = mapped_column(sa.Date)
    removal_reason: Mapped[str | None] = mapped_column(sa.String(200))
    updated_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=clock.now)


class PublicationState(Base):
    """One row: a counter bumped by every change to the projection (ETag / Last-Modified)."""

    __tablename__ = "publication_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(default=0)
    changed_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=clock.now)
