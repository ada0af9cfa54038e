"""Holiday calendar entered by the bureau: day overrides and confirmed years."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from portal import clock
from portal.models.base import Base, Timestamp


class HolidayOverride(Base):
    __tablename__ = "holiday_overrides"

    day: Mapped[dt.date] = mapped_column(sa.Date, primary_key=True)
    is_workday: Mapped[bool]
    note: Mapped[str] = mapped_column(sa.String(100), default="")
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=clock.now)


class CalendarYear(Base):
    """A year whose full State Council schedule the bureau has entered (no longer provisional)."""

    __tablename__ = "calendar_years"

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    confirmed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_users.id"))
    confirmed_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=clock.now)
