"""Deep pages of the public lists and the API are read with a keyset, never by walking rows.

Numbered pages are read by position only near either end of a list (``NUMBERED_PAGES``);
every other page is reached through a cursor (the key of the row next to it), and a
number in between is answered without querying the rows.
"""
from __future__ import annotations

import base64
import re

import pytest
import sqlalchemy as sa

from portal.demo.bulk import seed_bulk
from portal.extensions import db
from portal.models import PublishedEntry, RemovalNotice
from portal import paging
from portal.services import public_queries as queries
from portal.caching import aggregates
from tests.factories import count_queries as recorded_statements

ROWS = 2600          # 130 pages of 20: with 5 numbered pages at each end, 120 deep ones
NUMBERED = 5


@pytest.fixture
def big_list(app, session, monkeypatch):
    monkeypatch.setattr(paging, "NUMBERED_PAGES", NUMBERED)
    seed_bulk(session, app.config, ROWS, seed=11, echo=lambda _line: None)
    aggregates.clear()
    listed = session.execute(
        sa.select(PublishedEntry.name).where(queries.LISTED)
        .order_by(PublishedEntry.listed_on.desc(), PublishedEntry.id.desc())).scalars().all()
    return listed


def _names(html: str) -> list[str]:
    return re.findall(r'<td data-label="[^"]*"><a href="/entries/[^"]+">([^<]+)</a>', html)


def _link(html: str, rel: str) -> str:
    return re.search(rf'rel="{rel}" href="([^"]+)"', html).group(1).replace("&amp;", "&")


class Statement(str):
    """An executed statement and the OFFSET it was given (0 when none; SQLite always says
    ``OFFSET ?``, with 0 when the query has no offset)."""

    offset: int = 0


def _with_offset(statement: str, parameters) -> Statement:
    item = Statement(statement)
    bound = re.search(r"OFFSET (\?|%\((\w+)\)s|\d+)", statement)
    if bound and bound.group(1) == "?":
        item.offset = int(parameters[-1])
    elif bound and bound.group(2):
        item.offset = int(parameters[bound.group(2)])
    elif bound:
        item.offset = int(bound.group(1))
    return item


def count_queries():
    return recorded_statements(describe=_with_offset)


def _offsets(statements: list[Statement]) -> list[int]:
    return [s.offset for s in statements]


def _row_statements(statements: list[Statement], table: str) -> list[Statement]:
    return [s for s in statements if f"FROM {table}" in s and "count(" not in s.lower()]


