"""The back office in a real browser: a clerk opens a case, serves the pre-notice, prints the
letter (and the print view hides the navigation)."""
import datetime as dt
import random
import re

import sqlalchemy as sa

from portal.models import Case, Role
from portal.rules import identifiers
from tests.browser.conftest import BROWSER
from tests.web.admin_support import PASSWORD, staff

pytestmark = BROWSER

RNG = random.Random(20260928)
USCC = identifiers.generate_uscc(RNG)
REP_ID = identifiers.generate_ric(RNG, birth=dt.date(1971, 5, 4))
NAME = "佳木斯市松江建筑工程有限公司"


def _visible(page, selector: str) -> list[str]:
    """The elements matching ``selector`` that are rendered (not display:none / hidden)."""
    return [el.evaluate("e => e.outerHTML.slice(0, 80)") for el in page.locator(selector).all()
            if el.is_visible()]


def test_clerk_opens_a_case_serves_the_pre_notice_and_prints_the_letter(live, web):
    clerk = staff(live.session, Role.CLERK, "wang.fang")        # clerks sign in without TOTP
    page, watch = web.page, web.watch

    page.goto("/admin/login")
    watch.check(page)
    page.fill("input[name=username]", clerk.username)
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(lambda url: "/admin/login" not in url)
    watch.check(page)

    page.goto("/admin/cases/new")
    watch.check(page)
    form = page.locator("form.admin-form")
    form.locator("input[name=kind][value=organisation]").check()
    form.locator("input[name=name]").fill(NAME)
    form.locator("input[name=uscc]").fill(USCC)
    form.locator("input[name=legal_rep_name]").fill("王建国")
    form.locator("input[name=legal_rep_id]").fill(REP_ID)
    form.locator("select[name=ground]").select_option("J1")
    form.locator("textarea[name=facts]").fill("经查，该单位拒不办理社会保险登记。")
    form.locator("input[name=document_no]").fill("佳人社失告〔2026〕12号")
    form.get_by_role("button", name="立案").click()
    page.wait_for_url(re.compile(r"/admin/cases/\d+$"))
    watch.check(page)
    assert NAME in page.locator("h1").inner_text()
    case = live.session.execute(sa.select(Case)).scalar_one()
    assert case.subject.uscc == USCC and case.subject.legal_representative.id_number == REP_ID
    live.session.rollback()

    # The served-on date defaults to today; the step button carries the step's name.
    step = page.locator(f"form[action$='/admin/cases/{case.id}/step/pre_notice']")
    with page.expect_navigation(url=re.compile(r"/step/pre_notice$")):
        step.get_by_role("button", name="送达事先告知书").click()
    watch.check(page)
    assert "已送达事先告知书" in page.locator("h1").inner_text()
    code = page.locator("p.access-code").inner_text().strip()
    assert re.fullmatch(r"[0-9A-Z-]{8,20}", code), code

    # The code page in print: the portal's header and back-office menu are not printed.
    page.emulate_media(media="print")
    assert _visible(page, "header.site, nav, .main-nav") == []
    page.emulate_media(media="screen")

    with web.context.expect_page() as opened:            # the form posts to a new tab
        page.get_by_role("button", name="打印文书").click()
    letter = opened.value
    letter.wait_for_load_state("load")
    watch.check(letter)
    assert "/letters/pre_notice" in letter.url
    body = letter.locator("article.letter").inner_text()
    assert NAME in body and code in body
    assert letter.locator(".letter-toolbar").is_visible()    # on screen: the print button bar

    letter.emulate_media(media="print")
    shot = live.tmp / "letter-print.png"
    letter.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    assert _visible(letter, ".letter-toolbar, .no-print, nav, header.site, .main-nav") == []
    assert letter.locator("article.letter").is_visible()
    assert code in letter.locator("article.letter").inner_text()
    print(f"letter screenshot (print media): {shot}")

    watch.assert_clean()
