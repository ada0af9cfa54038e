"""Listing terms, repeat rule, deadlines and eligibility windows (portal.rules.terms)."""
from __future__ import annotations

import dataclasses
from datetime import date, timedelta

import pytest

from portal.rules import terms
from portal.rules.calendar import Deadline, WorkCalendar
from portal.rules.profiles import Period, load_profile
from portal.rules.terms import (
    add_period,
    deadline,
    listing_term,
    profile_warning,
    rectification_eligibility,
    repair_eligibility,
    report_due,
)

D = date


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    return WorkCalendar()


@pytest.fixture(scope="module")
def jiamusi():
    return load_profile("jiamusi")


@pytest.fixture(scope="module")
def chizhou():
    return load_profile("chizhou")


@pytest.fixture(scope="module")
def national():
    return load_profile("national")


def P(amount, unit):
    return Period(amount, unit, "test")


# -- period arithmetic -------------------------------------------------------

@pytest.mark.parametrize("start, period, expected", [
    (D(2026, 1, 31), P(1, "months"), D(2026, 2, 28)),
    (D(2028, 1, 31), P(1, "months"), D(2028, 2, 29)),
    (D(2028, 2, 29), P(1, "years"), D(2029, 2, 28)),
    (D(2028, 2, 29), P(4, "years"), D(2032, 2, 29)),
    (D(2026, 3, 15), P(3, "months"), D(2026, 6, 15)),
    (D(2026, 11, 30), P(3, "months"), D(2027, 2, 28)),
    (D(2026, 12, 15), P(1, "months"), D(2027, 1, 15)),
    (D(2026, 8, 31), P(6, "months"), D(2027, 2, 28)),
    (D(2026, 3, 15), P(60, "days"), D(2026, 5, 14)),
    (D(2026, 3, 15), P(0, "days"), D(2026, 3, 15)),
])
def test_add_period(start, period, expected):
    assert add_period(start, period) == expected


def test_add_period_working_days_needs_a_calendar(cal):
    with pytest.raises(ValueError):
        add_period(D(2026, 9, 28), P(7, "working_days"))
    assert add_period(D(2026, 9, 28), P(7, "working_days"), cal) == D(2026, 10, 13)


# -- listing terms ---------------------------------------------------------------

def test_jiamusi_one_year_ground(jiamusi):
    t = listing_term(jiamusi, "J1", D(2026, 3, 15))
    assert (t.period.amount, t.period.unit) == (1, "years")
    assert t.last_day == D(2027, 3, 15)      # 民法典 arts. 201-202: corresponding day is the last day
    assert t.expires_on == D(2027, 3, 16)    # the day the subject leaves the list
    assert not t.repeat and t.source == "000 art. 10 ¶1"


def test_jiamusi_three_year_ground(jiamusi):
    t = listing_term(jiamusi, "J2", D(2026, 3, 15))
    assert (t.period.amount, t.period.unit) == (3, "years")
    assert t.expires_on == D(2029, 3, 16) and not t.repeat


def test_jiamusi_repeat_listing_runs_three_years(jiamusi):
    t = listing_term(jiamusi, "J1", D(2026, 3, 15), prior_listings=1)
    assert (t.period.amount, t.period.unit) == (3, "years")
    assert t.repeat and t.expires_on == D(2029, 3, 16)
    assert t.source.startswith("000 art. 10 ¶2")
    # a 3-year ground stays 3 years on repeat
    assert listing_term(jiamusi, "J5", D(2026, 3, 15), prior_listings=2).period.amount == 3


def test_term_is_frozen(jiamusi):
    t = listing_term(jiamusi, "J1", D(2026, 3, 15))
    with pytest.raises(dataclasses.FrozenInstanceError):
        t.expires_on = D(2030, 1, 1)  # type: ignore[misc]


def test_negative_prior_listings_rejected(jiamusi):
    with pytest.raises(ValueError):
        listing_term(jiamusi, "J1", D(2026, 3, 15), prior_listings=-1)


def test_chizhou_terms(chizhou):
    assert listing_term(chizhou, "C4", D(2026, 3, 15)).period.amount == 3
    assert listing_term(chizhou, "C4", D(2026, 3, 15)).expires_on == D(2029, 3, 16)
    assert listing_term(chizhou, "C7", D(2026, 3, 15)).period.amount == 1
    # Chizhou has no repeat rule: a repeat listing keeps the ground's term
    t = listing_term(chizhou, "C7", D(2026, 3, 15), prior_listings=1)
    assert t.period.amount == 1 and not t.repeat


