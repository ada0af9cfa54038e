"""The first public slice through the test client: home, entry, health, language."""
import datetime as dt

import sqlalchemy as sa

from portal.models import PublishedEntry, Role, SubjectKind
from portal.rules.identifiers import mask_ric
from portal.rules.profiles import load_profile
from portal.rules.workflow import RemovalReason
from portal.services import cases
from tests.factories import make_staff, published_case


def test_home_shows_counts_and_latest(app, session, client):
    case = published_case(session, app)
    session.commit()
    page = client.get("/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "查询单位或个人是否被列入名单" in html          # Chinese by default
    assert case.subject.name in html
    assert '<strong>1</strong> 条在列名单' in html
    assert 'name="q"' in html


def test_entry_page_renders_the_decision_from_the_projection(app, session, client):
    case = published_case(session, app, facts="经查，该单位2025年拒不办理社会保险登记。")
    session.commit()
    entry = session.execute(sa.select(PublishedEntry)).scalar_one()
    html = client.get(f"/entries/{entry.public_id}").get_data(as_text=True)
    profile = load_profile("jiamusi")
    ground = profile.ground(case.ground)
    assert case.subject.name in html
    assert case.subject.uscc in html                       # organisations' codes are public
    assert "2025年拒不办理社会保险登记" in html
    assert ground.text.zh in html
    assert "2026年3月16日" in html                          # decision date, Chinese format
    assert case.leaves_list_on.strftime("%Y年").lstrip("0") in html
    rep = case.subject.legal_representative
    assert rep.id_number not in html and mask_ric(rep.id_number) in html
    assert "行政复议" in html and "如何移出名单" in html


def test_person_entries_never_show_the_full_id_number(app, session, client):
    case = published_case(session, app, kind=SubjectKind.PERSON)
    session.commit()
    entry = session.execute(sa.select(PublishedEntry)).scalar_one()
    full = case.subject.id_number
    assert entry.code_display == mask_ric(full)
    for url in ("/", f"/entries/{entry.public_id}"):
        html = client.get(url).get_data(as_text=True)
        assert full not in html and full[6:14] not in html   # nor the birth date


def test_unknown_entry_is_a_translated_404(client):
    page = client.get("/entries/E0000000000")
    assert page.status_code == 404
    assert "页面不存在" in page.get_data(as_text=True)


def test_removed_entry_shows_the_removal(app, session, client):
    case = published_case(session, app)
    approver = make_staff(session, Role.APPROVER)
    cases.remove_case(session, approver, case, load_profile("jiamusi"), app.config["PORTAL_LOOKUP_KEY"],
                      RemovalReason.RECTIFIED, dt.date(2026, 5, 20))
    session.commit()
    entry = session.execute(sa.select(PublishedEntry)).scalar_one()
    html = client.get(f"/entries/{entry.public_id}").get_data(as_text=True)
    assert "已于2026年5月20日移出名单" in html and "按期整改到位" in html
    home = client.get("/").get_data(as_text=True)
    assert '<strong>0</strong> 条在列名单' in home and "最新移出" in home


def test_credit_repair_unpublishes_the_entry(app, session, client):
    case = published_case(session, app)
    approver = make_staff(session, Role.APPROVER)
    entry_id = session.execute(sa.select(PublishedEntry.public_id)).scalar_one()
    cases.remove_case(session, approver, case, load_profile("jiamusi"), app.config["PORTAL_LOOKUP_KEY"],
                      RemovalReason.CREDIT_REPAIRED, dt.date(2026, 9, 1))
    session.commit()
    gone = client.get(f"/entries/{entry_id}")      # gone, and says why (Order 36)
    assert gone.status_code == 410 and "信用已修复，终止公示" in gone.get_data(as_text=True)
    assert "信用修复" in client.get("/").get_data(as_text=True)


def test_language_switch_to_english_and_back(app, session, client):
    published_case(session, app)
    session.commit()
    switched = client.get("/lang/en?next=/")
    assert switched.status_code == 302 and switched.headers["Location"] == "/"
    html = client.get("/").get_data(as_text=True)
    assert "Is an employer or person on the list?" in html and 'lang="en"' in html
    client.get("/lang/zh_CN")
    assert "查询单位或个人是否被列入名单" in client.get("/").get_data(as_text=True)


def test_language_switch_refuses_open_redirects(client):
    assert client.get("/lang/en?next=//evil.example/").headers["Location"] == "/"
    assert client.get("/lang/en?next=https://evil.example/").headers["Location"] == "/"
    assert client.get("/lang/fr").status_code == 404


def test_conditional_requests_get_304_until_something_is_published(app, session, client):
    first = client.get("/")
    etag = first.headers["ETag"]
    assert first.headers["Cache-Control"] == "public, max-age=60"
    again = client.get("/", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""
    published_case(session, app)
    session.commit()
    changed = client.get("/", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag


def test_healthz(app, client):
    from portal.search import get_index
    from portal.worker import Worker

    Worker(get_index(app)).round()
    page = client.get("/healthz")
    assert page.status_code == 200
    body = page.get_json()
    assert body["status"] == "ok"
    assert {k: v["status"] for k, v in body["checks"].items()} == {
        "database": "ok", "index": "ok", "worker": "ok"}


def test_security_headers(client):
    headers = client.get("/").headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
