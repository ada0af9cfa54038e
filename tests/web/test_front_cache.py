"""The front cache (portal.front): a public page asked for without a cookie is answered
whole, before Flask, while its publication stands; never a page that depends on the visitor."""
from __future__ import annotations

import datetime as dt
import time

import sqlalchemy as sa

from portal import clock, create_app
from portal import config as settings
from portal.models import PublishedEntry
from portal.rules.workflow import RemovalReason
from tests.factories import count_queries, make_subject, published_case, remove_published


def _published(session, app, name: str = "佳木斯市前端缓存有限公司"):
    case = published_case(session, app, decided_on=clock.today() - dt.timedelta(days=20),
                          subject=make_subject(session, name=name))
    session.commit()
    public_id = session.execute(sa.select(PublishedEntry.public_id)
                                .where(PublishedEntry.case_id == case.id)).scalar_one()
    return case, public_id


def _count_flask_requests(app) -> list:
    """Requests that entered Flask (a before_request hook ran)."""
    entered: list = []
    app.before_request(lambda: entered.append(1) and None)
    return entered


def test_a_repeated_cookieless_page_is_answered_before_flask(app, session, client):
    entered = _count_flask_requests(app)
    _, public_id = _published(session, app)
    first = client.get(f"/entries/{public_id}")
    assert first.status_code == 200 and len(entered) == 1
    with count_queries() as statements:
        second = client.get(f"/entries/{public_id}")
    assert len(entered) == 1                                  # Flask was not entered
    assert len(statements) == 1 and "publication_state" in statements[0]
    assert second.get_data() == first.get_data()
    for header in ("ETag", "Last-Modified", "Cache-Control", "Content-Type", "Vary",
                   "Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options"):
        assert second.headers[header] == first.headers[header], header
    assert "Set-Cookie" not in second.headers


