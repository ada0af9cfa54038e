"""The bureau's clock: the one place that asks the system for the time.

Every "today" and "now" of the portal — views, services, the worker, the
CLI, exports — comes from here.  The bureau's day is the calendar day in its
time zone (``PORTAL_TIMEZONE``, default ``Asia/Shanghai``), so the public
site, the back office and the daily expiry turn over together at local
midnight, whatever the server's own time zone is.  Rules never call this
module: they take the day as an argument.

Tests freeze the clock with ``time_machine``; nothing here is monkeypatched.
"""
from __future__ import annotations

import datetime as dt
import os
from functools import lru_cache
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context

DEFAULT_TIMEZONE = "Asia/Shanghai"


@lru_cache(maxsize=8)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def check_zone(name: str) -> str:
    """``name`` if it is a time zone this machine knows; a clear error at start-up otherwise."""
    try:
        _zone(name)
    except (ValueError, KeyError, OSError) as error:
        raise ValueError(f"PORTAL_TIMEZONE={name!r} is not a known time zone "
                         f"(for example Asia/Shanghai)") from error
    return name


def zone_name() -> str:
    """The configured time zone's name (app config first, then the environment)."""
    if has_app_context():
        name = current_app.config.get("PORTAL_TIMEZONE")
        if name:
            return name
    return os.environ.get("PORTAL_TIMEZONE") or DEFAULT_TIMEZONE


def zone() -> ZoneInfo:
    """The bureau's time zone."""
    return _zone(zone_name())


def now() -> dt.datetime:
    """The current instant, UTC-aware (what timestamps are stored as)."""
    return dt.datetime.now(dt.UTC)


def local_now() -> dt.datetime:
    """The current instant in the bureau's time zone."""
    return now().astimezone(zone())


def today() -> dt.date:
    """The bureau's day: deadlines, terms and "as of" dates are counted from it."""
    return local_now().date()


def today_in(zone_name: str) -> dt.date:
    """The day in the named zone, for code that runs outside the application (the front cache)."""
    return now().astimezone(_zone(zone_name)).date()


def timestamp() -> float:
    """Seconds since the epoch (session expiry, file ages)."""
    return now().timestamp()


def local(moment: dt.datetime | None) -> dt.datetime | None:
    """A stored timestamp (UTC, or naive meaning UTC) in the bureau's time zone, for display."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(zone())


def local_day(moment: dt.datetime | None) -> dt.date | None:
    """The bureau's calendar day of a stored timestamp."""
    value = local(moment)
    return value.date() if value is not None else None


def day_start(day: dt.date) -> dt.datetime:
    """The first instant of the bureau's ``day``, as a UTC-aware datetime (for range queries)."""
    return dt.datetime.combine(day, dt.time(), zone()).astimezone(dt.UTC)
