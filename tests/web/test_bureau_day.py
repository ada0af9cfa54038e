"""The bureau's day everywhere: between 00:00 and 08:00 Beijing time the server's UTC
date is still yesterday, but the public site, exports and the daily expiry already
count today (PORTAL_TIMEZONE, default Asia/Shanghai)."""
from __future__ import annotations

import datetime as dt
import time

import pytest
import sqlalchemy as sa

from portal import clock
from portal.models import Case
from portal.rules.workflow import CaseState
from tests.factories import listed_case

#: 16:30 UTC on 5 December (the server's day) is 00:30 on 6 December in Beijing.
SMALL_HOURS = dt.datetime(2026, 12, 5, 16, 30, tzinfo=dt.UTC)


@pytest.fixture
def small_hours(time_machine, monkeypatch):
    # the server runs on UTC (so a stray date.today() would say 5 December)
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    # a UTC instant: the server's own zone stays UTC (a ZoneInfo would also move TZ)
    time_machine.move_to(SMALL_HOURS, tick=False)
    return SMALL_HOURS


def test_the_clock_gives_the_bureau_day_not_the_server_day(app, small_hours):
    assert clock.today() == dt.date(2026, 12, 6)
    assert clock.now() == small_hours
    app.config["PORTAL_TIMEZONE"] = "UTC"            # another bureau's zone is configuration
    assert clock.today() == dt.date(2026, 12, 5)


@pytest.mark.parametrize("path", ["/stats", "/redlist"])
def test_public_pages_are_dated_with_the_bureau_day(app, session, client, small_hours, path):
    listed_case(session, app, decided_on=dt.date(2026, 3, 16))
    session.commit()
    page = client.get(path).get_data(as_text=True)
    assert "2026年12月6日" in page and "2026年12月5日" not in page


def test_export_file_names_carry_the_bureau_day(app, session, client, small_hours):
    response = client.get("/exports/entries.csv")
    assert 'filename="entries-2026-12-06.csv"' in response.headers["Content-Disposition"]


def test_the_daily_expiry_runs_on_the_bureau_day(app, session, small_hours):
    # decided 2025-12-05: a one-year term whose last day is 2026-12-05; out on 2026-12-06
    case, _ = listed_case(session, app, decided_on=dt.date(2025, 12, 5))
    session.commit()
    result = app.test_cli_runner().invoke(args=["expire"])
    assert result.exit_code == 0, result.output
    assert "removed 1 expired entries" in result.output
    state, removed_on = session.execute(
        sa.select(Case.state, Case.removed_on).where(Case.id == case.id)).one()
    assert state is CaseState.REMOVED and removed_on == dt.date(2026, 12, 6)


def test_an_unknown_time_zone_is_refused_at_start_up(database_url, tmp_path):
    from portal import create_app
    from portal.config import testing

    with pytest.raises(ValueError, match="PORTAL_TIMEZONE"):
        create_app(testing(database_url, tmp_path) | {"PORTAL_TIMEZONE": "Asia/Beijing"})
