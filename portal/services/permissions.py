"""Who may take a step, and why not: the verdict the services enforce and the pages ask.

Each aggregate answers for its own steps with pure functions over the actor and the record
(``portal.services.case_steps``, ``filing_steps``, ``grade_steps``): the back office renders
what they allow and the services refuse what they do not, so a button is offered exactly
when the step succeeds. A :class:`Verdict` says whether a step is allowed and, when it is
not, of which kind the refusal is:

* ``forbidden`` — who the actor is (role, the four-eyes rule): :class:`PermissionDenied`, 403;
* ``timing`` — not yet (the defence window is open, the repair window has not opened): 409;
* ``conflict`` — the step applies, but a linked record's state prevents it (a filing whose
  case has moved on): 409;
* ``state`` — the step does not apply in the record's state at all: not offered, 409.

``reason`` is a code (``role``, ``four_eyes``, ``defence_window`` …); the back office maps
it to a translated text, so this layer holds no user-facing strings. ``None`` as the actor
is the system (expiry, a business system): it takes any step its state and time allow.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from portal.models import Role, StaffUser
from portal.services import audit
from portal.services.audit import Actor

FORBIDDEN, TIMING, CONFLICT, STATE = "forbidden", "timing", "conflict", "state"
#: Roles that handle cases and filings (the admin manages accounts and the calendar).
CASE_ROLES = (Role.CLERK, Role.REVIEWER, Role.APPROVER)
#: Who reads the outgoing mail to filers and sends a failed message again (``/admin/mail``).
MAIL_ROLES = (Role.ADMIN,)
#: Who reads the webhooks' endpoints, dead letters and log and delivers again (``/admin/webhooks``).
WEBHOOK_ROLES = (Role.ADMIN,)
#: Who reads the organisations' accounts and closes or reopens one (``/admin/organisations``).
SUBSCRIBER_ROLES = (Role.ADMIN,)


class PermissionDenied(Exception):
    """The actor may not take this step (role, the four-eyes rule, or another bureau's record:
    ``portal.services.scope.OutOfScope``); ``verdict`` says which step and why."""

    def __init__(self, message: str = "", verdict: Verdict | None = None):
        super().__init__(message)
        self.verdict = verdict


@dataclass(frozen=True)
class Verdict:
    """May the actor take ``step`` now? ``roles``: who may; ``until``: the date a timing
    refusal ends on; ``detail``: a code the reason carries (a removal problem …)."""

    step: str
    allowed: bool = True
    refusal: str | None = None
    reason: str | None = None
    roles: tuple[Role, ...] = ()
    until: dt.date | None = None
    detail: str | None = None

    @property
    def forbidden(self) -> bool:
        return self.refusal == FORBIDDEN

    @property
    def applies(self) -> bool:
        """Does the step belong to the record's state (shown, allowed or with its reason)?"""
        return self.refusal != STATE

    def renamed(self, step: str) -> Verdict:
        return Verdict(step, self.allowed, self.refusal, self.reason, self.roles, self.until,
                       self.detail)


def allow(step: str, roles: tuple[Role, ...] = ()) -> Verdict:
    return Verdict(step, True, roles=roles)


def refuse(step: str, refusal: str, reason: str, *, roles: tuple[Role, ...] = (),
           until: dt.date | None = None, detail: str | None = None) -> Verdict:
    return Verdict(step, False, refusal, reason, roles, until, detail)


def by_role(step: str, user: StaffUser | None, roles: Iterable[Role]) -> Verdict:
    """Allowed for the system and for staff of ``roles``; else forbidden (reason ``role``)."""
    roles = tuple(roles)
    if user is None or user.role in roles:
        return allow(step, roles)
    return refuse(step, FORBIDDEN, "role", roles=roles)


def four_eyes(step: str, user: StaffUser | None, other_id: int | None,
              roles: tuple[Role, ...]) -> Verdict | None:
    """Refusal when ``user`` is the one who prepared (proposed) what they would sign."""
    if user is not None and other_id is not None and user.id == other_id:
        return refuse(step, FORBIDDEN, "four_eyes", roles=roles)
    return None


def actor_of(user: StaffUser | None) -> Actor:
    return audit.SYSTEM if user is None else Actor.staff(user)


def deny(verdict: Verdict) -> PermissionDenied:
    """The exception of a forbidden verdict (the message names the rule, for the logs)."""
    if verdict.reason == "four_eyes":
        return PermissionDenied(f"{verdict.step}: four-eyes rule: the approver must not be the "
                                "preparer or proposer", verdict)
    return PermissionDenied(f"{verdict.step}: {verdict.reason}", verdict)


def require(verdict: Verdict, user: StaffUser | None) -> Actor:
    """The actor of an allowed step; a forbidden one raises :class:`PermissionDenied`
    (a step refused for its state or timing is the caller's to raise, with its own error)."""
    if verdict.forbidden:
        raise deny(verdict)
    return actor_of(user)


def may_manage_mail(user: StaffUser | None) -> Verdict:
    """The one rule of the outgoing mail: admins read it and send a failed message again."""
    return by_role("mail.send_again", user, MAIL_ROLES)


def may_manage_webhooks(user: StaffUser | None) -> Verdict:
    """The one rule of the webhooks' back office: admins read it and deliver a dead one again."""
    return by_role("webhook.deliver_again", user, WEBHOOK_ROLES)


def may_manage_subscribers(user: StaffUser | None) -> Verdict:
    """The one rule of the organisations' accounts: admins read them and close or reopen one."""
    return by_role("subscriber.close", user, SUBSCRIBER_ROLES)
