"""A public query that runs too long is stopped and answered 503; nothing else is cut."""
from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from portal import deadline
from portal.extensions import db
from portal.services import public_queries as queries

SQLITE_SLOW = ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < {n}) "
               "SELECT count(*) FROM c")


def _slow(app, seconds: float) -> str:
    """A statement that runs about ``seconds`` (or far longer on SQLite) unless stopped."""
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        return f"SELECT pg_sleep({seconds})"
    return SQLITE_SLOW.format(n=int(seconds * 3_000_000))


@pytest.fixture
def slow_list(app, monkeypatch):
    """/entries and /api/v1/entries run a 30-second statement; the statement limit is 100 ms."""
    app.config["PORTAL_PUBLIC_STATEMENT_TIMEOUT_MS"] = 100
    seen = {}

    def entries_page(session, *args, **kwargs):
        if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
            seen["timeout"] = session.execute(sa.text("SHOW statement_timeout")).scalar()
        session.execute(sa.text(_slow(app, 30)))
        return []

    monkeypatch.setattr(queries, "entries_page", entries_page)
    monkeypatch.setattr(queries, "entry_facet_groups", lambda session: [
        ("J1", "organisation", "serious", "人社局", 2026, "jiamusi", 1)])
    db.session.remove()            # the request checks out its own connection
    return seen


def test_a_slow_public_query_is_stopped_and_answered_503(slow_list, client, app):
    page = client.get("/entries")
    assert page.status_code == 503
    assert page.headers["Retry-After"] == "10" and page.headers["Cache-Control"] == "no-store"
    assert "请求耗时过长" in page.get_data(as_text=True)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        assert slow_list["timeout"] == "100ms"
    client.get("/lang/en")
    english = client.get("/entries").get_data(as_text=True)
    assert "This request took too long and was stopped" in english
    api = client.get("/api/v1/entries?lang=en")
    assert api.status_code == 503 and api.headers["Retry-After"] == "10"
    assert api.get_json()["error"]["code"] == "timeout"
    assert api.get_json()["error"]["message"].startswith("This request took too long")
    assert client.get("/healthz").status_code in (200, 503)          # the site goes on


def test_a_request_past_its_budget_is_answered_503_before_its_next_statement(app, client,
                                                                             monkeypatch):
    app.config["PORTAL_PUBLIC_REQUEST_BUDGET_MS"] = 1

    def entries_page(session, *args, **kwargs):
        time.sleep(0.02)                                   # the budget is spent
        session.execute(sa.text("SELECT 1"))
        raise AssertionError("the statement should not have run")

    monkeypatch.setattr(queries, "entries_page", entries_page)
    monkeypatch.setattr(queries, "publication_version", lambda session: (0, None))
    monkeypatch.setattr(queries, "entry_facet_groups", lambda session: [
        ("J1", "organisation", "serious", "人社局", 2026, "jiamusi", 1)])
    response = client.get("/api/v1/entries")
    assert response.status_code == 503 and response.get_json()["error"]["code"] == "timeout"


def test_outside_a_public_request_nothing_is_limited(slow_list, client, app):
    assert client.get("/entries").status_code == 503          # the connection served a public page
    db.session.remove()
    assert deadline.remaining() is None
    # the worker, the commands and the back office run with the database's own default
    assert db.session.execute(sa.text(_slow(app, 0.3))).scalar() is not None
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        assert db.session.execute(sa.text("SHOW statement_timeout")).scalar() == "0"


def test_only_the_public_site_and_its_api_are_budgeted(app, client):
    from flask import request

    app.config["PORTAL_PUBLIC_REQUEST_BUDGET_MS"] = 5000
    seen = {}
    app.before_request(lambda: seen.update({request.path: deadline.remaining()}) or None)
    for path in ("/admin/", "/entries", "/api/v1/entries", "/api/v1/integration/openapi.json"):
        client.get(path)
    assert seen["/admin/"] is None and seen["/api/v1/integration/openapi.json"] is None
    assert 0 < seen["/entries"] <= 5 and 0 < seen["/api/v1/entries"] <= 5
    assert deadline.remaining() is None                       # over with the request


class _SlowIndex:
    """An index whose every search runs past its time limit (the engine raises SearchTimeout)."""

    def __init__(self):
        self.limits, self.time_limit = [], 1.0

    def exists(self):
        return True

    def search(self, q, **kwargs):
        from portal.search import SearchTimeout

        self.limits.append(kwargs.get("time_limit"))
        raise SearchTimeout(q)


def test_a_search_past_its_time_limit_is_answered_503_within_the_request_budget(
        app, client, monkeypatch):
    import portal.search

    index = _SlowIndex()
    monkeypatch.setattr(portal.search, "get_index", lambda app=None: index)
    app.config["PORTAL_PUBLIC_REQUEST_BUDGET_MS"] = 800
    page = client.get("/search?q=佳木斯恒达")
    assert page.status_code == 503 and page.headers["Retry-After"] == "10"
    assert "请求耗时过长" in page.get_data(as_text=True)
    # the search gets no more than what is left of the request's budget
    assert index.limits and 0 < index.limits[0] <= 0.8
