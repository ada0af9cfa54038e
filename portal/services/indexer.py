"""Keep the search index in step with the public projection.

One process (``flask --app wsgi worker``) drains the outbox into the index;
``rebuild`` regenerates it from the projection, ``check`` compares the two.
Documents are built from the projection only, so nothing unpublished or
unmasked can reach the index.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from portal import clock
from portal.models import OutboxEvent, PublishedEntry, RemovalNotice
from portal.rules.identifiers import mask_ric_numbers


def entry_document(entry: PublishedEntry) -> dict:
    return {
        "id": entry.public_id, "kind": "entry", "version": f"e{entry.version}",
        "name": entry.name, "codes": [entry.code_display, *entry.extra_codes],
        "code_hashes": [entry.code_hash] if entry.code_hash else [],
        "ground": entry.ground_code, "ground_text": entry.ground_text,
        "subject_kind": entry.subject_kind, "severity": entry.severity,
        "year": entry.listing_year, "listed_on": entry.listed_on,
        # The projection is masked already; masked again so no row written before the
        # detector knew a shape reaches a search snippet.
        "department": entry.department, "facts": mask_ric_numbers(entry.facts),
        "removal_reason": None, "jurisdiction": entry.jurisdiction,
    }


def removal_document(notice: RemovalNotice) -> dict:
    return {
        "id": notice.public_id, "kind": "removal", "version": f"r{notice.version}",
        "name": notice.name, "codes": [notice.code_display],
        "code_hashes": [notice.code_hash] if notice.code_hash else [],
        "ground": notice.ground_code, "ground_text": notice.ground_text,
        "subject_kind": notice.subject_kind, "severity": "",
        "year": notice.removed_on.year, "listed_on": notice.listed_on,
        "department": notice.department, "facts": "", "removal_reason": notice.reason,
        "jurisdiction": notice.jurisdiction,
    }


INDEXED_ENTRIES = (PublishedEntry.status == "listed") & PublishedEntry.visible.is_(True)


def _entries(session: Session, public_ids: list[str]) -> dict[str, PublishedEntry]:
    rows = session.execute(
        sa.select(PublishedEntry).where(PublishedEntry.public_id.in_(public_ids), INDEXED_ENTRIES)
    ).scalars()
    return {row.public_id: row for row in rows}


def _removals(session: Session, public_ids: list[str]) -> dict[str, RemovalNotice]:
    rows = session.execute(
        sa.select(RemovalNotice).where(RemovalNotice.public_id.in_(public_ids),
                                       RemovalNotice.visible.is_(True))
    ).scalars()
    return {row.public_id: row for row in rows}


def sync(session: Session, index, batch: int = 500) -> int:
    """Apply pending outbox rows in order; returns how many rows were processed.

    The index write happens before the rows are marked, so a crash in between
    only repeats idempotent upserts/deletes.
    """
    events = session.execute(
        sa.select(OutboxEvent).where(OutboxEvent.processed_at.is_(None))
        .order_by(OutboxEvent.id).limit(batch)
    ).scalars().all()
    if not events:
        return 0
    wanted = {e.public_id for e in events}
    entries = _entries(session, [i for i in wanted if i.startswith("E")])
    removals = _removals(session, [i for i in wanted if i.startswith("R")])
    upserts, deletes = [], []
    for pid in sorted(wanted):
        if pid in entries:
            upserts.append(entry_document(entries[pid]))
        elif pid in removals:
            upserts.append(removal_document(removals[pid]))
        else:
            deletes.append(pid)       # deleted or no longer listed/visible
    if upserts:
        index.upsert(upserts)
    if deletes:
        index.delete(deletes)
    now = clock.now()
    for event in events:
        event.processed_at = now
    session.flush()
    return len(events)


def all_documents(session: Session, chunk: int = 5000):
    """Every indexable document, streamed in primary-key order."""
    for model, build, where in (
        (PublishedEntry, entry_document, INDEXED_ENTRIES),
        (RemovalNotice, removal_document, RemovalNotice.visible.is_(True)),
    ):
        last = 0
        while True:
            rows = session.execute(
                sa.select(model).where(where, model.id > last).order_by(model.id).limit(chunk)
            ).scalars().all()
            if not rows:
                break
            for row in rows:
                yield build(row)
            last = rows[-1].id
            session.expunge_all()


def rebuild(session: Session, index, processes: int | None = None) -> int:
    """Regenerate the index from the projection; pending outbox rows are then moot.

    ``processes``: how many build a large index (``PORTAL_INDEX_BUILD_PROCESSES``; None or 0:
    one per core, at most 4; see ``search_index.parallel``)."""
    started = clock.now()
    count = index.rebuild(all_documents(session), total=expected_count(session),
                          parts=processes or None)
    session.execute(
        sa.update(OutboxEvent).where(OutboxEvent.processed_at.is_(None),
                                     OutboxEvent.created_at <= started)
        .values(processed_at=clock.now())
    )
    session.flush()
    return count


@dataclass
class Comparison:
    missing: list[str] = field(default_factory=list)   # in the projection, not in the index
    extra: list[str] = field(default_factory=list)     # in the index, not in the projection
    stale: list[str] = field(default_factory=list)     # different version

    @property
    def ok(self) -> bool:
        return not (self.missing or self.extra or self.stale)


def expected_count(session: Session) -> int:
    """How many documents the index should hold: the indexed entries and visible removal notices."""
    entries = session.scalar(sa.select(sa.func.count(PublishedEntry.id)).where(INDEXED_ENTRIES)) or 0
    notices = session.scalar(sa.select(sa.func.count(RemovalNotice.id))
                             .where(RemovalNotice.visible.is_(True))) or 0
    return entries + notices


def check(session: Session, index) -> Comparison:
    expected: dict[str, str] = {}
    for public_id, version in session.execute(
        sa.select(PublishedEntry.public_id, PublishedEntry.version).where(INDEXED_ENTRIES)
    ):
        expected[public_id] = f"e{version}"
    for public_id, version in session.execute(
        sa.select(RemovalNotice.public_id, RemovalNotice.version).where(RemovalNotice.visible.is_(True))
    ):
        expected[public_id] = f"r{version}"
    actual = index.ids()
    result = Comparison()
    result.missing = sorted(set(expected) - set(actual))
    result.extra = sorted(set(actual) - set(expected))
    result.stale = sorted(i for i in set(expected) & set(actual) if expected[i] != actual[i])
    return result
