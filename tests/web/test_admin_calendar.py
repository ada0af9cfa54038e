"""Entering and confirming 2027 (provisional today) through the back office."""
import datetime as dt
import io

import pytest
import sqlalchemy as sa

from portal.models import AuditEvent, CalendarYear, Case, HolidayOverride, Role
from portal.rules.profiles import load_profile
from portal.services import cases
from portal.services.calendar import load_calendar
from tests.factories import make_subject
from tests.web.admin_support import english, fast_passwords, login, staff, text  # noqa: F401

pytestmark = pytest.mark.usefixtures("fast_passwords")


def _served_2027_01_28(session):
    clerk = staff(session, Role.CLERK)
    profile = load_profile("jiamusi")
    case = cases.open_case(session, clerk, profile, make_subject(session),
                           cases.CaseInput(ground="J1", facts="经查"), dt.date(2027, 1, 28))
    cases.serve_pre_notice(session, clerk, case, profile, load_calendar(session), dt.date(2027, 1, 28))
    session.commit()
    return case


def test_confirming_2027_recomputes_and_lists_the_changes(app, session, client):
    case = _served_2027_01_28(session)
    assert (case.defence_due_on, case.deadlines_provisional) == (dt.date(2027, 2, 4), True)
    english(client)
    login(client, staff(session, Role.ADMIN))
    page = client.get("/admin/calendar/?year=2027")
    assert "provisional: statutory holidays only" in text(page)
    assert client.post("/admin/calendar/confirm?year=2027").status_code == 302   # refused: empty year
    assert "These statutory holidays would be working days" in text(client.get("/admin/calendar/?year=2027"))
    assert client.post("/admin/calendar/prefill?year=2027").status_code == 302
    assert client.post("/admin/calendar/day?year=2027", data={
        "day": "2027-02-01", "is_workday": "0", "note": "市局调整"}).status_code == 302
    assert client.post("/admin/calendar/day?year=2027", data={
        "day": "2027-02-20", "is_workday": "1", "note": "调休上班"}).status_code == 302
    assert session.scalar(sa.select(sa.func.count(HolidayOverride.day))) == 9
    # an entered day applies at once: the stored deadline follows it (still provisional)
    case_page = text(client.get(f"/admin/cases/{case.id}"))
    assert "differs from today's calendar" not in case_page
    session.expire_all()
    case = session.get(Case, case.id)
    assert (case.defence_due_on, case.deadlines_provisional) == (dt.date(2027, 2, 9), True)
    event = session.execute(sa.select(AuditEvent).where(AuditEvent.action == "calendar.recompute")
                            .order_by(AuditEvent.seq)).scalars().first()
    assert event.data["defence_due_on"] == ["2027-02-04", "2027-02-09"]

    confirmed = client.post("/admin/calendar/confirm?year=2027")
    assert confirmed.status_code == 200
    assert "No stored deadline has moved" in text(confirmed)
    session.expire_all()
    case = session.get(Case, case.id)
    assert (case.defence_due_on, case.deadlines_provisional) == (dt.date(2027, 2, 9), False)
    assert session.get(CalendarYear, 2027) is not None
    after = text(client.get("/admin/calendar/?year=2027"))
    assert "entered and confirmed by the bureau" in after
    assert "Import a whole year" not in after                 # a confirmed year is read-only
    assert "bureau schedule 2027" in text(client.get(f"/admin/cases/{case.id}"))


def test_importing_a_csv_file(app, session, client):
    english(client)
    login(client, staff(session, Role.ADMIN))
    csv = "date,is_workday,note\n2027-01-01,0,元旦\n2027-02-05,0,春节\n2027-02-20,1,调休上班\n"
    response = client.post("/admin/calendar/import?year=2027", content_type="multipart/form-data",
                           data={"file": (io.BytesIO(csv.encode("utf-8-sig")), "2027.csv")})
    assert response.status_code == 302
    days = session.execute(sa.select(HolidayOverride.day, HolidayOverride.is_workday)
                           .order_by(HolidayOverride.day)).all()
    assert days == [(dt.date(2027, 1, 1), False), (dt.date(2027, 2, 5), False),
                    (dt.date(2027, 2, 20), True)]
    bad = client.post("/admin/calendar/import?year=2027", data={"text": "2027-02-05,0\n2027-13-01,0\n"})
    assert bad.status_code == 302
    assert "Line 2: the date must be written YYYY-MM-DD." in text(client.get(bad.headers["Location"]))
    assert session.scalar(sa.select(sa.func.count(HolidayOverride.day))) == 3     # unchanged


def test_published_years_cannot_be_edited_and_clerks_are_refused(app, session, client):
    english(client)
    login(client, staff(session, Role.ADMIN))
    refused = client.post("/admin/calendar/day?year=2026", data={"day": "2026-03-02", "is_workday": "0"})
    assert "can no longer be changed" in text(client.get(refused.headers["Location"]))
    assert session.scalar(sa.select(sa.func.count(HolidayOverride.day))) == 0
    clerk_client = client.application.test_client()
    login(clerk_client, staff(session, Role.CLERK))
    assert clerk_client.get("/admin/calendar/").status_code == 403
    assert clerk_client.post("/admin/calendar/confirm?year=2027").status_code == 403