def test_fuzhou_repeat_is_capped_at_the_national_maximum():
    p = load_profile("fuzhou")
    t = listing_term(p, "F3", D(2026, 5, 1), prior_listings=1)
    assert (t.period.amount, t.period.unit) == (3, "years") and t.repeat
    assert "003 §三(二)" in t.source


def test_leap_day_listing():
    p = load_profile("national")
    t = listing_term(p, "N1", D(2028, 2, 29))
    assert t.last_day == D(2031, 2, 28) and t.expires_on == D(2031, 3, 1)


def test_unknown_ground_raises(jiamusi):
    from portal.rules.profiles import UnknownGround
    with pytest.raises(UnknownGround):
        listing_term(jiamusi, "X9", D(2026, 3, 15))


# -- rectification (Jiamusi art. 11) -----------------------------------------------

def test_rectification_last_day_in_and_first_day_out(jiamusi):
    listed = D(2026, 3, 15)
    e = rectification_eligibility(jiamusi, "J1", listed, 0, D(2026, 6, 15))
    assert e.allowed and e.reason == "ok"
    assert (e.opens_on, e.closes_on) == (listed, D(2026, 6, 15))
    assert "000 art. 11" in e.source
    out = rectification_eligibility(jiamusi, "J1", listed, 0, D(2026, 6, 16))
    assert not out.allowed and out.reason == "window_closed"
    assert rectification_eligibility(jiamusi, "J1", listed, 0, listed).allowed


def test_rectification_refused_for_three_year_ground_and_repeat(jiamusi):
    listed, today = D(2026, 3, 15), D(2026, 4, 1)
    e = rectification_eligibility(jiamusi, "J2", listed, 0, today)
    assert (e.allowed, e.reason) == (False, "ground_not_rectifiable")
    e = rectification_eligibility(jiamusi, "J1", listed, 1, today)
    assert (e.allowed, e.reason) == (False, "repeat_listing")
    e = rectification_eligibility(jiamusi, "J1", listed, 0, D(2026, 3, 14))
    assert (e.allowed, e.reason) == (False, "not_listed")


@pytest.mark.parametrize("code", [f"C{i}" for i in range(1, 8)])
def test_chizhou_never_rectifiable(chizhou, code):
    e = rectification_eligibility(chizhou, code, D(2026, 3, 15), 0, D(2026, 3, 16))
    assert (e.allowed, e.reason) == (False, "ground_not_rectifiable")


def test_rectification_window_rolls_over_a_holiday_with_calendar(jiamusi, cal):
    # listed 2026-07-01 -> 3 months end 2026-10-01 (National Day) -> next working day 2026-10-08
    e = rectification_eligibility(jiamusi, "J1", D(2026, 7, 1), 0, D(2026, 10, 8), cal)
    assert e.allowed and e.closes_on == D(2026, 10, 8)
    assert not rectification_eligibility(jiamusi, "J1", D(2026, 7, 1), 0, D(2026, 10, 8)).allowed


# -- credit repair -----------------------------------------------------------------

def test_national_serious_repair_not_before_one_year(national):
    listed = D(2026, 5, 1)
    term = listing_term(national, "N5", listed)
    before = repair_eligibility(national, "N5", listed, D(2027, 4, 30), term.expires_on)
    assert (before.allowed, before.reason) == (False, "window_not_open")
    assert before.opens_on == D(2027, 5, 2)
    # 2027-05-01 is the last day of the 1-year minimum period; repair opens "after" it
    assert not repair_eligibility(national, "N5", listed, D(2027, 5, 1), term.expires_on).allowed
    ok = repair_eligibility(national, "N5", listed, D(2027, 5, 2), term.expires_on)
    assert ok.allowed and ok.reason == "ok" and ok.closes_on == term.last_day
    assert "national: " in ok.source


def test_national_repair_for_general_and_light_classes(national):
    general = dataclasses.replace(national.grounds[0], code="G", severity="general",
                                  term=Period(1, "years", "national: test"))
    light = dataclasses.replace(national.grounds[0], code="L", severity="light",
                                term=Period(3, "months", "national: test"))
    p = dataclasses.replace(national, grounds=(*national.grounds, general, light))
    listed = D(2026, 5, 1)
    e = repair_eligibility(p, "G", listed, D(2026, 8, 1), listing_term(p, "G", listed).expires_on)
    assert e.reason == "window_not_open" and e.opens_on == D(2026, 8, 2)
    e = repair_eligibility(p, "L", listed, listed, listing_term(p, "L", listed).expires_on)
    assert e.allowed and e.opens_on == listed


