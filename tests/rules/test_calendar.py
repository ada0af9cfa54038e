"""Working days: SPEC §5 and the Jiamusi art. 8 example."""
from __future__ import annotations

import dataclasses
import random
import time
from datetime import date, timedelta

import chinese_calendar
import pytest
from lunar_python import Lunar

from portal.rules.calendar import Deadline, WorkCalendar, statutory_holidays


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    return WorkCalendar()


# -- the SPEC example (Jiamusi art. 8: publish within 7 working days) ------

def test_chinese_calendar_agrees_with_the_2026_national_day_schedule():
    off = [date(2026, 10, d) for d in range(1, 8)]
    assert not any(chinese_calendar.is_workday(d) for d in off)
    assert date(2026, 10, 10).weekday() == 5
    assert chinese_calendar.is_workday(date(2026, 10, 10))  # 调休 Saturday
    assert not chinese_calendar.is_workday(date(2026, 10, 11))


def test_spec_example_decision_2026_09_28_plus_7(cal):
    deadline = cal.add_working_days(date(2026, 9, 28), 7)
    assert deadline == Deadline(date(2026, 10, 13), False, "state-council:2026")


def test_deadline_is_frozen(cal):
    deadline = cal.add_working_days(date(2026, 9, 28), 7)
    with pytest.raises(dataclasses.FrozenInstanceError):
        deadline.due = date(2026, 10, 14)  # type: ignore[misc]


def test_make_up_saturday_is_counted(cal):
    assert cal.is_workday(date(2026, 10, 10))
    assert cal.add_working_days(date(2026, 10, 9), 1).due == date(2026, 10, 10)
    assert cal.next_workday(date(2026, 10, 9)) == date(2026, 10, 10)


def test_ordinary_weekend_is_skipped(cal):
    assert not cal.is_workday(date(2026, 3, 7))
    assert not cal.is_workday(date(2026, 3, 8))
    assert cal.add_working_days(date(2026, 3, 6), 1).due == date(2026, 3, 9)  # Friday -> Monday
    assert cal.add_working_days(date(2026, 3, 7), 1).due == date(2026, 3, 9)  # from a Saturday


def test_spring_festival_2026_is_skipped(cal):
    # 2026-02-14 (Saturday) is a make-up day; 02-15..02-23 are off.
    assert cal.add_working_days(date(2026, 2, 13), 1).due == date(2026, 2, 14)
    assert cal.add_working_days(date(2026, 2, 13), 2).due == date(2026, 2, 24)
    assert not any(cal.is_workday(date(2026, 2, 15) + timedelta(days=i)) for i in range(9))


def test_n_zero_returns_start(cal):
    assert cal.add_working_days(date(2026, 10, 3), 0) == Deadline(
        date(2026, 10, 3), False, "state-council:2026"
    )
    assert cal.add_working_days(date(2027, 3, 6), 0) == Deadline(
        date(2027, 3, 6), True, "provisional:2027"
    )


def test_negative_n_is_rejected(cal):
    with pytest.raises(ValueError):
        cal.add_working_days(date(2026, 1, 5), -1)


def test_next_workday(cal):
    assert cal.next_workday(date(2026, 9, 30)) == date(2026, 10, 8)
    assert cal.next_workday(date(2026, 10, 12)) == date(2026, 10, 13)


# -- provisional years: the law, computed ----------------------------------

def test_statutory_holidays_2027():
    days = statutory_holidays(2027)
    expected = {
        date(2027, 1, 1): "New Year's Day",
        date(2027, 2, 5): "Spring Festival",  # 除夕
        date(2027, 2, 6): "Spring Festival",
        date(2027, 2, 7): "Spring Festival",
        date(2027, 2, 8): "Spring Festival",
        date(2027, 4, 5): "Tomb-sweeping Day",
        date(2027, 5, 1): "Labour Day",
        date(2027, 5, 2): "Labour Day",
        date(2027, 6, 9): "Dragon Boat Festival",
        date(2027, 9, 15): "Mid-autumn Festival",
        date(2027, 10, 1): "National Day",
        date(2027, 10, 2): "National Day",
        date(2027, 10, 3): "National Day",
    }
    assert days == expected
    assert len(days) == 13


