"""Register the subject of a new case (SPEC §2): validated identifiers, keyed hashes.

An organisation is found again by its unified social credit code (or a
legacy code), a person by the keyed hash of the ID number, so a second case
about the same party reuses its record (and the repeat-listing rule sees it).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from portal import clock
from portal.models import PersonRole, RelatedPerson, StaffUser, Subject, SubjectKind
from portal.rules import identifiers
from portal.rules.profiles import UNIT_KINDS
from portal.security import lookup_hash
from portal.services import audit
from portal.services.audit import Actor


class SubjectError(ValueError):
    """``field`` names the form field; ``code`` is machine-readable."""

    def __init__(self, field_name: str, code: str):
        self.field, self.code = field_name, code
        super().__init__(f"{field_name}: {code}")


@dataclass(frozen=True)
class PersonInput:
    name: str
    id_number: str | None = None


@dataclass(frozen=True)
class SubjectInput:
    kind: SubjectKind
    name: str
    uscc: str | None = None
    org_code: str | None = None
    reg_no: str | None = None
    id_number: str | None = None
    address: str | None = None
    unit_kind: str | None = None     # organisations: one of UNIT_KINDS (None: not stated)
    legal_rep: PersonInput | None = None
    responsible: tuple[PersonInput, ...] = field(default_factory=tuple)


def _valid(value: str | None, validator, field_name: str) -> str | None:
    if not value or not value.strip():
        return None
    try:
        return validator(value)
    except identifiers.InvalidIdentifier as exc:
        raise SubjectError(field_name, exc.reason) from None


def _existing(session: Session, kind: SubjectKind, key: str, uscc, org_code, reg_no, id_number):
    if kind is SubjectKind.PERSON:
        where = Subject.id_hash == lookup_hash(key, id_number)
    elif uscc:
        where = Subject.uscc == uscc
    elif org_code:
        where = (Subject.org_code == org_code) & Subject.uscc.is_(None)
    else:
        where = (Subject.reg_no == reg_no) & Subject.uscc.is_(None)
    return session.execute(sa.select(Subject).where(Subject.kind == kind, where).limit(1)).scalar()


def validate_ric_today(value: str) -> str:
    """A resident ID number, its birth date not after the bureau's day."""
    return identifiers.validate_ric(value, today=clock.today())


def register_subject(session: Session, user: StaffUser | Actor, key: str,
                     data: SubjectInput) -> tuple[Subject, bool]:
    """The subject for a new case: an existing record with the same code, or a new one.

    ``user``: the member of staff, or the :class:`Actor` of a business system (the API).

    Returns ``(subject, created)``.  Raises :class:`SubjectError` for a missing
    or invalid identifier (never echoing the number).
    """
    name = (data.name or "").strip()
    if not name:
        raise SubjectError("name", "required")
    if data.kind is SubjectKind.PERSON:
        id_number = _valid(data.id_number, validate_ric_today, "id_number")
        if id_number is None:
            raise SubjectError("id_number", "required")
        uscc = org_code = reg_no = None
    else:
        id_number = None
        uscc = _valid(data.uscc, identifiers.validate_uscc, "uscc")
        org_code = _valid(data.org_code, identifiers.validate_org_code, "org_code")
        reg_no = _valid(data.reg_no, identifiers.validate_reg_no, "reg_no")
        if uscc and not org_code:
            org_code = identifiers.org_code_from_uscc(uscc)
        if not (uscc or org_code or reg_no):
            raise SubjectError("uscc", "required")
    unit_kind = None
    if data.kind is SubjectKind.ORGANISATION:
        unit_kind = (data.unit_kind or "").strip() or None
    if unit_kind is not None and unit_kind not in UNIT_KINDS:
        raise SubjectError("unit_kind", "invalid")
    people = []
    if data.kind is SubjectKind.ORGANISATION:
        rep = data.legal_rep
        if rep is None or not rep.name.strip():
            raise SubjectError("legal_rep_name", "required")
        rep_id = _valid(rep.id_number, validate_ric_today, "legal_rep_id")
        if rep_id is None:
            raise SubjectError("legal_rep_id", "required")
        people.append((PersonRole.LEGAL_REPRESENTATIVE, rep.name.strip(), rep_id))
        for i, other in enumerate(data.responsible):
            if not other.name.strip() and not (other.id_number or "").strip():
                continue
            if not other.name.strip():
                raise SubjectError(f"responsible-{i}-name", "required")
            other_id = _valid(other.id_number, validate_ric_today, f"responsible-{i}-id_number")
            people.append((PersonRole.RESPONSIBLE, other.name.strip(), other_id))

    found = _existing(session, data.kind, key, uscc, org_code, reg_no, id_number)
    if found is not None:
        if unit_kind is not None and found.unit_kind is None:
            # the kind of unit is recorded once, when first stated; other stored details stay
            found.unit_kind = unit_kind
            audit.record(session, user if isinstance(user, Actor) else Actor.staff(user),
                         "subject.unit_kind", "subject", found.id, {"unit_kind": unit_kind})
            session.flush()
        return found, False
    subject = Subject(kind=data.kind, name=name[:200], uscc=uscc, org_code=org_code, reg_no=reg_no,
                      id_number=id_number,
                      id_hash=lookup_hash(key, id_number) if id_number else None,
                      address=(data.address or "").strip()[:300] or None, unit_kind=unit_kind)
    for role, person_name, number in people:
        subject.people.append(RelatedPerson(
            role=role, name=person_name[:100], id_number=number,
            id_hash=lookup_hash(key, number) if number else None))
    session.add(subject)
    session.flush()
    actor = user if isinstance(user, Actor) else Actor.staff(user)
    audit.record(session, actor, "subject.create", "subject", subject.id,
                 {"kind": data.kind.value, "people": len(people),
                  **({"unit_kind": unit_kind} if unit_kind else {})})
    return subject, True


def set_unit_kind(session: Session, user: StaffUser, subject: Subject, unit_kind: str) -> bool:
    """State or correct an organisation's kind of unit (audited); ``False`` if unchanged.

    Findings already recorded stay as they are; new findings follow the new kind."""
    if subject.kind is not SubjectKind.ORGANISATION:
        raise SubjectError("unit_kind", "not_for_kind")
    if unit_kind not in UNIT_KINDS:
        raise SubjectError("unit_kind", "invalid")
    if subject.unit_kind == unit_kind:
        return False
    before, subject.unit_kind = subject.unit_kind, unit_kind
    audit.record(session, Actor.staff(user), "subject.unit_kind", "subject", subject.id,
                 {"from": before, "to": unit_kind})
    session.flush()
    return True
