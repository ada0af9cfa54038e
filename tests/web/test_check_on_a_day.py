"""/check with a date (查询日期): "was this code listed on that day?", from the publication
history, with no more than /check shows today, rate-limited like every look-up."""
import datetime as dt
import random

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import PublishedEntry, Role, SubjectKind
from portal.rules import identifiers
from portal.rules.profiles import load_profile
from portal.rules.workflow import RemovalReason, SubmissionKind
from portal.services import publication, submissions
from portal.services.calendar import load_calendar
from portal.services.submissions import Filing, ObjectionOutcome
from tests.factories import (
    bureau_day,
    count_queries,
    make_staff,
    make_subject,
    published_case,
    remove_published,
)
from tests.web.test_public_check import _fresh_app
from tests.web.test_public_pages import english

D = dt.date
TODAY = D(2026, 12, 6)
NAME = "佳木斯市丁商贸有限公司"


@pytest.fixture
def today(time_machine):
    bureau_day(time_machine, TODAY)
    return TODAY


@pytest.fixture
def rectified(app, session, today):
    """Listed on 2026-03-16 (published 03-18), rectified 05-20; records begin 2025-06-02."""
    published_case(session, app, decided_on=D(2025, 6, 2))
    case = published_case(session, app, subject=make_subject(session, name=NAME), ground="J1",
                          decided_on=D(2026, 3, 16), published_on=D(2026, 3, 18))
    remove_published(session, case, RemovalReason.RECTIFIED, D(2026, 5, 20),
                     app.config["PORTAL_LOOKUP_KEY"])
    session.commit()
    return case


def _ask(client, code, day):
    return client.post("/check", data={"code": code, "day": day})


def test_a_day_before_during_and_after_a_listing(rectified, client):
    uscc = rectified.subject.uscc
    entry_id = db.session.execute(sa.select(PublishedEntry.public_id)
                                  .where(PublishedEntry.case_id == rectified.id)).scalar_one()
    page = _ask(client, uscc, "2026-04-01")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    html = page.get_data(as_text=True)
    assert "2026年4月1日，该代码对应的主体在严重失信人名单中。" in html
    assert "自2026年3月16日起列入；2026年3月18日公示。" in html
    assert "用人单位不依法办理社会保险登记" in html                     # the ground, in public words
    assert "已于2026年5月20日移出名单。原因：按期整改到位。" in html
    assert f'href="/entries/{entry_id}"' in html
    assert NAME not in html and rectified.facts not in html              # no name, no facts
    html = _ask(client, uscc, "2026/3/15").get_data(as_text=True)        # the day before
    assert "2026年3月15日，该代码对应的主体不在严重失信人名单中。" in html
    assert "2026年3月16日" not in html
    english(client)
    html = _ask(client, uscc, "2026年6月1日").get_data(as_text=True)
    assert "On Jun 1, 2026 this code was not on the serious dishonesty list." in html
    assert "It had been listed from Mar 16, 2026 and was removed from the list on May 20, 2026. " \
           "Reason: Rectified in time." in html
    html = _ask(client, uscc, "2025-06-01").get_data(as_text=True)
    assert "This portal's publication records begin on Jun 2, 2025" in html
    assert "No record" in html and "Not listed" not in html


def test_today_or_no_date_gives_the_current_answer(rectified, client):
    for day in ("", TODAY.isoformat()):
        html = _ask(client, rectified.subject.uscc, day).get_data(as_text=True)
        assert "曾被列入名单，现已移出。" in html and NAME in html


def test_the_answer_outlives_the_publication_period(rectified, app, session, client):
    publication.end_expired_publication(session, load_profile, D(2026, 8, 21))
    session.commit()
    uscc = rectified.subject.uscc
    assert "未列入" in client.post("/check", data={"code": uscc}).get_data(as_text=True)
    html = _ask(client, uscc, "2026-04-01").get_data(as_text=True)
    assert "2026年4月1日，该代码对应的主体在严重失信人名单中。" in html
    assert "/entries/E" not in html                      # no page left to link to


def test_a_future_or_unreadable_date_is_refused_politely(rectified, client):
    uscc = rectified.subject.uscc
    page = _ask(client, uscc, "2026-12-07")
    assert page.status_code == 422
    html = page.get_data(as_text=True)
    assert "该日期尚未到来，请输入今天（2026-12-06）或更早的日期。" in html
    assert 'value="2026-12-07"' in html and f'value="{uscc}"' in html   # both kept to correct
    assert 'max="2026-12-06"' in html
    for bad in ("2026-02-30", "yesterday", "9" * 60, "0000-01-01", "2026年13月1日"):
        refused = _ask(client, uscc, bad)
        assert refused.status_code == 422, bad
        assert "无法识别该日期" in refused.get_data(as_text=True)
    assert _ask(client, uscc, "2026-04-01\x00").status_code == 400     # the input guard
    english(client)
    html = _ask(client, uscc, "2027-01-01").get_data(as_text=True)
    assert "This date has not come yet. Please enter today (2026-12-06) or an earlier date." in html


