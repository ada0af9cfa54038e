"""Open data through the test client: exports, the Atom feed, sitemaps, robots.txt, canonical URLs."""
import codecs
import csv
import datetime as dt
import io
import json
import re
import xml.etree.ElementTree as ET
from urllib.robotparser import RobotFileParser

import openpyxl
import sqlalchemy as sa

from portal.models import PublishedEntry, RemovalNotice, SubjectKind
from portal.public import opendata_feeds
from portal.rules.identifiers import mask_ric
from portal.rules.profiles import load_profile
from portal.rules.workflow import RemovalReason
from portal.services import opendata_formats
from tests.factories import count_queries, make_subject, published_case, remove_published

ATOM = "{http://www.w3.org/2005/Atom}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
KEY = "test-lookup-key"


def _world(session, app):
    """An organisation and a person listed; one entry rectified, one credit-repaired."""
    org = published_case(session, app, decided_on=dt.date(2026, 3, 16))
    person = published_case(session, app, kind=SubjectKind.PERSON, decided_on=dt.date(2026, 4, 1))
    rectified = published_case(session, app, decided_on=dt.date(2026, 2, 2))
    repaired = published_case(session, app, decided_on=dt.date(2026, 1, 12))
    remove_published(session, rectified, RemovalReason.RECTIFIED, dt.date(2026, 5, 20))
    remove_published(session, repaired, RemovalReason.CREDIT_REPAIRED, dt.date(2026, 6, 1))
    session.commit()
    return org, person, rectified, repaired


def _csv(response) -> list[list[str]]:
    raw = response.get_data()
    assert raw.startswith(codecs.BOM_UTF8)
    return list(csv.reader(io.StringIO(raw[len(codecs.BOM_UTF8):].decode("utf-8"))))


def test_entries_csv_has_bom_chinese_headers_and_the_listed_rows(app, session, client):
    org, person, _rectified, _ = _world(session, app)
    response = client.get("/exports/entries.csv")
    assert response.status_code == 200 and response.is_streamed
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert re.fullmatch(r'attachment; filename="entries-\d{4}-\d\d-\d\d\.csv"',
                        response.headers["Content-Disposition"])
    rows = _csv(response)
    header = rows[0]
    assert len(header) == 15 and "列入事由" in header and "作出决定的部门" in header
    body = {row[1]: row for row in rows[1:]}
    assert set(body) == {org.subject.name, person.subject.name}        # removed ones are not listed
    org_row = body[org.subject.name]
    assert org_row[3] == org.subject.uscc and org_row[6] == "严重" and org_row[2] == "法人和其他组织"
    assert org_row[7] == "2026-03-16" and org_row[9] == org.term_last_day.isoformat()
    assert org_row[10] == org.leaves_list_on.isoformat() and header[9:11] == [
        "列入期限至（含当日）", "移出名单日期（期满次日）"]
    assert org_row[13] == f"http://localhost/entries/{org_row[0]}"
    assert org_row[14] == "jiamusi"                     # issue 12: the jurisdiction's code
    person_row = body[person.subject.name]
    assert person_row[2] == "个人" and person_row[3] == mask_ric(person.subject.id_number)


def test_csv_in_english_on_request(app, session, client):
    org, *_ = _world(session, app)
    rows = _csv(client.get("/exports/entries.csv?lang=en"))
    assert rows[0] == ["Public ID", "Party name", "Subject kind", "Code (identity card numbers masked)",
                       "Ground code", "Ground", "Severity", "Date of the listing decision",
                       "Term start", "Listed until (inclusive)", "Leaves the list on",
                       "Deciding department",
                       "Under objection", "Entry page", "Jurisdiction code"]
    row = next(r for r in rows if r[1] == org.subject.name)
    assert row[2] == "Organisation" and row[6] == "Severe" and row[12] == "No"
    assert row[5] == load_profile("jiamusi").ground(org.ground).text.en
    client.get("/lang/en")                                # the session language also switches it
    assert _csv(client.get("/exports/entries.csv"))[0][0] == "Public ID"


def test_removals_exports(app, session, client):
    _org, _person, _rectified, repaired = _world(session, app)
    rows = _csv(client.get("/exports/removals.csv"))
    assert "按期整改到位" in rows[1] + rows[2] and "信用修复" in rows[1] + rows[2]
    data = json.loads(client.get("/exports/removals.json").get_data(as_text=True))
    assert data["dataset"] == "removals" and data["count"] == 2
    by_reason = {item["reason"]: item for item in data["data"]}
    assert by_reason["rectified"]["removed_on"] == "2026-05-20"
    assert by_reason["rectified"]["reason_text"] == "按期整改到位"
    assert by_reason["rectified"]["reason_text_en"] == "Rectified in time"
    assert by_reason["rectified"]["entry_url"].startswith("http://localhost/entries/E")
    assert by_reason["credit_repaired"]["entry_public_id"] is None       # no longer published
    assert by_reason["credit_repaired"]["entry_url"] is None
    assert by_reason["credit_repaired"]["name"] == repaired.subject.name
    book = openpyxl.load_workbook(io.BytesIO(client.get("/exports/removals.xlsx").get_data()))
    sheet = book.active
    assert sheet.max_row == 3 and sheet.cell(1, 6).value == "列入事由"