def test_a_304_and_a_head_come_from_the_front_cache(app, session, client):
    entered = _count_flask_requests(app)
    _, public_id = _published(session, app)
    first = client.get(f"/entries/{public_id}")
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    again = client.get(f"/entries/{public_id}", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""
    assert again.headers["ETag"] == etag and again.headers["Cache-Control"] == "public, max-age=60"
    assert "Content-Length" not in again.headers or again.headers["Content-Length"] == "0"
    since = client.get(f"/entries/{public_id}", headers={"If-Modified-Since": modified})
    assert since.status_code == 304
    other = client.get(f"/entries/{public_id}", headers={"If-None-Match": 'W/"pub-0-zh_CN"'})
    assert other.status_code == 200 and other.get_data() == first.get_data()
    head = client.head(f"/entries/{public_id}")
    assert head.status_code == 200 and head.get_data() == b""
    assert head.headers["Content-Length"] == first.headers["Content-Length"]
    assert len(entered) == 1


def test_a_publication_is_seen_at_once_when_the_version_is_read_every_time(app, session, client):
    case, public_id = _published(session, app)
    assert 'class="badge removed"' not in client.get(f"/entries/{public_id}").get_data(as_text=True)
    client.get(f"/entries/{public_id}")                                       # kept
    remove_published(session, case, RemovalReason.RECTIFIED, clock.today())
    session.commit()
    assert 'class="badge removed"' in client.get(f"/entries/{public_id}").get_data(as_text=True)


def test_the_version_is_read_at_most_once_per_recheck_interval(tmp_path, database_url, session,
                                                              app):
    _, public_id = _published(session, app)
    config = settings.testing(database_url, tmp_path) | {"PORTAL_PUBLICATION_RECHECK_MS": 60_000}
    other = create_app(config)
    front = other.extensions["portal.front"]
    visitor = other.test_client()
    first = visitor.get(f"/entries/{public_id}")
    for _ in range(5):
        assert visitor.get(f"/entries/{public_id}").get_data() == first.get_data()
    assert front.version_reads == 1
    with other.app_context():
        from portal.extensions import db

        db.engine.dispose()


def test_a_kept_page_outlives_a_publication_by_the_recheck_interval_at_most(tmp_path, database_url,
                                                                            session, app):
    case, public_id = _published(session, app)
    config = settings.testing(database_url, tmp_path) | {"PORTAL_PUBLICATION_RECHECK_MS": 300}
    other = create_app(config)
    visitor = other.test_client()
    before = visitor.get(f"/entries/{public_id}").get_data(as_text=True)
    visitor.get(f"/entries/{public_id}")
    remove_published(session, case, RemovalReason.RECTIFIED, clock.today())
    session.commit()
    time.sleep(0.4)
    after = visitor.get(f"/entries/{public_id}").get_data(as_text=True)
    assert after != before
    with other.app_context():
        from portal.extensions import db

        db.engine.dispose()


def test_a_visitor_with_a_cookie_never_gets_a_kept_page(app, session, client):
    _, public_id = _published(session, app)
    chinese = client.get(f"/entries/{public_id}").get_data(as_text=True)
    client.get(f"/entries/{public_id}")
    client.get("/lang/en")                                     # the session cookie says English
    english = client.get(f"/entries/{public_id}").get_data(as_text=True)
    assert english != chinese and 'lang="en"' in english
    assert app.test_client().get(f"/entries/{public_id}").get_data(as_text=True) == chinese


def test_a_page_that_issues_a_form_token_or_a_cookie_is_not_kept(app, session, client):
    entered = _count_flask_requests(app)
    _published(session, app)
    for url in ("/check", "/lang/en?next=/entries"):
        fresh = app.test_client()
        fresh.get(url)
        before = len(entered)
        app.test_client().get(url)
        assert len(entered) == before + 1, url                 # answered by Flask again
    front = app.extensions["portal.front"]
    assert all(address[3] not in ("/check", "/lang/en") for address in front.pages.keys())


def test_a_day_dependent_page_is_rendered_again_the_next_day(app, session, client, time_machine):
    time_machine.move_to(dt.datetime.combine(clock.today(), dt.time(12)), tick=False)
    entered = _count_flask_requests(app)
    _, public_id = _published(session, app)
    first = client.get(f"/entries/{public_id}")
    client.get(f"/entries/{public_id}")
    assert len(entered) == 1
    time_machine.move_to(dt.datetime.combine(clock.today() + dt.timedelta(days=1), dt.time(12)),
                         tick=False)
    following = client.get(f"/entries/{public_id}")
    assert len(entered) == 2
    assert following.headers["ETag"] != first.headers["ETag"]


def test_api_lists_are_kept_but_lookups_and_the_change_feed_are_not(app, session, client):
    entered = _count_flask_requests(app)
    case, _ = _published(session, app)
    body = client.get("/api/v1/entries").get_json()
    assert client.get("/api/v1/entries").get_json() == body
    assert len(entered) == 1
    uscc = case.subject.uscc
    for url in (f"/api/v1/check?code={uscc}", "/api/v1/changes"):
        before = len(entered)
        client.get(url)
        client.get(url)
        assert len(entered) == before + 2, url
    bad = client.get("/api/v1/entries?per_page=1000")
    assert bad.status_code == 400
    client.get("/api/v1/entries?per_page=1000")
    assert len(entered) == 1 + 4 + 2                           # errors are not kept either


def test_an_unreadable_database_leaves_the_answer_to_flask(app, session, client):
    _, public_id = _published(session, app)
    client.get(f"/entries/{public_id}")
    front = app.extensions["portal.front"]
    front._engine = sa.create_engine("sqlite:////nonexistent/dir/portal.db")
    entered = []
    front.wsgi_app, inner = (lambda environ, start: entered.append(1) or inner(environ, start)), \
        front.wsgi_app
    client.get(f"/entries/{public_id}")
    assert entered == [1]                   # the kept page was not served without its version


def test_a_page_begun_before_midnight_is_not_kept_as_the_next_days(app, session, client,
                                                                    time_machine):
    evening = dt.datetime.combine(clock.today(), dt.time(23, 59, 59))
    time_machine.move_to(clock.local(evening.replace(tzinfo=clock.zone())), tick=False)
    _, public_id = _published(session, app)
    entered = _count_flask_requests(app)
    next_day = evening + dt.timedelta(seconds=2)

    @app.after_request
    def midnight_passes(response):        # the view took its day; the answer leaves after midnight
        time_machine.move_to(next_day.replace(tzinfo=clock.zone()), tick=False)
        return response

    first = client.get(f"/entries/{public_id}")
    assert evening.date().isoformat() in first.headers["ETag"]
    again = client.get(f"/entries/{public_id}")
    assert len(entered) == 2                               # rendered again for the new day
    assert next_day.date().isoformat() in again.headers["ETag"]
