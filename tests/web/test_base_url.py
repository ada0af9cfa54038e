"""PORTAL_BASE_URL follows `make run`'s PORT unless it is set: the links in feeds, exports and
letters point where the portal actually answers."""
from __future__ import annotations

import codecs
import csv
import datetime as dt
import io

import pytest

from portal import config
from portal.models import Role
from tests.factories import published_case
from tests.letters_support import DECIDED, Procedure, page_text, post_letter
from tests.web.admin_support import fast_passwords, login, staff  # noqa: F401


@pytest.fixture
def environment(monkeypatch):
    for name in ("SECRET_KEY", "LOOKUP_KEY", "ANCHOR_KEY"):    # no key files written
        monkeypatch.setenv(f"PORTAL_{name}", "test")
    from portal import config
    monkeypatch.setenv("PORTAL_CERT_SIGNING_KEY", config.TEST_CERT_SIGNING_KEY)
    monkeypatch.delenv("PORTAL_BASE_URL", raising=False)
    monkeypatch.delenv("PORT", raising=False)
    return monkeypatch


def test_the_base_url_follows_port_unless_it_is_set(environment):
    assert config.from_environment()["PORTAL_BASE_URL"] == "http://127.0.0.1:8000"
    environment.setenv("PORT", "8123")
    assert config.from_environment()["PORTAL_BASE_URL"] == "http://127.0.0.1:8123"
    environment.setenv("PORTAL_BASE_URL", "https://credit.example.gov.cn")
    assert config.from_environment()["PORTAL_BASE_URL"] == "https://credit.example.gov.cn"


def test_feed_export_and_letter_links_follow_port(environment, app, session, client, time_machine,
                                                  fast_passwords):  # noqa: F811
    environment.setenv("PORT", "8123")
    app.config["PORTAL_BASE_URL"] = config.from_environment()["PORTAL_BASE_URL"]
    base = "http://127.0.0.1:8123"
    published_case(session, app, decided_on=dt.date(2026, 3, 16))
    proc = Procedure(session, app)
    session.commit()

    feed = client.get("/feeds/changes.atom").get_data(as_text=True)
    assert f'href="{base}/feeds/changes.atom"' in feed and f"{base}/entries/E" in feed
    assert "http://localhost" not in feed and ":8000" not in feed

    raw = client.get("/exports/entries.csv").get_data()
    rows = list(csv.reader(io.StringIO(raw[len(codecs.BOM_UTF8):].decode("utf-8"))))
    assert rows[1][13].startswith(f"{base}/entries/E")

    time_machine.move_to(dt.datetime.combine(DECIDED, dt.time(10)), tick=False)
    login(client, staff(session, Role.CLERK))
    response = post_letter(client, proc.case, "pre_notice", code=proc.pre_notice_code)
    assert response.status_code == 200
    assert f"{base}/submit/defence" in page_text(response)


def test_postgresql_refuses_keys_made_up_by_one_host(monkeypatch):
    from portal import config

    monkeypatch.setenv("PORTAL_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1/portal")
    for name in ("SECRET_KEY", "LOOKUP_KEY", "ANCHOR_KEY", "CERT_SIGNING_KEY"):
        monkeypatch.delenv(f"PORTAL_{name}", raising=False)
    monkeypatch.setenv("PORTAL_SECRET_KEY", "shared-secret")
    with pytest.raises(config.MissingSharedKeys,
                       match="PORTAL_LOOKUP_KEY, PORTAL_ANCHOR_KEY, PORTAL_CERT_SIGNING_KEY"):
        config.from_environment()
    monkeypatch.setenv("PORTAL_LOOKUP_KEY", "shared-lookup")
    monkeypatch.setenv("PORTAL_ANCHOR_KEY", "shared-anchor")
    monkeypatch.setenv("PORTAL_CERT_SIGNING_KEY", config.TEST_CERT_SIGNING_KEY)
    settings = config.from_environment()
    assert (settings["SECRET_KEY"], settings["PORTAL_LOOKUP_KEY"], settings["PORTAL_ANCHOR_KEY"]) \
        == ("shared-secret", "shared-lookup", "shared-anchor")
    # SQLite (one host): keys are still made once and kept under instance/
    monkeypatch.delenv("PORTAL_DATABASE_URL")
    monkeypatch.delenv("PORTAL_LOOKUP_KEY")
    config.check_shared_keys(config.from_environment()["SQLALCHEMY_DATABASE_URI"])
