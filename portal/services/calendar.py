"""The working-day calendar as the bureau has entered it (overrides win)."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from portal.models import CalendarYear, HolidayOverride
from portal.rules.calendar import WorkCalendar


def load_calendar(session: Session) -> WorkCalendar:
    overrides = dict(session.execute(sa.select(HolidayOverride.day, HolidayOverride.is_workday)).all())
    years = session.execute(sa.select(CalendarYear.year)).scalars().all()
    return WorkCalendar(overrides=overrides, confirmed_years=years)
