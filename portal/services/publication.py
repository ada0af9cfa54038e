"""Write the public projection and the outbox, in the caller's transaction.

This module is the only writer of ``published_entries``, ``removal_notices``,
``red_list_entries`` and ``publication_state``, and it keeps ``publication_history`` (one row per
published listing, never deleted: :mod:`portal.services.publication_history`) in step with them in
the same transaction; it masks on the way in so that nothing downstream
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
    PublicationWithdrawal,
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
from portal.services import audit, publication_history, rules_of
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


def published_dates(dates: terms.EntryDates) -> dict:
    """The projection's date columns from :func:`portal.rules.terms.entry_dates`."""
    return {**dates.as_dict(), "dates_provisional": sorted(dates.provisional)}


def entry_values(case: Case, profile: Profile, key: str,
                 calendar: WorkCalendar | None = None) -> dict:
    """The publishable, masked fields of a listed case (SPEC §4 step 4).

    ``calendar``: the bureau's working days, so that a window ending on a rest day shows the
    day the portal really accepts (as the filing forms and the letters count it). The dates
    and the visibility follow the case's own profile."""
    profile = rules_of.case(case, profile)
    subject = case.subject
    ground = profile.ground(case.ground)
    rep = subject.legal_representative
    person = subject.kind is SubjectKind.PERSON
    dates = terms.entry_dates(profile, case.ground, case.decided_on, case.prior_listings, calendar)
    return {
        "profile": profile.code, "jurisdiction": case.jurisdiction,
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
        **published_dates(dates),
        "repeat_listing": case.prior_listings > 0,
        "corrected_on": case.corrected_on,
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
    publication_history.record_published(session, entry)
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


#: Removals after which the entry itself is no longer published: a credit repair ends its
#: publication (Order 36); an upheld objection that defeats the listing and a revoked decision
#: (Shanghai art. 9, Jiamusi art. 15) mean it should never have been published.
WITHDRAWING_REASONS = frozenset({RemovalReason.CREDIT_REPAIRED, RemovalReason.OBJECTION_UPHELD,
                                 RemovalReason.REVOKED})


def _tombstone(session: Session, topic: str, pid: str, profile: str, jurisdiction: str,
               reason: str, on: dt.date, visible: bool) -> None:
    """Queue the deletion; keep a tombstone only of a record the public could see (a hidden
    record's id and its reason stay unknown)."""
    enqueue(session, topic, "delete", pid)
    if not visible:
        return
    exists = session.execute(
        sa.select(PublicationWithdrawal.id).where(PublicationWithdrawal.topic == topic,
                                                  PublicationWithdrawal.public_id == pid)
    ).scalar_one_or_none()
    if exists is None:
        session.add(PublicationWithdrawal(topic=topic, public_id=pid, profile=profile,
                                          jurisdiction=jurisdiction,
                                          withdrawn_on=on, reason=reason, withdrawn_at=clock.now()))


def withdraw_entry(session: Session, entry: PublishedEntry, reason: str, on: dt.date) -> None:
    """Stop publishing an entry: the row goes, a tombstone stays for the feeds and the API,
    and the publication history keeps the listing (with the day it stopped being published)."""
    publication_history.record_unpublished(session, entry.public_id, on)
    _tombstone(session, "entry", entry.public_id, entry.profile, entry.jurisdiction, reason, on,
               bool(entry.visible))
    notices = session.execute(
        sa.select(RemovalNotice).where(RemovalNotice.entry_public_id == entry.public_id)
    ).scalars().all()
    for notice in notices:          # a notice no longer links to a withdrawn entry
        notice.entry_public_id = None
        notice.version += 1
        notice.updated_at = clock.now()
        enqueue(session, "removal", "upsert", notice.public_id)
    session.delete(entry)
    bump_version(session)
    session.flush()


def withdraw_notice(session: Session, notice: RemovalNotice, reason: str, on: dt.date) -> None:
    """Stop publishing a removal notice (its publication period is over)."""
    _tombstone(session, "removal", notice.public_id, notice.profile, notice.jurisdiction, reason, on,
               bool(notice.visible))
    session.delete(notice)
    bump_version(session)
    session.flush()


def publish_removal(session: Session, case: Case, profile: Profile, key: str) -> RemovalNotice:
    """Publish the removal notice (Jiamusi art. 14) and take the entry off the current list.

    After a credit repair, an upheld objection that defeated the listing, or a revoked
    decision the entry itself stops being published (:data:`WITHDRAWING_REASONS`): its
    projection row is deleted, a tombstone records why, and the notice does not link to it.
    """
    profile = rules_of.case(case, profile)
    entry = session.execute(
        sa.select(PublishedEntry).where(PublishedEntry.case_id == case.id)
    ).scalar_one_or_none()
    reason = case.removal_reason
    ground = profile.ground(case.ground)
    subject = case.subject
    keep_entry = reason not in WITHDRAWING_REASONS and entry is not None
    notice = RemovalNotice(
        public_id=removal_public_id(key, case), case_id=case.id, profile=profile.code,
        jurisdiction=case.jurisdiction,
        subject_kind=subject.kind.value, name=subject.name, code_display=_display_code(subject),
        code_hash=lookup_hash(key, subject.primary_code) if subject.primary_code else None,
        ground_code=ground.code, ground_text=ground.text.zh,
        listed_on=case.decided_on or case.removed_on, removed_on=case.removed_on,
        reason=reason.value, department=case.department,
        entry_public_id=entry.public_id if keep_entry else None,
        visible=is_visible(profile, case.ground, subject.kind),
    )
    session.add(notice)
    publication_history.record_removal(session, case, notice,
                                       entry.public_id if entry else entry_public_id(key, case))
    if entry is not None:
        if keep_entry:
            entry.status, entry.removed_on, entry.removal_reason = "removed", case.removed_on, reason.value
            entry.under_objection = False
            entry.version += 1
            entry.updated_at = clock.now()
            enqueue(session, "entry", "upsert", entry.public_id)
        else:
            withdraw_entry(session, entry, reason.value, case.removed_on)
    enqueue(session, "removal", "upsert", notice.public_id)
    bump_version(session)
    session.flush()
    return notice


#: Rows read (and withdrawn) at a time by the daily job.
END_CHUNK = 1000


def end_expired_publication(session: Session, profile_for, today: dt.date,
                            after_chunk=None) -> list[str]:
    """Withdraw the removal notices, and the entries kept with them, whose publication period
    (profile ``[publication] removal_notice_period``) ended before ``today``. Idempotent.

    ``profile_for``: profile code -> Profile. Returns the public ids withdrawn. Rows are read
    ``END_CHUNK`` at a time; ``after_chunk`` (the daily job: commit) is called after each, so a
    large backlog neither holds every row in memory nor keeps the database locked until the end."""
    withdrawn: list[str] = []
    for model in (RemovalNotice, PublishedEntry):
        codes = session.execute(sa.select(model.profile).distinct()).scalars().all()
        for code in codes:
            period = profile_for(code).removal_notice_period
            if period is None:
                continue
            # rows removed within the shortest possible length of the period cannot be due;
            # withdrawn rows are gone, so each run reads only the few rows near the boundary
            shortest = {"days": 1, "months": 28, "years": 365}[period.unit] * period.amount
            where = [model.profile == code, model.removed_on.is_not(None),
                     model.removed_on < today - dt.timedelta(days=shortest)]
            if model is PublishedEntry:
                where.append(PublishedEntry.status == "removed")
            last = 0
            while rows := session.execute(sa.select(model).where(*where, model.id > last)
                                          .order_by(model.id).limit(END_CHUNK)).scalars().all():
                last = rows[-1].id
                withdrawn += _end_rows(session, profile_for(code), rows, today)
                if after_chunk is not None:
                    after_chunk()
    return withdrawn


def _end_rows(session: Session, profile: Profile, rows: list, today: dt.date) -> list[str]:
    done = []
    for row in rows:
        last_day = terms.removal_publication_last_day(profile, row.removed_on)
        if last_day is None or today <= last_day:
            continue
        # Published up to and including its last day: no longer published from the next day,
        # whenever the job runs (as a term's end is the day after its last day).
        ended_on = last_day + dt.timedelta(days=1)
        if isinstance(row, RemovalNotice):
            withdraw_notice(session, row, "period_ended", ended_on)
            topic = "removal"
        else:
            withdraw_entry(session, row, "period_ended", ended_on)
            topic = "entry"
        audit.record(session, audit.SYSTEM, "publication.withdraw", topic, row.public_id,
                     {"reason": "period_ended", "removed_on": row.removed_on,
                      "last_day": last_day, "withdrawn_on": ended_on})
        done.append(row.public_id)
    return done


def publish_red_list_entry(session: Session, key: str, profile: Profile, subject, seed: str,
                           criteria: list[str], admitted_on: dt.date,
                           valid_until: dt.date | None,
                           jurisdiction: str | None = None) -> RedListEntry:
    """A unit admitted to the 守信红名单 (its code is a USCC: units only); ``seed`` makes the id."""
    entry = RedListEntry(
        public_id=public_id(key, "G", f"{profile.code}:{seed}"), profile=profile.code,
        jurisdiction=jurisdiction or profile.code,
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
