"""Staff authentication and account management (SPEC §1: every staff action is traceable).

Login is two steps for the roles that need a second factor
(``Role.needs_second_factor``: reviewer, approver, admin): the password
(:func:`authenticate`), then a TOTP code (:func:`verify_second_factor`) or, on
the first login, the enrolment of a new authenticator (:func:`enrol_second_factor`).

Failed attempts lock out the client address they come from, and the account
only when several addresses are locked out at once (``login_lockout``):
an outsider cannot lock a known user out.  Every login, failed login,
lockout, logout and account change is an audit event.

Sessions: ``StaffUser.session_version`` is part of the signed session
(``StaffUser.get_id``); :func:`end_sessions` raises it, which ends every
session of the account on its next request.  Logout, a password change or
reset, a role change, a new authenticator, deactivation and an account lock
call it.

A TOTP code is accepted once: the time step of the last accepted code is
stored (``StaffUser.totp_last_step``) and a code of that step or an earlier
one is refused as a replay (a failed attempt like a wrong code).  A password
set by an admin (new account, reset) is temporary: ``must_change_password``
stays set until the user chooses their own (:func:`change_password`); the back
office opens no other page meanwhile (``portal.admin.access``).

Functions flush and never commit; ``now`` is always passed in (UTC-aware).
"""
from __future__ import annotations

import datetime as dt
import secrets

import pyotp
import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from portal.models import Role, StaffJurisdiction, StaffUser
from portal.security import hash_password, password_needs_rehash, verify_password
from portal.services import audit, jurisdictions
from portal.services.audit import Actor
from portal.services.login_lockout import (  # noqa: F401  (part of this module's interface)
    LOCKOUT,
    MAX_FAILED_LOGINS,
    NO_SOURCE,
    USER_LOCK_ADDRESSES,
    LoginResult,
    end_sessions,
    forget_failures,
    is_locked,
    record_failure,
    refusal,
    source_locked_until,
)
from portal.services.permissions import PermissionDenied

MIN_PASSWORD_LENGTH = 12
#: The authenticator app's label for the back office when no bureau is known (in the bureaus'
#: language, as their names; :func:`totp_issuer`).
TOTP_ISSUER = "社会保险信用名单管理后台"
#: Steps of clock drift accepted either way (one step is 30 s).
TOTP_WINDOW = 1
#: Verified for unknown user names too, so the answer takes as long as for a real account: an
#: Argon2 hash (the hasher's current parameters; a test keeps them in step) of a random password
#: that was thrown away. A constant, not a hash made at start-up: Argon2 takes 64 MB while it
#: hashes, which every process (the worker, each web worker) carried as its peak memory, and a
#: hash made at the first unknown name would make that one answer slower.
DUMMY_HASH = ("$argon2id$v=19$m=65536,t=3,p=4$BUpHOiRpdBgL7VIFMy1sRw$"
              "g0bA4koZZk5zqWkT54XVM8hkKaHPIns4Wz7usiWqBm8")


class StaffError(ValueError):
    """An account operation is not possible; ``code`` is machine-readable (the view translates)."""

    def __init__(self, code: str):
        self.code = code
        super().__init__(code)


#: The groups of accounts an admin is shown on the desk and may list on their own.
ACCOUNT_GROUPS = ("locked", "inactive", "first_password")


def account_group(name: str, now: dt.datetime):
    """The condition on ``StaffUser`` of a group of :data:`ACCOUNT_GROUPS` (the desk's count
    and the users list filtered to it ask the same one); None for an unknown name."""
    return {
        "locked": StaffUser.locked_until > now,
        "inactive": StaffUser.active.is_(False),
        "first_password": StaffUser.must_change_password.is_(True) & StaffUser.active.is_(True),
    }.get(name)


def needs_second_factor(user: StaffUser) -> bool:
    """Required by the role (reviewer, approver, admin); clerks sign in with a password."""
    return user.role.needs_second_factor