def test_json_export_is_a_streamed_document_with_machine_fields(app, session, client):
    org, _person, *_ = _world(session, app)
    response = client.get("/exports/entries.json")
    assert response.is_streamed and response.headers["Content-Type"] == "application/json; charset=utf-8"
    data = json.loads(response.get_data(as_text=True))
    assert data["dataset"] == "entries" and data["count"] == 2 and data["profile"] == "jiamusi"
    assert data["publication_version"] == session.execute(sa.text(
        "SELECT version FROM publication_state")).scalar_one()
    item = next(d for d in data["data"] if d["name"] == org.subject.name)
    assert item["listed_on"] == "2026-03-16" and "term_end" not in item
    assert item["term_last_day"] == org.term_last_day.isoformat()
    assert item["leaves_list_on"] == org.leaves_list_on.isoformat()
    assert item["subject_kind"] == "organisation" and item["severity"] == "serious"
    assert item["under_objection"] is False and item["code"] == org.subject.uscc
    assert set(item) >= {"public_id", "url", "ground_code", "ground_text", "ground_text_en", "department"}


def test_xlsx_opens_and_has_the_rows(app, session, client):
    org, person, *_ = _world(session, app)
    response = client.get("/exports/entries.xlsx")
    assert response.status_code == 200
    assert int(response.headers["Content-Length"]) == len(response.get_data())
    book = openpyxl.load_workbook(io.BytesIO(response.get_data()))
    sheet = book.active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][5] == "列入事由" and len(rows) == 3
    org_row = next(r for r in rows if r[1] == org.subject.name)
    assert org_row[3] == org.subject.uscc
    assert org_row[7].date() == dt.date(2026, 3, 16)          # a real date cell, not text
    person_row = next(r for r in rows if r[1] == person.subject.name)
    assert person_row[3] == mask_ric(person.subject.id_number)


def test_xlsx_continues_on_a_new_sheet_past_the_row_limit(app, session, client, monkeypatch):
    made = [published_case(session, app, subject=make_subject(session, name=f"分页{i}有限公司"))
            for i in range(5)]
    session.commit()
    monkeypatch.setattr(opendata_formats, "XLSX_MAX_ROWS", 2)
    book = openpyxl.load_workbook(io.BytesIO(client.get("/exports/entries.xlsx").get_data()))
    assert book.sheetnames == ["在列名单", "在列名单 (2)", "在列名单 (3)"] or book.sheetnames == [
        "Current list", "Current list (2)", "Current list (3)"]          # before the catalogue merge
    names = []
    for sheet in book.worksheets:
        rows = list(sheet.iter_rows(values_only=True))
        assert rows[0][5] == "列入事由" and 2 <= len(rows) <= 3
        names += [r[1] for r in rows[1:]]
    assert names == [c.subject.name for c in made]
    empty = openpyxl.load_workbook(io.BytesIO(client.get("/exports/removals.xlsx").get_data()))
    assert len(empty.sheetnames) == 1 and empty.active.max_row == 1     # the header only


def test_no_full_identity_number_in_any_export_feed_or_sitemap(app, session, client):
    world = _world(session, app)
    full = world[1].subject.id_number
    reps = [c.subject.legal_representative.id_number for c in world if c.subject.legal_representative]
    assert len(reps) == 3
    secrets = [full, full[6:14], *reps]
    for url in ("/exports/entries.csv", "/exports/entries.json", "/exports/removals.csv",
                "/exports/removals.json", "/feeds/changes.atom", "/sitemap.xml"):
        body = client.get(url).get_data(as_text=True)
        assert not any(secret in body for secret in secrets), url
    for url in ("/exports/entries.xlsx", "/exports/removals.xlsx"):
        book = openpyxl.load_workbook(io.BytesIO(client.get(url).get_data()))
        cells = " ".join(str(v) for row in book.active.iter_rows(values_only=True) for v in row)
        assert mask_ric(full) in cells or url.endswith("removals.xlsx")
        assert not any(secret in cells for secret in secrets), url


