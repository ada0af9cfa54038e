"""/check: "is this subject listed?" by USCC or full resident ID number (POST, CSRF, rate limit)."""
import datetime as dt
import logging
import random
import re

import pytest
import sqlalchemy as sa

from portal import create_app
from portal.config import testing as settings_for_tests
from portal.extensions import db
from portal.models import PublishedEntry, Role, SubjectKind
from portal.rules import identifiers
from portal.rules.profiles import load_profile
from portal.rules.workflow import RemovalReason
from portal.services import cases
from tests.factories import make_staff, make_subject, published_case
from tests.web.test_public_pages import english, names

B_NAME = "佳木斯市乙物流有限公司"


@pytest.fixture
def org_and_person(app, session):
    org = published_case(session, app, subject=make_subject(session, name=B_NAME), ground="J6",
                         decided_on=dt.date(2026, 2, 2))
    person = published_case(session, app, subject=make_subject(session, SubjectKind.PERSON, name="李秀英"),
                            kind=SubjectKind.PERSON, ground="J3", decided_on=dt.date(2026, 5, 6))
    session.commit()
    return org, person


@pytest.fixture
def removed(app, session):
    """D: removed after rectification (entry kept); E: credit repaired (entry unpublished)."""
    approver = make_staff(session, Role.APPROVER)
    pair = []
    for name, reason, on in (("佳木斯市丁商贸有限公司", RemovalReason.RECTIFIED, dt.date(2026, 5, 20)),
                             ("佳木斯市戊餐饮有限公司", RemovalReason.CREDIT_REPAIRED, dt.date(2026, 9, 1))):
        case = published_case(session, app, subject=make_subject(session, name=name), ground="J1",
                              decided_on=dt.date(2026, 3, 16))
        cases.remove_case(session, approver, case, load_profile("jiamusi"),
                          app.config["PORTAL_LOOKUP_KEY"], reason, on)
        pair.append(case)
    session.commit()
    return pair


def test_check_an_organisation_by_its_code(org_and_person, client):
    b, _person = org_and_person
    page = client.post("/check", data={"code": " " + b.subject.uscc.lower() + " "})
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    html = page.get_data(as_text=True)
    assert "已列入" in html and B_NAME in html and b.subject.uscc in html
    assert f'href="/entries/{_entry_id(b)}"' in html
    assert f"{b.leaves_list_on.year}年{b.leaves_list_on.month}月{b.leaves_list_on.day}日" in html
    assert b.subject.legal_representative.id_number not in html


def _entry_id(case) -> str:
    return db.session.execute(sa.select(PublishedEntry.public_id)
                              .where(PublishedEntry.case_id == case.id)).scalar_one()


def test_check_an_unpublished_person_by_full_id_number(app, session, client):
    app.config["PORTAL_PROFILE"] = "zhengzhou"
    person = make_subject(session, SubjectKind.PERSON, name="钱冒领")
    case = published_case(session, app, profile_code="zhengzhou", kind=SubjectKind.PERSON,
                          subject=person, ground="ZP3", decided_on=dt.date(2026, 3, 16))
    session.commit()
    entry = session.execute(sa.select(PublishedEntry)).scalar_one()
    assert entry.visible is False
    assert names(client.get("/entries").get_data(as_text=True)) == []
    assert client.get(f"/entries/{entry.public_id}").status_code == 404
    full = person.id_number
    html = client.post("/check", data={"code": full[:6] + " " + full[6:]}).get_data(as_text=True)
    assert "已列入" in html and "钱**" in html and "钱冒领" not in html
    assert identifiers.mask_ric(full) in html
    assert full not in html and full[6:14] not in html               # nor its birth date
    assert f"/entries/{entry.public_id}" not in html
    assert f"{case.leaves_list_on.year}年{case.leaves_list_on.month}月{case.leaves_list_on.day}日" in html