def find_user(session: Session, username: str) -> StaffUser | None:
    name = (username or "").strip().lower()
    if not name:
        return None
    return session.execute(
        sa.select(StaffUser).where(sa.func.lower(StaffUser.username) == name)
    ).scalar_one_or_none()


def authenticate(session: Session, username: str, password: str, now: dt.datetime,
                 source: str = NO_SOURCE) -> LoginResult:
    """First step: the password. Does not log in; see :func:`complete_login`.

    ``source``: a keyed hash of the client's address (the lockout is per source).
    """
    user = find_user(session, username)
    if user is None or not user.active:
        verify_password(DUMMY_HASH, password or "")
        data = {"step": "password", "reason": "inactive" if user is not None else "unknown_user"}
        audit.record(session, audit.PUBLIC, "staff.login_failed", "staff",
                     user.username if user is not None else "-", data)
        return LoginResult("invalid")
    locked = refusal(session, user, source, now)
    if locked is not None:
        audit.record(session, audit.PUBLIC, "staff.login_failed", "staff", user.username,
                     {"step": "password", "reason": "locked"})
        return locked
    if not verify_password(user.password_hash, password or ""):
        return record_failure(session, user, now, "password", source)
    if password_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    if needs_second_factor(user):
        return LoginResult("needs_totp" if user.totp_secret else "needs_enrolment", user)
    complete_login(session, user, second_factor=False, source=source)
    return LoginResult("ok", user)


def totp_step(secret: str, code: str, now: dt.datetime) -> int | None:
    """The time step whose code ``code`` is, within ``TOTP_WINDOW`` steps of ``now``; else None.

    The same check as ``pyotp.TOTP.verify(code, now, valid_window=TOTP_WINDOW)``, which
    does not say which step matched.
    """
    code = "".join(ch for ch in (code or "") if ch.isdigit())
    if len(code) != 6:
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    found = None
    for offset in range(-TOTP_WINDOW, TOTP_WINDOW + 1):
        # Compare every candidate (constant time, no early exit).
        if pyotp.utils.strings_equal(code, totp.generate_otp(current + offset)):
            found = current + offset
    return found


def _claim_step(session: Session, user: StaffUser, step: int) -> bool:
    """Store ``step`` as the last accepted one unless it is not newer: False means a replay.

    One conditional UPDATE, so two requests racing with the same code cannot both win.
    """
    session.flush()
    table = StaffUser.__table__
    claimed = session.execute(
        sa.update(table)
        .where(table.c.id == user.id,
               sa.or_(table.c.totp_last_step.is_(None), table.c.totp_last_step < step))
        .values(totp_last_step=step)
    ).rowcount == 1
    if claimed:
        set_committed_value(user, "totp_last_step", step)
    else:
        session.refresh(user, ["totp_last_step"])
    return claimed


def _check_code(session: Session, user: StaffUser, secret: str, code: str, now: dt.datetime,
                step_name: str, source: str) -> LoginResult | None:
    """None when ``code`` is right and was not used before (its step is then stored).

    Otherwise the failed attempt: a wrong code, or a replay of an accepted one.
    """
    step = totp_step(secret, code, now)
    if step is None:
        return record_failure(session, user, now, step_name, source)
    last = user.totp_last_step
    if (last is not None and step <= last) or not _claim_step(session, user, step):
        return record_failure(session, user, now, step_name, source, reason="replay")
    return None


