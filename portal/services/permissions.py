"""Who may take a step: the actor of a step in the services, or :class:`PermissionDenied`.

The services enforce it (the views and templates ask ``portal.admin.access``); cases,
red-list proposals, letters, staff and assignments raise the same exception.
"""
from __future__ import annotations

from portal.models import Role, StaffUser
from portal.services import audit
from portal.services.audit import Actor


class PermissionDenied(Exception):
    """The actor may not take this step (role, the four-eyes rule, or another bureau's record:
    ``portal.services.scope.OutOfScope``)."""


def require_role(user: StaffUser | None, *roles: Role) -> Actor:
    """The actor for a step; ``None`` is the system (expiry). Admins manage accounts and the
    calendar but take no case steps: deciding stays with the roles the procedure names."""
    if user is None:
        return audit.SYSTEM
    if user.role not in roles:
        raise PermissionDenied(f"role {user.role.value} may not do this")
    return Actor.staff(user)
