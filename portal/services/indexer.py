"""Keep a search index in step with the public projection, by tailing the outbox.

Every host keeps its own index and its own worker. The index records how far into the
outbox it has applied (:class:`Position`), in the same commit as the documents, so any
number of indexes tail the outbox independently and one that was down catches up from
where it stopped. ``rebuild`` regenerates an index from the projection, ``check``
compares the two. Documents are built from the projection only, so nothing
unpublished or unmasked can reach the index.

Outbox ids are handed out when a row is inserted, but transactions commit in their own
order: an id may become visible after a higher one. As in the change feed
(``portal.services.change_log``), a gap in the ids holds the position back until the row after
the gap is ``settle`` old (older gaps are rolled-back or pruned ids); rows applied
beyond the gap are remembered in the position, so they are not applied twice.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import socket
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from portal import clock
from portal.models import IndexReplica, OutboxEvent, PublishedEntry, RemovalNotice
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


#: How long an id gap holds the position back (``PORTAL_CHANGES_SETTLE_SECONDS``).
SETTLE = dt.timedelta(seconds=60)


@dataclass(frozen=True)
class Position:
    """Every outbox id up to ``low`` is applied (or was never committed), and so are the
    ids in ``above`` (runs of ids beyond a gap that has not settled yet)."""

    low: int = 0
    above: frozenset[int] = frozenset()

    @classmethod
    def of(cls, value: dict | None) -> Position | None:
        if not isinstance(value, dict) or not isinstance(value.get("low"), int):
            return None
        above = set()
        for run in value.get("above") or ():
            if isinstance(run, list) and len(run) == 2 and all(isinstance(i, int) for i in run):
                above.update(range(run[0], run[1] + 1))
        return cls(value["low"], frozenset(i for i in above if i > value["low"]))

    def as_dict(self) -> dict:
        runs: list[list[int]] = []
        for i in sorted(self.above):
            if runs and runs[-1][1] == i - 1:
                runs[-1][1] = i
            else:
                runs.append([i, i])
        return {"low": self.low, "above": runs}

    def advance(self, rows, now: dt.datetime, settle: dt.timedelta) -> Position:
        """The position after applying *rows* ((id, created_at) after ``low``, in id order)."""
        low, seen = self.low, set(self.above) | {row[0] for row in rows}
        for row_id, created_at in rows:
            if row_id <= low:
                continue
            if row_id != low + 1 and now - _aware(created_at) < settle:
                break                       # ids before it may still commit
            low = row_id
        return Position(low, frozenset(i for i in seen if i > low))


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def position_of(index) -> Position | None:
    """Where *index* stands in the outbox (None: an index written before positions were
    kept, or none: it must be rebuilt)."""
    return Position.of(index.position()) if index.exists() else None


def sync(session: Session, index, batch: int = 500, settle: dt.timedelta = SETTLE) -> int:
    """Apply the outbox rows after the index's position, in order, at most *batch*; returns
    how many rows were applied. The documents and the new position are one index commit,
    so a crash repeats nothing and loses nothing."""
    position = position_of(index) or Position()
    rows = session.execute(
        sa.select(OutboxEvent.id, OutboxEvent.created_at, OutboxEvent.public_id)
        .where(OutboxEvent.id > position.low).order_by(OutboxEvent.id).limit(batch)
    ).all()
    fresh = [row for row in rows if row.id not in position.above]
    after = position.advance([(row.id, row.created_at) for row in rows], clock.now(), settle)
    if not fresh and after == position:
        return 0
    wanted = {row.public_id for row in fresh}
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
    index.apply(upserts, deletes, after.as_dict())

    return len(fresh)


def pending(session: Session, position: Position | None) -> int:
    """Outbox rows the index has not applied yet."""
    low = position.low if position else 0
    count = session.scalar(sa.select(sa.func.count(OutboxEvent.id))
                           .where(OutboxEvent.id > low)) or 0
    return max(0, count - (len(position.above) if position else 0))


def replica_name(index_dir, configured: str | None = None) -> str:
    """This host's index as the other hosts see it: ``PORTAL_REPLICA_NAME``, else the host
    name and a short hash of the index directory (two indexes on one host differ)."""
    if configured:
        return configured[:100]
    digest = hashlib.blake2b(str(index_dir).encode(), digest_size=4).hexdigest()
    return f"{socket.gethostname()[:80]}:{digest}"


def report(session: Session, name: str, index) -> IndexReplica:
    """Record where this host's index stands (flushes; the caller commits)."""
    position = position_of(index)
    behind = pending(session, position)
    row = session.get(IndexReplica, name)
    if row is None:
        row = IndexReplica(name=name)
        session.add(row)
    row.position, row.pending, row.seen_at = position.low if position else 0, behind, clock.now()
    session.flush()
    return row


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


def rebuild(session: Session, index, processes: int | None = None,
            settle: dt.timedelta = SETTLE) -> int:
    """Regenerate the index from the projection, positioned in the outbox so that the next
    sync applies only what the projection could not yet show.

    ``processes``: how many build a large index (``PORTAL_INDEX_BUILD_PROCESSES``; None or 0:
    one per core, at most 4; see ``search_index.parallel``)."""
    # Where the documents read from now on stand: past every row old enough to have
    # committed; the later ones are applied again by the next sync (idempotent).
    settled = session.scalar(sa.select(sa.func.max(OutboxEvent.id))
                             .where(OutboxEvent.created_at <= clock.now() - settle)) or 0
    count = index.rebuild(all_documents(session), total=expected_count(session),
                          parts=processes or None, position=Position(settled).as_dict())
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


# --------------------------------------------------------------------------
# The index against the projection (the worker's check, /healthz)
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class IndexState:
    exists: bool
    documents: int
    expected: int
    pending: int
    current: bool = True          # written with today's analysis

    @property
    def lost(self) -> bool:
        """Missing (even for an empty projection: search needs an index to answer "nothing
        found"), or fewer documents than the projection even after the pending outbox rows."""
        return not self.exists or self.documents + self.pending < self.expected

    def as_dict(self) -> dict:
        return {"exists": self.exists, "documents": self.documents, "expected": self.expected,
                "pending": self.pending, "current": self.current}


def index_state(session, index, expected: int | None = None) -> IndexState:
    """``expected``: the projection's document count, when the caller has it cached.
    An index that does not know its place in the outbox (written before positions were
    kept) is not current: it is rebuilt."""
    # The projection first, then the outbox: a publication in between adds an outbox row,
    # so it can only make the index look ahead, never behind.
    expected = expected_count(session) if expected is None else expected
    position = position_of(index)
    exists = index.exists()
    return IndexState(exists=exists, documents=index.doc_count() if exists else 0,
                      expected=expected, pending=pending(session, position),
                      current=not exists or (index.current() and position is not None))
