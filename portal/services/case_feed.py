"""The case feed: every step of every case, in the order of the audit chain.

The one source of the integration API's ``GET /changes`` and of the webhooks
(``portal.services.webhooks``): both hand out the same items, so a business
system may follow either. Identity-card numbers leave masked only; a case's
external reference is shown to the client that opened it only.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from portal import clock, cursors
from portal.models import AuditEvent, Case, Subject, SubjectKind
from portal.rules import identifiers
from portal.services import integration
from portal.services.scope import Scope
from portal.services.serializers import iso


def _term(case: Case) -> dict:
    """The term's last day (still listed) and the day the subject leaves the list."""
    return {"term_last_day": iso(case.term_last_day), "leaves_list_on": iso(case.leaves_list_on)}


def _decided_term(case: Case, data: dict) -> dict:
    """The term as decided (from the audit event; events before 2026-12 recorded ``term_end``,
    the day the subject leaves the list)."""
    leaves = data.get("leaves_list_on") or data.get("term_end")
    if leaves is None:
        return _term(case)
    leaves_on = dt.date.fromisoformat(str(leaves)[:10])
    return {"term_last_day": iso(leaves_on - dt.timedelta(days=1)), "leaves_list_on": iso(leaves_on)}


def subject_code(subject: Subject) -> str:
    """The code a business system may see: an organisation's, or a person's ID masked."""
    if subject.kind is SubjectKind.PERSON:
        return identifiers.mask_ric(subject.id_number) if subject.id_number else ""
    return subject.uscc or subject.org_code or subject.reg_no or ""


def _subject(subject: Subject) -> dict:
    return {"kind": subject.kind.value, "name": subject.name, "code": subject_code(subject)}


# --------------------------------------------------------------------------
# The case feed
# --------------------------------------------------------------------------

#: audit action -> (event name, state after the event; None: the event changes no state)
EVENTS = {
    "case.open": ("opened", "opened"),
    "case.pre_notice": ("pre_notice_served", "pre_noticed"),
    "case.defence": ("defence_filed", "defence_filed"),
    "case.review": ("reviewed", "reviewed"),
    "case.propose": ("listing_proposed", "proposed"),
    "case.send_back": ("sent_back", "reviewed"),
    "case.decide": ("listing_decided", "decided"),
    "case.drop": ("dropped", "dropped"),
    "case.publish": ("published", "published"),
    "case.share": ("shared", None),
    "case.remove": ("removed", "removed"),
    "case.share_removal": ("removal_shared", None),
}
#: the date an event takes effect, from its audit data (else the day it was recorded)
DATE_KEYS = ("served_on", "received_on", "decided_on", "published_on", "shared_on", "removed_on")


def encode_cursor(position: int) -> str:
    return cursors.encode("i1", str(position))


def decode_cursor(value: str | None) -> int | None:
    """0 when absent, the position, or None for a cursor we did not make."""
    if value is None:
        return 0
    text = cursors.decode(value, "i1") or ""
    return int(text) if text.isdigit() and len(text) <= 18 else None


@dataclass
class FeedPage:
    items: list
    position: int
    has_more: bool
    #: the id of each item's subject (the webhooks keep one subject's events in order)
    subject_ids: list = field(default_factory=list)


def _local_day(at: dt.datetime) -> dt.date:
    return clock.local(at).date()


def _own_ref(stored: str | None, client_id: int | None) -> str | None:
    """``"<system>:<record id>"`` of a case the client itself opened; None for any other."""
    if client_id is None or integration.ref_owner(stored) != client_id:
        return None
    system, record_id = integration.public_ref(stored)
    return f"{system}:{record_id}"


def feed(session: Session, after: int, limit: int, client_id: int | None = None,
         scope: Scope | None = None) -> FeedPage:
    """Case events after audit position ``after``, oldest first (one query).

    ``external_ref`` is shown to the client that opened the case only
    (``client_id``): references are the client's own (another client may use
    the same one for its own record).

    Positions are the audit chain's ``seq``: ``portal.services.audit.record``
    locks the chain's head row until its transaction ends, so positions are
    handed out in commit order and a rolled-back transaction gives its
    position back. A reader therefore never sees position n+1 before n, and
    a cursor can never jump over an event that commits later.
    """
    rows = session.execute(
        sa.select(AuditEvent.seq, AuditEvent.action, AuditEvent.at, AuditEvent.data, Case, Subject)
        .join(Case, Case.case_no == AuditEvent.entity_id)
        .join(Subject, Subject.id == Case.subject_id)
        .where(AuditEvent.seq > after, AuditEvent.entity_type == "case",
               AuditEvent.action.in_(list(EVENTS)),
               scope.where(Case.jurisdiction) if scope is not None else sa.true())
        .order_by(AuditEvent.seq).limit(limit + 1)
    ).all()
    has_more = len(rows) > limit
    rows = rows[:limit]
    items, subject_ids = [], []
    for row in rows:
        event, state = EVENTS[row.action]
        data = row.data or {}
        day = next((data[k] for k in DATE_KEYS if data.get(k)), None)
        if day is None:
            day = iso(row.Case.opened_on) if row.action == "case.open" else iso(_local_day(row.at))
        item = {"position": row.seq, "case_no": row.Case.case_no, "event": event, "state": state,
                "date": str(day)[:10], "recorded_at": iso(row.at),
                "ground_code": row.Case.ground, "severity": row.Case.severity,
                "origin": row.Case.origin.value, "external_ref": _own_ref(row.Case.external_ref, client_id),
                "subject": _subject(row.Subject)}
        if row.action == "case.decide":
            item.update(_decided_term(row.Case, data))
        if row.action == "case.remove":
            item["removal_reason"] = data.get("reason")
        items.append(item)
        subject_ids.append(row.Subject.id)
    return FeedPage(items, rows[-1].seq if rows else after, has_more, subject_ids)