def test_following_next_from_page_one_reads_every_page_by_keyset(big_list, client):
    pages = -(-len(big_list) // 20)
    url, seen, offsets = "/entries", [], []
    for number in range(1, pages + 1):
        with count_queries() as statements:
            response = client.get(url)
        assert response.status_code == 200, url
        html = response.get_data(as_text=True)
        seen += _names(html)
        rows = _row_statements(statements, "published_entries")
        assert len(rows) == 1, rows
        if rows[0].offset:
            offsets.append(number)
        if number < pages:
            url = _link(html, "next")
    assert seen == big_list                          # every row once, in order
    # only the numbered pages near either end are read by position
    assert offsets == [n for n in range(2, pages + 1) if n <= NUMBERED or pages - NUMBERED < n < pages]


def test_a_deep_page_is_a_keyset_query_without_offset(big_list, client, app):
    page = client.get(f"/entries?page={NUMBERED}").get_data(as_text=True)
    deep = _link(page, "next")
    assert "cursor=" in deep and "page=" not in deep
    with count_queries() as statements:
        response = client.get(deep)
    assert response.status_code == 200
    rows = _row_statements(statements, "published_entries")
    assert len(rows) == 1 and rows[0].offset == 0 and "LIMIT" in rows[0]
    assert _names(response.get_data(as_text=True)) == big_list[NUMBERED * 20:(NUMBERED + 1) * 20]
    # and back again: previous of the deep page is page NUMBERED
    html = response.get_data(as_text=True)
    back = client.get(_link(html, "prev"))
    assert _names(back.get_data(as_text=True)) == big_list[(NUMBERED - 1) * 20:NUMBERED * 20]


def test_the_last_page_is_read_backwards_without_walking_the_list(big_list, client):
    pages = -(-len(big_list) // 20)
    first = client.get("/entries").get_data(as_text=True)
    assert f'href="/entries?page={pages}"' in first
    with count_queries() as statements:
        last = client.get(f"/entries?page={pages}")
    assert last.status_code == 200
    assert _names(last.get_data(as_text=True)) == big_list[(pages - 1) * 20:]
    assert max(_offsets(statements), default=0) == 0
    # the pages before the last one: by position from the end, then by keyset
    html = last.get_data(as_text=True)
    for number in range(pages - 1, pages - NUMBERED - 3, -1):
        html = client.get(_link(html, "prev")).get_data(as_text=True)
        assert _names(html) == big_list[(number - 1) * 20:number * 20], number


def test_a_page_number_too_deep_to_open_directly_is_answered_without_reading_rows(big_list, client):
    english = client.get("/lang/en")
    assert english.status_code in (200, 302)
    with count_queries() as statements:
        response = client.get("/entries?page=60&sort=oldest")
    assert response.status_code == 404
    assert not _row_statements(statements, "published_entries")
    html = response.get_data(as_text=True)
    assert "Page 60 cannot be opened directly" in html
    assert 'href="/entries?sort=oldest"' in html                      # first page, same order
    assert re.search(r'href="/entries\?sort=oldest&amp;page=\d+"', html)   # the last page


@pytest.mark.parametrize("cursor", ["garbage", "k1.", "k1.!!!", "k1." + "A" * 400,
                                    "k1." + base64.urlsafe_b64encode(b"a|2026-13-45|1|3").decode(),
                                    "k1." + base64.urlsafe_b64encode(b"x|2026-01-01|1|3").decode(),
                                    "k1." + base64.urlsafe_b64encode(b"a|2026-01-01|-1|3").decode(),
                                    "k1." + base64.urlsafe_b64encode("a|二〇二六|1|3".encode()).decode()])
def test_a_tampered_cursor_leads_back_to_the_first_page(big_list, client, cursor):
    for path in ("/entries?sort=oldest&", "/removals?", "/redlist?"):
        response = client.get(f"{path}cursor={cursor}")
        assert response.status_code == 302, path
        assert "cursor" not in response.headers["Location"]
    api = client.get(f"/api/v1/entries?cursor={cursor}")
    assert api.status_code == 400 and api.get_json()["error"]["code"] == "invalid_cursor"


def test_removals_page_deep_by_keyset(big_list, client, session):
    notices = session.execute(
        sa.select(RemovalNotice.name).where(RemovalNotice.visible.is_(True))
        .order_by(RemovalNotice.removed_on.desc(), RemovalNotice.id.desc())).scalars().all()
    pages = -(-len(notices) // 20)
    assert pages > 2 * NUMBERED
    url, seen = "/removals", []
    for _number in range(pages):
        with count_queries() as statements:
            html = client.get(url).get_data(as_text=True)
        assert max(_offsets(statements), default=0) <= NUMBERED * 20
        seen += re.findall(r'<tr>\s*<td data-label="[^"]*">(?:<a href="/entries/[^"]+">)?([^<]+)', html)
        if _number < pages - 1:
            url = _link(html, "next")
    assert seen == notices


def test_api_follows_cursors_and_bounds_page(big_list, client):
    url, seen = "/api/v1/entries?per_page=100", []
    while url:
        with count_queries() as statements:
            body = client.get(url).get_json()
        rows = _row_statements(statements, "published_entries")
        assert len(rows) == 1 and max(_offsets(rows), default=0) == 0, url
        seen += [e["name"] for e in body["data"]]
        url = body["links"]["next"]
    assert seen == big_list
    assert body["meta"]["page"] == body["meta"]["pages"]
    deep = client.get(f"/api/v1/entries?page={paging.API_MAX_PAGE + 1}")
    assert deep.status_code == 400 and deep.get_json()["error"]["field"] == "page"
    second = client.get("/api/v1/entries?per_page=100").get_json()["links"]["next"]
    assert client.get(second + "&page=7").get_json()["data"] == client.get(second).get_json()["data"]


def test_totals_are_counted_once_per_publication_version(big_list, client):
    client.get("/api/v1/removals?reason=rectified")
    client.get("/api/v1/entries")
    with count_queries() as statements:
        client.get("/api/v1/removals?reason=rectified&per_page=5")
        client.get("/api/v1/entries?ground=J1")
    # (the publication version's statement counts the active jurisdictions, not the list)
    assert not [s for s in statements if "count(" in s.lower() and "publication_state" not in s]
    db.session.rollback()


@pytest.mark.parametrize("filters, oldest_first", [({}, False), ({}, True),
                                                   ({"subject_kind": "person"}, False),
                                                   ({"severity": "serious"}, True)])
def test_a_keyset_page_is_one_index_range_without_a_sort(app, session, filters, oldest_first):
    """SQLite's plan (PostgreSQL chooses by statistics): the list order comes from an index."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("SQLite's query plan")
    import datetime as dt

    plans = []

    def explain(conn, cursor, statement, parameters, *args):
        if statement.startswith("SELECT published_entries."):
            plans.append(conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all())

    cursor = paging.Cursor(True, dt.date(2026, 3, 1), 500, 60)
    with db.engine.connect() as conn:
        sa.event.listen(conn, "before_cursor_execute", explain)
        from sqlalchemy.orm import Session
        with Session(conn) as own:
            queries.entries_page(own, filters, oldest_first, paging.Window(cursor=cursor))
    details = [row[-1] for plan in plans for row in plan]
    assert details and not [d for d in details if "TEMP B-TREE" in d], details
    assert any("listed_on<?" in d or "listed_on>?" in d for d in details), details


def test_a_cursor_with_an_id_beyond_the_integer_range_is_refused(app, session, client):
    import datetime as dt

    from tests.factories import make_subject, published_case

    published_case(session, app, subject=make_subject(session, name="佳木斯市游标越界有限公司"),
                   decided_on=dt.date(2026, 3, 16))
    session.commit()
    aggregates.clear()
    huge = "k1." + base64.urlsafe_b64encode(b"a|2026-01-01|999999999999999|3").decode().rstrip("=")
    for path in ("/entries?", "/removals?", "/redlist?"):
        response = client.get(f"{path}cursor={huge}")
        assert response.status_code == 302, path                # not a 500 (PostgreSQL: int4)
    api = client.get(f"/api/v1/entries?cursor={huge}")
    assert api.status_code == 400 and api.get_json()["error"]["code"] == "invalid_cursor"
