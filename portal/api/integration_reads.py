"""Read side of the integration API: the warning (预警) for one subject, and the case feed.

Both read the *write model* (cases, subjects): the callers are the bureau's
own business, finance, audit and internal-control systems (Zhengzhou §三),
which must also see listings that are not published (persons under a profile
that publishes no individuals, grades below the public threshold) and
procedures still running. Identity-card numbers leave masked only.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from portal import clock, cursors
from portal.models import (
    AuditEvent,
    Case,
    GradeFinding,
    RedListEntry,
    RelatedPerson,
    Subject,
    SubjectKind,
)
from portal.rules import grades, identifiers
from portal.rules.profiles import load_profile
from portal.rules.workflow import LISTED_STATES, CaseState
from portal.security import lookup_hash
from portal.services import credit_scores, integration
from portal.services.cases import ANNULLING_REASONS
from portal.services.scope import Scope
from portal.services.serializers import iso

C = CaseState
PENDING_STATES = (C.OPENED, C.PRE_NOTICED, C.DEFENCE_FILED, C.REVIEWED, C.PROPOSED)



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


def _ground(case: Case) -> tuple[str, list[str]]:
    """Ground text (Chinese) and the codes of the profile's measures for the case's severity."""
    try:
        profile = load_profile(case.profile)
        text = profile.ground(case.ground).text.zh
    except (KeyError, ValueError):
        return case.ground, []
    measures = [m.code for m in profile.measures_for(case.severity, case.subject.kind.value)]
    return text, measures


# --------------------------------------------------------------------------
# Status (预警)
# --------------------------------------------------------------------------

def _subjects_for(session: Session, key: str, kind: str, number: str) -> list[Subject]:
    if kind == "ric":
        where = Subject.id_hash == lookup_hash(key, number)
    elif kind == "uscc":
        # Old records of the same unit may carry only its organisation code (USCC chars 9–17).
        where = sa.or_(Subject.uscc == number, (Subject.org_code == number[8:17])
                       & Subject.uscc.is_(None))
    elif kind == "org_code":
        where = Subject.org_code == number
    else:
        where = Subject.reg_no == number
    return list(session.execute(sa.select(Subject).where(where)).scalars())


def status(session: Session, key: str, kind: str, number: str, today: dt.date,
           scope: Scope, recent: dt.timedelta, jurisdiction: str | None = None) -> dict:
    """The warning answer for one identifier (see the OpenAPI description of /status), from
    the records of the jurisdictions the client reads (``scope``); the credit score is the
    one of the client's bureau (``jurisdiction``), when its rules have one.

    A removal within ``recent`` of ``today`` is reported as recently removed (annulled
    listings were wrong: never reported); ``PORTAL_INTEGRATION_RECENT_REMOVAL_DAYS``."""
    found = _subjects_for(session, key, kind, number)
    related: dict[int, str] = {}
    if kind == "ric":
        rows = session.execute(sa.select(RelatedPerson.subject_id, RelatedPerson.role).where(
            RelatedPerson.id_hash == lookup_hash(key, number))).all()
        related = {row.subject_id: row.role.value for row in rows}
    own = {s.id for s in found}
    ids = own | set(related)
    case_rows = list(session.execute(
        sa.select(Case).join(Case.subject).where(Case.subject_id.in_(ids),
                                                 scope.where(Case.jurisdiction))
        .order_by(Case.opened_on, Case.id)).scalars()) if ids else []
    red = list(session.execute(
        sa.select(RedListEntry).where(RedListEntry.subject_id.in_(own),
                                      scope.where(RedListEntry.jurisdiction),
                                      RedListEntry.removed_on.is_(None),
                                      sa.or_(RedListEntry.valid_until.is_(None),
                                             RedListEntry.valid_until >= today))
        .order_by(RedListEntry.admitted_on)).scalars()) if own else []

    listings, pending, removed, linked = [], [], [], []
    for case in case_rows:
        text, measures = _ground(case)
        base = {"case_no": case.case_no, "state": case.state.value, "ground_code": case.ground,
                "ground_text": text, "severity": case.severity, "subject": _subject(case.subject)}
        listed = case.state in LISTED_STATES and (case.leaves_list_on is None or case.leaves_list_on > today)
        if case.subject_id not in own:
            if listed:
                linked.append({**base, "role": related[case.subject_id], **_term(case)})
            continue
        if listed:
            listings.append({**base, "decided_on": iso(case.decided_on),
                             "published_on": iso(case.published_on),
                             "term_start": iso(case.term_start), **_term(case),
                             "measures": measures})
        elif case.state in PENDING_STATES:
            pending.append({**base, "opened_on": iso(case.opened_on),
                            "pre_notice_served_on": iso(case.pre_notice_served_on),
                            "defence_due_on": iso(case.defence_due_on)})
        elif (case.state is C.REMOVED and case.removed_on is not None
              and case.removal_reason not in ANNULLING_REASONS
              and case.removed_on > today - recent):
            removed.append({**base, "removed_on": iso(case.removed_on),
                            "removal_reason": case.removal_reason.value, **_term(case)})
    grade = _credit_grade(session, own, today, scope)
    reasons = [code for code, hit in (
        ("listed", listings), ("pending_procedure", pending),
        ("related_person_of_listed_subject", linked), ("credit_grade", grade is not None)) if hit]
    warning = "block" if listings else "flag" if reasons else "none"
    return {
        "query": {"kind": kind, "code_masked": identifiers.mask_identifier(number)},
        "warning": warning,
        "warning_reasons": reasons,
        "listed": bool(listings),
        "known_subject": bool(found),
        "listings": listings,
        "pending": pending,
        "recently_removed": removed,
        "related_listings": linked,
        "credit_grade": grade,
        "credit_score": credit_scores.summary(
            credit_scores.credit_score_of(session, own, today, scope, jurisdiction)),
        "red_list": [{"public_id": r.public_id, "name": r.name, "code": r.code_display,
                      "criteria": list(r.criteria or []), "admitted_on": iso(r.admitted_on),
                      "valid_until": iso(r.valid_until)} for r in red],
        "checked_on": iso(today),
    }


def _credit_grade(session: Session, own: set[int], today: dt.date, scope: Scope) -> dict | None:
    """The worst grade (Zhengzhou §四) among the subject's findings that count today, or None."""
    if not own:
        return None
    findings = list(session.execute(
        sa.select(GradeFinding).where(GradeFinding.subject_id.in_(own),
                                      scope.where(GradeFinding.jurisdiction))).scalars())
    best = None
    for code in sorted({f.profile for f in findings}):
        found = grades.standing([f for f in findings if f.profile == code], today,
                                load_profile(code))
        if found.grade is not None and (best is None or grades.rank(found.grade)
                                        > grades.rank(best[0].grade)):
            best = (found, code)
    if best is None:
        return None
    found, code = best
    return {"grade": found.grade, "profile": code, "until": iso(found.until),
            "behaviours": sorted({f.behaviour_code for f in found.counting})}


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
    items = []
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
    return FeedPage(items, rows[-1].seq if rows else after, has_more)
