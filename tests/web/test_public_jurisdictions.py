"""The public site of a portal of several jurisdictions (issue 12, item 4).

Jiamusi (the seeded city), Qianjin (a county under it, Jiamusi's rules) and Chizhou (another
city, other rules) on one database: ``?jurisdiction=<code>`` scopes every page, list, search,
export, feed and API answer to a city and the bureaus below it; without it, the province-wide
view lists everything with a jurisdiction facet; an entry speaks for its own jurisdiction.
"""
import csv
import datetime as dt
import io
import json
import xml.etree.ElementTree as ET

import openpyxl
import pytest
import sqlalchemy as sa

from portal.models import PublishedEntry, Role
from portal.caching import aggregates
from portal.rules.profiles import load_profile
from portal.rules.workflow import RemovalReason
from portal.search import get_index
from portal.services import indexer, jurisdictions
from portal.services.publication import bump_version
from tests.factories import make_staff, make_subject, published_case, red_list_entry, remove_published

JIA, CHI, COUNTY, GONE = "佳木斯市甲字建材有限公司", "池州市乙字贸易有限公司", "前进区丙字物流有限公司", "池州市丁字餐饮有限公司"
CHI_AUTHORITY = load_profile("chizhou").authority.zh
JIA_AUTHORITY = load_profile("jiamusi").authority.zh


def _add(session, admin, code, **values):
    jurisdictions.save(session, admin, code, values)


def _published_in(session, app, code: str, name: str, profile: str, ground: str,
                  decided_on=dt.date(2026, 3, 16)):
    """A case of ``profile`` published under the jurisdiction ``code`` (a county shares its
    city's profile: the case names the county)."""
    case = published_case(session, app, profile_code=profile, ground=ground, decided_on=decided_on,
                          subject=make_subject(session, name=name))
    if case.jurisdiction != code:
        case.jurisdiction = code
        session.execute(sa.update(PublishedEntry).where(PublishedEntry.case_id == case.id)
                        .values(jurisdiction=code))
        bump_version(session)
    return case


@pytest.fixture
def province(app, session):
    admin = make_staff(session, Role.ADMIN)
    chizhou = load_profile("chizhou")
    _add(session, admin, "chizhou", name_zh="池州市", name_en="Chizhou", profile="chizhou",
         authority_zh=chizhou.authority.zh, authority_en=chizhou.authority.en,
         contact_zh="0566-2029999", contact_en="+86 566 2029999", position=1)
    _add(session, admin, "qianjin", name_zh="前进区", name_en="Qianjin District", profile="jiamusi",
         parent_code="jiamusi", authority_zh="佳木斯市前进区人力资源和社会保障局",
         contact_zh="0454-8880000", position=2)
    cases = {
        "jia": _published_in(session, app, "jiamusi", JIA, "jiamusi", "J1"),
        "chi": _published_in(session, app, "chizhou", CHI, "chizhou", "C2"),
        "county": _published_in(session, app, "qianjin", COUNTY, "jiamusi", "J2"),
        "gone": _published_in(session, app, "chizhou", GONE, "chizhou", "C2",
                              decided_on=dt.date(2026, 1, 12)),
    }
    remove_published(session, cases["gone"], RemovalReason.REVOKED, dt.date(2026, 5, 20),
                     app.config["PORTAL_LOOKUP_KEY"])
    red_list_entry(session, app, name="池州市红名单有限公司", profile_code="chizhou")
    red_list_entry(session, app, name="佳木斯市红名单有限公司", profile_code="jiamusi")
    session.commit()
    ids = dict(session.execute(sa.select(PublishedEntry.case_id, PublishedEntry.public_id)).all())
    found = {key: ids.get(case.id) for key, case in cases.items()}
    found["uscc"] = {key: case.subject.uscc for key, case in cases.items()}
    indexer.rebuild(session, get_index(app))           # (leaves the session empty)
    session.commit()
    return found


def _text(response) -> str:
    return response.get_data(as_text=True)


def _names(html: str) -> set[str]:
    return {name for name in (JIA, CHI, COUNTY, GONE) if name in html}


def _csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))


# ------------------------------------------------------------------ pages scoped to a city

def test_a_city_search_finds_only_its_own_and_its_counties_entries(province, client):
    def found(suffix: str) -> set[str]:
        html = _text(client.get(f"/search?q=有限公司{suffix}"))
        return {key for key in ("jia", "chi", "county") if f"/entries/{province[key]}" in html}

    assert found("&jurisdiction=chizhou") == {"chi"}
    assert found("&jurisdiction=jiamusi") == {"jia", "county"}
    assert found("&jurisdiction=qianjin") == {"county"}
    assert found("") == {"jia", "chi", "county"}


