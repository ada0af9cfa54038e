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
        return str(self.id)
