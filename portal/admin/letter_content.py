"""What each letter says: the case and the profile turned into the values a letter prints.

No number, period or rule is written in a template: terms, measures, remedies,
windows and repair conditions all come from the profile through
``portal.rules.terms`` (law as data). Reads only; changes nothing.
"""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app, url_for
from sqlalchemy.orm import Session

from portal.models import AuditEvent, Case, Letter, LetterKind, RemovalNotice, Subject
from portal.rules import terms
from portal.rules.calendar import WorkCalendar
from portal.rules.profiles import Profile
from portal.services import jurisdictions, letter_verification, rules_of
from portal.services.jurisdictions import Info

K = LetterKind
#: The body template of each letter (under templates/documents/).
TEMPLATES = {K.PRE_NOTICE: "documents/pre_notice.html",
             K.LISTING_DECISION: "documents/listing_decision.html",
             K.REMOVAL_DECISION: "documents/removal_decision.html",
             K.REPAIR_CERTIFICATE: "documents/repair_certificate.html"}


@dataclass(frozen=True)
class PartyPerson:
    role: str          # "legal_representative" | "responsible"
    name: str
    id_number: str | None


def shows_full_ids(kind: LetterKind, subject: Subject) -> bool:
    """Does this letter print a full resident ID number? (Its rendering is then audited so.)"""
    if subject.id_number:
        return True
    return kind in (K.PRE_NOTICE, K.LISTING_DECISION) and any(p.id_number for p in subject.people)


def _people(subject: Subject) -> list[PartyPerson]:
    return [PartyPerson(p.role.value, p.name, p.id_number) for p in subject.people]


def _portal(path: str) -> str:
    return current_app.config["PORTAL_BASE_URL"].rstrip("/") + path


def _authority(bureau: Info | None, profile: Profile, locale: str) -> str:
    """The bureau that decides: the case's jurisdiction's (a jurisdiction unknown here: the
    profile's, as before jurisdictions)."""
    return bureau.authority(locale) if bureau is not None else profile.authority.get(locale)


def _department(case: Case, bureau: Info | None, profile: Profile, locale: str) -> str:
    """The deciding department in the letter's language: the jurisdiction's name for it (its
    authority when the case names none or the authority itself)."""
    authority_zh = bureau.authority_zh if bureau is not None else profile.authority.zh
    if not case.department or case.department in (authority_zh, profile.authority.zh):
        return _authority(bureau, profile, locale)
    return bureau.department_label(case.department, locale) if bureau is not None else case.department


def _contact(case: Case, bureau: Info | None, locale: str) -> str:
    """The case's department's contact, else its jurisdiction's, else the configured one."""
    return (case.department_contact or (bureau.contact(locale) if bureau is not None else "")
            or current_app.config.get("PORTAL_DEPARTMENT_CONTACT", ""))


def _common(session: Session, case: Case, profile: Profile, letter: Letter, locale: str,
            code: str | None) -> dict:
    subject = case.subject
    bureau = jurisdictions.directory(session).get(case.jurisdiction)
    return {
        "case": case, "subject": subject, "profile": profile, "ground": profile.ground(case.ground),
        "letter": letter, "locale": locale, "code": code, "people": _people(subject),
        "authority": _authority(bureau, profile, locale), "document": profile.document.get(locale),
        "department": _department(case, bureau, profile, locale),
        "contact": _contact(case, bureau, locale),
        "portal_url": _portal(url_for("submit.index")),
        "party_login_url": _portal(url_for("submit.party_login")),
        # printed on every numbered letter: anyone holding it checks it at /letters/verify
        "verify_code": letter_verification.code_of(current_app.config["PORTAL_LOOKUP_KEY"], letter),
        "verify_url": _portal(url_for("public.letter_verify")),
        "identifier_hint": "id_number" if subject.id_number and not subject.uscc else "uscc",
        # between sentences of one paragraph: Chinese sets none, English one space
        "sp": " " if locale.lower().startswith("en") else "",
    }