@pytest.mark.parametrize("path", ["/", "/entries"])
def test_a_city_page_lists_only_its_own_and_its_counties_entries(province, client, path):
    shown = _names(_text(client.get(f"{path}?jurisdiction=chizhou")))
    assert CHI in shown and shown <= {CHI, GONE}              # (the home page lists removals)
    assert _names(_text(client.get(f"{path}?jurisdiction=jiamusi"))) == {JIA, COUNTY}
    assert _names(_text(client.get(f"{path}?jurisdiction=qianjin"))) == {COUNTY}
    assert {JIA, CHI, COUNTY} <= _names(_text(client.get(path)))            # province-wide


def test_removals_red_list_and_stats_follow_the_scope(province, client):
    assert GONE in _text(client.get("/removals?jurisdiction=chizhou"))
    assert GONE not in _text(client.get("/removals?jurisdiction=jiamusi"))
    assert GONE in _text(client.get("/removals"))
    red = _text(client.get("/redlist?jurisdiction=chizhou"))
    assert "池州市红名单有限公司" in red and "佳木斯市红名单有限公司" not in red
    both = _text(client.get("/redlist"))
    assert "池州市红名单有限公司" in both and "佳木斯市红名单有限公司" in both
    stats = client.get("/stats?jurisdiction=chizhou")
    assert stats.status_code == 200 and CHI_AUTHORITY in _text(stats)
    assert client.get("/stats").status_code == 200


def test_a_scoped_page_speaks_for_its_city_and_its_links_stay_there(province, client):
    html = _text(client.get("/entries?jurisdiction=chizhou"))
    assert CHI_AUTHORITY in html and "0566-2029999" in html          # header, footer, contact
    assert load_profile("chizhou").document.zh in html and JIA_AUTHORITY not in html
    assert 'href="/removals?jurisdiction=chizhou"' in html            # navigation stays in the city
    assert 'name="jurisdiction" value="chizhou"' in html              # and so do the filters
    assert 'id="f-jurisdiction"' not in html                          # no facet inside a city
    # the ground filter of the city's own profile, with its own labels
    assert 'name="ground"' in html and "单位未按时足额缴纳社会保险费" in html
    filtered = _text(client.get("/entries?jurisdiction=chizhou&ground=C2"))
    assert CHI in filtered and JIA not in filtered
    # a county under a city shows its city's rules and its own name and contact
    county = _text(client.get("/entries?jurisdiction=qianjin"))
    assert "佳木斯市前进区人力资源和社会保障局" in county and "0454-8880000" in county


def test_the_province_wide_view_has_a_facet_with_counts_and_no_ground_filter(province, client):
    html = _text(client.get("/entries"))
    assert 'id="f-jurisdiction"' in html
    assert '<option value="chizhou">池州市 (1)</option>' in html
    assert '<option value="jiamusi">佳木斯市 (2)</option>' in html     # with its county
    assert '<option value="qianjin">前进区 (1)</option>' in html
    # ground codes belong to a profile: no ground filter across Jiamusi's and Chizhou's rules
    assert 'name="ground"' not in html
    # each row's ground is labelled from its own profile (C2 is Chizhou's, not a Jiamusi code)
    assert load_profile("chizhou").ground("C2").text.zh[:20] in html
    removals = _text(client.get("/removals"))
    assert '<option value="chizhou">池州市 (1)</option>' in removals
    home = _text(client.get("/"))
    assert 'href="/?jurisdiction=chizhou"' in home and 'href="/?jurisdiction=qianjin"' in home
    search = _text(client.get("/search?q=有限公司"))
    assert 'href="/search?jurisdiction=chizhou&amp;q=' in search


def test_the_province_wide_footer_speaks_for_the_platform_when_several_cities_top_the_tree(
        province, client):
    footer = _text(client.get("/entries")).split("<footer")[1]
    assert JIA_AUTHORITY not in footer and CHI_AUTHORITY not in footer
    assert "各社会保险经办机构" in footer or "bureaus" in footer


def test_an_entry_page_shows_its_own_jurisdiction_rules_and_contact(province, client):
    html = _text(client.get(f"/entries/{province['chi']}"))
    chizhou = load_profile("chizhou")
    assert CHI_AUTHORITY in html and "池州市" in html and "0566-2029999" in html
    assert chizhou.ground("C2").legal_basis.zh in html and chizhou.document.zh in html
    assert JIA_AUTHORITY not in html                  # not PORTAL_PROFILE's bureau anywhere
    county = _text(client.get(f"/entries/{province['county']}"))
    assert "前进区" in county and "0454-8880000" in county
    assert load_profile("jiamusi").ground("J2").legal_basis.zh in county
    # an entry asked for under another jurisdiction does not exist there
    assert client.get(f"/entries/{province['chi']}?jurisdiction=jiamusi").status_code == 404
    assert client.get(f"/entries/{province['county']}?jurisdiction=jiamusi").status_code == 200