def test_2027_lunar_dates_agree_with_lunar_python():
    chuyi = Lunar.fromYmd(2027, 1, 1).getSolar()
    assert (chuyi.getYear(), chuyi.getMonth(), chuyi.getDay()) == (2027, 2, 6)
    chuxi = Lunar.fromYmd(2026, 12, 29).getSolar()  # lunar month 12 of 2026 has 29 days
    assert chuxi.toYmd() == "2027-02-05"
    assert chuxi.next(1).getLunar().getMonth() == 1
    assert Lunar.fromYmd(2027, 5, 5).getSolar().toYmd() == "2027-06-09"
    assert Lunar.fromYmd(2027, 8, 15).getSolar().toYmd() == "2027-09-15"
    assert Lunar.fromYmd(2027, 1, 1).getJieQiTable()["清明"].toYmd() == "2027-04-05"


def test_statutory_holidays_returns_a_copy():
    days = statutory_holidays(2027)
    days.clear()
    assert len(statutory_holidays(2027)) == 13


def test_statutory_holidays_coinciding_festivals_count_once():
    # 2028: 中秋 is 10-03, inside National Day.
    days = statutory_holidays(2028)
    assert len(days) == 12
    assert days[date(2028, 10, 3)] == "National Day"


def test_statutory_holidays_follow_the_law_in_force():
    assert len(statutory_holidays(2024)) == 11  # 2013 text: 春节 初一至初三, 5-1 only
    assert date(2024, 2, 9) not in statutory_holidays(2024)  # 除夕 2024
    assert date(2010, 2, 13) in statutory_holidays(2010)  # 2007 text: 除夕 included
    assert date(2005, 5, 3) in statutory_holidays(2005)  # 1999 text: 5-1..5-3


def test_statutory_days_are_off_in_every_published_schedule():
    for year in range(2004, 2027):
        for day in statutory_holidays(year):
            assert not chinese_calendar.is_workday(day), day


def test_provisional_2027_working_days(cal):
    assert cal.year_source(2027) == "provisional"
    assert cal.is_provisional(2027)
    assert not cal.is_workday(date(2027, 1, 1))  # 元旦 (Friday)
    assert not cal.is_workday(date(2027, 2, 5))  # 除夕 (Friday)
    assert not cal.is_workday(date(2027, 2, 8))  # 初三 (Monday)
    assert cal.is_workday(date(2027, 2, 9))  # no bridging / extra days
    assert not cal.is_workday(date(2027, 2, 6))  # Saturday: no make-up days
    assert cal.add_working_days(date(2027, 2, 4), 1) == Deadline(
        date(2027, 2, 9), True, "provisional:2027"
    )


def test_count_crossing_2026_into_2027_is_provisional(cal):
    deadline = cal.add_working_days(date(2026, 12, 28), 5)
    # 12-29, 12-30, 12-31, (2027-01-01 off, weekend), 01-04, 01-05
    assert deadline == Deadline(
        date(2027, 1, 5), True, "state-council:2026+provisional:2027"
    )


def test_count_within_2026_ending_on_new_years_eve_is_not_provisional(cal):
    deadline = cal.add_working_days(date(2026, 12, 28), 3)
    assert deadline == Deadline(date(2026, 12, 31), False, "state-council:2026")


def test_count_starting_on_new_years_eve_counts_only_2027(cal):
    deadline = cal.add_working_days(date(2026, 12, 31), 1)
    assert deadline == Deadline(date(2027, 1, 4), True, "provisional:2027")


def test_year_sources(cal):
    assert cal.year_source(2026) == "state-council"
    assert cal.year_source(2004) == "state-council"
    assert cal.year_source(2003) == "provisional"
    assert not cal.is_provisional(2026)


# -- admin data ------------------------------------------------------------

def test_overrides_win_in_a_provisional_year():
    cal = WorkCalendar(overrides={date(2027, 2, 9): False, date(2027, 2, 6): True})
    assert cal.is_workday(date(2027, 2, 6))
    assert not cal.is_workday(date(2027, 2, 9))
    assert cal.add_working_days(date(2027, 2, 4), 1).due == date(2027, 2, 6)
    assert cal.add_working_days(date(2027, 2, 4), 2).due == date(2027, 2, 10)
    assert cal.add_working_days(date(2027, 2, 4), 2).provisional  # still not confirmed


