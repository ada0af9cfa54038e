"""The credit score in the integration status answer (Zhengzhou §三): computed from the current
records under the calling client's bureau's rules and table; null where they have no score."""
import datetime as dt
import random

import pytest
from openapi_spec_validator import validate

from portal import clock
from portal.api.integration_resources import IntegrationStatus
from portal.models import Role
from portal.rules import grades as grade_rules
from portal.rules import identifiers
from portal.rules.profiles import ScoreBand
from portal.services import grades, score_tables
from tests.factories import bureau_day, make_staff, make_subject
from tests.grades_support import TODAY, ZZ, finding
from tests.web.admin_support import follow_portal_profile
from tests.web.integration_support import BASE, auth, new_client


@pytest.fixture
def zz(app, session, time_machine):
    """The portal's one bureau follows Zhengzhou's rules; the day of the grade helpers."""
    bureau_day(time_machine, TODAY)
    app.config["PORTAL_PROFILE"] = "zhengzhou"
    follow_portal_profile(session, app.config)
    return app


def status_of(client, token, code):
    response = client.post(f"{BASE}/status", json={"code": code}, headers=auth(token))
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    IntegrationStatus.model_validate(body)            # the answer fits its declared model
    return body


def test_the_status_carries_the_score_its_grade_and_what_makes_it_up(zz, session, client):
    _reader, token = new_client(session, ["status:read"])
    today = clock.today()
    unit = make_subject(session, name="郑州市某某建筑有限公司")
    clean = make_subject(session)
    old = finding(session, unit, "ZG2", on=today - dt.timedelta(days=30))
    session.commit()
    body = status_of(client, token, unit.uscc)
    score = body["credit_score"]
    found_on = today - dt.timedelta(days=30)
    until = grade_rules.counts_until(found_on, ZZ.grading.finding_periods["general"])
    length = (until - found_on).days                      # 1 year and its last day: 366
    faded = round(-10 * (length - 30) / length, 1)
    assert score == {"score": round(100 + faded, 1), "grade": "A", "base": 100.0,
                     "table": "provisional", "provisional": True, "profile": "zhengzhou",
                     "contributions": [{"source": "finding", "code": "ZG2", "count": 1,
                                        "points": faded}]}
    assert body["credit_grade"]["grade"] == "general"
    assert status_of(client, token, clean.uscc)["credit_score"]["score"] == 100.0
    # a serious finding today and a table the bureau puts in force: the answer follows at once
    finding(session, unit, "ZS4", on=today)
    row = score_tables.propose(session, make_staff(session, Role.REVIEWER), "jiamusi",
                               (ScoreBand("良", 80), ScoreBand("中", 50), ScoreBand("差", 0)),
                               "试行", today)
    score_tables.approve(session, make_staff(session, Role.APPROVER), row, today)
    session.commit()
    score = status_of(client, token, unit.uscc)["credit_score"]
    assert score["score"] == round(60 + faded, 1) and score["grade"] == "中"
    assert score["table"] == row.table_no and score["provisional"] is False
    assert {(c["code"], c["points"]) for c in score["contributions"]} == {("ZG2", faded),
                                                                          ("ZS4", -40.0)}
    grades.withdraw_finding(session, make_staff(session, Role.REVIEWER), old, "数据有误", today)
    session.commit()
    assert status_of(client, token, unit.uscc)["credit_score"]["score"] == 60.0


def test_no_score_for_an_unknown_subject_or_under_rules_without_one(app, session, client):
    _reader, token = new_client(session, ["status:read"])
    unit = make_subject(session)
    session.commit()
    assert status_of(client, token, unit.uscc)["credit_score"] is None          # Jiamusi
    unknown = identifiers.generate_uscc(random.Random(11))
    app.config["PORTAL_PROFILE"] = "zhengzhou"
    follow_portal_profile(session, app.config)
    assert status_of(client, token, unknown)["credit_score"] is None
    assert status_of(client, token, unit.uscc)["credit_score"]["grade"] == "A"


def test_the_document_describes_the_credit_score(client):
    spec = client.get(f"{BASE}/openapi.json").get_json()
    validate(spec)
    schemas = spec["components"]["schemas"]
    assert "credit_score" in schemas["IntegrationStatus"]["properties"]
    described = str(schemas["CreditScore"])
    assert "provisional" in described and "contributions" in described
    assert schemas["ScoreContribution"]["properties"]["source"]["enum"] == [
        "finding", "complaint", "red_list"]


def test_webhook_events_carry_the_subject_s_credit_score(zz, session):
    """Zhengzhou §三: the score goes to the business systems with each pushed case event."""
    import sqlalchemy as sa

    from portal.models import WebhookDelivery
    from portal.services import webhooks
    from portal.services.audit import Actor
    from tests.factories import published_case

    api_client, _token = new_client(session, ["webhooks:manage"])
    unit = make_subject(session, name="郑州市某某建筑有限公司")
    finding(session, unit, "ZS4", on=clock.today())
    webhooks.register(session, Actor("api:test"), "https://hooks.example.org/in", ["published"],
                      secret_key=zz.config["SECRET_KEY"], now=clock.now(), client=api_client)
    session.commit()
    published_case(session, zz, subject=unit)
    session.commit()
    assert webhooks.fan_out(session, clock.now(), after_each=session.commit) == 1
    payload = session.scalar(sa.select(WebhookDelivery)).payload
    assert payload["event"] == "published" and payload["subject"]["name"] == unit.name
    assert payload["credit_score"]["score"] == 60.0 and payload["credit_score"]["grade"] == "C"