def test_persons_the_profile_does_not_publish_stay_out_of_open_data(app, session, client):
    hidden = published_case(session, app, profile_code="zhengzhou", ground="ZP1",
                            kind=SubjectKind.PERSON)
    gone = published_case(session, app, profile_code="zhengzhou", ground="ZP2",
                          kind=SubjectKind.PERSON)
    remove_published(session, gone, RemovalReason.REVOKED, dt.date(2026, 12, 1))
    session.commit()
    assert session.scalar(sa.select(sa.func.count()).select_from(RemovalNotice)) == 1
    for url in ("/exports/entries.json", "/exports/removals.json"):
        assert json.loads(client.get(url).get_data(as_text=True))["count"] == 0, url
    for url in ("/feeds/changes.atom", "/sitemap.xml", "/exports/entries.csv", "/exports/removals.csv"):
        body = client.get(url).get_data(as_text=True)
        assert hidden.subject.name not in body and gone.subject.name not in body, url


def test_exports_stream_in_keyset_chunks(app, session, client, monkeypatch):
    made = [published_case(session, app, subject=make_subject(session, name=f"第{i}号测试有限公司"))
            for i in range(5)]
    session.commit()
    monkeypatch.setattr(opendata_formats, "CHUNK", 2)
    with count_queries() as statements:
        data = json.loads(client.get("/exports/entries.json").get_data(as_text=True))
    assert [d["name"] for d in data["data"]] == [c.subject.name for c in made]   # id order
    chunked = [s for s in statements if "published_entries" in s]
    assert len(chunked) == 3 and all("LIMIT" in s.upper() for s in chunked)  # 2 + 2 + 1 rows
    assert len(statements) == 4                                              # + the version


