"""Append to and verify the hash-chained audit log."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from portal import clock
from portal.models import AuditEvent, AuditHead, StaffUser

GENESIS = "0" * 64


@dataclass(frozen=True)
class Actor:
    """Who did something: a staff user, or a label for parties, the public and the system."""

    label: str
    staff_id: int | None = None

    @classmethod
    def staff(cls, user: StaffUser) -> Actor:
        return cls(f"staff:{user.username}", user.id)


SYSTEM = Actor("system")
PUBLIC = Actor("public")
PARTY = Actor("party")


def _digest(prev_hash: str, seq: int, at: dt.datetime, actor: str, action: str,
            entity_type: str, entity_id: str, data: dict) -> str:
    payload = json.dumps(
        [prev_hash, seq, _iso(at), actor, action, entity_type, entity_id, data],
        ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def _iso(at: dt.datetime) -> str:
    # SQLite hands back naive datetimes; both databases store UTC.
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.timezone.utc)
    return at.astimezone(dt.timezone.utc).isoformat(timespec="microseconds")


def serialise(session: Session) -> None:
    """Lock the chain's head now, as :func:`record` will: a transaction that numbers a
    document or case waits here for another one doing the same, so two never take the same
    number; and every writer takes the head before the publication version (one lock order).
    """
    session.execute(sa.select(AuditHead.id).where(AuditHead.id == 1).with_for_update())


def _owners():
    """Entity types whose rows carry a jurisdiction: the model and the column ``entity_id`` names."""
    from portal.models import (
        ApiClient,
        Case,
        GradeFinding,
        ImportBatch,
        PublishedEntry,
        RedListEntry,
        RedListProposal,
        ScoreGradeTable,
        Submission,
    )

    return {"case": (Case, Case.case_no), "submission": (Submission, Submission.receipt_no),
            "import_batch": (ImportBatch, ImportBatch.id),
            "grade_finding": (GradeFinding, GradeFinding.finding_no),
            "red_list_proposal": (RedListProposal, RedListProposal.proposal_no),
            "red_list_entry": (RedListEntry, RedListEntry.public_id),
            "score_table": (ScoreGradeTable, ScoreGradeTable.table_no),
            "entry": (PublishedEntry, PublishedEntry.public_id),
            "api_client": (ApiClient, ApiClient.name)}


def jurisdiction_of(session: Session, entity_type: str, entity_id: object) -> str | None:
    """The jurisdiction of the record an event concerns (None: portal-wide)."""
    if entity_type == "jurisdiction":
        return str(entity_id)
    owner = _owners().get(entity_type)
    if owner is None:
        return None
    model, column = owner
    for obj in session.identity_map.values():     # usually just written by the caller
        if isinstance(obj, model) and str(getattr(obj, column.key)) == str(entity_id):
            return obj.jurisdiction
    value = str(entity_id) if column.type.python_type is str else entity_id
    with session.no_autoflush:
        return session.execute(sa.select(model.jurisdiction).where(column == value)).scalar()


def record(session: Session, actor: Actor, action: str, entity_type: str,
           entity_id: object, data: dict | None = None,
           jurisdiction: str | None = None) -> AuditEvent:
    """Append one event. The head row is locked so concurrent appenders serialise.

    ``jurisdiction``: whose record it concerns (read from the record when not given); the
    audit views show a member of staff only the events of their jurisdictions.
    """
    if jurisdiction is None:
        jurisdiction = jurisdiction_of(session, entity_type, entity_id)
    head = session.execute(
        sa.select(AuditHead).where(AuditHead.id == 1).with_for_update()
    ).scalar_one_or_none()
    if head is None:
        head = AuditHead(id=1, seq=0, hash=GENESIS)
        session.add(head)
    clean = json.loads(json.dumps(data or {}, ensure_ascii=False, default=str))
    at = clock.now()
    seq = head.seq + 1
    digest = _digest(head.hash, seq, at, actor.label, action, entity_type, str(entity_id), clean)
    event = AuditEvent(
        seq=seq, at=at, actor_id=actor.staff_id, actor_label=actor.label, action=action,
        entity_type=entity_type, entity_id=str(entity_id), data=clean, jurisdiction=jurisdiction,
        prev_hash=head.hash, hash=digest,
    )
    head.seq, head.hash = seq, digest
    session.add(event)
    session.flush()
    return event


@dataclass(frozen=True)
class Problem:
    seq: int
    message: str


def verify(session: Session, batch: int = 5000) -> list[Problem]:
    """Recompute the chain; report changed, removed or reordered rows and a moved head."""
    problems: list[Problem] = []
    prev, expected_seq = GENESIS, 1
    last_id = 0
    while True:
        rows = session.execute(
            sa.select(AuditEvent.id, AuditEvent.seq, AuditEvent.at, AuditEvent.actor_label,
                      AuditEvent.action, AuditEvent.entity_type, AuditEvent.entity_id,
                      AuditEvent.data, AuditEvent.prev_hash, AuditEvent.hash)
            .where(AuditEvent.id > last_id).order_by(AuditEvent.id).limit(batch)
        ).all()
        if not rows:
            break
        for ev in rows:
            if ev.seq != expected_seq:
                problems.append(Problem(ev.seq, f"expected position {expected_seq}, found {ev.seq} "
                                                "(row removed or reordered)"))
            if ev.prev_hash != prev:
                problems.append(Problem(ev.seq, "previous-hash link broken"))
            digest = _digest(ev.prev_hash, ev.seq, ev.at, ev.actor_label, ev.action,
                             ev.entity_type, ev.entity_id, ev.data)
            if digest != ev.hash:
                problems.append(Problem(ev.seq, "content changed (hash mismatch)"))
            prev, expected_seq, last_id = ev.hash, ev.seq + 1, ev.id
    head = session.execute(sa.select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1)).first()
    if head is not None and (head.seq != expected_seq - 1 or head.hash != prev):
        problems.append(Problem(head.seq, "chain head does not match the last row (tail removed)"))
    return problems