def test_repair_closed_once_the_term_is_over(national, jiamusi):
    listed = D(2026, 5, 1)
    term = listing_term(national, "N1", listed)
    e = repair_eligibility(national, "N1", listed, term.expires_on, term.expires_on)
    assert (e.allowed, e.reason) == (False, "window_closed")
    assert repair_eligibility(national, "N1", listed, term.last_day, term.expires_on).allowed
    e = repair_eligibility(jiamusi, "J2", listed, D(2026, 4, 30), D(2029, 5, 2))
    assert e.reason == "not_listed"


def test_jiamusi_repair_opens_when_rectification_window_closes(jiamusi):
    listed = D(2026, 3, 15)
    expires = listing_term(jiamusi, "J1", listed).expires_on
    e = repair_eligibility(jiamusi, "J1", listed, D(2026, 6, 15), expires)
    assert (e.allowed, e.reason, e.opens_on) == (False, "window_not_open", D(2026, 6, 16))
    assert repair_eligibility(jiamusi, "J1", listed, D(2026, 6, 16), expires).allowed
    assert "000 art. 12" in e.source and "000 art. 11" in e.source
    # a 3-year ground has no rectification: repair any time while listed
    e = repair_eligibility(jiamusi, "J2", listed, listed, listing_term(jiamusi, "J2", listed).expires_on)
    assert e.allowed
    # a repeat listing cannot rectify, so repair is open at once
    e = repair_eligibility(jiamusi, "J1", listed, D(2026, 3, 20), D(2029, 3, 16), prior_listings=1)
    assert e.allowed


def test_chizhou_repair_any_time_while_listed(chizhou):
    listed = D(2026, 3, 15)
    expires = listing_term(chizhou, "C1", listed).expires_on
    assert repair_eligibility(chizhou, "C1", listed, D(2026, 3, 16), expires).allowed
    assert repair_eligibility(chizhou, "C1", listed, D(2027, 3, 15), expires).allowed
    assert not repair_eligibility(chizhou, "C1", listed, D(2027, 3, 16), expires).allowed


def test_repair_not_allowed():
    p = load_profile("chizhou")
    p = dataclasses.replace(p, repair=dataclasses.replace(p.repair, allowed=False))
    e = repair_eligibility(p, "C1", D(2026, 3, 15), D(2026, 4, 1), D(2027, 3, 16))
    assert (e.allowed, e.reason) == (False, "repair_not_allowed")


def test_city_with_overlay_uses_class_minimum():
    p = load_profile("zhengzhou")
    listed = D(2026, 5, 1)
    e = repair_eligibility(p, "ZS2", listed, D(2026, 6, 1), listing_term(p, "ZS2", listed).expires_on)
    assert e.reason == "window_not_open" and e.opens_on == D(2027, 5, 2)


# -- deadlines (working days via the calendar) -------------------------------------

def test_defence_due_after_pre_notice_on_2026_09_28(jiamusi, cal):
    # 5 working days: 09-29, 09-30, (National Day 10-01..07 off), 10-08, 10-09,
    # and Saturday 10-10, a make-up working day (调休) in the State Council schedule
    d = deadline(jiamusi, "defence_window", D(2026, 9, 28), cal)
    assert d == Deadline(D(2026, 10, 10), False, "state-council:2026")
    assert cal.is_workday(D(2026, 10, 8)) and cal.is_workday(D(2026, 10, 9))
    assert cal.is_workday(D(2026, 10, 10))


def test_publication_and_sharing_due_for_decision_on_2026_09_28(jiamusi, chizhou, cal):
    assert deadline(jiamusi, "publication", D(2026, 9, 28), cal).due == D(2026, 10, 13)
    assert deadline(jiamusi, "sharing", D(2026, 9, 28), cal).due == D(2026, 10, 13)
    assert deadline(chizhou, "publication", D(2026, 9, 28), cal).due == D(2026, 10, 13)


def test_2027_deadline_is_provisional(jiamusi, cal):
    d = deadline(jiamusi, "publication", D(2027, 3, 1), cal)
    assert d.provisional and "provisional:2027" in d.basis
    d = deadline(jiamusi, "publication", D(2026, 12, 28), cal)  # crosses into 2027
    assert d.provisional and d.due.year == 2027
    confirmed = WorkCalendar(confirmed_years=[2027])
    assert not deadline(jiamusi, "publication", D(2027, 3, 1), confirmed).provisional


