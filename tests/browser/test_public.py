"""The public site and an anonymous filing in a real browser."""
import re

import sqlalchemy as sa

from portal.models import SubjectKind, Submission
from portal.rules import identifiers
from portal.search import get_index
from portal.services import indexer
from tests.browser.conftest import BROWSER
from tests.factories import make_subject, published_case

pytestmark = BROWSER

ORG = "佳木斯市恒达建筑工程有限公司"
PERSON = "李秀英"
#: 6-digit region, birth date 18xx–20xx, sequence, check character: a resident ID number.
FULL_ID = re.compile(r"(?<![0-9A-Za-z])[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])"
                     r"(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx](?![0-9A-Za-z])")


def _publish(live):
    """One organisation (with its legal representative) and one person, published and indexed."""
    session = live.session
    org = published_case(session, live.app, subject=make_subject(session, name=ORG))
    person = published_case(session, live.app, kind=SubjectKind.PERSON,
                            subject=make_subject(session, SubjectKind.PERSON, name=PERSON))
    session.commit()
    assert indexer.sync(session, get_index(live.app)) == 2
    session.commit()
    secrets = {org.subject.legal_representative.id_number, person.subject.id_number}
    return org, person, secrets


def _no_full_id(page, secrets) -> None:
    html = page.content()
    for number in secrets:
        assert number not in html
    found = [n for n in FULL_ID.findall(html) if _is_ric(n)]
    assert found == [], f"{page.url} shows full ID numbers: {found}"


def _is_ric(number: str) -> bool:
    try:
        identifiers.validate_ric(number)
    except identifiers.InvalidIdentifier:
        return False
    return True


def test_home_search_finds_an_entry_by_two_characters_and_no_page_shows_a_full_id(live, web):
    org, person, secrets = _publish(live)
    page, watch = web.page, web.watch

    page.goto("/")
    watch.check(page)
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    page.get_by_role("search").locator("input[name=q]").fill("恒达")
    page.get_by_role("search").get_by_role("button", name="查询").click()
    page.wait_for_url(re.compile(r"/search\?q="))
    watch.check(page)
    assert page.locator("h1").inner_text() == "“恒达”的查询结果"
    hits = page.locator("section.results ul.rows li a")
    assert hits.count() == 1
    assert hits.first.inner_text() == ORG and hits.first.locator("mark").inner_text() == "恒达"
    _no_full_id(page, secrets)

    hits.first.click()
    page.wait_for_url(re.compile(r"/entries/[^/?]+$"))
    watch.check(page)
    assert page.locator("h1").inner_text() == ORG
    rep = org.subject.legal_representative
    assert identifiers.mask_ric(rep.id_number) in page.content()
    _no_full_id(page, secrets)

    page.goto("/entries")
    watch.check(page)
    _no_full_id(page, secrets)
    page.locator("main").get_by_role("link", name=PERSON).first.click()
    page.wait_for_url(re.compile(r"/entries/[^/?]+$"))
    watch.check(page)
    assert page.locator("h1").inner_text() == PERSON
    assert identifiers.mask_ric(person.subject.id_number) in page.content()
    _no_full_id(page, secrets)

    watch.assert_clean()


def test_anonymous_complaint_gets_a_receipt_number_and_a_query_code(live, web):
    page, watch = web.page, web.watch
    page.goto("/lang/en")                     # redirects to the home page, now in English
    watch.check(page)
    assert page.locator("html").get_attribute("lang") == "en"

    page.goto("/submit")
    watch.check(page)
    page.locator("main a[href='/submit/complaint']").first.click()
    page.wait_for_url(re.compile(r"/submit/complaint$"))
    watch.check(page)
    form = page.locator("form.filing")
    form.get_by_label("Name of the unit or person you report").fill("某某劳务派遣公司")
    form.locator("input[name=category][value=fraud]").check()
    form.locator("textarea[name=body]").fill("该公司虚构劳动关系为他人补缴社保。")
    form.get_by_label("Report anonymously").check()
    with page.expect_navigation():           # posts to the same address
        form.get_by_role("button", name="Send report").click()
    watch.check(page)
    assert page.locator("h1").inner_text() == "Your filing has been received"

    facts = page.locator("dl.receipt-facts")
    labels = [t.strip() for t in facts.locator("dt").all_inner_texts()]
    assert labels[:2] == ["Receipt number", "Query code"]
    receipt_no, query_code = (t.strip() for t in facts.locator("dd.big.code").all_inner_texts())
    assert re.fullmatch(r"[A-Z0-9-]{8,30}", receipt_no), receipt_no
    assert re.fullmatch(r"[0-9A-Z-]{8,20}", query_code), query_code

    live.session.expire_all()
    sub = live.session.execute(sa.select(Submission)).scalar_one()
    assert sub.receipt_no == receipt_no and sub.anonymous
    assert (sub.filer_name, sub.filer_contact, sub.filer_email) == (None, None, None)
    live.session.rollback()
    watch.assert_clean()
