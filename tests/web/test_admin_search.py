"""Search in the back office (issue 13): case number (exact, prefix, its number part), subject
name, USCC, resident ID number (never shown in full), receipt number; only the user's bureaus."""
import datetime as dt

import pytest

from portal.admin import queries
from portal.models import Role, SubjectKind
from portal.rules.identifiers import mask_ric
from portal.rules.profiles import load_profile
from portal.rules.workflow import SubmissionKind
from portal.security import lookup_hash
from portal.services import cases, submissions
from portal.services.calendar import load_calendar
from tests.factories import bureau_day, make_subject
from tests.web.admin_support import english, fast_passwords, login, staff, text  # noqa: F401
from tests.web.jurisdiction_support import TODAY, add_bureaus, jiamusi_records

pytestmark = pytest.mark.usefixtures("fast_passwords")
JIAMUSI = load_profile("jiamusi")


def _case(session, clerk, subject, ground="J1"):
    return cases.open_case(session, clerk, JIAMUSI, subject,
                           cases.CaseInput(ground=ground, facts="经查"), dt.date(2026, 10, 9))


@pytest.fixture
def found(session, app, time_machine):
    bureau_day(time_machine, TODAY)
    clerk = staff(session, Role.CLERK, "wang.fang")
    firm = make_subject(session, SubjectKind.ORGANISATION, name="佳木斯市松花江建筑工程有限公司")
    other = make_subject(session, SubjectKind.ORGANISATION, name="佳木斯市向阳物流有限公司")
    person = make_subject(session, SubjectKind.PERSON, name="刘德明")
    person.id_hash = lookup_hash(app.config["PORTAL_LOOKUP_KEY"], person.id_number)
    made = {"firm": _case(session, clerk, firm), "other": _case(session, clerk, other),
            "person": _case(session, clerk, person, ground="J5")}
    cases.serve_pre_notice(session, clerk, made["firm"], JIAMUSI, load_calendar(session),
                           dt.date(2026, 10, 9))
    filing = submissions.receive(session, JIAMUSI, load_calendar(session), submissions.Filing(
        kind=SubmissionKind.DEFENCE, body="申辩", case=made["firm"], filer_name="王建国"),
        dt.date(2026, 10, 10)).submission
    session.commit()
    login(client := app.test_client(), clerk)
    return {"client": client, "cases": made, "filing": filing, "person": person, "firm": firm}


def _search(client, q, **args):
    return client.get("/admin/search", query_string={"q": q, **args})


def test_a_full_case_number_in_any_case_goes_straight_to_the_case(found):
    case = found["cases"]["firm"]
    response = _search(found["client"], case.case_no.lower())
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/admin/cases/{case.id}")
    number = case.case_no.rsplit("-", 1)[1]                       # "000179"
    response = _search(found["client"], number)
    assert response.headers["Location"].endswith(f"/admin/cases/{case.id}")


def test_a_prefix_lists_every_case_and_pages(found, monkeypatch):
    client = found["client"]
    english(client)
    prefix = found["cases"]["firm"].case_no[:8]                  # "JIA-2026"
    body = _search(client, prefix).get_data(as_text=True)
    for case in found["cases"].values():
        assert case.case_no in body
    monkeypatch.setattr(queries, "PER_PAGE", 2)
    second = _search(client, prefix, page=2)
    assert second.status_code == 200 and "Page 2 of 2" in text(second)


def test_a_name_part_in_chinese_finds_its_cases(found):
    body = _search(found["client"], "松花江").get_data(as_text=True)
    assert found["cases"]["firm"].case_no in body
    assert found["cases"]["other"].case_no not in body


def test_a_uscc_typed_loosely_goes_to_its_case(found):
    uscc = found["firm"].uscc
    loose = f" {uscc[:6].lower()} {uscc[6:]} "
    response = _search(found["client"], loose)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/admin/cases/{found['cases']['firm'].id}")


def test_an_id_number_finds_the_person_but_is_never_shown_in_full(found):
    number = found["person"].id_number
    listed = _search(found["client"], number, go="list")
    assert listed.status_code == 303 and number not in listed.headers["Location"]
    response = found["client"].get(listed.headers["Location"])
    body = response.get_data(as_text=True)
    assert found["cases"]["person"].case_no in body
    assert number not in body and mask_ric(number) in body
    jumped = found["client"].get(_search(found["client"], number).headers["Location"])
    assert jumped.headers["Location"].endswith(f"/admin/cases/{found['cases']['person'].id}")
    assert number not in jumped.headers["Location"]


def test_a_receipt_number_goes_to_its_filing(found):
    filing = found["filing"]
    response = _search(found["client"], filing.receipt_no.lower())
    assert response.headers["Location"].endswith(f"/admin/submissions/{filing.id}")


def test_nothing_found_and_odd_input_are_not_errors(found):
    client = found["client"]
    english(client)
    assert "Nothing was found" in text(_search(client, "没有这个单位"))
    for odd in ("%", "_", "'; drop table cases; --", "x" * 5000, "", "   ", "JIA-%"):
        assert _search(client, odd).status_code == 200, odd
    assert _search(client, "JIA", page="abc").status_code == 200


def test_the_search_box_is_on_every_back_office_page(found):
    body = found["client"].get("/admin/queue/cases").get_data(as_text=True)
    assert 'action="/admin/search"' in body and 'name="q"' in body
    posted = found["client"].post("/admin/search", data={"q": found["filing"].receipt_no})
    assert posted.status_code == 303 and "/admin/search?q=" in posted.headers["Location"]


def test_a_posted_id_number_never_travels_in_a_url(found):
    number = found["person"].id_number
    posted = found["client"].post("/admin/search", data={"q": number})
    assert posted.status_code == 303 and number not in posted.headers["Location"]
    landed = found["client"].get(posted.headers["Location"])
    assert landed.headers["Location"].endswith(f"/admin/cases/{found['cases']['person'].id}")


def test_another_bureaus_cases_are_not_found(app, session, client, time_machine):
    bureau_day(time_machine, TODAY)
    records = jiamusi_records(session, app)
    add_bureaus(session)
    login(client, staff(session, Role.CLERK, "chizhou.clerk", ("chizhou",)))
    link = f"/admin/cases/{records.published.id}"
    response = _search(client, records.published.case_no)
    assert response.status_code == 200 and link not in response.get_data(as_text=True)
    assert link not in _search(client, records.published.subject.name).get_data(as_text=True)
    assert link not in _search(client, records.published.subject.uscc).get_data(as_text=True)
    assert f"/admin/submissions/{records.complaint.id}" not in _search(
        client, records.complaint.receipt_no).get_data(as_text=True)