def test_deadline_for_every_key_of_every_profile(cal):
    from portal.rules.profiles import DEADLINE_KEYS, available_profiles
    for code in available_profiles():
        p = load_profile(code)
        for name in DEADLINE_KEYS:
            d = deadline(p, name, D(2026, 3, 16), cal)
            assert d.due > D(2026, 3, 16), (code, name)


def test_objection_and_checks(cal):
    sh = load_profile("shanghai")
    assert deadline(sh, "objection_decision", D(2026, 9, 28), cal).due == D(2026, 10, 10)
    assert terms.objection_marker_due(sh, D(2026, 9, 30), cal).due == D(2026, 10, 8)
    j = load_profile("jiamusi")
    assert deadline(j, "rectification_check", D(2026, 3, 16), cal).due == \
        cal.add_working_days(D(2026, 3, 16), 30).due
    assert deadline(j, "repair_check", D(2026, 3, 16), cal).due == cal.add_working_days(D(2026, 3, 16), 60).due
    assert deadline(j, "complaint_decision", D(2026, 3, 16), cal).due == cal.add_working_days(D(2026, 3, 16), 15).due
    assert terms.supplement_due(j, D(2026, 3, 16), cal).due == cal.add_working_days(D(2026, 3, 16), 10).due


def test_calendar_period_deadlines(jiamusi, cal):
    # reconsideration: 60 days; 2026-03-16 + 60 = 2026-05-15 (a Friday, working day)
    d = deadline(jiamusi, "reconsideration", D(2026, 3, 16), cal)
    assert d == Deadline(D(2026, 5, 15), False, "calendar")
    # without a calendar: the plain date
    assert deadline(jiamusi, "litigation", D(2026, 3, 16), None) == Deadline(D(2026, 9, 16), False, "calendar")
    # litigation: 6 months from 2026-04-01 = 2026-10-01 (National Day) -> 2026-10-08 (民法典 art. 203)
    d = deadline(jiamusi, "litigation", D(2026, 4, 1), cal)
    assert d.due == D(2026, 10, 8) and d.basis.startswith("calendar+next-workday")
    # a Saturday last day moves to Monday: 2026-03-17 + 60 days = Saturday 2026-05-16 -> 2026-05-18
    d = deadline(jiamusi, "reconsideration", D(2026, 3, 17), cal)
    assert d.due == D(2026, 5, 18) and not d.provisional
    # calendar periods ending in an unpublished year are provisional
    assert deadline(jiamusi, "litigation", D(2027, 3, 16), cal).provisional


def test_working_day_deadline_needs_calendar(jiamusi):
    with pytest.raises(ValueError):
        deadline(jiamusi, "publication", D(2026, 9, 28), None)
    with pytest.raises(KeyError):
        deadline(jiamusi, "nonsense", D(2026, 9, 28), None)


# -- reporting ---------------------------------------------------------------------

def test_chizhou_monthly_report_due(chizhou, cal):
    r = report_due(chizhou, 2026, 9, cal)
    assert (r.period_start, r.period_end) == (D(2026, 9, 1), D(2026, 9, 30))
    # 7 working days after 09-30: 10-08, 10-09, 10-10 (Saturday 调休), 10-12, 10-13, 10-14, 10-15
    assert r.due.due == D(2026, 10, 15) == cal.add_working_days(D(2026, 9, 30), 7).due
    # the county office forwards within 3 days: 10-18 is a Sunday -> 10-19
    assert r.forward_due.due == D(2026, 10, 19) == r.due.due + timedelta(days=4)


def test_zhengzhou_quarterly_report_due():
    p = load_profile("zhengzhou")
    r = report_due(p, 2026, 3)
    assert (r.period_start, r.period_end) == (D(2026, 7, 1), D(2026, 9, 30))
    assert r.due.due == D(2026, 9, 20) and r.forward_due.due == D(2026, 9, 30)
    r = report_due(p, 2026, 1)
    assert r.due.due == D(2026, 3, 20) and r.forward_due.due == D(2026, 3, 30)
    with pytest.raises(ValueError):
        report_due(p, 2026, 5)
    assert report_due(load_profile("jiamusi"), 2026, 1) is None


def test_profile_warning_national_before_order_36(national):
    assert profile_warning(national, D(2026, 3, 31)) == "not_yet_in_force"
    assert profile_warning(national, D(2026, 4, 1)) is None


