"""Uploads to the sharing platform: pending records, the exchange file, the upload record."""
import csv
import datetime as dt
import io

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from portal.models import AuditEvent, Case, Role
from portal.rules.workflow import RemovalReason
from portal.services import sharing
from portal.services.calendar import load_calendar
from tests.factories import bureau_day, listed_case, remove_published
from tests.web.admin_support import english, fast_passwords, login, staff, text  # noqa: F401

pytestmark = pytest.mark.usefixtures("fast_passwords")
DECIDED = dt.date(2026, 9, 28)   # sharing due 7 working days later, over National Day: 2026-10-13


@pytest.fixture
def today(time_machine):
    day = dt.date(2026, 10, 9)
    bureau_day(time_machine, day)
    return day


def _post(client, action, kind, ids, **fields):
    data = {"kind": kind, "case": [str(i) for i in ids], **fields}
    return client.post(f"/admin/sharing/{action}", data=data)


def test_pending_listings_with_their_due_dates(session, client, today):
    case, _code = listed_case(session, app=client.application, decided_on=DECIDED)
    session.commit()
    assert case.share_due_on == dt.date(2026, 10, 13)
    login(client, staff(session, Role.CLERK))
    english(client)
    page = text(client.get("/admin/sharing/"))
    assert case.case_no in page and "Listings to upload" in page
    assert "3 working days left" in page          # Sat 10 Oct 2026 is a make-up working day
    assert "Nothing to upload." in page           # no removals yet


def test_export_then_mark_uploaded(session, client, today):
    case, _code = listed_case(session, app=client.application, decided_on=DECIDED)
    session.commit()
    subject = case.subject
    login(client, staff(session, Role.CLERK, "li.na"))
    response = _post(client, "export", "listings", [case.id], fmt="csv", language="zh")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_data()
    assert body.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0][:3] == ["记录类型", "案件编号", "主体名称"]
    line = dict(zip(rows[0], rows[1]))
    assert line["案件编号"] == case.case_no and line["统一社会信用代码"] == subject.uscc
    assert line["法定代表人(负责人)身份证号码"] == subject.legal_representative.id_number
    assert line["决定日期"] == DECIDED.isoformat() and line["记录类型"] == "列入"
    event = session.execute(sa.select(AuditEvent).where(
        AuditEvent.action == "sharing.export")).scalar_one()
    assert event.actor_label == "staff:li.na" and event.data["cases"] == [case.case_no]
    assert subject.legal_representative.id_number not in str(event.data)

    response = _post(client, "mark", "listings", [case.id], **{"uploaded_on": "2026-10-09"})
    assert response.status_code == 302
    session.expire_all()
    assert session.get(Case, case.id).shared_on == dt.date(2026, 10, 9)
    assert session.execute(sa.select(AuditEvent).where(
        AuditEvent.action == "case.share")).scalar_one().data["shared_on"] == "2026-10-09"
    english(client)
    assert "Nothing to upload." in text(client.get("/admin/sharing/"))


def test_xlsx_export_in_english(session, client, today):
    case, _code = listed_case(session, app=client.application, decided_on=DECIDED)
    session.commit()
    login(client, staff(session, Role.APPROVER))
    response = _post(client, "export", "listings", [case.id], fmt="xlsx", language="en")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    values = list(sheet.values)
    assert values[0][:3] == ("Record", "Case number", "Subject name")
    assert values[1][0] == "listing" and values[1][1] == case.case_no


def test_a_removal_is_reported_after_the_listing_was_shared(app, session, client, today):
    case, _code = listed_case(session, app=app, decided_on=dt.date(2026, 3, 16))
    case.shared_on = dt.date(2026, 3, 18)
    remove_published(session, case, RemovalReason.CREDIT_REPAIRED, dt.date(2026, 9, 28),
                     key=app.config["PORTAL_LOOKUP_KEY"])
    session.commit()
    pending = sharing.pending(session, sharing.REMOVALS, load_calendar(session))
    assert [(p.case.id, p.due_on) for p in pending] == [(case.id, dt.date(2026, 10, 13))]
    login(client, staff(session, Role.CLERK))
    response = _post(client, "export", "removals", [case.id], fmt="csv", language="zh")
    line = dict(zip(*list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))[:2]))
    assert line["记录类型"] == "移出" and line["实际移出日期"] == "2026-09-28"
    assert line["移出原因"].startswith("信用修复")
    # An upload date before the removal is a typing slip: refused, nothing recorded.
    _post(client, "mark", "removals", [case.id], uploaded_on="2026-09-01")
    session.expire_all()
    assert session.get(Case, case.id).removal_shared_on is None
    _post(client, "mark", "removals", [case.id], uploaded_on="2026-10-09")
    session.expire_all()
    assert session.get(Case, case.id).removal_shared_on == dt.date(2026, 10, 9)
    assert sharing.pending(session, sharing.REMOVALS, load_calendar(session)) == []