@pytest.mark.parametrize("path", ["/", "/entries", "/removals", "/redlist", "/stats",
                                  "/search?q=x", "/exports/entries.csv", "/feeds/changes.atom",
                                  f"/entries/{'E' * 11}"])
def test_an_unknown_or_inactive_jurisdiction_is_404(province, app, session, client, path):
    joiner = "&" if "?" in path else "?"
    assert client.get(f"{path}{joiner}jurisdiction=nowhere").status_code == 404
    _add(session, make_staff(session, Role.ADMIN), "qianjin", active=False)
    session.commit()
    assert client.get(f"{path}{joiner}jurisdiction=qianjin").status_code == 404


# ------------------------------------------------------------------ exports and feeds

def test_exports_carry_the_jurisdiction_and_are_made_per_jurisdiction(province, client):
    whole = _csv(client.get("/exports/entries.csv"))
    assert whole[0][-1] == "管辖机构代码"
    assert {row[1]: row[-1] for row in whole[1:]} == {JIA: "jiamusi", CHI: "chizhou",
                                                      COUNTY: "qianjin"}
    city = client.get("/exports/entries.csv?jurisdiction=jiamusi")
    assert "entries-jiamusi-" in city.headers["Content-Disposition"]
    assert {row[1] for row in _csv(city)[1:]} == {JIA, COUNTY}
    assert city.headers["ETag"] != client.get("/exports/entries.csv").headers["ETag"]
    data = json.loads(_text(client.get("/exports/entries.json?jurisdiction=chizhou")))
    assert data["jurisdiction"] == "chizhou" and data["profile"] == "chizhou"
    assert [(d["name"], d["jurisdiction"], d["profile"]) for d in data["data"]] == [
        (CHI, "chizhou", "chizhou")]
    everything = json.loads(_text(client.get("/exports/entries.json")))
    assert everything["jurisdiction"] is None and everything["profile"] is None   # two profiles
    removals = json.loads(_text(client.get("/exports/removals.json?jurisdiction=jiamusi")))
    assert removals["data"] == []
    book = openpyxl.load_workbook(io.BytesIO(
        client.get("/exports/entries.xlsx?jurisdiction=chizhou&lang=en").get_data()))
    rows = list(book.active.values)
    assert rows[0][-1] == "Jurisdiction code" and [r[-1] for r in rows[1:]] == ["chizhou"]


def test_the_feed_of_a_city_holds_its_own_changes(province, client):
    atom = "{http://www.w3.org/2005/Atom}"
    feed = ET.fromstring(client.get("/feeds/changes.atom?jurisdiction=chizhou").get_data())
    titles = " ".join(e.findtext(f"{atom}title") for e in feed.iter(f"{atom}entry"))
    assert CHI in titles and GONE in titles and JIA not in titles and COUNTY not in titles
    assert feed.findtext(f"{atom}subtitle") == CHI_AUTHORITY
    assert "jurisdiction=chizhou" in feed.find(f"{atom}link[@rel='self']").get("href")
    whole = ET.fromstring(client.get("/feeds/changes.atom").get_data())
    assert whole.findtext(f"{atom}id") != feed.findtext(f"{atom}id")


# ------------------------------------------------------------------ the public API

def test_api_lists_are_scoped_and_records_carry_their_jurisdiction(province, client):
    body = client.get("/api/v1/entries?jurisdiction=chizhou").get_json()
    assert [(e["name"], e["jurisdiction"], e["jurisdiction_name"]) for e in body["data"]] == [
        (CHI, "chizhou", "池州市")]
    assert body["meta"]["total"] == 1 and "jurisdiction=chizhou" in body["links"]["self"]
    assert body["data"][0]["decided_under"]["document"] == load_profile("chizhou").document.zh
    city = client.get("/api/v1/entries?jurisdiction=jiamusi").get_json()
    assert {e["name"] for e in city["data"]} == {JIA, COUNTY} and city["meta"]["total"] == 2
    county = next(e for e in city["data"] if e["name"] == COUNTY)
    assert county["jurisdiction_name"] == "前进区" and county["jurisdiction_name_en"] == "Qianjin District"
    assert client.get("/api/v1/entries?jurisdiction=chizhou&ground=C2").get_json()["meta"]["total"] == 1
    removals = client.get("/api/v1/removals?jurisdiction=jiamusi").get_json()
    assert removals["data"] == [] and removals["meta"]["total"] == 0
    assert [r["jurisdiction"] for r in client.get("/api/v1/removals").get_json()["data"]] == ["chizhou"]
    one = client.get(f"/api/v1/entries/{province['chi']}").get_json()["data"]
    assert one["jurisdiction"] == "chizhou" and one["jurisdiction_name_en"] == "Chizhou"
    assert client.get(f"/api/v1/entries/{province['chi']}?jurisdiction=qianjin").status_code == 404


