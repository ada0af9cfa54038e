"""The listed party's sign-in: all three elements or nothing, one case per browser, rate limits, CSRF."""
import datetime as dt
import io
import re

import pytest
import sqlalchemy as sa

from portal import config as portal_config
from portal import create_app
from portal.extensions import db
from portal.models import SubjectKind, Submission
from tests.factories import listed_case, pre_noticed_case
from tests.web.test_submit_filings import FILER, english, login, post, set_today, token

D = dt.date


def test_sign_in_accepts_normalised_input_and_opens_the_case_page(app, session, client, time_machine):
    case, code = pre_noticed_case(session, served_on=D(2026, 9, 28))
    session.commit()
    set_today(time_machine, D(2026, 9, 29))
    reply = client.post("/submit/party", data={
        "case_no": " " + case.case_no.lower() + " ", "access_code": code.lower().replace("-", " "),
        "identifier": case.subject.uscc.lower()[:9] + " " + case.subject.uscc.lower()[9:]})
    assert reply.status_code == 302 and reply.headers["Location"] == "/submit/case"
    english(client)
    page = client.get("/submit/case").get_data(as_text=True)
    assert case.case_no in page and case.subject.name in page
    assert "Last day: Oct 10, 2026." in page
    assert page.count("Start</a>") == 1                      # only the defence is open now


def test_a_person_signs_in_with_the_id_number_which_is_never_shown(app, session, client):
    case, code = listed_case(session, app, kind=SubjectKind.PERSON, ground="J4")
    session.commit()
    assert login(client, case, code, identifier=case.subject.id_number).status_code == 302
    for url in ("/submit/case", "/submit/repair/commitment", "/submit/objection"):
        assert case.subject.id_number not in client.get(url).get_data(as_text=True)


def test_every_wrong_element_gets_the_same_answer(app, session, client):
    case, code = pre_noticed_case(session)
    other, other_code = pre_noticed_case(session)
    session.commit()
    right = {"case_no": case.case_no, "access_code": code, "identifier": case.subject.uscc}
    attempts = [
        {**right, "case_no": "JIA-2026-999999"},             # unknown case
        {**right, "access_code": other_code},                # another party's code
        {**right, "identifier": other.subject.uscc},         # another party's code number
        {**right, "access_code": "2345-6789-AB"},            # made-up code
    ]
    bodies = set()
    for data in attempts:
        reply = client.post("/submit/party", data=data)
        assert reply.status_code == 422
        bodies.add(re.sub(r'value="[^"]*"', "", reply.get_data(as_text=True)))
    assert len(bodies) == 1
    assert client.get("/submit/case").status_code == 302      # still signed out


def test_party_a_cannot_see_or_file_on_party_b(app, session, client, time_machine):
    a, a_code = listed_case(session, app)
    b, b_code = listed_case(session, app)
    session.commit()
    set_today(time_machine, D(2026, 6, 1))
    login(client, a, a_code)
    page = client.get("/submit/case").get_data(as_text=True)
    assert a.case_no in page and b.case_no not in page and b.subject.name not in page
    # the only case this browser can file on is A's: a filing lands on A, whatever is posted
    post(client, "/submit/objection", {"token": token(client, "/submit/objection"), "category": "facts",
                                       "body": "事实有误", "case_id": str(b.id), "case_no": b.case_no, **FILER})
    assert session.execute(sa.select(Submission.case_id)).scalars().all() == [a.id]
    # B's filings are not listed to A
    b_browser = app.test_client()
    login(b_browser, b, b_code)
    assert a.case_no not in b_browser.get("/submit/case").get_data(as_text=True)


def test_a_new_letter_ends_the_old_sign_in(app, session, client, monkeypatch):
    from portal.security import hash_code

    case, code = listed_case(session, app)
    session.commit()
    login(client, case, code)
    assert client.get("/submit/case").status_code == 200
    case.access_code_hash = hash_code("NEWC-ODE2-34")          # as when the bureau issues a new letter
    session.commit()
    assert client.get("/submit/case").status_code == 302


def test_sign_out(app, session, client):
    case, code = listed_case(session, app)
    session.commit()
    login(client, case, code)
    assert client.post("/submit/party/logout").status_code == 302
    assert client.get("/submit/case").status_code == 302


def _second_app(database_url, tmp_path, **overrides):
    """Another app on the same database with different settings (limiter on, CSRF on)."""
    return create_app({**portal_config.testing(database_url, tmp_path), **overrides})


@pytest.fixture
def limited_app(app, database_url, tmp_path):
    other = _second_app(database_url, tmp_path, RATELIMIT_ENABLED=True)
    yield other
    with other.app_context():
        db.engine.dispose()


def test_sign_in_is_rate_limited(app, session, limited_app):
    case, code = listed_case(session, app)
    session.commit()
    client = limited_app.test_client()
    wrong = {"case_no": case.case_no, "access_code": "2345-6789-AB", "identifier": case.subject.uscc}
    statuses = [client.post("/submit/party", data=wrong).status_code for _ in range(10)]
    assert statuses == [422] * 10
    blocked = client.post("/submit/party", data={**wrong, "access_code": code})   # even the right code
    assert blocked.status_code == 429
    assert client.get("/submit/party").status_code == 200                         # reading is not limited
    track = [client.post("/track", data={"receipt_no": "X", "query_code": "Y"}).status_code for _ in range(11)]
    assert track[-1] == 429


@pytest.fixture
def csrf_app(app, database_url, tmp_path):
    other = _second_app(database_url, tmp_path, WTF_CSRF_ENABLED=True)
    yield other
    with other.app_context():
        db.engine.dispose()


def test_forms_need_their_csrf_token(app, session, csrf_app, time_machine):
    case, code = pre_noticed_case(session, served_on=D(2026, 9, 28))
    session.commit()
    set_today(time_machine, D(2026, 9, 29))
    client = csrf_app.test_client()
    data = {"case_no": case.case_no, "access_code": code, "identifier": case.subject.uscc}
    refused = client.post("/submit/party", data=data)
    assert refused.status_code == 400 and "申请未提交" in refused.get_data(as_text=True)   # Chinese by default
    html = client.get("/submit/party").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    assert client.post("/submit/party", data={**data, "csrf_token": csrf}).status_code == 302
    form = client.get("/submit/defence").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form).group(1)
    form_token = re.search(r'name="token" type="hidden" value="([^"]+)"', form).group(1)
    assert post(client, "/submit/defence", {"token": form_token, "body": "申辩", **FILER}).status_code == 400
    assert post(client, "/submit/defence", {"token": form_token, "body": "申辩", "csrf_token": csrf,
                                            **FILER}).status_code == 200


def test_the_body_limit_applies_before_the_csrf_check_reads_the_form(app, csrf_app):
    csrf_app.config.update(PORTAL_MAX_UPLOAD_MB=1, PORTAL_MAX_FILES=1)
    client = csrf_app.test_client()
    reply = client.post("/submit/complaint", content_type="multipart/form-data", data={
        "body": "x", "files": [(io.BytesIO(b"%PDF-1.4" + b"0" * (3 * 1024 * 1024 + 10)), "huge.pdf")]})
    assert reply.status_code == 413
