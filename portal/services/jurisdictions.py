"""Jurisdictions: seeding from the profiles, the directory every page reads, and their edits.

A jurisdiction is data (``portal.models.jurisdictions``): the admin configures it; this module
seeds it from a profile (names, authority, the configured contact), gives the read side a
``Directory`` (an immutable snapshot: by code, the tree, each one's profile) and records every
change with an audit event. A change bumps the publication version: public pages show names and
contacts, and their caches are keyed by that version.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from portal import clock
from portal.models import Jurisdiction, StaffJurisdiction, StaffUser
from portal.rules.profiles import Profile, UnknownProfile, load_profile
from portal.services import audit
from portal.services.publication import bump_version

#: A code: lower-case letters, digits and hyphens, starting with a letter (it appears in URLs).
CODE_PATTERN = re.compile(r"^[a-z][a-z0-9-]{1,19}$")


class JurisdictionError(ValueError):
    """A jurisdiction that cannot be saved as given (``code`` names the problem)."""

    def __init__(self, code: str, **params) -> None:
        super().__init__(code)
        self.code, self.params = code, params


@dataclass(frozen=True)
class Info:
    """What the read side needs of one jurisdiction (detached from any session)."""

    code: str
    name_zh: str
    name_en: str
    authority_zh: str
    authority_en: str
    profile: str
    parent_code: str | None
    departments: tuple[tuple[str, str], ...]
    contact_zh: str
    contact_en: str
    active: bool

    def name(self, locale) -> str:
        return (self.name_en or self.name_zh) if str(locale).startswith("en") else self.name_zh

    def authority(self, locale) -> str:
        if str(locale).startswith("en"):
            return self.authority_en or self.authority_zh
        return self.authority_zh

    def contact(self, locale) -> str:
        return (self.contact_en or self.contact_zh) if str(locale).startswith("en") else self.contact_zh

    def department_names(self, locale) -> list[str]:
        en = str(locale).startswith("en")
        return [(e or z) if en else z for z, e in self.departments]

    def department_label(self, department: str, locale) -> str:
        """A case's department (stored in Chinese) in the reader's language."""
        if str(locale).startswith("en"):
            for zh, en in self.departments:
                if zh == department and en:
                    return en
        return department

    @property
    def rules(self) -> Profile:
        return load_profile(self.profile)


@dataclass(frozen=True)
class Directory:
    """Every jurisdiction, in order, with the tree; one snapshot per publication version."""

    items: tuple[Info, ...]
    by_code: dict = field(default_factory=dict)

    @classmethod
    def of(cls, rows) -> Directory:
        items = tuple(_info(row) for row in rows)
        return cls(items, {item.code: item for item in items})

    def get(self, code: str | None) -> Info | None:
        return self.by_code.get(code) if code else None

    @property
    def active(self) -> list[Info]:
        return [item for item in self.items if item.active]

    @property
    def single(self) -> bool:
        """One jurisdiction: the portal looks like a single city's (no choice, no facet)."""
        return len(self.active) <= 1

    def children(self, code: str | None) -> list[Info]:
        return [item for item in self.items if item.parent_code == code]

    def below(self, codes) -> set[str]:
        """The codes given and every jurisdiction under them."""
        found, todo = set(), list(codes)
        while todo:
            code = todo.pop()
            if code in found or code not in self.by_code:
                continue
            found.add(code)
            todo.extend(child.code for child in self.children(code))
        return found

    def profile_of(self, code: str) -> Profile:
        info = self.get(code)
        if info is None:
            raise UnknownProfile(code)
        return info.rules


def _info(row: Jurisdiction) -> Info:
    departments = tuple((str(d.get("zh", "")), str(d.get("en", "")))
                        for d in (row.departments or []) if isinstance(d, dict) and d.get("zh"))
    return Info(row.code, row.name_zh, row.name_en or "", row.authority_zh or "",
                row.authority_en or "", row.profile, row.parent_code, departments,
                row.contact_zh or "", row.contact_en or "", bool(row.active))


def directory(session: Session) -> Directory:
    """Read every jurisdiction (callers cache it per publication version)."""
    rows = session.execute(sa.select(Jurisdiction).order_by(Jurisdiction.position,
                                                             Jurisdiction.code)).scalars().all()
    return Directory.of(rows)


def values_from_profile(profile: Profile, contact: str = "", code: str | None = None) -> dict:
    return {"code": code or profile.code, "name_zh": profile.name.zh, "name_en": profile.name.en,
            "authority_zh": profile.authority.zh, "authority_en": profile.authority.en,
            "profile": profile.code,
            "departments": [{"zh": profile.authority.zh, "en": profile.authority.en}],
            "contact_zh": contact, "contact_en": contact}