def test_a_wrong_check_digit_is_explained_and_the_input_kept(client):
    valid = identifiers.generate_ric(random.Random(5), birth=dt.date(1980, 4, 1))
    wrong = valid[:17] + ("0" if valid[17] != "0" else "1")
    english(client)
    page = client.post("/check", data={"code": wrong})
    assert page.status_code == 422
    html = page.get_data(as_text=True)
    assert "The check digit (the last character) of this resident ID number does not match." in html
    assert f'value="{wrong}"' in html and 'aria-invalid="true"' in html
    uscc = identifiers.generate_uscc(random.Random(6))
    bad_uscc = uscc[:17] + ("0" if uscc[17] != "0" else "1")
    html = client.post("/check", data={"code": bad_uscc}).get_data(as_text=True)
    assert "check character (the last character) of this unified social credit code" in html
    html = client.post("/check", data={"code": "12345"}).get_data(as_text=True)
    assert "both have 18 characters; you entered 5." in html and 'value="12345"' in html
    html = client.post("/check", data={"code": valid[:6] + "19801340" + valid[14:]}).get_data(as_text=True)
    assert "resident ID number" in html                  # an impossible birth date or check digit


def test_check_not_listed_and_removed(removed, client):
    d, e = removed
    other = identifiers.generate_uscc(random.Random(99))
    english(client)
    html = client.post("/check", data={"code": other}).get_data(as_text=True)
    assert "Not listed" in html and other in html
    html = client.post("/check", data={"code": d.subject.uscc}).get_data(as_text=True)
    assert "Previously listed and removed from the list." in html
    assert "Rectified in time" in html and "May 20, 2026" in html
    assert f'href="/entries/{_entry_id(d)}"' in html
    html = client.post("/check", data={"code": e.subject.uscc}).get_data(as_text=True)
    assert "Credit repaired" in html and "/entries/E" not in html   # repaired: no entry to link


def test_check_never_logs_or_caches_the_number(org_and_person, client, caplog):
    _b, c = org_and_person
    full = c.subject.id_number
    with caplog.at_level(logging.DEBUG):
        page = client.post("/check", data={"code": full})
    assert page.status_code == 200 and full not in caplog.text
    assert page.headers["Cache-Control"] == "no-store" and "ETag" not in page.headers
    assert f'value="{full}"' not in page.get_data(as_text=True)      # not echoed once answered
    assert client.get("/check").headers["Cache-Control"] == "no-store"


def _fresh_app(tmp_path, **extra):
    config = settings_for_tests(f"sqlite:///{tmp_path / 'fresh.db'}", tmp_path)
    config.update(extra)
    app = create_app(config)
    with app.app_context():
        db.create_all()
    return app


def test_check_is_rate_limited_with_a_translated_page(tmp_path):
    app = _fresh_app(tmp_path, RATELIMIT_ENABLED=True, PORTAL_CHECK_RATE_LIMIT="3 per minute")
    try:
        client = app.test_client()
        code = identifiers.generate_uscc(random.Random(3))
        with app.app_context():
            for _ in range(3):
                assert client.post("/check", data={"code": code}).status_code == 200
            assert client.get("/check").status_code == 200                  # GET is not counted
            limited = client.post("/check", data={"code": code})
            assert limited.status_code == 429
            assert "Retry-After" in limited.headers and limited.headers["Cache-Control"] == "no-store"
            html = limited.get_data(as_text=True)
            assert 'name="code"' in html and code not in html
            client.get("/lang/en")
            html = client.post("/check", data={"code": code}).get_data(as_text=True)
            assert "You have made too many look-ups in a short time." in html
            db.session.remove()
    finally:
        with app.app_context():
            db.engine.dispose()


def test_check_requires_a_csrf_token(tmp_path):
    app = _fresh_app(tmp_path, WTF_CSRF_ENABLED=True)
    client = app.test_client()
    code = identifiers.generate_uscc(random.Random(4))
    with app.app_context():
        client.get("/lang/en")
        refused = client.post("/check", data={"code": code})
        assert refused.status_code == 400
        assert "The form has expired. Please enter the code again." in refused.get_data(as_text=True)
        form = client.get("/check").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form).group(1)
        answered = client.post("/check", data={"code": code, "csrf_token": token})
        assert answered.status_code == 200 and "Not listed" in answered.get_data(as_text=True)
        db.session.remove()
        db.engine.dispose()