def _pre_notice(case: Case, profile: Profile, calendar: WorkCalendar) -> dict:
    served = case.pre_notice_served_on
    return {
        "term": terms.listing_term(profile, case.ground, served, case.prior_listings),
        "measures": profile.measures_for(case.severity, case.subject.kind.value),
        "defence_window": profile.deadline("defence_window").label(),
        "defence_due_on": case.defence_due_on,
        "defence_url": _portal(url_for("submit.defence")),
    }


def _defence_filed(session: Session, case: Case) -> bool:
    """Was a statement and defence recorded (on paper or online) before the decision?"""
    return session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(
        AuditEvent.entity_type == "case", AuditEvent.entity_id == case.case_no,
        AuditEvent.action == "case.defence")) > 0


def _listing(session: Session, case: Case, profile: Profile, calendar: WorkCalendar) -> dict:
    decided = case.decided_on
    # The same dates as the public entry (one function), with today's calendar.
    dates = terms.entry_dates(profile, case.ground, decided, case.prior_listings, calendar)
    rect = terms.rectification_eligibility(profile, case.ground, decided, case.prior_listings,
                                           decided, calendar)
    repair = terms.repair_eligibility(profile, case.ground, decided, decided, dates.leaves_list_on,
                                      prior_listings=case.prior_listings, calendar=calendar)
    return {
        "term": dates.term,
        "dates": dates,
        "defence_filed": _defence_filed(session, case),
        "term_start": dates.term_start,
        "term_last_day": dates.term_last_day,
        "leaves_list_on": dates.leaves_list_on,
        "measures": profile.measures_for(case.severity, case.subject.kind.value),
        "reconsideration": profile.deadline("reconsideration").label(),
        "litigation": profile.deadline("litigation").label(),
        "rectification": rect,
        "rectification_window": profile.deadline("rectification_window").label(),
        "rectification_check": profile.deadline("rectification_check").label(),
        "rectification_url": _portal(url_for("submit.rectification")),
        "repair": repair,
        "repair_rule": profile.repair,
        "repair_check": profile.deadline("repair_check").label(),
        "repair_url": _portal(url_for("submit.repair")),
        "objection_url": _portal(url_for("submit.objection")),
        "objection_decision": profile.deadline("objection_decision").label(),
        "channels": profile.channels,
    }


def _removal(session: Session, case: Case, profile: Profile, locale: str) -> dict:
    notice = session.execute(
        sa.select(RemovalNotice).where(RemovalNotice.case_id == case.id)).scalar_one_or_none()
    decision = session.execute(
        sa.select(Letter).where(Letter.case_id == case.id, Letter.kind == K.LISTING_DECISION)
        .order_by(Letter.id).limit(1)).scalar_one_or_none()
    return {
        "reason": case.removal_reason.value if case.removal_reason else None,
        "removed_on": case.removed_on,
        "notice": notice,
        "removal_channels": [c.get(locale) for c in profile.removal_channels or profile.channels],
        "removals_url": _portal(url_for("public.removals")),
        "decision_letter": decision,
        "stops_publication": profile.repair.stops_publication,
        "certificate": profile.repair.certificate,
        "term_last_day": case.term_last_day,
        "leaves_list_on": case.leaves_list_on,
    }


def letter_context(session: Session, case: Case, profile: Profile, calendar: WorkCalendar,
                   kind: LetterKind, letter: Letter, locale: str, code: str | None) -> dict:
    """Everything the template of ``kind`` prints (``code``: None prints the copy notice), under
    the case's own profile and in the name of its jurisdiction."""
    profile = rules_of.case(case, profile)
    values = _common(session, case, profile, letter, locale, code)
    values["kind"] = kind.value
    if kind is K.PRE_NOTICE:
        values.update(_pre_notice(case, profile, calendar))
    elif kind is K.LISTING_DECISION:
        values.update(_listing(session, case, profile, calendar))
    else:
        values.update(_removal(session, case, profile, locale))
        values["repair_rule"] = profile.repair
    return values