def test_only_pending_records_can_be_chosen(session, client, today):
    case, _code = listed_case(session, app=client.application, decided_on=DECIDED)
    case.shared_on = DECIDED
    session.commit()
    login(client, staff(session, Role.CLERK))
    english(client)
    response = _post(client, "export", "listings", [case.id], fmt="csv", language="zh")
    assert response.status_code == 302
    assert "still to be uploaded" in text(client.get("/admin/sharing/"))
    assert session.execute(sa.select(AuditEvent).where(
        AuditEvent.action == "sharing.export")).first() is None


@pytest.mark.parametrize("role", [Role.REVIEWER, Role.ADMIN])
def test_other_roles_are_refused(session, client, today, role):
    case, _code = listed_case(session, app=client.application, decided_on=DECIDED)
    session.commit()
    login(client, staff(session, role))
    assert client.get("/admin/sharing/").status_code == 403
    assert _post(client, "export", "listings", [case.id], fmt="csv",
                 language="zh").status_code == 403
    assert _post(client, "mark", "listings", [case.id],
                 uploaded_on="2026-10-09").status_code == 403
    session.expire_all()
    assert session.get(Case, case.id).shared_on is None


def test_anonymous_is_sent_to_sign_in(client):
    response = client.get("/admin/sharing/")
    assert response.status_code == 302 and "/admin/login" in response.headers["Location"]


def test_the_service_refuses_other_roles(app, session, today):
    from portal.services import cases
    from tests.factories import make_staff

    case, _code = listed_case(session, app=app, decided_on=DECIDED)
    with pytest.raises(cases.PermissionDenied):
        sharing.export(session, make_staff(session, Role.REVIEWER), sharing.LISTINGS, [case],
                       "csv")


def test_marking_a_batch_with_listings_already_uploaded_records_the_others(session, client, today):
    """A colleague recorded some listings of the batch meanwhile (or the page was old): the
    others are recorded, and the page says which were already uploaded and when, leaving them
    as they were."""
    made = [listed_case(session, app=client.application, decided_on=DECIDED)[0] for _ in range(4)]
    login(client, staff(session, Role.CLERK))
    session.commit()
    english(client)
    early = made[1:3]
    assert _post(client, "mark", "listings", [c.id for c in early], uploaded_on="2026-10-08").status_code == 302
    response = _post(client, "mark", "listings", [c.id for c in made], uploaded_on="2026-10-09")
    assert response.status_code == 302
    session.expire_all()
    assert [session.get(Case, c.id).shared_on for c in made] == [
        dt.date(2026, 10, 9), dt.date(2026, 10, 8), dt.date(2026, 10, 8), dt.date(2026, 10, 9)]
    page = text(client.get("/admin/sharing/"))
    assert "2 records are recorded as uploaded." in page and "still to be uploaded" not in page
    assert "Already recorded as uploaded, left as they were:" in page
    for case in early:
        assert f"{case.case_no} (Oct 8, 2026)" in page
    shares = session.execute(sa.select(AuditEvent.entity_id).where(AuditEvent.action == "case.share")).scalars()
    assert sorted(shares) == sorted(c.case_no for c in made)     # one record per listing


def test_a_batch_of_listings_all_already_uploaded_changes_nothing(session, client, today):
    case, _code = listed_case(session, app=client.application, decided_on=DECIDED)
    case.shared_on = DECIDED
    session.commit()
    login(client, staff(session, Role.CLERK))
    english(client)
    assert _post(client, "mark", "listings", [case.id], uploaded_on="2026-10-09").status_code == 302
    page = text(client.get("/admin/sharing/"))
    assert f"{case.case_no} (Sep 28, 2026)" in page and "records are recorded" not in page
    session.expire_all()
    assert session.get(Case, case.id).shared_on == DECIDED
