"""/watch: an organisation registers, confirms its address, signs in, keeps a watchlist of
codes (typed or uploaded), exports it, reads its private Atom feed — and nobody else can."""
import io
import re
import xml.etree.ElementTree as ET

import pytest
import sqlalchemy as sa
from openpyxl import Workbook, load_workbook

from portal import clock
from portal.models import OutgoingMail, Subscriber, SubjectKind, WatchItem
from portal.services import watch_alerts
from tests.factories import make_subject, published_case

PASSWORD = "a long passphrase"


@pytest.fixture
def mail_on(app):
    app.config["PORTAL_SMTP_HOST"] = "127.0.0.1"
    return app


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    return found.group(1) if found else ""


def _register(client, email="hr@bank.example", name="某银行人事部"):
    page = client.get("/watch/register").get_data(as_text=True)
    return client.post("/watch/register", data={"csrf_token": _csrf(page), "name": name,
                                                 "email": email, "password": PASSWORD,
                                                 "repeat": PASSWORD})


def _verify_link(session, email):
    row = session.scalars(sa.select(OutgoingMail).where(OutgoingMail.recipient == email,
                                                        OutgoingMail.event == "subscriber_verify")
                          ).all()[-1]
    return f"/watch/verify/{row.payload['token']}"


def _login(client, email="hr@bank.example", password=PASSWORD):
    page = client.get("/watch/login").get_data(as_text=True)
    return client.post("/watch/login", data={"csrf_token": _csrf(page), "email": email,
                                             "password": password})


def signed_in(client, session, email="hr@bank.example"):
    assert _register(client, email).status_code == 200
    assert client.get(_verify_link(session, email)).status_code == 200
    answer = _login(client, email)
    assert answer.status_code == 303 and answer.headers["Location"].endswith("/watch")


def _new_list(client, name="供应商"):
    page = client.get("/watch").get_data(as_text=True)
    answer = client.post("/watch", data={"csrf_token": _csrf(page), "name": name})
    assert answer.status_code == 303
    return answer.headers["Location"]


def test_register_confirm_and_sign_in(mail_on, client, session):
    assert _register(client).status_code == 200
    assert _login(client).status_code == 401            # not confirmed yet: the link is sent again
    assert len(session.scalars(sa.select(OutgoingMail).where(
        OutgoingMail.event == "subscriber_verify")).all()) == 2
    assert client.get("/watch/verify/not-a-token").status_code == 404
    assert client.get(_verify_link(session, "hr@bank.example")).status_code == 200
    assert _login(client, password="wrong password!").status_code == 401
    assert _login(client).status_code == 303
    assert "某银行人事部" in client.get("/watch").get_data(as_text=True)
    # the same address again: the same answer, and no second account
    assert _register(client, "HR@bank.example").status_code == 200
    assert session.scalar(sa.select(sa.func.count()).select_from(Subscriber)) == 1


def test_without_a_mail_server_registration_is_not_offered(app, client):
    page = client.get("/watch/register").get_data(as_text=True)
    assert "no mail server" in page or "未配置" in page
    assert 'name="password"' not in page


def test_signed_out_visitors_are_sent_to_sign_in(app, client):
    for path in ("/watch", "/watch/lists/1", "/watch/lists/1/export.csv"):
        answer = client.get(path)
        assert answer.status_code == 303 and "/watch/login" in answer.headers["Location"]


def test_a_watchlist_of_typed_and_uploaded_codes_exported_and_fed(mail_on, client, session):
    signed_in(client, session)
    address = _new_list(client)
    person = make_subject(session, SubjectKind.PERSON)
    org = make_subject(session, SubjectKind.ORGANISATION)
    other = make_subject(session, SubjectKind.ORGANISATION)
    session.commit()
    page = client.get(address).get_data(as_text=True)
    typed = f"{org.uscc},供应商甲\n{person.id_number}，张某\n12345,坏的\n"
    answer = client.post(address + "/codes", data={"csrf_token": _csrf(page), "codes": typed},
                         content_type="multipart/form-data")
    assert answer.status_code == 200
    text = answer.get_data(as_text=True)
    assert "2 codes added" in text or "已添加 2" in text
    assert person.id_number not in text

    book = Workbook()
    book.active.append(["名称", "统一社会信用代码"])
    book.active.append(["第三家", other.uscc])
    raw = io.BytesIO()
    book.save(raw)
    answer = client.post(address + "/codes", data={
        "csrf_token": _csrf(page), "file": (io.BytesIO(raw.getvalue()), "名单.xlsx")},
        content_type="multipart/form-data")
    assert answer.status_code == 303
    assert session.scalar(sa.select(sa.func.count()).select_from(WatchItem)) == 3

    sheet = load_workbook(io.BytesIO(client.get(address + "/export.xlsx").data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 4 and {r[1] for r in rows[1:]} == {"供应商甲", "张某", "第三家"}
    csv_text = client.get(address + "/export.csv").data.decode("utf-8-sig")
    assert org.uscc in csv_text and person.id_number not in csv_text

    # a listing reaches the feed
    watch_alerts.run(session, client.application.config["PORTAL_LOOKUP_KEY"],
                     clock.now() - clock.now(), clock.now())          # start at the end
    session.commit()
    published_case(session, client.application, subject=org)
    session.commit()
    watch_alerts.run(session, client.application.config["PORTAL_LOOKUP_KEY"],
                     clock.now() - clock.now(), clock.now())
    session.commit()
    page = client.get(address).get_data(as_text=True)
    feed_url = re.search(r'<code class="feed-url">([^<]+)</code>', page).group(1)
    path = feed_url.split("://", 1)[1].split("/", 1)[1]
    anonymous = client.application.test_client()
    feed = anonymous.get("/" + path)
    assert feed.status_code == 200 and feed.headers["Content-Type"].startswith("application/atom+xml")
    root = ET.fromstring(feed.data)
    entries = root.findall("{http://www.w3.org/2005/Atom}entry")
    assert len(entries) == 1 and org.name in entries[0].findtext("{http://www.w3.org/2005/Atom}title")

    # a new address: the old one stops working
    client.post(address + "/feed-address", data={"csrf_token": _csrf(page)})
    assert anonymous.get("/" + path).status_code == 404


def test_another_organisation_cannot_open_or_change_a_watchlist(mail_on, app, client, session):
    signed_in(client, session)
    address = _new_list(client)
    intruder = app.test_client()
    signed_in(intruder, session, "other@bank.example")
    assert intruder.get(address).status_code == 404
    assert intruder.get(address + "/export.csv").status_code == 404
    page = intruder.get("/watch").get_data(as_text=True)
    assert intruder.post(address + "/delete", data={"csrf_token": _csrf(page)}).status_code == 404
    assert client.get(address).status_code == 200


def test_forms_need_their_csrf_token(mail_on, app, client, session):
    app.config["WTF_CSRF_ENABLED"] = True
    signed_in(client, session)
    address = _new_list(client)
    for path in (address + "/codes", address + "/remove", address + "/delete", "/watch/logout"):
        assert client.post(path, data={}).status_code in (400, 422)
    assert client.get(address).status_code == 200


def test_signing_out_ends_the_session_for_every_copy_of_the_cookie(mail_on, client, session):
    signed_in(client, session)
    cookie = client.get_cookie("session").value
    page = client.get("/watch").get_data(as_text=True)
    client.post("/watch/logout", data={"csrf_token": _csrf(page)})
    copy = client.application.test_client()
    copy.set_cookie("session", cookie)
    assert copy.get("/watch").status_code == 303