def test_removal_problems_follow_the_reason():
    from portal.rules.profiles import load_profile
    from portal.rules.terms import removal_problem

    jiamusi, zhengzhou = load_profile("jiamusi"), load_profile("zhengzhou")
    listed, ends = D(2026, 3, 16), D(2027, 3, 17)
    assert removal_problem(jiamusi, "J1", "term_expired", listed, ends, 0, D(2027, 3, 16)) == "term_not_over"
    assert removal_problem(jiamusi, "J1", "term_expired", listed, ends, 0, ends) is None
    assert removal_problem(jiamusi, "J1", "rectified", listed, ends, 0, D(2026, 5, 1)) is None
    assert removal_problem(jiamusi, "J1", "rectified", listed, ends, 1, D(2026, 5, 1)) == "repeat_listing"
    # J1 is rectifiable: repair opens the day after the 3-month window (2026-06-16)
    assert removal_problem(jiamusi, "J1", "credit_repaired", listed, ends, 0, D(2026, 6, 16)) == "repair_not_open"
    assert removal_problem(jiamusi, "J1", "credit_repaired", listed, ends, 0, D(2026, 6, 17)) is None
    # Zhengzhou serious: not rectifiable; repair after the overlay's 1-year minimum
    assert removal_problem(zhengzhou, "ZS1", "rectified", listed, ends, 0, D(2026, 5, 1)) == "not_rectifiable"
    assert removal_problem(zhengzhou, "ZS1", "credit_repaired", listed, None, 0, D(2027, 3, 16)) == "repair_not_open"
    assert removal_problem(zhengzhou, "ZS1", "credit_repaired", listed, None, 0, D(2027, 3, 17)) is None
    for reason in ("objection_upheld", "revoked"):
        assert removal_problem(jiamusi, "J1", reason, listed, ends, 0, listed) is None
    assert removal_problem(jiamusi, "J1", "revoked", listed, ends, 0, D(2026, 3, 15)) == "before_listing"


# ---------------------------------------------------------------- the dates an entry publishes

def _confirmed_2027_with_spring_festival_off() -> WorkCalendar:
    """2027 as an admin confirms it: 9–11 February off besides the statutory days."""
    off = {d: False for d in (D(2027, 2, 5), D(2027, 2, 8), D(2027, 2, 9), D(2027, 2, 10),
                              D(2027, 2, 11))}
    return WorkCalendar(overrides=off, confirmed_years=[2027])


def test_entry_dates_state_the_last_day_and_the_day_the_subject_leaves(jiamusi, cal):
    dates = terms.entry_dates(jiamusi, "J1", D(2026, 12, 6), 0, cal)
    assert dates.term_start == D(2026, 12, 6)
    assert dates.term_last_day == D(2027, 12, 6)          # the corresponding day one year later
    assert dates.leaves_list_on == D(2027, 12, 7)         # the subject leaves the next day
    assert dates.term == listing_term(jiamusi, "J1", D(2026, 12, 6))


def test_entry_dates_flag_and_then_settle_a_provisional_window(jiamusi, cal):
    decided = D(2026, 11, 9)
    provisional = terms.entry_dates(jiamusi, "J1", decided, 0, cal)
    # 3 months → 2027-02-09, a working day in the provisional 2027
    assert provisional.rectification_closes_on == D(2027, 2, 9)
    assert provisional.repair_opens_on == D(2027, 2, 10)
    assert provisional.provisional == {"rectification_closes_on", "repair_opens_on"}
    confirmed = terms.entry_dates(jiamusi, "J1", decided, 0, _confirmed_2027_with_spring_festival_off())
    assert confirmed.rectification_closes_on == D(2027, 2, 12)   # art. 203: next working day
    assert confirmed.repair_opens_on == D(2027, 2, 13)
    assert confirmed.provisional == frozenset()
    assert confirmed.term_last_day == provisional.term_last_day == D(2027, 11, 9)


def test_entry_dates_leave_out_windows_that_do_not_apply(jiamusi, cal):
    repeat = terms.entry_dates(jiamusi, "J1", D(2026, 3, 15), 1, cal)
    assert repeat.rectification_closes_on is None and repeat.leaves_list_on == D(2029, 3, 16)
    assert repeat.repair_opens_on == D(2026, 3, 15) and repeat.provisional == frozenset()
    assert terms.entry_dates(jiamusi, "J2", D(2026, 3, 15), 0, cal).rectification_closes_on is None
