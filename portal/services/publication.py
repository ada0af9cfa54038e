"""Write the public projection and the outbox, in the caller's transaction.

This module is the only writer of ``published_entries``, ``removal_notices``,
``red_list_entries`` and ``publication_state``; it masks on the way in so that nothing downstream
(pages, exports, feeds, API, index) can leak a full ID number.
"""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from portal import clock
from portal.models import (
    Case,
    OutboxEvent,
    PublicationState,
    PublishedEntry,
    RedListEntry,
    RemovalNotice,
    SubjectKind,
)
from portal.rules import terms
from portal.rules.calendar import WorkCalendar
from portal.rules.identifiers import mask_identifier, mask_ric, mask_ric_numbers
from portal.rules.profiles import Profile
from portal.rules.workflow import RemovalReason
from portal.security import lookup_hash, public_id
from portal.services import audit
from portal.services.calendar import load_calendar


def bump_version(session: Session) -> int:
    """Advance the publication version (ETag / Last-Modified of public pages)."""
    audit.serialise(session)   # the lock order of every writer: audit head, then this row
    state = session.get(PublicationState, 1, with_for_update=True)
    if state is None:
        state = PublicationState(id=1, version=0)
        session.add(state)
    state.version += 1
    state.changed_at = clock.now()
    return state.version


def enqueue(session: Session, topic: str, action: str, pid: str) -> None:
    session.add(OutboxEvent(topic=topic, action=action, public_id=pid))


def entry_public_id(key: str, case: Case) -> str:
    return public_id(key, "E", case.case_no)


def removal_public_id(key: str, case: Case) -> str:
    return public_id(key, "R", case.case_no)


def _display_code(subject) -> str:
    code = subject.primary_code or ""
    return mask_identifier(code) if subject.kind is SubjectKind.PERSON else code


def is_visible(profile: Profile, ground_code: str, subject_kind: SubjectKind) -> bool:
    """May this listing appear on public pages? (A person only where the profile publishes persons.)"""
    ground = profile.ground(ground_code)
    return ground.public and (subject_kind is not SubjectKind.PERSON or profile.publish_individuals)


def entry_values(case: Case, profile: Profile, key: str,
                 calendar: WorkCalendar | None = None) -> dict:
    """The publishable, masked fields of a listed case (SPEC §4 step 4).

    ``calendar``: the bureau's working days, so that a window ending on a rest day shows the
    day the portal really accepts (as the filing forms and the letters count it)."""
    subject = case.subject
    ground = profile.ground(case.ground)
    rep = subject.legal_representative
    person = subject.kind is SubjectKind.PERSON
    rect = terms.rectification_eligibility(profile, case.ground, case.decided_on,
                                           case.prior_listings, case.decided_on, calendar)
    repair = terms.repair_eligibility(profile, case.ground, case.decided_on, case.decided_on,
                                      case.term_end, prior_listings=case.prior_listings,
                                      calendar=calendar)
    return {
        "profile": profile.code,
        "subject_kind": subject.kind.value,
        "name": subject.name,
        "code_display": _display_code(subject),
        "code_hash": lookup_hash(key, subject.primary_code) if subject.primary_code else None,
        "extra_codes": [c for c in (subject.org_code, subject.reg_no) if c and not person],
        "legal_rep_name": rep.name if rep else None,
        "legal_rep_id_masked": mask_ric(rep.id_number) if rep and rep.id_number else None,
        "ground_code": ground.code,
        "ground_text": ground.text.zh,
        "ground_text_en": ground.text.en,
        "severity": ground.severity,
        # Free text is written by staff and by business systems: an ID number in it is masked.
        "facts": mask_ric_numbers(case.facts),
        "reasons": mask_ric_numbers(case.reasons),
        "legal_basis": mask_ric_numbers(ground.legal_basis.zh),
        "document_no": case.document_no,
        "department": case.department,
        "department_contact": case.department_contact,
        "listed_on": case.decided_on,
        "listing_year": case.decided_on.year,
        "term_start": case.term_start,
        "term_end": case.term_end,
        "repeat_listing": case.prior_listings > 0,
        "rectification_closes_on": rect.closes_on if rect.allowed else None,
        "repair_opens_on": repair.opens_on if profile.repair.allowed else None,
        "visible": is_visible(profile, case.ground, subject.kind),
    }