def verify_second_factor(session: Session, user: StaffUser, code: str,
                         now: dt.datetime, source: str = NO_SOURCE) -> LoginResult:
    """Second step for an enrolled user: the current TOTP code, accepted only once."""
    if not user.active or not user.totp_secret:
        return LoginResult("invalid")
    locked = refusal(session, user, source, now)
    if locked is not None:
        return locked
    failed = _check_code(session, user, user.totp_secret, code, now, "totp", source)
    if failed is not None:
        return failed
    complete_login(session, user, second_factor=True, source=source)
    return LoginResult("ok", user)


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_issuer(session: Session, user: StaffUser) -> str:
    """The issuer an authenticator app lists the code under: the name of the bureau the user
    works for, in the bureau's language (the first of several in the jurisdictions' order;
    without a membership, the top bureau of the portal)."""
    directory = jurisdictions.directory(session)
    codes = set(jurisdictions.memberships(session, user))
    mine = [j for j in directory.items if j.code in codes]
    top = [j for j in directory.active if j.parent_code is None]
    for item in (*mine, *top):
        if item.authority_zh.strip():
            return item.authority_zh.replace(":", " ").strip()     # ':' separates issuer and account
    return TOTP_ISSUER


def provisioning_uri(user: StaffUser, secret: str, issuer: str = TOTP_ISSUER) -> str:
    """The ``otpauth://`` URI an authenticator app imports (typed in or scanned)."""
    return pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=issuer)


def enrol_second_factor(session: Session, user: StaffUser, secret: str, code: str,
                        now: dt.datetime, source: str = NO_SOURCE) -> LoginResult:
    """First login without an authenticator: a correct code for ``secret`` stores it and logs in."""
    if not user.active or user.totp_secret:
        return LoginResult("invalid")
    locked = refusal(session, user, source, now)
    if locked is not None:
        return locked
    # The enrolment code counts as used: it cannot sign in a second time.
    failed = _check_code(session, user, secret, code, now, "enrolment", source)
    if failed is not None:
        return failed
    user.totp_secret = secret
    audit.record(session, Actor.staff(user), "staff.totp_enrolled", "staff", user.username)
    complete_login(session, user, second_factor=True, source=source)
    return LoginResult("ok", user)


def complete_login(session: Session, user: StaffUser, second_factor: bool,
                   source: str = NO_SOURCE) -> None:
    user.failed_logins = 0
    user.locked_until = None
    # The account holder got in from this source: its failed attempts are forgotten.
    forget_failures(session, user, source)
    data = {"second_factor": second_factor}
    if user.must_change_password:
        data["must_change_password"] = True
    audit.record(session, Actor.staff(user), "staff.login", "staff", user.username, data)
    session.flush()


def record_logout(session: Session, user: StaffUser, reason: str = "user") -> None:
    """``reason``: user | idle_timeout | session_limit | deactivated | revoked.

    Signing out (``user``) ends every session of the account, a copied cookie included;
    a timeout ends only the session that timed out (its cookie is cleared).
    """
    if reason in ("user", "deactivated"):
        end_sessions(user)
    audit.record(session, Actor.staff(user), "staff.logout", "staff", user.username,
                 {"reason": reason})
    session.flush()


# --------------------------------------------------------------------------
# Passwords
# --------------------------------------------------------------------------

def check_password_policy(username: str, password: str) -> None:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise StaffError("password_too_short")
    if username and username.lower() in password.lower():
        raise StaffError("password_contains_username")
    if len(set(password)) < 4:
        raise StaffError("password_too_simple")


def change_password(session: Session, user: StaffUser, current: str, new: str) -> None:
    if not verify_password(user.password_hash, current or ""):
        audit.record(session, Actor.staff(user), "staff.password_change_failed", "staff",
                     user.username)
        session.flush()
        raise StaffError("wrong_password")
    if current == new:
        raise StaffError("password_unchanged")
    check_password_policy(user.username, new)
    user.password_hash = hash_password(new)
    # Every other session ends; the view signs this one in again with the new version.
    end_sessions(user)
    data = None
    if user.must_change_password:
        # The temporary password an admin handed over is replaced: the other pages open again.
        user.must_change_password = False
        data = {"temporary_replaced": True}
    audit.record(session, Actor.staff(user), "staff.password_changed", "staff", user.username,
                 data)
    session.flush()


def temporary_password() -> str:
    """A random password an admin hands over once (16 characters, no look-alikes)."""
    alphabet = "23456789abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ"
    return "".join(secrets.choice(alphabet) for _ in range(16))


