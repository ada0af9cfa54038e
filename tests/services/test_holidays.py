"""The bureau's holiday calendar: entering 2027 (provisional today), confirming, recomputing."""
import datetime as dt

import pytest
import sqlalchemy as sa

from portal.models import AuditEvent, CalendarYear, HolidayOverride, Role
from portal.rules.calendar import statutory_holidays
from portal.rules.profiles import load_profile
from portal.rules.workflow import SubmissionKind
from portal.services import cases, holidays, submissions
from portal.services.calendar import load_calendar
from portal.services.permissions import PermissionDenied
from tests.factories import make_staff, make_subject

JIAMUSI = load_profile("jiamusi")


def _pre_noticed(session, served_on: dt.date):
    clerk = make_staff(session, Role.CLERK)
    case = cases.open_case(session, clerk, JIAMUSI, make_subject(session),
                           cases.CaseInput(ground="J1", facts="经查"), served_on)
    cases.serve_pre_notice(session, clerk, case, JIAMUSI, load_calendar(session), served_on)
    return case


def _schedule_2027(extra_off=(dt.date(2027, 2, 1),)) -> list[holidays.DayRow]:
    """Statutory weekday holidays of 2027, a make-up Saturday, and the bureau's extra days off."""
    rows = [holidays.DayRow(d, False, name) for d, name in statutory_holidays(2027).items()
            if d.weekday() < 5]
    rows += [holidays.DayRow(d, False, "bureau") for d in extra_off]
    rows.append(holidays.DayRow(dt.date(2027, 2, 20), True, "调休上班"))
    return rows


def test_confirming_2027_moves_a_provisional_defence_deadline(app, session):
    admin = make_staff(session, Role.ADMIN)
    case = _pre_noticed(session, dt.date(2027, 1, 28))
    assert (case.defence_due_on, case.deadlines_provisional) == (dt.date(2027, 2, 4), True)
    untouched = _pre_noticed(session, dt.date(2026, 9, 28))          # 2026 is published
    assert untouched.deadlines_provisional is False

    holidays.import_year(session, admin, 2027, _schedule_2027())
    changes = holidays.confirm_year(session, admin, 2027, load_profile, JIAMUSI)
    session.commit()

    # 02-01 is now a day off: 01-29, 02-02, 02-03, 02-04, then Spring Festival 02-05..02-08
    assert case.defence_due_on == dt.date(2027, 2, 9)
    assert case.deadlines_provisional is False
    assert load_calendar(session).next_workday(dt.date(2027, 2, 4)) == dt.date(2027, 2, 9)
    assert changes == [holidays.Change("case", case.id, case.case_no, "defence_due_on",
                                       dt.date(2027, 2, 4), dt.date(2027, 2, 9), False)]
    assert untouched.defence_due_on == dt.date(2026, 10, 10)
    event = session.execute(sa.select(AuditEvent).where(
        AuditEvent.action == "calendar.recompute")).scalar_one()
    assert (event.entity_type, event.entity_id) == ("case", case.case_no)
    assert event.data == {"defence_due_on": ["2027-02-04", "2027-02-09"],
                          "provisional": [True, False]}
    assert session.get(CalendarYear, 2027).confirmed_by_id == admin.id
    assert not load_calendar(session).is_provisional(2027)


def test_publication_and_sharing_deadlines_and_open_filings_are_recomputed(app, session):
    admin, approver = make_staff(session, Role.ADMIN), make_staff(session, Role.APPROVER)
    case = _pre_noticed(session, dt.date(2026, 12, 1))
    cases.complete_review(session, None, case, dt.date(2027, 1, 20))
    cases.propose_listing(session, make_staff(session, Role.CLERK), case)
    cases.approve_listing(session, approver, case, JIAMUSI, load_calendar(session),
                          dt.date(2027, 1, 25))
    assert case.publish_due_on == dt.date(2027, 2, 3) and case.deadlines_provisional
    cases.publish_case(session, None, case, JIAMUSI, "k", dt.date(2027, 1, 26))
    receipt = submissions.receive(session, JIAMUSI, load_calendar(session), submissions.Filing(
        kind=SubmissionKind.OBJECTION, body="信息有误", case=case), dt.date(2027, 1, 29))
    sub = receipt.submission
    # 5 wd: 02-01..02-04, then 02-09 (除夕 02-05 and 初三 02-08 are statutory holidays)
    assert (sub.due_on, sub.due_provisional) == (dt.date(2027, 2, 9), True)
    sub.details = {"paused_working_days": 2}          # a 补正 pause of two working days
    sub.due_on = dt.date(2027, 2, 11)                  # 02-09 + 2 wd, provisional calendar

    holidays.import_year(session, admin, 2027, _schedule_2027())
    changes = holidays.confirm_year(session, admin, 2027, load_profile, JIAMUSI)
    moved = {(c.label, c.field): (c.old, c.new) for c in changes}
    assert moved == {
        (case.case_no, "publish_due_on"): (dt.date(2027, 2, 3), dt.date(2027, 2, 4)),
        (case.case_no, "share_due_on"): (dt.date(2027, 2, 3), dt.date(2027, 2, 4)),
        # 5 wd after 01-29: 02-02, 03, 04, 09, 10; plus the 2 paused days: 02-11, 02-12
        (sub.receipt_no, "due_on"): (dt.date(2027, 2, 11), dt.date(2027, 2, 12)),
    }
    assert case.deadlines_provisional is False and sub.due_provisional is False
    assert sub.due_basis == "bureau:2027"