def publish_entry(session: Session, case: Case, profile: Profile, key: str,
                  published_on: dt.date) -> PublishedEntry:
    """Create or refresh the public entry of a listed case."""
    values = entry_values(case, profile, key, load_calendar(session))
    entry = session.execute(
        sa.select(PublishedEntry).where(PublishedEntry.case_id == case.id)
    ).scalar_one_or_none()
    if entry is None:
        entry = PublishedEntry(case_id=case.id, public_id=entry_public_id(key, case),
                               published_on=published_on, version=0, **values)
        session.add(entry)
    else:
        for name, value in values.items():
            setattr(entry, name, value)
    entry.version = (entry.version or 0) + 1
    entry.updated_at = clock.now()
    enqueue(session, "entry", "upsert", entry.public_id)
    bump_version(session)
    session.flush()
    return entry


def set_objection_marker(session: Session, case: Case, pending: bool) -> None:
    """Show or clear the public "under objection" marker of a published entry."""
    entry = session.execute(
        sa.select(PublishedEntry).where(PublishedEntry.case_id == case.id)
    ).scalar_one_or_none()
    if entry is None or entry.under_objection == pending:
        return
    entry.under_objection = pending
    entry.version += 1
    entry.updated_at = clock.now()
    enqueue(session, "entry", "upsert", entry.public_id)
    bump_version(session)
    session.flush()


def publish_removal(session: Session, case: Case, profile: Profile, key: str) -> RemovalNotice:
    """Publish the removal notice (Jiamusi art. 14) and take the entry off the current list.

    After a credit repair the entry itself stops being published (Order 36):
    its projection row is deleted and the notice no longer links to it.
    """
    entry = session.execute(
        sa.select(PublishedEntry).where(PublishedEntry.case_id == case.id)
    ).scalar_one_or_none()
    reason = case.removal_reason
    ground = profile.ground(case.ground)
    subject = case.subject
    keep_entry = reason is not RemovalReason.CREDIT_REPAIRED and entry is not None
    notice = RemovalNotice(
        public_id=removal_public_id(key, case), case_id=case.id, profile=profile.code,
        subject_kind=subject.kind.value, name=subject.name, code_display=_display_code(subject),
        code_hash=lookup_hash(key, subject.primary_code) if subject.primary_code else None,
        ground_code=ground.code, ground_text=ground.text.zh,
        listed_on=case.decided_on or case.removed_on, removed_on=case.removed_on,
        reason=reason.value, department=case.department,
        entry_public_id=entry.public_id if keep_entry else None,
        visible=is_visible(profile, case.ground, subject.kind),
    )
    session.add(notice)
    if entry is not None:
        if keep_entry:
            entry.status, entry.removed_on, entry.removal_reason = "removed", case.removed_on, reason.value
            entry.under_objection = False
            entry.version += 1
            entry.updated_at = clock.now()
            enqueue(session, "entry", "upsert", entry.public_id)
        else:
            enqueue(session, "entry", "delete", entry.public_id)
            session.delete(entry)
    enqueue(session, "removal", "upsert", notice.public_id)
    bump_version(session)
    session.flush()
    return notice


def publish_red_list_entry(session: Session, key: str, profile: Profile, subject, seed: str,
                           criteria: list[str], admitted_on: dt.date,
                           valid_until: dt.date | None) -> RedListEntry:
    """A unit admitted to the 守信红名单 (its code is a USCC: units only); ``seed`` makes the id."""
    entry = RedListEntry(
        public_id=public_id(key, "G", f"{profile.code}:{seed}"), profile=profile.code,
        subject_id=subject.id, name=subject.name,
        code_display=subject.uscc or subject.org_code or subject.reg_no or "",
        criteria=list(criteria), admitted_on=admitted_on, valid_until=valid_until, updated_at=clock.now())
    session.add(entry)
    enqueue(session, "redlist", "upsert", entry.public_id)
    bump_version(session)
    session.flush()
    return entry


def remove_red_list_entry(session: Session, entry: RedListEntry, reason: str, removed_on: dt.date) -> None:
    """Take a unit off the red list (the public row keeps the date and the reason code)."""
    entry.removed_on, entry.removal_reason, entry.updated_at = removed_on, reason, clock.now()
    enqueue(session, "redlist", "upsert", entry.public_id)
    bump_version(session)
    session.flush()
