"""The publication history and the answer to "was this code listed on day D?".

``publication_history`` holds one row per published listing: the code's keyed hash, the
jurisdiction, the entry's public id, the listing day, the publication day, the removal day
and reason, the days it was corrected and the day the entry stopped being published. Only
:mod:`portal.services.publication` writes it, in the transaction that changes the projection
(:func:`record_published`, :func:`record_removal`, :func:`record_unpublished`); nothing
deletes it, so the answer outlives the publication of the entry and of its removal notice.

The history itself is never shown: :func:`listed_on` reduces it to the answer for one day
(:mod:`portal.rules.point_in_time`), for the records ``/check`` may disclose today (public
listings, and natural persons whom a profile does not publish but an exact look-up finds).
"""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from portal import clock
from portal.models import Case, PublicationHistory, PublishedEntry, RemovalNotice
from portal.rules import point_in_time
from portal.rules.point_in_time import Answer, Listing
from portal.services.public_queries import within

#: The records the answer may speak of: the same rule as ``/check`` (public_queries.check_*).
ANSWERABLE = PublicationHistory.visible.is_(True) | (PublicationHistory.subject_kind == "person")


def _row(session: Session, case_id: int) -> PublicationHistory | None:
    return session.execute(
        sa.select(PublicationHistory).where(PublicationHistory.case_id == case_id)
    ).scalar_one_or_none()


def _with_correction(days: list, day: dt.date | None) -> list:
    if day is None or day.isoformat() in days:
        return days
    return sorted([*days, day.isoformat()])     # a new list: the JSON column sees the change


def record_published(session: Session, entry: PublishedEntry) -> PublicationHistory:
    """The entry was published or refreshed (a correction, a recomputation): its listing
    interval follows it. The publication day is the first one and is kept."""
    row = _row(session, entry.case_id)
    if row is None:
        row = PublicationHistory(case_id=entry.case_id, public_id=entry.public_id,
                                 published_on=entry.published_on, corrected_on=[])
        session.add(row)
    row.profile, row.jurisdiction = entry.profile, entry.jurisdiction
    row.code_hash, row.subject_kind = entry.code_hash, entry.subject_kind
    row.visible, row.ground_code = bool(entry.visible), entry.ground_code
    row.listed_from = entry.listed_on
    row.corrected_on = _with_correction(list(row.corrected_on or []), entry.corrected_on)
    row.updated_at = clock.now()
    return row


def record_removal(session: Session, case: Case, notice: RemovalNotice,
                   entry_public_id: str) -> PublicationHistory:
    """The listing ended on ``case.removed_on`` for ``case.removal_reason``. A listing
    published before the history was kept gets its row now, from the notice and the case."""
    row = _row(session, case.id)
    if row is None:
        row = PublicationHistory(
            case_id=case.id, public_id=entry_public_id, profile=notice.profile,
            jurisdiction=notice.jurisdiction, code_hash=notice.code_hash,
            subject_kind=notice.subject_kind, visible=bool(notice.visible),
            ground_code=notice.ground_code, listed_from=notice.listed_on,
            published_on=case.published_on or notice.listed_on,
            corrected_on=_with_correction([], case.corrected_on))
        session.add(row)
    row.listed_until = case.removed_on
    row.removal_reason = case.removal_reason.value if case.removal_reason else None
    row.updated_at = clock.now()
    return row


def record_unpublished(session: Session, entry_public_id: str, on: dt.date) -> None:
    """The entry stopped being published on ``on``: the history stays, with that day."""
    row = session.execute(
        sa.select(PublicationHistory).where(PublicationHistory.public_id == entry_public_id)
    ).scalar_one_or_none()
    if row is not None and row.unpublished_on is None:
        row.unpublished_on = on
        row.updated_at = clock.now()


def records_begin(session: Session, jurisdictions=None) -> dt.date | None:
    """The first listing day the portal's records hold (in ``jurisdictions``; None: all)."""
    return session.execute(
        sa.select(sa.func.min(PublicationHistory.listed_from))
        .where(within(PublicationHistory.jurisdiction, jurisdictions))
    ).scalar()


def listings_of(session: Session, code_hash: str, jurisdictions=None) -> list[Listing]:
    """The published listings of a code that ``/check`` may speak of, each with whether its
    entry is still on the public pages."""
    rows = session.execute(
        sa.select(PublicationHistory, PublishedEntry.visible)
        .outerjoin(PublishedEntry, PublishedEntry.public_id == PublicationHistory.public_id)
        .where(PublicationHistory.code_hash == code_hash, ANSWERABLE,
               within(PublicationHistory.jurisdiction, jurisdictions))
        .order_by(PublicationHistory.listed_from, PublicationHistory.id)
    ).all()
    return [_listing(row, bool(entry_visible)) for row, entry_visible in rows]


def _listing(row: PublicationHistory, entry_public: bool) -> Listing:
    return Listing(
        public_id=row.public_id, jurisdiction=row.jurisdiction, profile=row.profile,
        subject_kind=row.subject_kind, ground_code=row.ground_code,
        listed_from=row.listed_from, published_on=row.published_on,
        listed_until=row.listed_until, removal_reason=row.removal_reason,
        corrected_on=tuple(dt.date.fromisoformat(d) for d in row.corrected_on or ()),
        visible=bool(row.visible), entry_public=entry_public and bool(row.visible))


def listed_on(session: Session, code_hash: str, day: dt.date, jurisdictions=None, *,
              today: dt.date) -> Answer:
    """Was the code with keyed hash ``code_hash`` listed on ``day``, as published?

    ``jurisdictions``: the codes of the bureaus asked about (None: the whole portal);
    ``today``: the bureau's day (``portal.clock.today()``), which no answer goes beyond.
    Reads two indexed statements (none for a day after ``today``)."""
    if day > today:
        return point_in_time.answer((), day, today, None)
    return point_in_time.answer(listings_of(session, code_hash, jurisdictions), day, today,
                                records_begin(session, jurisdictions))


def listing_facts(listing: Listing, day: dt.date, upto: dt.date) -> dict:
    """What a point-in-time answer says of one listing, as JSON values: its days, the removal
    reason, the ground only while it is published (not after a credit repair or a
    withdrawal), the corrections up to ``upto`` and whether the public list showed it on
    ``day``. No name, no identifier. The API and the certificates add their own texts."""
    return {
        "jurisdiction": listing.jurisdiction,
        "listed_from": listing.listed_from.isoformat(),
        "published_on": listing.published_on.isoformat(),
        "listed_until": listing.listed_until.isoformat() if listing.listed_until else None,
        "removal_reason": listing.removal_reason,
        "ground_code": listing.ground_code if listing.shows_ground else None,
        "corrected_on": [d.isoformat() for d in listing.corrections_by(upto)],
        "shown_on_the_day": listing.published_over(day),
    }
