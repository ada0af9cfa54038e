"""Bureau staff accounts and their roles (SPEC §1)."""
from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from portal import clock
from portal.models.base import Base, Timestamp, enum_column


class Role(str, enum.Enum):
    CLERK = "clerk"          # 经办: prepares cases, handles submissions
    REVIEWER = "reviewer"    # 复核
    APPROVER = "approver"    # 负责人: signs decisions
    ADMIN = "admin"          # users, profiles, holiday calendar

    @property
    def needs_second_factor(self) -> bool:
        return self is not Role.CLERK


class StaffUser(Base):
    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(60), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(100))
    role: Mapped[Role] = mapped_column(enum_column(Role))
    password_hash: Mapped[str] = mapped_column(sa.String(200))
    totp_secret: Mapped[str | None] = mapped_column(sa.String(64))
    #: The TOTP time step (``unix time // 30``) of the last accepted code: a code of this step
    #: or an earlier one is refused, so an observed code cannot be replayed.
    totp_last_step: Mapped[int | None] = mapped_column(sa.BigInteger)
    #: Set when an admin creates the account or resets its password (a temporary password
    #: was shown to the admin); the user must choose a new one before any other page opens.
    must_change_password: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    active: Mapped[bool] = mapped_column(default=True)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    #: Carried in every signed session of this user and compared on each back-office request:
    #: logout, a password change or reset, a role change, deactivation and a lockout raise it,
    #: which ends every session issued before (a replayed cookie included).
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=clock.now)

    # Flask-Login protocol
    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        # Flask-Login stores this in the session: the loader refuses an older version.
        return f"{self.id}.{self.session_version or 0}"


class StaffLoginFailure(Base):
    """One failed sign-in step of a staff account, from one client (a keyed hash of its address).

    Failures from one address lock that address out for that user; only failures from
    several addresses lock the account itself (``portal.services.staff``). Rows older than
    the lockout window are deleted as new ones arrive.
    """

    __tablename__ = "staff_login_failures"
    __table_args__ = (sa.Index("ix_staff_login_failures_user_at", "user_id", "failed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("staff_users.id", ondelete="CASCADE"))
    #: HMAC of the client address with the lookup key: no address is stored in clear.
    source: Mapped[str] = mapped_column(sa.String(64))
    failed_at: Mapped[dt.datetime] = mapped_column(Timestamp)
