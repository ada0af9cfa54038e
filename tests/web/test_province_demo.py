"""The issue's proof on the multi-city demo (``seed-demo --province``): five cities and a county
bureau on one database. Every public page, export and API answer scoped to a jurisdiction shows
only its own listings (and those of the bureaus below it), each entry under its own bureau's
name and authority and its own profile's rules; and a Chizhou clerk reaches no Jiamusi case.
"""
from __future__ import annotations

import csv
import io
import re

import pytest
import sqlalchemy as sa

from portal import create_app
from portal.config import testing as settings_for_tests
from portal.demo.province import CITIES, COUNTY, PLATFORM, seed_province
from portal.extensions import db
from portal.models import AuditEvent, Case, PublishedEntry, StaffUser
from portal.rules.profiles import load_profile
from portal.search import get_index
from portal.services import indexer, jurisdictions
from tests.web.crawl_support import body_text

BUREAUS = (*CITIES, COUNTY[0])
#: One worker seeds the province once for the whole module (``loadgroup``).
pytestmark = pytest.mark.xdist_group("province-demo")
ENTRY_LINK = re.compile(r'href="(/entries/[A-Za-z0-9_-]+)(?:\?[^"]*)?"')


@pytest.fixture(scope="module")
def province(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("province")
    app = create_app(settings_for_tests(f"sqlite:///{tmp / 'province.db'}", tmp))
    with app.app_context():
        db.create_all()
        jurisdictions.ensure_seeded(db.session, "jiamusi", "0454-12333")
        seed_province(db.session, app.config, visible=5, county_listings=4, small=True)
        db.session.commit()
        indexer.rebuild(db.session, get_index(app))
        db.session.commit()
        directory = jurisdictions.directory(db.session)
        yield app, directory
        db.session.remove()
        index = app.extensions.pop("portal_search", None)
        if index is not None:
            index.close()
        db.engine.dispose()


def _others(directory, code: str) -> list[str]:
    """Authorities of the bureaus outside ``code``'s part of the tree (never on its pages)."""
    mine = directory.below([code]) | {PLATFORM}
    return [j.authority_zh for j in directory.items if j.code not in mine]


@pytest.mark.parametrize("code", BUREAUS)
def test_each_bureau_s_entries_speak_for_it_under_its_own_rules(province, code):
    app, directory = province
    client = app.test_client()
    listing = client.get(f"/entries?jurisdiction={code}")
    assert listing.status_code == 200
    links = sorted(set(ENTRY_LINK.findall(listing.get_data(as_text=True))))
    assert links, code
    others = _others(directory, code)
    with app.app_context():
        for link in links[:6]:
            page = body_text(client.get(link))
            pid = link.rsplit("/", 1)[1]
            entry = db.session.execute(sa.select(PublishedEntry)
                                       .where(PublishedEntry.public_id == pid)).scalar_one()
            assert entry.jurisdiction in directory.below([code])
            own = directory.get(entry.jurisdiction)
            assert own.authority_zh in page and own.contact_zh in page, (code, link)
            assert entry.profile == own.profile
            ground = load_profile(own.profile).ground(entry.ground_code)
            assert ground.text.zh[:20] in page                 # its own profile's ground text
            assert not [a for a in others if a in page], (code, link)


@pytest.mark.parametrize("code", BUREAUS)
def test_exports_and_api_answers_hold_only_the_bureau_s_records(province, code):
    app, directory = province
    client, allowed = app.test_client(), directory.below([code])
    rows = list(csv.reader(io.StringIO(body_text(
        client.get(f"/exports/entries.csv?jurisdiction={code}")).lstrip("\ufeff"))))
    assert rows[0][-1] == "管辖机构代码" and len(rows) > 1
    assert {row[-1] for row in rows[1:]} <= allowed
    seen, url = set(), f"/api/v1/entries?jurisdiction={code}&per_page=100"
    while url:
        body = client.get(url).get_json()
        seen |= {item["jurisdiction"] for item in body["data"]}
        url = (body.get("links") or {}).get("next")
        url = url.replace("http://localhost", "") if url else None
    assert seen and seen <= allowed
    removals = client.get(f"/api/v1/removals?jurisdiction={code}").get_json()["data"]
    assert {item["jurisdiction"] for item in removals} <= allowed
    for item in client.get(f"/api/v1/changes?jurisdiction={code}").get_json()["data"]:
        if not item.get("deleted"):
            assert item["data"]["jurisdiction"] in allowed


def test_the_province_wide_view_lists_every_bureau(province):
    app, directory = province
    client = app.test_client()
    page = body_text(client.get("/entries"))
    for code in BUREAUS:
        assert directory.get(code).name_zh in page
    everything = list(csv.reader(io.StringIO(body_text(
        client.get("/exports/entries.csv")).lstrip("\ufeff"))))
    assert {row[-1] for row in everything[1:]} == set(BUREAUS)
    assert client.get("/entries?jurisdiction=atlantis").status_code == 404


def test_a_chizhou_clerk_reaches_no_jiamusi_case(province):
    """Every case route with a Jiamusi case id, tried by Chizhou's clerk, is refused and
    audited (the full route-by-route proof is tests/web/test_admin_scope.py)."""
    app, _directory = province
    with app.app_context():
        case = db.session.execute(sa.select(Case).where(Case.jurisdiction == "jiamusi")
                                  .order_by(Case.id)).scalars().first()
        clerk = db.session.execute(sa.select(StaffUser).where(
            StaffUser.username == "chizhou-clerk")).scalar_one()
        before = db.session.scalar(sa.select(sa.func.max(AuditEvent.seq)))
    client = app.test_client()
    signed = client.post("/admin/login", data={"username": clerk.username,
                                               "password": "demo-chizhou-clerk-2026"})
    assert signed.status_code == 302
    queue = client.get("/admin/queue/cases").get_data(as_text=True)
    assert case.case_no not in queue
    values = {"case_id": case.id, "kind": "listing_decision", "name": "publish",
              "file_format": "csv"}
    rules = [r for r in app.url_map.iter_rules() if r.endpoint.startswith("admin.")
             and "case_id" in r.arguments and r.arguments <= set(values)]
    assert len(rules) >= 6
    adapter = app.url_map.bind("localhost")
    for rule in rules:
        url = adapter.build(rule.endpoint, {k: values[k] for k in rule.arguments})
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(url, method=method, data={})
            assert response.status_code in (403, 404), (method, url)
            assert case.case_no not in response.get_data(as_text=True)
    with app.app_context():
        refused = db.session.execute(sa.select(AuditEvent).where(
            AuditEvent.seq > before, AuditEvent.action == "jurisdiction.refused")).scalars().all()
        assert len(refused) >= len(rules) and {e.jurisdiction for e in refused} == {"jiamusi"}