def test_exports_answer_304_until_something_changes(app, session, client):
    published_case(session, app)
    session.commit()
    first = client.get("/exports/entries.csv")
    etag = first.headers["ETag"]
    assert first.headers["Cache-Control"] == "public, max-age=60" and first.headers["Last-Modified"]
    again = client.get("/exports/entries.csv", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""
    since = client.get("/exports/entries.xlsx", headers={"If-Modified-Since": first.headers["Last-Modified"]})
    assert since.status_code == 304
    published_case(session, app)
    session.commit()
    changed = client.get("/exports/entries.csv", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert len(_csv(changed)) == 3


def test_spreadsheet_formulas_are_neutralised(app, session, client):
    published_case(session, app, subject=make_subject(session, name='=HYPERLINK("http://x.invalid","点击")'))
    session.commit()
    row = _csv(client.get("/exports/entries.csv"))[1]
    assert row[1] == '\'=HYPERLINK("http://x.invalid","点击")'
    book = openpyxl.load_workbook(io.BytesIO(client.get("/exports/entries.xlsx").get_data()))
    cell = book.active.cell(2, 2)
    assert cell.data_type == "s" and cell.value.startswith("=HYPERLINK")


def test_unknown_export_is_404(client):
    assert client.get("/exports/entries.pdf").status_code == 404
    assert client.get("/exports/cases.csv").status_code == 404


def test_atom_feed_is_valid_and_lists_additions_and_removals(app, session, client):
    org, _person, _rectified, repaired = _world(session, app)
    with count_queries() as statements:
        response = client.get("/feeds/changes.atom")
    assert len(statements) == 3     # publication version, one UNION query, the tombstones (RFC 6721)
    assert response.headers["Content-Type"] == "application/atom+xml; charset=utf-8"
    feed = ET.fromstring(response.get_data())
    assert feed.tag == f"{ATOM}feed"
    for name in ("id", "title", "updated", "author"):
        assert feed.find(f"{ATOM}{name}") is not None, name
    self_link = feed.find(f"{ATOM}link[@rel='self']")
    assert self_link.get("href") == "http://localhost/feeds/changes.atom"
    entries = feed.findall(f"{ATOM}entry")
    assert len(entries) == 4                            # 2 listed + 2 removals
    for entry in entries:
        for name in ("id", "title", "updated", "link", "summary"):
            assert entry.find(f"{ATOM}{name}") is not None, name
        assert re.fullmatch(r"tag:localhost,2026:(entry|removal):[ER][A-Z2-7]{10}",
                            entry.find(f"{ATOM}id").text)
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", entry.find(f"{ATOM}updated").text)
    titles = [e.find(f"{ATOM}title").text for e in entries]
    assert any(org.subject.name in t for t in titles) and any(repaired.subject.name in t for t in titles)
    kinds = sorted(e.find(f"{ATOM}category").get("term") for e in entries)
    assert kinds == ["addition", "addition", "removal", "removal"]
    repaired_entry = next(e for e in entries if repaired.subject.name in e.find(f"{ATOM}title").text)
    assert "/entries/" not in repaired_entry.find(f"{ATOM}link").get("href")   # unpublished
    assert "信用修复" in repaired_entry.find(f"{ATOM}summary").text
    english = ET.fromstring(client.get("/feeds/changes.atom?lang=en").get_data())
    assert english.get("{http://www.w3.org/XML/1998/namespace}lang") == "en"
    assert "Credit repaired" in " ".join(e.find(f"{ATOM}summary").text for e in english.findall(f"{ATOM}entry"))
    added = [e.find(f"{ATOM}summary").text for e in english.findall(f"{ATOM}entry")
             if e.find(f"{ATOM}category").get("term") == "addition"]
    assert added and all("put on the list by Jiamusi Municipal Human Resources and Social "
                         "Security Bureau on" in text for text in added)          # not 佳木斯市…局


def test_atom_feed_escapes_names_and_is_conditional(app, session, client):
    published_case(session, app, subject=make_subject(session, name="<b>A&B</b> 公司"))
    session.commit()
    response = client.get("/feeds/changes.atom")
    assert b"<b>" not in response.get_data()
    feed = ET.fromstring(response.get_data())
    assert "<b>A&B</b> 公司" in feed.find(f"{ATOM}entry/{ATOM}title").text
    again = client.get("/feeds/changes.atom", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_sitemap_lists_home_and_listed_entries(app, session, client):
    _world(session, app)
    response = client.get("/sitemap.xml")
    assert response.headers["Content-Type"] == "application/xml; charset=utf-8"
    urlset = ET.fromstring(response.get_data())
    assert urlset.tag == f"{SITEMAP}urlset"
    locs = [u.find(f"{SITEMAP}loc").text for u in urlset.findall(f"{SITEMAP}url")]
    assert "http://localhost/" in locs
    listed = session.execute(sa.select(PublishedEntry.public_id).where(
        PublishedEntry.status == "listed")).scalars().all()
    removed = session.execute(sa.select(PublishedEntry.public_id).where(
        PublishedEntry.status == "removed")).scalars().all()
    assert len(listed) == 2 and len(removed) == 1
    entry_locs = [loc for loc in locs if "/entries/" in loc]
    assert sorted(entry_locs) == sorted(f"http://localhost/entries/{pid}" for pid in listed)


def test_sitemap_index_past_the_url_limit(app, session, client, monkeypatch):
    for i in range(5):
        published_case(session, app, subject=make_subject(session, name=f"索引{i}有限公司"))
    session.commit()
    monkeypatch.setattr(opendata_feeds, "SITEMAP_MAX_URLS", 3)
    pages = len(opendata_feeds.sitemap_pages())
    index = ET.fromstring(client.get("/sitemap.xml").get_data())
    assert index.tag == f"{SITEMAP}sitemapindex"
    parts = [s.find(f"{SITEMAP}loc").text for s in index.findall(f"{SITEMAP}sitemap")]
    expected = -(-(pages + 5) // 3)
    assert parts == [f"http://localhost/sitemap-{n}.xml" for n in range(1, expected + 1)]
    locs = []
    for part in parts:
        urlset = ET.fromstring(client.get(part.removeprefix("http://localhost")).get_data())
        found = [u.find(f"{SITEMAP}loc").text for u in urlset.findall(f"{SITEMAP}url")]
        assert 1 <= len(found) <= 3
        locs += found
    assert len(locs) == len(set(locs)) == pages + 5
    assert client.get(f"/sitemap-{expected + 1}.xml").status_code == 404


def test_robots_txt(client):
    response = client.get("/robots.txt")
    assert response.headers["Content-Type"].startswith("text/plain")
    text = response.get_data(as_text=True)
    assert "Sitemap: http://localhost/sitemap.xml" in text
    parser = RobotFileParser()
    parser.parse(text.splitlines())
    for path in ("/", "/entries", "/entries/EABCDEFGHIJ", "/removals", "/feeds/changes.atom",
                 "/api/v1/openapi.json"):
        assert parser.can_fetch("*", "http://localhost" + path), path
    for path in ("/admin/", "/submit/objection", "/track", "/check?code=1", "/api/v1/entries",
                 "/api/v1/check?code=1"):
        assert not parser.can_fetch("*", "http://localhost" + path), path


def test_canonical_link_keeps_only_the_page_number(app, session, client):
    published_case(session, app)
    session.commit()
    pid = session.execute(sa.select(PublishedEntry.public_id)).scalar_one()
    html = client.get(f"/entries/{pid}?utm_source=x").get_data(as_text=True)
    assert f'<link rel="canonical" href="http://localhost/entries/{pid}">' in html
    html = client.get("/?page=3&q=x").get_data(as_text=True)
    assert '<link rel="canonical" href="http://localhost/?page=3">' in html
    assert 'type="application/atom+xml"' in html and 'href="/feeds/changes.atom"' in html
    for link in ("/exports/entries.csv", "/exports/entries.xlsx", "/exports/removals.json",
                 "/api/v1/openapi.json"):
        assert f'href="{link}"' in html                 # the footer leads to the open data
