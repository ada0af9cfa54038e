"""Pruning the outbox without taking a change from anyone who reads it.

The outbox is read by every host's index (each from its own position) and by
``/api/v1/changes`` readers (from their cursors). Both want each record's *current*
state after their position, never its intermediate versions. So a row may go when

- it is older than the retention (``PORTAL_OUTBOX_RETENTION_DAYS``): change-feed readers
  that poll within the retention see every row as it was written;
- every registered index replica has passed it;
- a later row of the same record exists: whoever reads past it reads that later row,
  and with it the record's current state.

A reader that comes back after longer than the retention therefore still gets every
record changed since its position (once, at its latest row): nothing is lost, only
intermediate rows it would have skipped anyway. A replica not seen for longer than the
retention stops holding pruning back (it is deregistered); when it comes back it catches
up the same way, and its worker re-registers it.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from portal.models import IndexReplica, OutboxEvent

#: ids per DELETE statement (short transactions beside the publication's writes)
CHUNK = 5000


@dataclass(frozen=True)
class Pruned:
    rows: int
    through: int | None          # every replica has passed this id (None: no replica)
    deregistered: list[str]


def prune(session: Session, now: dt.datetime, retention: dt.timedelta,
          after_chunk=None) -> Pruned:
    """Delete the superseded rows every replica has passed and the retention allows.
    ``after_chunk``: called after each chunk (the worker commits there)."""
    horizon = now - retention
    gone = session.scalars(sa.select(IndexReplica.name).where(IndexReplica.seen_at < horizon)).all()
    if gone:
        session.execute(sa.delete(IndexReplica).where(IndexReplica.name.in_(gone)))
        session.flush()
    through = session.scalar(sa.select(sa.func.min(IndexReplica.position)))
    if through is None:
        return Pruned(0, None, list(gone))
    newest_old = session.scalar(sa.select(sa.func.max(OutboxEvent.id))
                                .where(OutboxEvent.created_at < horizon)) or 0
    upto = min(through, newest_old)
    start = session.scalar(sa.select(sa.func.min(OutboxEvent.id))) or 0
    later = aliased(OutboxEvent)
    deleted = 0
    while start <= upto:
        stop = min(upto, start + CHUNK - 1)
        superseded = sa.exists().where(later.topic == OutboxEvent.topic,
                                       later.public_id == OutboxEvent.public_id,
                                       later.id > OutboxEvent.id)
        result = session.execute(
            sa.delete(OutboxEvent)
            .where(OutboxEvent.id >= start, OutboxEvent.id <= stop,
                   OutboxEvent.created_at < horizon, superseded)
            .execution_options(synchronize_session=False))
        deleted += result.rowcount or 0
        session.flush()
        if after_chunk is not None:
            after_chunk()
        start = stop + 1
    return Pruned(deleted, through, list(gone))