def test_a_valid_id_number_is_not_sent_back_with_a_date_error(app, session, client, today):
    person = make_subject(session, SubjectKind.PERSON, name="李秀英")
    session.commit()
    html = _ask(client, person.id_number, "2099-01-01").get_data(as_text=True)
    assert person.id_number not in html and "该日期尚未到来" in html


def _objection_fells(session, app, case, on):
    profile, calendar = load_profile("jiamusi"), load_calendar(session)
    filing = Filing(kind=SubmissionKind.OBJECTION, body="认定有误", case=case, filer_name="王建国",
                    filer_contact="0454-8888888", category="facts")
    sub = submissions.file(session, profile, calendar, filing, on).submission
    approver = make_staff(session, Role.APPROVER)
    submissions.accept_for_review(session, approver, sub, profile, calendar, on)
    submissions.decide(session, approver, sub, True, "经核查，异议成立。", profile, calendar,
                       app.config["PORTAL_LOOKUP_KEY"], on, outcome=ObjectionOutcome(listing_fell=True))


def test_a_listing_an_objection_defeated_is_answered_as_withdrawn(app, session, client, today):
    case = published_case(session, app, decided_on=D(2026, 3, 16), ground="J6",
                          published_on=D(2026, 3, 18))
    _objection_fells(session, app, case, D(2026, 6, 4))
    session.commit()
    html = _ask(client, case.subject.uscc, "2026-05-01").get_data(as_text=True)
    assert "2026年5月1日，该代码对应的主体不属于有效列入严重失信人名单的情形。" in html
    assert "2026年3月18日公示的列入信息当日显示在名单上，但已于2026年6月4日撤销。原因：异议成立，列入信息已撤销。" in html
    assert "已撤销的列入信息视为自始不发生效力。" in html
    assert "社会保险服务机构不按服务协议提供服务" not in html        # the ground is not given
    html = _ask(client, case.subject.uscc, "2026-07-01").get_data(as_text=True)
    assert "2026年3月18日公示的列入信息已于2026年6月4日撤销。" in html


def test_a_person_a_profile_does_not_publish_gets_no_more_than_check_gives(app, session, client,
                                                                            today):
    app.config["PORTAL_PROFILE"] = "zhengzhou"
    person = make_subject(session, SubjectKind.PERSON, name="钱冒领")
    case = published_case(session, app, profile_code="zhengzhou", kind=SubjectKind.PERSON,
                          subject=person, ground="ZP3", decided_on=D(2026, 3, 16))
    session.commit()
    full = person.id_number
    html = _ask(client, full, "2026-04-01").get_data(as_text=True)
    assert "2026年4月1日，该代码对应的主体在严重失信人名单中。" in html
    assert identifiers.mask_ric(full) in html and full not in html and full[6:14] not in html
    assert "钱冒领" not in html and "钱**" not in html              # no name at all
    entry_id = session.execute(sa.select(PublishedEntry.public_id)
                               .where(PublishedEntry.case_id == case.id)).scalar_one()
    assert entry_id not in html
    assert "本网站不公开公示自然人信息" in html


def test_a_dated_look_up_reads_two_statements_with_the_hash_only(rectified, client):
    uscc = rectified.subject.uscc
    with count_queries() as statements:
        page = _ask(client, uscc, "2026-04-01")
    assert page.status_code == 200 and "已列入" in page.get_data(as_text=True)
    assert len(statements) == 2, statements
    assert all(uscc not in s for s in statements)
    with count_queries() as statements:
        assert _ask(client, uscc, "2027-04-01").status_code == 422
    assert statements == []


def test_a_dated_look_up_counts_against_the_rate_limit(tmp_path):
    app = _fresh_app(tmp_path, RATELIMIT_ENABLED=True, PORTAL_CHECK_RATE_LIMIT="2 per minute")
    try:
        client = app.test_client()
        code = identifiers.generate_uscc(random.Random(8))
        with app.app_context():
            assert _ask(client, code, "2026-01-05").status_code == 200
            assert _ask(client, code, "2026-01-06").status_code == 200
            assert _ask(client, code, "2026-01-07").status_code == 429
            db.session.remove()
    finally:
        with app.app_context():
            db.engine.dispose()
