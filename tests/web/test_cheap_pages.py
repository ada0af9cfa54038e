"""Cheap public pages: the ETag is decided before any entry query, rendered pages are kept per
(publication version, language, URL, day), translations are resolved once per request, and the
pool does not ping the database at every checkout."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from flask import flash, g, render_template_string, template_rendered

from portal import clock
from portal.extensions import db
from portal.models import PublishedEntry, RedListEntry
from portal import caching
from portal.caching import PageCache, pages
from tests.factories import count_queries, published_case, red_list_entry


@pytest.fixture(autouse=True)
def _empty_page_cache():
    pages.clear()
    yield
    pages.clear()


def _published(session, app, name: str = "佳木斯市缓存测试有限公司") -> str:
    from tests.factories import make_subject

    case = published_case(session, app, decided_on=clock.today() - dt.timedelta(days=20),
                          subject=make_subject(session, name=name))
    session.commit()
    return session.execute(sa.select(PublishedEntry.public_id)
                           .where(PublishedEntry.case_id == case.id)).scalar_one()


class _Renders:
    """Templates rendered inside the block."""

    def __init__(self, app):
        self.app, self.names = app, []

    def _record(self, sender, template, context, **extra):
        self.names.append(template.name)

    def __enter__(self):
        template_rendered.connect(self._record, self.app)
        return self.names

    def __exit__(self, *exc):
        template_rendered.disconnect(self._record, self.app)


# ------------------------------------------------------------------ 304 before any entry query

def test_an_entry_304_costs_the_version_query_only(app, session, client):
    public_id = _published(session, app)
    etag = client.get(f"/entries/{public_id}").headers["ETag"]
    pages.clear()
    db.session.expunge_all()
    with count_queries() as statements:
        again = client.get(f"/entries/{public_id}", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""
    assert len(statements) <= 1, statements
    assert not any("published_entries" in s or "removal_notices" in s for s in statements), statements


@pytest.mark.parametrize("url", ["/", "/entries", "/removals", "/redlist", "/stats",
                                 "/feeds/changes.atom", "/exports/entries.csv"])
def test_every_conditional_page_answers_304_with_one_query(app, session, client, url):
    _published(session, app)
    etag = client.get(url).headers["ETag"]
    pages.clear()
    with count_queries() as statements:
        assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
    assert len(statements) <= 1, (url, statements)


def test_an_entry_page_changes_with_the_day(app, session, client):
    """The rectification window depends on the day: the ETag (and the cached page) do too."""
    public_id = _published(session, app)
    first = client.get(f"/entries/{public_id}")
    assert clock.today().isoformat() in first.headers["ETag"]


def test_a_missing_or_withdrawn_entry_is_still_404(app, session, client):
    _published(session, app)
    assert client.get("/entries/NOSUCHENTRY").status_code == 404


# ------------------------------------------------------------------ whole-page cache

def test_a_cached_entry_page_is_served_without_rendering_or_entry_queries(app, session, client):
    public_id = _published(session, app)
    first = client.get(f"/entries/{public_id}")
    assert first.status_code == 200
    db.session.expunge_all()
    with count_queries() as statements, _Renders(app) as rendered:
        second = client.get(f"/entries/{public_id}")
    assert second.status_code == 200 and second.get_data() == first.get_data()
    assert rendered == []
    assert len(statements) <= 1 and not any("published_entries" in s for s in statements)
    assert second.headers["ETag"] == first.headers["ETag"]
    assert second.headers["Content-Type"] == first.headers["Content-Type"]
    assert second.headers["X-Frame-Options"] == "DENY"           # the after-request hooks still run


def test_a_cached_page_changes_after_a_publication_change(app, session, client):
    _published(session, app, "佳木斯市第一缓存有限公司")
    before = client.get("/entries").get_data(as_text=True)
    assert "佳木斯市第一缓存有限公司" in before
    assert client.get("/entries").get_data(as_text=True) == before           # from the cache
    _published(session, app, "佳木斯市第二缓存有限公司")
    after = client.get("/entries").get_data(as_text=True)
    assert "佳木斯市第二缓存有限公司" in after


def test_a_cached_page_follows_the_language(app, session, client):
    public_id = _published(session, app)
    chinese = client.get(f"/entries/{public_id}").get_data(as_text=True)
    assert "列入名单" in chinese or "严重失信" in chinese
    client.get("/lang/en")
    english = client.get(f"/entries/{public_id}")
    text = english.get_data(as_text=True)
    assert 'lang="en"' in text and "Listed party" in text
    assert english.headers["ETag"] != ""
    client.get("/lang/zh_CN")
    assert client.get(f"/entries/{public_id}").get_data(as_text=True) == chinese
    other = app.test_client()                                  # another visitor, still Chinese
    assert other.get(f"/entries/{public_id}").get_data(as_text=True) == chinese


def test_a_date_dependent_page_is_cached_per_day(app, session, client, time_machine):
    last = clock.today() + dt.timedelta(days=5)
    red_list_entry(session, app, admitted_on=clock.today() - dt.timedelta(days=1), valid_until=last)
    session.commit()
    name = session.execute(sa.select(RedListEntry.name)).scalar_one()
    assert name in client.get("/redlist").get_data(as_text=True)
    assert name in client.get("/redlist").get_data(as_text=True)
    time_machine.move_to(dt.datetime.combine(last + dt.timedelta(days=2), dt.time(12)), tick=False)
    assert name not in client.get("/redlist").get_data(as_text=True)


def test_a_page_with_a_form_token_or_a_flash_is_never_cached(app, session, client):
    """Whatever the page: a CSRF token, a flash message or a cookie set by the page keep it out."""
    app.config["WTF_CSRF_ENABLED"] = True

    @app.get("/_cache-probe/form")
    def form_probe():
        return caching.conditional(lambda: render_template_string("<input value='{{ csrf_token() }}'>"))

    @app.get("/_cache-probe/flash")
    def flash_probe():
        def render():
            flash("only for you")
            return "flashed"
        return caching.conditional(render)

    _published(session, app)
    alice, bob = app.test_client(), app.test_client()
    token_a = alice.get("/_cache-probe/form").get_data(as_text=True)
    assert len(pages) == 0
    g.pop("csrf_token", None)     # the tests' application context (and g) outlives a request
    with _Renders(app) as rendered:
        token_b = bob.get("/_cache-probe/form").get_data(as_text=True)
    assert rendered and token_a != token_b
    g.pop("csrf_token", None)
    assert alice.get("/_cache-probe/form").get_data(as_text=True) == token_a   # session unchanged
    assert len(pages) == 0
    alice.get("/_cache-probe/flash")
    assert len(pages) == 0


def test_the_page_cache_is_bounded_in_bytes():
    cache = PageCache(max_bytes=10_000)
    for i in range(10):
        cache.put(("k", i), caching.CachedPage(200, [], b"x" * 3_000))
    assert cache.bytes <= 10_000 and len(cache) == 3
    assert cache.get(("k", 9)) is not None and cache.get(("k", 0)) is None
    cache.put(("big",), caching.CachedPage(200, [], b"x" * 20_000))       # larger than the cache
    assert cache.get(("big",)) is None and cache.bytes <= 10_000


def test_a_cold_aggregate_is_computed_once_however_many_ask_at_once(app, session, monkeypatch):
    """At a million entries the list's GROUP BY takes half a second on PostgreSQL: sixteen
    requests after a publication each ran it, past the statement timeout, and every one of
    them answered 503, so the value was never kept and the next ones did the same."""
    import threading
    import time

    monkeypatch.setattr(caching, "publication_token", lambda: (7, dt.datetime(2026, 12, 6)))
    cache = caching.VersionCache()
    calls, results, start = [], [], threading.Barrier(16)

    def compute():
        calls.append(1)
        time.sleep(0.2)
        return {"J1": 3}

    def ask():
        start.wait()
        with app.app_context():
            results.append(cache.get("entry-facets", compute))

    threads = [threading.Thread(target=ask) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert len(calls) == 1 and results == [{"J1": 3}] * 16


def test_a_failed_aggregate_leaves_the_next_caller_to_compute_it(app, session, monkeypatch):
    monkeypatch.setattr(caching, "publication_token", lambda: (7, dt.datetime(2026, 12, 6)))
    cache = caching.VersionCache()

    def fail():
        raise RuntimeError("statement timeout")

    with app.app_context():
        with pytest.raises(RuntimeError):
            cache.get("entry-facets", fail)
        assert cache.get("entry-facets", lambda: 5) == 5
        assert cache.get("entry-facets", fail) == 5


# ------------------------------------------------------------------ translations once per request

def test_translations_are_resolved_once_per_request(app, session, client, monkeypatch):
    import flask_babel

    public_id = _published(session, app)
    calls = []
    original = flask_babel.Domain.get_translations

    def counted(self):
        calls.append(1)
        return original(self)

    monkeypatch.setattr(flask_babel.Domain, "get_translations", counted)
    page = client.get(f"/entries/{public_id}").get_data(as_text=True)
    assert "名单" in page
    assert 1 <= len(calls) <= 2, len(calls)        # the page and the error-free after hooks
    pages.clear()
    client.get("/lang/en")
    calls.clear()
    english = client.get(f"/entries/{public_id}").get_data(as_text=True)
    assert "Listed party" in english and "名单" not in english.split("<main")[1].split("</main>")[0][:200]
    assert 1 <= len(calls) <= 2, len(calls)


# ------------------------------------------------------------------ the pool

def test_the_pool_does_not_ping_at_every_checkout(app):
    options = app.config["SQLALCHEMY_ENGINE_OPTIONS"]
    assert not options.get("pool_pre_ping")
    assert 0 < options["pool_recycle"] <= 3600
    assert db.engine.pool._pre_ping is False


@pytest.mark.postgres
def test_a_restarted_database_costs_at_most_one_503_then_pages_work(app, session, client, backend):
    if backend != "postgresql":
        pytest.skip("terminates PostgreSQL backends")
    _published(session, app)
    assert client.get("/entries").status_code == 200
    pages.clear()
    with db.engine.connect() as conn:
        conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                             "WHERE datname = current_database() AND pid <> pg_backend_pid()"))
        conn.commit()
    first = client.get("/entries?sort=oldest")
    assert first.status_code in (200, 503), first.status_code
    if first.status_code == 503:
        assert first.headers["Retry-After"] == "30"
    assert client.get("/entries").status_code == 200