def test_overrides_win_in_a_state_council_year():
    cal = WorkCalendar(overrides={date(2026, 10, 7): True})
    assert cal.is_workday(date(2026, 10, 7))
    assert cal.add_working_days(date(2026, 9, 28), 7).due == date(2026, 10, 12)
    cal = WorkCalendar(overrides={date(2026, 10, 10): False})
    assert not cal.is_workday(date(2026, 10, 10))
    assert cal.add_working_days(date(2026, 9, 28), 7).due == date(2026, 10, 14)


def test_confirmed_year_is_not_provisional():
    cal = WorkCalendar(
        overrides={date(2027, 1, 1): False, date(2027, 2, 20): True},
        confirmed_years=[2027],
    )
    assert cal.year_source(2027) == "bureau"
    assert not cal.is_provisional(2027)
    assert not cal.is_workday(date(2027, 1, 1))
    assert cal.is_workday(date(2027, 2, 20))  # Saturday entered as working
    # not an override, so a plain weekday: the statutory set no longer applies
    assert cal.is_workday(date(2027, 2, 5))
    assert not cal.is_workday(date(2027, 2, 13))  # ordinary Saturday
    assert cal.add_working_days(date(2026, 12, 28), 5) == Deadline(
        date(2027, 1, 5), False, "state-council:2026+bureau:2027"
    )


def test_confirmed_year_replaces_the_published_schedule():
    cal = WorkCalendar(confirmed_years=[2026])
    assert cal.year_source(2026) == "bureau"
    assert cal.is_workday(date(2026, 10, 1))
    assert not cal.is_workday(date(2026, 10, 10))


# -- counting between dates ------------------------------------------------

def test_working_days_between(cal):
    a, b = date(2026, 9, 28), date(2026, 10, 13)
    assert cal.working_days_between(a, b) == 7
    assert cal.working_days_between(b, a) == -7
    assert cal.working_days_between(a, a) == 0
    assert cal.working_days_between(date(2026, 3, 6), date(2026, 3, 8)) == 0
    assert cal.working_days_between(date(2026, 3, 8), date(2026, 3, 6)) == 0  # (03-06, 03-08]
    assert cal.working_days_between(date(2026, 3, 9), date(2026, 3, 6)) == -1
    assert cal.working_days_between(date(2026, 3, 6), date(2026, 3, 9)) == 1
    assert cal.working_days_between(date(2026, 12, 28), date(2027, 1, 5)) == 5
    assert cal.working_days_between(date(2027, 1, 5), date(2026, 12, 28)) == -5


def test_working_days_between_a_whole_year(cal):
    expected = sum(
        chinese_calendar.is_workday(date(2025, 1, 1) + timedelta(days=i)) for i in range(365)
    )
    assert cal.working_days_between(date(2024, 12, 31), date(2025, 12, 31)) == expected


def test_round_trip_property(cal):
    rng = random.Random(20260928)
    first, last = date(2025, 1, 1).toordinal(), date(2028, 12, 31).toordinal()
    for _ in range(200):
        start = date.fromordinal(rng.randint(first, last))
        n = rng.randint(1, 60)
        deadline = cal.add_working_days(start, n)
        assert cal.is_workday(deadline.due)
        assert deadline.due > start
        assert cal.working_days_between(start, deadline.due) == n
        assert cal.working_days_between(deadline.due, start) == -n
        assert cal.working_days_between(start, deadline.due - timedelta(days=1)) == n - 1
        assert deadline.provisional == (deadline.due.year >= 2027)


def test_agrees_with_chinese_calendar_day_by_day(cal):
    day = date(2024, 1, 1)
    while day.year < 2027:
        assert cal.is_workday(day) == chinese_calendar.is_workday(day), day
        day += timedelta(days=1)


def test_add_60_working_days_is_fast(cal):
    cal.add_working_days(date(2026, 1, 1), 60)  # warm the caches
    begin = time.perf_counter()
    for i in range(5000):
        cal.add_working_days(date(2025, 1, 1) + timedelta(days=i % 1400), 60)
    per_call = (time.perf_counter() - begin) / 5000
    assert per_call < 0.001
