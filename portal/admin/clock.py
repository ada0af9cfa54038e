"""The back office's clock: one place to ask for today and now (tests monkeypatch these)."""
from __future__ import annotations

import datetime as dt

#: The bureau's local time (China has no daylight saving time).
BUREAU_TZ = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")


def now() -> dt.datetime:
    """The current instant, UTC-aware."""
    return dt.datetime.now(dt.UTC)


def today() -> dt.date:
    """Today's date at the bureau (Beijing time): the day deadlines are counted from."""
    return now().astimezone(BUREAU_TZ).date()


def local(moment: dt.datetime | None) -> dt.datetime | None:
    """A stored UTC timestamp in Beijing time, for display."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(BUREAU_TZ)
