"""Derived dates stay current: a calendar confirmation recomputes what is published.

A first Jiamusi listing on a rectifiable ground decided on 2026-11-09 may be
rectified for 3 months: until 2027-02-09, a working day in the provisional
2027 (statutory holidays only).  When the bureau confirms 2027 with 9–11
February off, that day becomes a holiday and the window ends on the next
working day, 2027-02-12 (Civil Code art. 203); credit repair opens the day
after.  The entry page, the API and the letter follow in the same transaction.
"""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
import time_machine

from portal.models import AuditEvent, OutboxEvent, PublicationState, PublishedEntry, Role
from portal.rules.profiles import load_profile
from portal.services import holidays
from tests.factories import listed_case, make_staff
from tests.letters_support import page_text, post_letter
from tests.web.admin_support import fast_passwords, login, staff  # noqa: F401

DECIDED = dt.date(2026, 11, 9)
NOW = dt.datetime(2026, 11, 20, 2, tzinfo=dt.UTC)
NOTE = "按暂定节假日安排计算，国务院公布当年安排后可能调整"
SCHEDULE_2027 = [holidays.DayRow(d, False, "春节") for d in (
    dt.date(2027, 1, 1), dt.date(2027, 2, 5), dt.date(2027, 2, 8), dt.date(2027, 2, 9),
    dt.date(2027, 2, 10), dt.date(2027, 2, 11), dt.date(2027, 4, 5), dt.date(2027, 6, 9),
    dt.date(2027, 9, 15), dt.date(2027, 10, 1), dt.date(2027, 10, 4), dt.date(2027, 10, 5),
    dt.date(2027, 10, 6), dt.date(2027, 10, 7), dt.date(2027, 5, 3))]


def _confirm_2027(session):
    admin = make_staff(session, Role.ADMIN)
    holidays.import_year(session, admin, 2027, SCHEDULE_2027)
    missing = holidays.missing_statutory(session, 2027)
    for day in missing:
        holidays.set_day(session, admin, holidays.DayRow(day, False, "法定节假日"))
    return holidays.confirm_year(session, admin, 2027, load_profile, load_profile("jiamusi"))


def _surfaces(client, entry, case, code, party) -> dict:
    return {
        "party": page_text(party.get("/submit/case")),
        "page": page_text(client.get(f"/entries/{entry.public_id}")),
        "api": client.get(f"/api/v1/entries/{entry.public_id}").get_json()["data"],
        "letter": page_text(post_letter(client, case, "listing_decision", code=code)),
    }


def test_confirming_a_year_moves_the_published_windows_everywhere(app, session, client,
                                                                   fast_passwords):  # noqa: F811
    with time_machine.travel(NOW, tick=False):
        case, code = listed_case(session, app, decided_on=DECIDED, ground="J1")
        session.commit()
        entry = session.execute(sa.select(PublishedEntry)).scalar_one()
        login(client, staff(session, Role.CLERK))
        party = app.test_client()
        party.post("/submit/party", data={"case_no": case.case_no, "access_code": code,
                                          "identifier": case.subject.uscc})
        before = _surfaces(client, entry, case, code, party)
        assert before["api"]["rectification_closes_on"] == "2027-02-09"
        assert before["api"]["dates_provisional"] == ["rectification_closes_on", "repair_opens_on"]
        assert "2027年2月9日" in before["page"] and NOTE in before["page"]
        assert "2027年2月9日" in before["letter"] and NOTE in before["letter"]
        assert "截止日期：2027年2月9日。 暂定" in before["party"]
        version = session.get(PublicationState, 1).version
        outbox = session.scalar(sa.select(sa.func.count(OutboxEvent.id)))

        changes = _confirm_2027(session)
        session.commit()
        assert {(c.entity_type, c.field, c.old, c.new) for c in changes} >= {
            ("entry", "rectification_closes_on", dt.date(2027, 2, 9), dt.date(2027, 2, 12)),
            ("entry", "repair_opens_on", dt.date(2027, 2, 10), dt.date(2027, 2, 13))}
        after = _surfaces(client, entry, case, code, party)

    assert after["api"]["rectification_closes_on"] == "2027-02-12"
    assert after["api"]["repair_opens_on"] == "2027-02-13"
    assert after["api"]["dates_provisional"] == []
    assert "2027年2月12日" in after["party"] and "暂定" not in after["party"]
    for name in ("page", "letter"):
        assert "2027年2月12日" in after[name] and "2027年2月13日" in after[name], name
        assert "2027年2月9日" not in after[name] and NOTE not in after[name], name
    session.expire_all()
    assert session.get(PublicationState, 1).version > version
    assert session.scalar(sa.select(sa.func.count(OutboxEvent.id)).where(
        OutboxEvent.public_id == entry.public_id)) >= 2
    assert session.scalar(sa.select(sa.func.count(OutboxEvent.id))) > outbox
    event = session.execute(sa.select(AuditEvent).where(
        AuditEvent.action == "calendar.recompute", AuditEvent.entity_type == "entry")).scalar_one()
    assert event.entity_id == entry.public_id
    assert event.data["rectification_closes_on"] == ["2027-02-09", "2027-02-12"]


def test_entering_one_day_off_moves_the_published_window_at_once(app, session):
    listed_case(session, app, decided_on=DECIDED, ground="J1")
    admin = make_staff(session, Role.ADMIN)
    changes = holidays.set_day(session, admin, holidays.DayRow(dt.date(2027, 2, 9), False, "春节"),
                               (load_profile, load_profile("jiamusi")))
    entry = session.execute(sa.select(PublishedEntry)).scalar_one()
    assert entry.rectification_closes_on == dt.date(2027, 2, 10)
    assert entry.dates_provisional == ["rectification_closes_on", "repair_opens_on"]
    assert [(c.field, c.new) for c in changes if c.entity_type == "entry"] == [
        ("rectification_closes_on", dt.date(2027, 2, 10)), ("repair_opens_on", dt.date(2027, 2, 11))]
