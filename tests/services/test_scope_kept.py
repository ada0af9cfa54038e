"""A member of staff's scope is kept for the transaction and never outlives a change of it."""
from __future__ import annotations

import sqlalchemy as sa

from portal.models import Jurisdiction, Role, StaffJurisdiction
from portal.services import jurisdictions, scope
from tests.factories import make_staff


def _county(session, admin, code: str, parent: str) -> None:
    jurisdictions.save(session, admin, code, {
        "name_zh": f"{code}区", "name_en": code.title(), "authority_zh": f"{code}区人社局",
        "authority_en": f"{code.title()} HRSS", "profile": "jiamusi", "parent_code": parent,
        "departments": [{"zh": f"{code}区稽核科", "en": "Audit"}], "contact_zh": "12333",
        "contact_en": "12333", "active": True})


def test_a_kept_scope_follows_memberships_and_jurisdictions_within_one_transaction(app, session):
    admin = make_staff(session, Role.ADMIN)
    top = session.scalar(sa.select(Jurisdiction.code).where(Jurisdiction.parent_code.is_(None)))
    _county(session, admin, "east", top)
    _county(session, admin, "west", top)
    clerk = make_staff(session, Role.CLERK, jurisdictions=("east",))
    first = scope.staff_scope(session, clerk)
    assert first.writable == {"east"}
    assert scope.staff_scope(session, clerk) is first            # asked again: kept

    jurisdictions.set_memberships(session, admin, clerk, ["west"])     # bulk delete, then add
    assert scope.staff_scope(session, clerk).writable == {"west"}
    jurisdictions.set_memberships(session, admin, clerk, [])           # a bulk delete alone
    assert scope.staff_scope(session, clerk).writable == set()

    session.add(StaffJurisdiction(staff_id=clerk.id, jurisdiction_code="east"))
    session.flush()                                                   # a row added and flushed
    assert scope.staff_scope(session, clerk).writable == {"east"}
    session.commit()

    kept = scope.staff_scope(session, clerk)
    session.execute(sa.delete(StaffJurisdiction).where(StaffJurisdiction.staff_id == clerk.id))
    assert scope.staff_scope(session, clerk) is not kept
    session.rollback()                                                # the delete undone
    assert scope.staff_scope(session, clerk).writable == {"east"}

    # a change of role is a different key; an admin reads portal-wide events
    clerk.role = Role.ADMIN
    assert scope.staff_scope(session, clerk).portal_wide
    session.rollback()