def test_api_look_up_and_change_log_by_jurisdiction(province, client):
    uscc = province["uscc"]["chi"]
    assert client.get(f"/api/v1/check?code={uscc}").get_json()["listed"] is True
    elsewhere = client.get(f"/api/v1/check?code={uscc}&jurisdiction=jiamusi").get_json()
    assert elsewhere["listed"] is False and elsewhere["entries"] == []
    changes = client.get("/api/v1/changes?jurisdiction=chizhou").get_json()["data"]
    names = {c["data"]["name"] for c in changes if not c["deleted"]}
    assert CHI in names and JIA not in names and COUNTY not in names
    assert {c["data"]["jurisdiction"] for c in changes if not c["deleted"]} == {"chizhou"}


def test_api_unknown_jurisdiction_is_a_json_404_and_the_document_declares_the_codes(province, client):
    for path in ("entries", "removals", "check?code=91230800MA1BX0H71C", "changes",
                 f"entries/{province['chi']}"):
        joiner = "&" if "?" in path else "?"
        response = client.get(f"/api/v1/{path}{joiner}jurisdiction=nowhere")
        assert response.status_code == 404, path
        assert response.get_json()["error"]["code"] == "unknown_jurisdiction", path
    assert client.get("/api/v1/entries?jurisdiction=").status_code == 400
    document = client.get("/api/v1/openapi.json").get_json()
    declared = document["components"]["parameters"]["jurisdiction"]["schema"]["enum"]
    assert declared == ["jiamusi", "chizhou", "qianjin"]
    grounds = next(p for p in document["paths"]["/entries"]["get"]["parameters"]
                   if p.get("name") == "ground")["schema"]["enum"]
    assert "C2" in grounds and "J1" in grounds                 # both cities' rules
    assert "jurisdiction" in document["components"]["schemas"]["Entry"]["properties"]


# ------------------------------------------------------------------ search and caches

def test_a_scoped_search_filters_in_the_index_and_the_province_counts_per_jurisdiction(
        province, client):
    results = get_index().search("有限公司", filters={"jurisdiction": ["jiamusi", "qianjin"]},
                                 facets=("jurisdiction",))
    assert results.total == 2 and results.facets["jurisdiction"] == {"jiamusi": 1, "qianjin": 1}
    html = _text(client.get("/search?q=有限公司"))
    assert "池州市" in html.split('class="facets"')[1].split("</aside>")[0]


def test_cached_pages_are_kept_per_scope(province, client):
    aggregates.clear()
    whole = client.get("/entries")                                  # kept by the front cache
    city = client.get("/entries?jurisdiction=chizhou")
    assert whole.get_data() != city.get_data() and _names(_text(city)) == {CHI}
    assert _names(_text(client.get("/entries?jurisdiction=qianjin"))) == {COUNTY}
    etag = city.headers["ETag"]
    assert client.get("/entries?jurisdiction=chizhou", headers={"If-None-Match": etag}).status_code == 304
    assert etag != whole.headers["ETag"]


# ------------------------------------------------------------------ a single city

def test_a_single_city_portal_shows_no_facet_no_selector_and_accepts_its_code(app, session, client):
    published_case(session, app, subject=make_subject(session, name=JIA))
    session.commit()
    for path in ("/", "/entries", "/removals"):
        html = _text(client.get(path))
        assert 'id="f-jurisdiction"' not in html and "管辖机构" not in html, path
        assert "jurisdiction=" not in html, path
        assert JIA_AUTHORITY in html, path
    scoped = _text(client.get("/entries?jurisdiction=jiamusi"))
    assert JIA in scoped and 'href="/removals?jurisdiction=jiamusi"' in scoped
    assert client.get("/entries?jurisdiction=chizhou").status_code == 404
    entry = client.get("/api/v1/entries").get_json()["data"][0]
    assert entry["jurisdiction"] == "jiamusi" and entry["jurisdiction_name"] == "佳木斯市"