def test_confirming_needs_the_statutory_holidays_and_a_provisional_year(app, session):
    admin = make_staff(session, Role.ADMIN)
    holidays.set_day(session, admin, holidays.DayRow(dt.date(2027, 2, 1), False, "bureau"))
    with pytest.raises(holidays.CalendarError) as refused:
        holidays.confirm_year(session, admin, 2027, load_profile, JIAMUSI)
    assert refused.value.code == "statutory_missing"
    assert dt.date(2027, 10, 1) in refused.value.detail and dt.date(2027, 5, 1) not in refused.value.detail
    assert holidays.prefill_statutory(session, admin, 2027) == 7      # 13 days, 6 on weekends
    holidays.confirm_year(session, admin, 2027, load_profile, JIAMUSI)
    for year in (2026, 2027):                    # published by the State Council / confirmed
        with pytest.raises(holidays.CalendarError, match="year_not_editable"):
            holidays.set_day(session, admin, holidays.DayRow(dt.date(year, 3, 2), False))
        with pytest.raises(holidays.CalendarError, match="year_not_editable"):
            holidays.confirm_year(session, admin, year, load_profile, JIAMUSI)


def test_only_an_admin_changes_the_calendar(app, session):
    clerk = make_staff(session, Role.CLERK)
    with pytest.raises(PermissionDenied):
        holidays.set_day(session, clerk, holidays.DayRow(dt.date(2027, 2, 1), False))
    with pytest.raises(PermissionDenied):
        holidays.confirm_year(session, make_staff(session, Role.APPROVER), 2027, load_profile, JIAMUSI)
    assert session.scalar(sa.select(sa.func.count(HolidayOverride.day))) == 0


def test_csv_parsing_with_header_bom_and_errors():
    rows = holidays.parse_csv("\ufeffdate,is_workday,note\n2027-02-05,0,春节\n"
                              "2027-02-20,1,调休上班, 周六\n\n# comment\n2027-10-01,休,国庆节\n")
    assert rows == [holidays.DayRow(dt.date(2027, 2, 5), False, "春节"),
                    holidays.DayRow(dt.date(2027, 2, 20), True, "调休上班, 周六"),
                    holidays.DayRow(dt.date(2027, 10, 1), False, "国庆节")]
    for text, code, line in (("2027-02-30,0\n", "csv_date", 1), ("2027-02-05,maybe\n", "csv_flag", 1),
                             ("date\n2027-02-05\n", "csv_columns", 2),
                             ("2027-02-05,0\n2027-02-05,1\n", "csv_duplicate", 2)):
        with pytest.raises(holidays.CalendarError) as error:
            holidays.parse_csv(text)
        assert (error.value.code, error.value.detail) == (code, line)
    with pytest.raises(holidays.CalendarError, match="csv_empty"):
        holidays.parse_csv("date,is_workday,note\n")


def test_import_replaces_the_year_and_refuses_other_years(app, session):
    admin = make_staff(session, Role.ADMIN)
    holidays.set_day(session, admin, holidays.DayRow(dt.date(2027, 3, 3), False, "old"))
    with pytest.raises(holidays.CalendarError, match="csv_wrong_year"):
        holidays.import_year(session, admin, 2027, [holidays.DayRow(dt.date(2028, 1, 3), False)])
    assert holidays.import_year(session, admin, 2027, _schedule_2027()) == 9
    days = {o.day for o in holidays.year_overrides(session, 2027)}
    assert dt.date(2027, 3, 3) not in days and dt.date(2027, 2, 20) in days
    actions = session.execute(sa.select(AuditEvent.action).order_by(AuditEvent.seq)).scalars().all()
    assert actions == ["calendar.set_day", "calendar.import"]
