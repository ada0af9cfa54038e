"""What a member of staff or an integration client may see and change: the one home of it.

Jiamusi art. 3–4: the bureau that decides a listing answers for it (谁认定、谁负责). A member
of staff works for the jurisdictions of their memberships (``StaffJurisdiction``):

* **writable**: exactly those jurisdictions: a city bureau does not decide its counties' cases;
* **readable**: those and every jurisdiction below them (``Directory.below``): a city bureau
  reads its counties' work, and a member of the province (the top of the tree) reads all;
* admins also read the portal-wide audit events (accounts, the calendar: no jurisdiction);
* a portal with one jurisdiction is a single city's: its members read and change everything
  in it, exactly as before there were jurisdictions (``Scope.everything``).

An integration client acts for its one jurisdiction (``ApiClient.jurisdiction``) the same
way. Services that change a record call :func:`require` (or :func:`require_actor`) with the
record's jurisdiction and raise :class:`PermissionDenied`; the back office and the API ask
the same :class:`Scope` before they show or change anything, and :func:`record_refusal`
writes the audit event of a refused attempt.
"""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from portal.models import ApiClient, Jurisdiction, Role, StaffJurisdiction, StaffUser
from portal.services import audit, jurisdictions
from portal.services.permissions import PermissionDenied

#: The audit action of an attempt to read or change another jurisdiction's record.
REFUSED = "jurisdiction.refused"


class OutOfScope(PermissionDenied):
    """The record belongs to a jurisdiction the actor does not work for."""

    def __init__(self, jurisdiction: str | None):
        super().__init__(f"jurisdiction {jurisdiction} is outside the actor's scope")
        self.jurisdiction = jurisdiction


@dataclass(frozen=True)
class Scope:
    readable: frozenset[str]
    writable: frozenset[str]
    #: May read events that concern no jurisdiction (accounts, the calendar): admins.
    portal_wide: bool = False
    #: A member of the one jurisdiction of a single-city portal: every record is its own.
    everything: bool = False

    def can_read(self, code: str | None) -> bool:
        return self.everything or (code is not None and code in self.readable)

    def can_write(self, code: str | None) -> bool:
        return self.everything or (code is not None and code in self.writable)

    def where(self, column, *, write: bool = False):
        """SQL condition: ``column`` (a jurisdiction code) in the readable (writable) set."""
        if self.everything:
            return sa.true()
        return column.in_(sorted(self.writable if write else self.readable))

    def filter(self, stmt: sa.Select, column, *, write: bool = False) -> sa.Select:
        return stmt.where(self.where(column, write=write))

    def can_read_portal_wide(self, code: str | None) -> bool:
        """:meth:`can_read`, and a record of no jurisdiction for admins (:meth:`audit_where`)."""
        return self.can_read(code) or (code is None and self.portal_wide)

    def audit_where(self, column):
        """The readable jurisdictions, and records of none for admins: portal-wide audit
        events (accounts, the calendar), organisations' webhooks (an organisation's account
        belongs to no bureau)."""
        condition = self.where(column)
        if self.everything:
            return condition if self.portal_wide else column.is_not(None)
        return sa.or_(condition, column.is_(None)) if self.portal_wide else condition

    @property
    def writable_sorted(self) -> list[str]:
        return sorted(self.writable)


NOBODY = Scope(frozenset(), frozenset())


def scope_of(session: Session, codes, *, portal_wide: bool = False) -> Scope:
    """The scope of someone who works for ``codes``."""
    codes = set(codes)
    directory = jurisdictions.directory(session)
    writable = frozenset(code for code in codes if directory.get(code) is not None)
    single = directory.single and any(directory.get(code).active for code in writable)
    return Scope(frozenset(directory.below(writable)), writable, portal_wide, everything=single)


def staff_scope(session: Session, user: StaffUser | None) -> Scope:
    """What ``user`` may read and change (nobody: nothing).

    Kept for the rest of the transaction (a filing's steps ask it several times; seeding the
    demo city asked it ~4,000 times, a fifth of the time): forgotten at commit and rollback,
    and as soon as the transaction writes a membership or a jurisdiction (:func:`_forget`)."""
    if user is None or getattr(user, "id", None) is None:
        return NOBODY
    known = session.info.setdefault(_KEPT, {})
    key = (user.id, user.role)
    found = known.get(key)
    if found is None:
        found = known[key] = scope_of(session, jurisdictions.memberships(session, user),
                                      portal_wide=user.role is Role.ADMIN)
    return found


_KEPT = "portal.staff_scopes"
_SHAPING = (StaffJurisdiction, Jurisdiction)


def _forget(session: Session, *_args) -> None:
    session.info.pop(_KEPT, None)


event.listen(Session, "after_commit", _forget)
event.listen(Session, "after_rollback", _forget)
event.listen(Session, "after_soft_rollback", _forget)


@event.listens_for(Session, "after_flush")
def _forget_when_written(session: Session, _context) -> None:
    if _KEPT in session.info and any(isinstance(obj, _SHAPING) for obj in (
            *session.new, *session.dirty, *session.deleted)):
        _forget(session)


@event.listens_for(Session, "do_orm_execute")
def _forget_when_changed(state) -> None:
    """A bulk UPDATE or DELETE of memberships or jurisdictions (``set_memberships`` deletes
    them all before adding the new ones), or one the session cannot name."""
    if _KEPT in state.session.info and (state.is_update or state.is_delete):
        mapper = state.bind_mapper
        if mapper is None or issubclass(mapper.class_, _SHAPING):
            _forget(state.session)


def client_scope(session: Session, client: ApiClient) -> Scope:
    """An integration client reads its jurisdiction and those below it, and writes its own."""
    return scope_of(session, [client.jurisdiction] if client.jurisdiction else [])


def require(session: Session, user: StaffUser | None, code: str | None) -> None:
    """Raise :class:`OutOfScope` unless ``user`` may change records of ``code``.

    ``None`` is the system (expiry, the worker): it acts for every jurisdiction.
    """
    if user is None:
        return
    if not staff_scope(session, user).can_write(code):
        raise OutOfScope(code)


def require_actor(session: Session, actor: audit.Actor | None, code: str | None) -> None:
    """:func:`require` for an audit actor: staff are checked; parties and the system are not
    (their own checks are their query codes and the schedule)."""
    if actor is None or actor.staff_id is None:
        return
    require(session, session.get(StaffUser, actor.staff_id), code)


def require_client(session: Session, client: ApiClient, code: str | None) -> None:
    if not client_scope(session, client).can_write(code):
        raise OutOfScope(code)


def record_refusal(session: Session, actor: audit.Actor, entity_type: str, entity_id: object,
                   jurisdiction: str | None, data: dict | None = None):
    """The audit event of a refused cross-jurisdiction attempt (flushes; the caller commits).

    It carries the jurisdiction of the record that was asked for: the bureau that owns it
    sees who tried.
    """
    return audit.record(session, actor, REFUSED, entity_type, entity_id,
                        {"jurisdiction": jurisdiction, **(data or {})},
                        jurisdiction=jurisdiction)
