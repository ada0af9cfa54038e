"""Static files under content-hashed names kept a year; pages compressed as the browser asks
(portal.static_files, portal.compression)."""
from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import re

import sqlalchemy as sa

from portal import clock, create_app
from portal import config as settings
from portal.models import PublishedEntry
from tests.factories import make_subject, published_case

CSS = "static/css/portal.css"


def _css_digest(app) -> str:
    with open(f"{app.static_folder}/css/portal.css", "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()[:12]


def _published(session, app) -> str:
    case = published_case(session, app, decided_on=clock.today() - dt.timedelta(days=20),
                          subject=make_subject(session, name="佳木斯市压缩测试有限公司"))
    session.commit()
    return session.execute(sa.select(PublishedEntry.public_id)
                           .where(PublishedEntry.case_id == case.id)).scalar_one()


def test_pages_link_the_stylesheet_by_its_content_hash_kept_for_a_year(app, client):
    html = client.get("/").get_data(as_text=True)
    digest = _css_digest(app)
    href = f"/static/css/portal.{digest}.css"
    assert f'href="{href}"' in html
    assert re.search(r'href="/static/img/favicon\.[0-9a-f]{12}\.svg"', html)
    answer = client.get(href)
    assert answer.status_code == 200 and answer.mimetype == "text/css"
    assert answer.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert hashlib.sha256(answer.get_data()).hexdigest()[:12] == digest
    again = client.get(href, headers={"If-None-Match": answer.headers["ETag"]})
    assert again.status_code == 304


def test_a_plain_or_outdated_name_is_served_briefly_and_a_wrong_one_not_at_all(app, client):
    plain = client.get("/static/css/portal.css")
    assert plain.status_code == 200 and "immutable" not in plain.headers["Cache-Control"]
    assert plain.headers["Cache-Control"] == "public, max-age=3600"
    outdated = client.get("/static/css/portal.0123456789ab.css")
    assert outdated.status_code == 200 and "immutable" not in outdated.headers["Cache-Control"]
    assert outdated.get_data() == plain.get_data()
    for missing in ("/static/css/nothing.0123456789ab.css", "/static/css/nothing.css",
                    "/static/../portal/__init__.py", "/static/css/../../pyproject.toml"):
        assert client.get(missing).status_code == 404, missing


def test_a_page_asked_for_with_gzip_comes_back_compressed_and_without_it_not(app, session, client):
    public_id = _published(session, app)
    for path in ("/", "/entries", f"/entries/{public_id}"):
        plain = client.get(path)
        assert plain.status_code == 200 and "Content-Encoding" not in plain.headers, path
        assert "Accept-Encoding" in plain.headers["Vary"]
        packed = client.get(path, headers={"Accept-Encoding": "gzip"})
        assert packed.headers["Content-Encoding"] == "gzip", path
        assert gzip.decompress(packed.get_data()) == plain.get_data()
        assert packed.headers["ETag"] == plain.headers["ETag"]          # the same weak validator
        assert int(packed.headers["Content-Length"]) == len(packed.get_data()) < len(plain.get_data())
        # the validator still answers 304, compressed or not
        again = client.get(path, headers={"Accept-Encoding": "gzip",
                                          "If-None-Match": packed.headers["ETag"]})
        assert again.status_code == 304 and not again.get_data()
    css = client.get("/static/css/portal.css", headers={"Accept-Encoding": "br, gzip"})
    assert css.headers["Content-Encoding"] == "br"


def test_the_front_cache_keeps_each_encoding_apart(app, session, client):
    public_id = _published(session, app)
    path = f"/entries/{public_id}"
    packed = client.get(path, headers={"Accept-Encoding": "gzip"})
    plain = client.get(path)                            # kept pages are per encoding
    assert "Content-Encoding" not in plain.headers
    assert gzip.decompress(packed.get_data()) == plain.get_data()
    again = client.get(path, headers={"Accept-Encoding": "gzip"})
    assert again.headers["Content-Encoding"] == "gzip" and again.get_data() == packed.get_data()


def test_secrets_and_files_are_not_compressed(app, session, client):
    _published(session, app)
    for path in ("/admin/login", "/track", "/submit"):     # no-store: staff, parties' filings
        personal = client.get(path, headers={"Accept-Encoding": "gzip"})
        assert personal.status_code == 200 and len(personal.get_data()) > 500, path
        assert "Content-Encoding" not in personal.headers, path
    export = client.get("/exports/entries.csv", headers={"Accept-Encoding": "gzip"})
    if export.status_code == 200:          # a file sent from disk keeps its bytes and ranges
        assert "Content-Encoding" not in export.headers


def test_a_page_with_a_form_token_is_not_compressed(database_url, tmp_path):
    config = settings.testing(database_url, tmp_path)
    config["WTF_CSRF_ENABLED"] = True
    app = create_app(config)
    with app.app_context():
        from portal.extensions import db

        db.create_all()
    look_up = app.test_client().get("/check", headers={"Accept-Encoding": "gzip"})
    assert look_up.status_code == 200 and 'name="csrf_token"' in look_up.get_data(as_text=True)
    assert "Content-Encoding" not in look_up.headers


def test_compression_can_be_left_to_the_proxy(database_url, tmp_path):
    config = settings.testing(database_url, tmp_path)
    config["PORTAL_COMPRESS"] = "false"
    app = create_app(config)
    response = app.test_client().get("/static/css/portal.css", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200 and "Content-Encoding" not in response.headers
