"""Failed staff sign-ins and the lockout an outsider cannot turn against a known user.

Every failed attempt — a wrong password or code — is stored with its
*source*, a keyed hash of the client address (``portal.ratelimit.client_key``).
Five failures of one source within 15 minutes lock that source out of that
account for 15 minutes; the account itself is locked only when
``USER_LOCK_ADDRESSES`` sources are locked out of it at the same time (a
distributed guess), and that lock ends every session of the account
(:func:`end_sessions`). Functions flush and never commit.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from portal.models import StaffLoginFailure, StaffUser
from portal.services import audit

#: Failed attempts from one source (client address) that lock it out of one account.
MAX_FAILED_LOGINS = 5
LOCKOUT = dt.timedelta(minutes=15)
#: Sources locked out of one account at the same time that lock the account itself.
USER_LOCK_ADDRESSES = 3
#: The source of a caller that does not say (the CLI, service tests): one source.
NO_SOURCE = "-"

@dataclass(frozen=True)
class LoginResult:
    """``status``: ok | needs_totp | needs_enrolment | invalid | locked."""

    status: str
    user: StaffUser | None = None
    locked_until: dt.datetime | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    # SQLite hands back naive datetimes; both databases store UTC.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


def is_locked(user: StaffUser, now: dt.datetime) -> bool:
    locked = _aware(user.locked_until)
    return locked is not None and locked > now


def end_sessions(user: StaffUser) -> None:
    """Every session of ``user`` issued so far ends at its next request."""
    user.session_version = (user.session_version or 0) + 1


def _source_locked_until(times: list[dt.datetime], now: dt.datetime) -> dt.datetime | None:
    """When a source with failures at ``times`` (newest first) is let in again; None: not locked.

    Attempts refused while locked are not stored, so the newest failure is the one that
    locked: the lock lasts ``LOCKOUT`` from it, if it was the fifth within ``LOCKOUT``.
    """
    if len(times) < MAX_FAILED_LOGINS:
        return None
    last = times[0]
    if times[MAX_FAILED_LOGINS - 1] > last - LOCKOUT and last + LOCKOUT > now:
        return last + LOCKOUT
    return None


def _failures(session: Session, user: StaffUser, now: dt.datetime) -> dict[str, list[dt.datetime]]:
    """The recent failed attempts on ``user``, newest first, by source."""
    rows = session.execute(
        sa.select(StaffLoginFailure.source, StaffLoginFailure.failed_at)
        .where(StaffLoginFailure.user_id == user.id,
               StaffLoginFailure.failed_at > now - 2 * LOCKOUT)
        .order_by(StaffLoginFailure.failed_at.desc(), StaffLoginFailure.id.desc())
    ).all()
    found: dict[str, list[dt.datetime]] = {}
    for source, at in rows:
        found.setdefault(source, []).append(_aware(at))
    return found


def source_locked_until(session: Session, user: StaffUser, source: str,
                        now: dt.datetime) -> dt.datetime | None:
    """Until when ``source`` is locked out of ``user``'s account (None: it is not)."""
    session.flush()
    return _source_locked_until(_failures(session, user, now).get(source, []), now)


def refusal(session: Session, user: StaffUser, source: str, now: dt.datetime) -> LoginResult | None:
    """The refusal while the account, or this source for this account, is locked."""
    if is_locked(user, now):
        return LoginResult("locked", user, _aware(user.locked_until))
    until = source_locked_until(session, user, source, now)
    return LoginResult("locked", user, until) if until is not None else None


def record_failure(session: Session, user: StaffUser, now: dt.datetime, step: str, source: str,
          reason: str | None = None) -> LoginResult:
    """Store a failed attempt; the fifth of a source locks the source out, several sources the account."""
    user.failed_logins = (user.failed_logins or 0) + 1
    session.execute(sa.delete(StaffLoginFailure)
                    .where(StaffLoginFailure.failed_at <= now - 2 * LOCKOUT))
    session.add(StaffLoginFailure(user_id=user.id, source=source, failed_at=now))
    session.flush()
    failures = _failures(session, user, now)
    mine = failures.get(source, [])
    # The attempt is not (yet) the account holder's act: the actor is anonymous.
    data = {"step": step, "attempt": sum(1 for t in mine if t > now - LOCKOUT)}
    if reason:
        data["reason"] = reason
    audit.record(session, audit.PUBLIC, "staff.login_failed", "staff", user.username, data)
    until = _source_locked_until(mine, now)
    if until is None:
        session.flush()
        return LoginResult("invalid", user)
    minutes = int(LOCKOUT.total_seconds() // 60)
    audit.record(session, audit.SYSTEM, "staff.lockout", "staff", user.username,
                 {"scope": "source", "source": source[:12], "until": until, "minutes": minutes})
    locked_sources = sum(1 for times in failures.values()
                         if _source_locked_until(times, now) is not None)
    if locked_sources >= USER_LOCK_ADDRESSES:
        user.locked_until = now + LOCKOUT
        user.failed_logins = 0
        end_sessions(user)
        audit.record(session, audit.SYSTEM, "staff.lockout", "staff", user.username,
                     {"scope": "account", "sources": locked_sources, "until": user.locked_until,
                      "minutes": minutes})
        until = user.locked_until
    session.flush()
    return LoginResult("locked", user, until)


def forget_failures(session: Session, user: StaffUser, source: str | None = None) -> None:
    """Forget the failed attempts on ``user``: all of them (an admin's unlock or reset), or
    those of ``source`` (the account holder got in from it)."""
    query = sa.delete(StaffLoginFailure).where(StaffLoginFailure.user_id == user.id)
    if source is not None:
        query = query.where(StaffLoginFailure.source == source)
    session.execute(query)
