"""A certificate of a past day's answer (查询日期): the point-in-time answer from the publication
history, signed and chained like today's, with no name and no ground a repair withholds."""
import datetime as dt
import json
import re

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import QueryCertificate
from portal.rules.workflow import RemovalReason
from portal.services import certificates, signing
from tests.factories import make_subject, published_case, remove_published
from tests.web.test_check_on_a_day import NAME, TODAY, rectified, today  # noqa: F401 (fixtures)
from tests.web.test_public_pages import english

TOKEN = re.compile(r'name="token" value="([^"]+)"')


def certify_day(client, code: str, day: str) -> QueryCertificate:
    answer = client.post("/check", data={"code": code, "day": day})
    assert answer.status_code == 200
    token = TOKEN.search(answer.get_data(as_text=True)).group(1)
    issued = client.post("/check/certificate", data={"token": token})
    assert issued.status_code == 303
    number = issued.headers["Location"].rsplit("/", 1)[1]
    return db.session.execute(sa.select(QueryCertificate)
                              .where(QueryCertificate.number == number)).scalar_one()


def test_a_day_within_a_listing_is_certified_as_listed_then(rectified, client, app):  # noqa: F811
    cert = certify_day(client, rectified.subject.uscc, "2026-04-01")
    content = certificates.content(cert)
    assert (content["as_of"], content["result"], content["verdict"]) == (
        "2026-04-01", "listed", "listed")
    assert content["issued_on"] == TODAY.isoformat()
    [item] = content["history"]
    assert (item["listed_from"], item["published_on"], item["listed_until"]) == (
        "2026-03-16", "2026-03-18", "2026-05-20")
    assert item["removal_reason"] == "rectified" and item["ground_code"] == "J1"
    assert item["ground"]["zh_CN"].startswith("用人单位不依法办理社会保险登记")
    assert item["reason_text"]["zh_CN"] == "按期整改到位"
    assert "listed" not in content and "removed" not in content    # not today's look-up
    text = json.dumps(content, ensure_ascii=False)
    assert NAME not in text and rectified.facts not in text
    # signed and chained like every certificate
    public = signing.signer(app.config["PORTAL_CERT_SIGNING_KEY"]).public
    assert certificates.verify_document(certificates.document(cert), public) == []
    html = client.get(f"/verify/{cert.number}").get_data(as_text=True)
    assert "查询日期" in html and "2026年4月1日，该代码对应的主体在严重失信人名单中。" in html
    assert "2026年5月20日" in html and "按期整改到位" in html and NAME not in html
    english(client)
    html = client.get(f"/verify/{cert.number}").get_data(as_text=True)
    assert "On Apr 1, 2026 this code was on the serious dishonesty list." in html


def test_days_outside_the_listing_and_before_the_records(rectified, client):  # noqa: F811
    before = certificates.content(certify_day(client, rectified.subject.uscc, "2026-03-15"))
    assert (before["result"], before["verdict"], before["history"]) == (
        "not_listed", "not_listed", [])
    after = certificates.content(certify_day(client, rectified.subject.uscc, "2026-06-01"))
    assert (after["result"], after["verdict"]) == ("not_listed", "removed")
    assert after["history"][0]["listed_until"] == "2026-05-20"
    early = certify_day(client, rectified.subject.uscc, "2025-06-01")
    content = certificates.content(early)
    assert (content["result"], content["records_begin"]) == ("no_record", "2025-06-02")
    html = client.get(f"/verify/{early.number}").get_data(as_text=True)
    assert "2025年6月2日" in html and "已列入" not in html


def test_a_repaired_listing_is_certified_without_its_ground(app, session, client, today):  # noqa: F811
    case = published_case(session, app, subject=make_subject(session, name=NAME), ground="J1",
                          decided_on=dt.date(2026, 3, 16))
    remove_published(session, case, RemovalReason.CREDIT_REPAIRED, dt.date(2026, 9, 1),
                     app.config["PORTAL_LOOKUP_KEY"])
    session.commit()
    content = certificates.content(certify_day(client, case.subject.uscc, "2026-04-01"))
    assert content["result"] == "listed"
    [item] = content["history"]
    assert item["ground"] is None and item["ground_code"] is None
    assert item["listed_until"] == "2026-09-01"


def test_todays_answer_keeps_its_own_certificate(rectified, client):  # noqa: F811
    """A day equal to today is today's look-up, not the history."""
    content = certificates.content(certify_day(client, rectified.subject.uscc,
                                               TODAY.isoformat()))
    assert "as_of" not in content and content["result"] == "removed"


@pytest.mark.parametrize("day", ["2026-04-01"])
def test_a_tampered_day_token_is_refused(rectified, client, day):  # noqa: F811
    answer = client.post("/check", data={"code": rectified.subject.uscc, "day": day})
    token = TOKEN.search(answer.get_data(as_text=True)).group(1)
    assert client.post("/check/certificate", data={"token": token[:-2] + "xx"}).status_code == 400
