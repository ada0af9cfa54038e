"""The change log of the public projection, read from the outbox (``/api/v1/changes``, the
watch job).

Each outbox row says "this public record changed". The feed returns, for
the rows after the caller's cursor, the *current* public representation of
each record, or ``"deleted": true`` when it is no longer public: an entry
withdrawn from publication (credit repair, an upheld objection that defeated
the listing, a revoked decision, the end of its publication period; the item
then carries ``withdrawn_on`` and ``reason`` from its tombstone), an entry
that is not visible, a removal notice about a person the profile does not
publish. A record that changed several times within one page appears once,
at its last position. One query: the outbox outer-joined to the projection.

Outbox ids are handed out when a row is inserted, but transactions commit in
their own order: an id may become visible after a higher one. A gap in the
ids right after the cursor therefore holds the page back until the row after
the gap is ``settle`` old; older gaps are ids of rolled-back transactions.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from portal import clock, labels
from portal.models import (
    Jurisdiction,
    OutboxEvent,
    PublicationWithdrawal,
    PublishedEntry,
    RedListEntry,
    RemovalNotice,
)
from portal.services import serializers
from portal.services.public_queries import notice_is_public


@dataclass
class ChangePage:
    items: list
    position: int      # outbox position of the last row read (the next cursor)
    has_more: bool


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def read(session: Session, after: int, limit: int, settle: dt.timedelta,
         codes=None) -> ChangePage:
    """``codes``: only the records of these jurisdictions (None: all); the cursor still moves
    past the others."""
    rows = session.execute(
        sa.select(OutboxEvent.id, OutboxEvent.topic, OutboxEvent.public_id,
                  OutboxEvent.created_at, PublishedEntry, RemovalNotice, RedListEntry,
                  PublicationWithdrawal.withdrawn_on, PublicationWithdrawal.reason,
                  PublicationWithdrawal.jurisdiction.label("withdrawn_from"),
                  Jurisdiction.name_zh, Jurisdiction.name_en)
        .select_from(OutboxEvent)
        .outerjoin(PublishedEntry, (OutboxEvent.topic == "entry")
                   & (PublishedEntry.public_id == OutboxEvent.public_id))
        .outerjoin(Jurisdiction, Jurisdiction.code == PublishedEntry.jurisdiction)
        .outerjoin(RemovalNotice, (OutboxEvent.topic == "removal")
                   & (RemovalNotice.public_id == OutboxEvent.public_id))
        .outerjoin(RedListEntry, (OutboxEvent.topic == "redlist")
                   & (RedListEntry.public_id == OutboxEvent.public_id))
        .outerjoin(PublicationWithdrawal, (PublicationWithdrawal.topic == OutboxEvent.topic)
                   & (PublicationWithdrawal.public_id == OutboxEvent.public_id))
        .where(OutboxEvent.id > after)
        .order_by(OutboxEvent.id)
        .limit(limit + 1)
    ).all()
    has_more = len(rows) > limit
    rows = rows[:limit]

    young = clock.now() - settle
    accepted, previous = [], after
    for row in rows:
        gap = previous and row.id != previous + 1
        if gap and _aware(row.created_at) > young:
            has_more = False            # wait for the missing ids to commit (or to age out)
            break
        accepted.append(row)
        previous = row.id

    urls = serializers.Urls()
    reasons = serializers.translated(labels.REMOVAL_REASONS)
    latest: dict[tuple[str, str], dict] = {}
    for row in accepted:
        if codes is not None and _jurisdiction(row) not in codes:
            continue
        key = (row.topic, row.public_id)
        latest.pop(key, None)            # keep the last position of each record
        latest[key] = _item(row, urls, reasons)
    return ChangePage(list(latest.values()), accepted[-1].id if accepted else after, has_more)


def _jurisdiction(row) -> str | None:
    """The jurisdiction of a change: its record's, else its tombstone's (else unknown)."""
    for record in (row.PublishedEntry, row.RemovalNotice, row.RedListEntry):
        if record is not None:
            return record.jurisdiction
    return row.withdrawn_from


def _item(row, urls: serializers.Urls, reasons: dict) -> dict:
    item = {"type": row.topic, "public_id": row.public_id,
            "changed_at": serializers.iso(row.created_at), "deleted": True}
    data = None
    if row.topic == "entry":
        entry = row.PublishedEntry
        if entry is not None and entry.visible:
            entry.jurisdiction_names = (row.name_zh or entry.jurisdiction,
                                        row.name_en or row.name_zh or entry.jurisdiction)
            data = serializers.entry_resource(entry, urls, reasons)
    elif row.topic == "removal":
        notice = row.RemovalNotice
        if notice is not None and notice_is_public(notice):
            data = serializers.removal_resource(notice, urls, reasons)
    elif row.topic == "redlist" and row.RedListEntry is not None:
        data = serializers.redlist_resource(row.RedListEntry)
    if data is not None:
        item.update(deleted=False, data=data)
    elif row.withdrawn_on is not None:     # withdrawn from publication: say when and why
        item.update(withdrawn_on=serializers.iso(row.withdrawn_on), reason=row.reason)
    return item
