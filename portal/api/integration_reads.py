"""Read side of the integration API: the warning (预警) for one subject, and the case feed
(:mod:`portal.services.case_feed`, which the webhooks read too).

Both read the *write model* (cases, subjects): the callers are the bureau's
own business, finance, audit and internal-control systems (Zhengzhou §三),
which must also see listings that are not published (persons under a profile
that publishes no individuals, grades below the public threshold) and
procedures still running. Identity-card numbers leave masked only.
"""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from portal.models import (
    Case,
    GradeFinding,
    RedListEntry,
    RelatedPerson,
    Subject,
)
from portal.rules import grades, identifiers
from portal.rules.profiles import load_profile
from portal.rules.workflow import LISTED_STATES, CaseState
from portal.security import lookup_hash
from portal.services import credit_scores
from portal.services.case_feed import (
    DATE_KEYS,
    EVENTS,
    FeedPage,
    _subject,
    _term,
    decode_cursor,
    encode_cursor,
    feed,
    subject_code,
)
from portal.services.cases import ANNULLING_REASONS
from portal.services.scope import Scope
from portal.services.serializers import iso

C = CaseState
PENDING_STATES = (C.OPENED, C.PRE_NOTICED, C.DEFENCE_FILED, C.REVIEWED, C.PROPOSED)
__all__ = ["DATE_KEYS", "EVENTS", "FeedPage", "decode_cursor", "encode_cursor", "feed", "status",
           "subject_code"]


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
