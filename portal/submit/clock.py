"""Today's date for the submit views, in the bureau's time zone (tests monkeypatch :func:`today`)."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

BUREAU_TZ = ZoneInfo("Asia/Shanghai")


def today() -> dt.date:
    return dt.datetime.now(BUREAU_TZ).date()