# --------------------------------------------------------------------------
# Administration (admin role only)
# --------------------------------------------------------------------------

def _admin(user: StaffUser) -> Actor:
    if user is None or user.role is not Role.ADMIN or not user.active:
        raise PermissionDenied("only an administrator manages staff accounts")
    return Actor.staff(user)


USERNAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789._-")


def create_user(session: Session, admin: StaffUser, username: str, display_name: str,
                role: Role, jurisdiction_codes=None) -> tuple[StaffUser, str]:
    """A new account with a temporary password (returned once, shown to the admin).

    The user must replace the password at the first sign-in (``must_change_password``).
    ``jurisdiction_codes``: the bureaus the account works for; a portal with one
    jurisdiction gives it that one when none are named (audited with the account).
    """
    actor = _admin(admin)
    username = (username or "").strip().lower()
    if not (2 <= len(username) <= 60) or not set(username) <= USERNAME_CHARS:
        raise StaffError("bad_username")
    if find_user(session, username) is not None:
        raise StaffError("username_taken")
    password = temporary_password()
    user = StaffUser(username=username, display_name=display_name.strip()[:100] or username,
                     role=role, password_hash=hash_password(password), active=True,
                     must_change_password=True)
    session.add(user)
    session.flush()
    audit.record(session, actor, "staff.create", "staff", username,
                 {"role": role.value, "must_change_password": True})
    if jurisdiction_codes:
        jurisdictions.set_memberships(session, admin, user, jurisdiction_codes)
    elif (only := jurisdictions.only_code(session)) is not None:
        # one bureau: working for it goes without saying (and without an event of its own)
        session.add(StaffJurisdiction(staff_id=user.id, jurisdiction_code=only))
        session.flush()
    return user, password


def set_active(session: Session, admin: StaffUser, user: StaffUser, active: bool) -> None:
    actor = _admin(admin)
    if user.id == admin.id and not active:
        raise StaffError("cannot_deactivate_self")
    if user.active == active:
        return
    user.active = active
    if not active:
        end_sessions(user)
    audit.record(session, actor, "staff.activate" if active else "staff.deactivate",
                 "staff", user.username)
    session.flush()


def change_role(session: Session, admin: StaffUser, user: StaffUser, role: Role) -> None:
    actor = _admin(admin)
    if user.id == admin.id:
        raise StaffError("cannot_change_own_role")
    if user.role is role:
        return
    before, user.role = user.role, role
    end_sessions(user)
    audit.record(session, actor, "staff.role", "staff", user.username,
                 {"from": before.value, "to": role.value})
    session.flush()


def reset_password(session: Session, admin: StaffUser, user: StaffUser) -> str:
    """A new temporary password (returned once); also lifts a lockout.

    The user must replace it at the next sign-in (``must_change_password``).
    """
    actor = _admin(admin)
    password = temporary_password()
    user.password_hash = hash_password(password)
    user.must_change_password = True
    user.failed_logins, user.locked_until = 0, None
    end_sessions(user)
    forget_failures(session, user)
    audit.record(session, actor, "staff.reset_password", "staff", user.username,
                 {"must_change_password": True})
    session.flush()
    return password


def reset_second_factor(session: Session, admin: StaffUser, user: StaffUser) -> None:
    """Forget the authenticator: the user enrols a new one at the next login."""
    actor = _admin(admin)
    user.totp_secret = None
    # The last accepted step belongs to the old secret; the enrolment code is stored anew.
    user.totp_last_step = None
    user.failed_logins, user.locked_until = 0, None
    end_sessions(user)
    forget_failures(session, user)
    audit.record(session, actor, "staff.reset_totp", "staff", user.username)
    session.flush()


def unlock(session: Session, admin: StaffUser, user: StaffUser) -> None:
    actor = _admin(admin)
    user.failed_logins, user.locked_until = 0, None
    forget_failures(session, user)
    audit.record(session, actor, "staff.unlock", "staff", user.username)
    session.flush()