def ensure_seeded(session: Session, profile_code: str, contact: str = "") -> Jurisdiction:
    """The jurisdiction of ``profile_code`` (seeded from its profile when absent); flushes.

    The schema migration, the demo and the tests' fresh databases call this: a new single-city
    portal has its one bureau. Nothing is published yet, so the publication stays as it is
    (an admin adding a jurisdiction to a running portal goes through :func:`save`).
    """
    found = session.get(Jurisdiction, profile_code)
    if found is not None:
        return found
    position = session.scalar(sa.select(sa.func.count()).select_from(Jurisdiction)) or 0
    row = Jurisdiction(**values_from_profile(load_profile(profile_code), contact),
                       position=position, active=True)
    session.add(row)
    session.flush()
    return row


def only_code(session: Session) -> str | None:
    """The code of the one active jurisdiction, when there is exactly one."""
    codes = session.execute(sa.select(Jurisdiction.code).where(Jurisdiction.active)
                            .limit(2)).scalars().all()
    return codes[0] if len(codes) == 1 else None


def memberships(session: Session, user: StaffUser) -> list[str]:
    return list(session.execute(
        sa.select(StaffJurisdiction.jurisdiction_code)
        .where(StaffJurisdiction.staff_id == user.id)
        .order_by(StaffJurisdiction.jurisdiction_code)).scalars())


def set_memberships(session: Session, admin: StaffUser, user: StaffUser, codes) -> None:
    """Make ``user`` work for exactly ``codes`` (audited); flushes."""
    wanted = sorted(set(codes))
    known = set(session.execute(sa.select(Jurisdiction.code)
                                .where(Jurisdiction.code.in_(wanted))).scalars())
    unknown = [code for code in wanted if code not in known]
    if unknown:
        raise JurisdictionError("unknown_jurisdiction", codes=", ".join(unknown))
    before = memberships(session, user)
    if before == wanted:
        return
    session.execute(sa.delete(StaffJurisdiction).where(StaffJurisdiction.staff_id == user.id))
    session.add_all(StaffJurisdiction(staff_id=user.id, jurisdiction_code=c) for c in wanted)
    session.flush()
    audit.record(session, audit.Actor.staff(admin), "staff.jurisdictions", "staff",
                 user.username, {"from": before, "to": wanted})


EDITABLE = ("name_zh", "name_en", "authority_zh", "authority_en", "profile", "parent_code",
            "departments", "contact_zh", "contact_en", "position", "active")


def _check(session: Session, code: str, values: dict) -> None:
    if not values.get("name_zh"):
        raise JurisdictionError("name_required")
    try:
        load_profile(values["profile"])
    except (UnknownProfile, KeyError):
        raise JurisdictionError("unknown_profile", profile=values.get("profile", "")) from None
    parent = values.get("parent_code")
    seen = {code}
    while parent:
        if parent in seen:
            raise JurisdictionError("parent_cycle")
        row = session.get(Jurisdiction, parent)
        if row is None:
            raise JurisdictionError("unknown_jurisdiction", codes=parent)
        seen.add(parent)
        parent = row.parent_code


def save(session: Session, admin: StaffUser, code: str, values: dict) -> Jurisdiction:
    """Create the jurisdiction ``code`` or change it (admin; audited; bumps publication)."""
    code = (code or "").strip()
    if not CODE_PATTERN.match(code):
        raise JurisdictionError("bad_code")
    values = {key: values[key] for key in EDITABLE if key in values}
    row = session.get(Jurisdiction, code)
    merged = {key: getattr(row, key) for key in EDITABLE} if row is not None else {}
    merged.update(values)
    _check(session, code, merged)
    before = {key: getattr(row, key) for key in EDITABLE} if row is not None else None
    if row is None:
        row = Jurisdiction(code=code, **merged)
        session.add(row)
    else:
        for key, value in values.items():
            setattr(row, key, value)
    row.updated_at = clock.now()
    session.flush()
    after = {key: getattr(row, key) for key in EDITABLE}
    changed = {key: after[key] for key in EDITABLE if before is None or before[key] != after[key]}
    if changed:
        audit.record(session, audit.Actor.staff(admin),
                     "jurisdiction.create" if before is None else "jurisdiction.update",
                     "jurisdiction", code, changed)
        bump_version(session)
    return row


def member_counts(session: Session) -> dict[str, int]:
    """Members of staff working for each jurisdiction."""
    return dict(session.execute(
        sa.select(StaffJurisdiction.jurisdiction_code, sa.func.count())
        .group_by(StaffJurisdiction.jurisdiction_code)).all())
