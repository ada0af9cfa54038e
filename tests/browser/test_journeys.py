"""The portal's four journeys in a real browser, at a laptop size and a phone size.

* a citizen looks an employer up: home, search, the entry, the exact check, the statistics;
* a listed employer signs in with the access code of its letter, sends rectification evidence
  with two files, answers the bureau's request for more material (补正) and is granted;
* a whistle-blower reports anonymously and follows the report with its query code;
* a clerk proposes a listing, a different approver (second factor set up at the first
  sign-in) signs it, the clerk publishes it and the entry is on the public site.

Every page visited is checked by the ``web`` fixture's :class:`Watch` (the accessibility smoke
and axe-core's WCAG 2.0/2.1 A+AA rules: zero violations). Locators go by role and label, in
Chinese from the portal's own catalogue, so they also prove that controls are labelled.
"""
import datetime as dt
import re

import pyotp
import sqlalchemy as sa
from babel.support import Translations

from portal import clock
from portal.models import Case, Role, StaffUser, Submission
from portal.rules.profiles import load_profile
from portal.rules.workflow import CaseState, SubmissionState
from portal.search import get_index
from portal.services import cases, indexer
from portal.services.calendar import load_calendar
from tests.browser.conftest import BROWSER, ROOT
from tests.factories import EVIDENCE, listed_case, make_staff, make_subject, published_case
from tests.web.admin_support import PASSWORD, staff, user

pytestmark = BROWSER

_ZH = Translations.load(str(ROOT / "portal" / "translations"), ["zh_Hans_CN"])


def zh(msgid: str) -> str:
    """The Chinese text the visitor sees for ``msgid`` (the catalogue must have it)."""
    text = _ZH.gettext(msgid)
    assert text and text != msgid, f"no Chinese text for {msgid!r}"
    return text


def go(page, watch, path: str) -> None:
    page.goto(path)
    watch.check(page)


def follow(page, watch, control, url=None) -> None:
    """Click a link or a submit button and check the page it leads to."""
    with page.expect_navigation(**({"url": url} if url else {})):
        control.click()
    watch.check(page)


def staff_sign_in(page, watch, who, secret: str | None = None) -> None:
    """The login page; then the code page with the current TOTP code when ``secret`` is given."""
    go(page, watch, "/admin/login")
    page.get_by_label(zh("User name")).fill(who.username)
    page.get_by_label(zh("Password")).fill(PASSWORD)
    follow(page, watch, page.get_by_role("button", name=zh("Sign in"), exact=True))
    if secret:
        assert page.url.endswith("/admin/login/code")
        page.get_by_label(zh("Six-digit code from the authenticator app")).fill(pyotp.TOTP(secret).now())
        follow(page, watch, page.get_by_role("button", name=zh("Continue")))
    assert "/admin/login" not in page.url, page.url


def files(live, *names: str) -> list[str]:
    """Small valid evidence files (typed by their content) in the test's directory."""
    paths = []
    for name in names:
        path = live.tmp / name
        path.write_bytes(EVIDENCE[name.rsplit(".", 1)[1]])
        paths.append(str(path))
    return paths


def section(page, heading: str):
    """The part of the page under the heading ``heading``."""
    return page.locator("section, div").filter(
        has=page.get_by_role("heading", name=heading, exact=True)).last


def receipt(page) -> tuple[str, str]:
    """The receipt number and the query code shown (once) on the receipt."""
    facts = page.locator("dl.receipt-facts")
    number, code = (t.strip() for t in facts.locator("dd.code").all_inner_texts()[:2])
    assert re.fullmatch(r"[A-Z0-9-]{8,30}", number) and re.fullmatch(r"[0-9A-Z-]{8,20}", code)
    return number, code


# --------------------------------------------------------------------------
# (a) A citizen looks an employer up
# --------------------------------------------------------------------------

CITIZEN_ORG = "佳木斯市恒达建筑工程有限公司"


def test_citizen_searches_reads_the_entry_checks_the_code_and_the_statistics(live, web, viewport):
    case = published_case(live.session, live.app,
                          subject=make_subject(live.session, name=CITIZEN_ORG))
    live.session.commit()
    assert indexer.sync(live.session, get_index(live.app)) == 1
    live.session.commit()
    uscc = case.subject.uscc
    page, watch = web.page, web.watch

    go(page, watch, "/")
    search = page.get_by_role("search")
    search.get_by_role("searchbox").fill("恒达")
    follow(page, watch, search.get_by_role("button", name=zh("Search")), re.compile(r"/search\?q="))
    follow(page, watch, page.get_by_role("main").get_by_role("link", name=CITIZEN_ORG),
           re.compile(r"/entries/[^/?]+$"))
    assert page.get_by_role("heading", level=1).inner_text() == CITIZEN_ORG
    assert uscc in page.get_by_role("main").inner_text()

    go(page, watch, "/check")
    page.get_by_label(zh("Unified social credit code or resident ID number")).fill(uscc.lower())
    follow(page, watch, page.get_by_role("button", name=zh("Check"), exact=True))
    result = page.locator(".check-result")
    assert zh("Listed") in result.inner_text()
    follow(page, watch, result.get_by_role("link", name=CITIZEN_ORG), re.compile(r"/entries/"))

    go(page, watch, "/check")                      # was it listed on a past day?
    page.get_by_label(zh("Unified social credit code or resident ID number")).fill(uscc)
    page.get_by_label(zh("Date to check (optional)")).fill("2026-04-01")
    follow(page, watch, page.get_by_role("button", name=zh("Check"), exact=True))
    result = page.locator(".check-result")
    assert zh("Listed") in result.inner_text() and "2026年4月1日" in result.inner_text()
    follow(page, watch, result.get_by_role("link", name=zh("See the published entry")),
           re.compile(r"/entries/"))

    go(page, watch, "/stats")
    assert page.get_by_role("table").count() >= 1
    watch.assert_clean()


# --------------------------------------------------------------------------
# (b) A listed employer: rectification, 补正, reply, granted
# --------------------------------------------------------------------------

EMPLOYER = "佳木斯市松江物流有限公司"


def test_listed_employer_rectifies_answers_the_request_for_material_and_is_granted(
        live, web, viewport):
    session = live.session
    case, access_code = listed_case(session, live.app,
                                    decided_on=clock.today() - dt.timedelta(days=20),
                                    subject=make_subject(session, name=EMPLOYER))
    session.commit()
    clerk = staff(session, Role.CLERK, "li.na")
    approver = staff(session, Role.APPROVER, "zhou.min")       # with an enrolled authenticator
    case_no, uscc, case_id, secret = case.case_no, case.subject.uscc, case.id, approver.totp_secret
    session.rollback()
    page, watch = web.page, web.watch

    # The employer signs in with its letter and sends the evidence: two files.
    go(page, watch, "/submit/party")
    page.get_by_label(zh("Case number")).fill(case_no)
    page.get_by_label(zh("Access code")).fill(access_code.lower())
    page.get_by_label(zh("Unified social credit code or ID card number")).fill(uscc)
    follow(page, watch, page.get_by_role("button", name=zh("Sign in"), exact=True),
           re.compile(r"/submit/case$"))
    kind = page.get_by_role("listitem").filter(
        has=page.get_by_role("heading", name=zh("Rectification evidence")))
    follow(page, watch, kind.get_by_role("link", name=zh("Start")), re.compile(r"/rectification$"))
    page.get_by_label(zh("Date the problem was put right")).fill(
        (clock.today() - dt.timedelta(days=2)).isoformat())
    page.get_by_label(zh("What did you do to put it right?")).fill("已为全部职工办理社会保险登记并补缴欠费。")
    page.get_by_label(zh("Evidence files")).set_input_files(files(live, "登记证.pdf", "缴费凭证.png"))
    page.get_by_label(zh("Your name")).fill("王建国")
    page.get_by_label(zh("Telephone")).fill("13800000000")
    follow(page, watch, page.get_by_role("button", name=zh("Send rectification evidence")))
    assert page.get_by_role("heading", level=1).inner_text() == zh("Your filing has been received")
    receipt_no, _code = receipt(page)
    assert page.locator("dl.receipt-facts ul.files li").count() == 2
    follow(page, watch, page.get_by_role("link", name=zh("Follow this filing")),
           re.compile(rf"/track/{receipt_no}$"))
    track_url = page.url

    # A clerk accepts it for review and asks for more material (补正).
    desk, desk_watch = web.another()
    staff_sign_in(desk, desk_watch, clerk)
    go(desk, desk_watch, "/admin/queue/submissions")
    follow(desk, desk_watch, desk.get_by_role("main").get_by_role("link", name=receipt_no),
           re.compile(r"/admin/submissions/\d+$"))
    filing_url = desk.url
    assert desk.get_by_role("main").get_by_role("listitem").filter(has_text="缴费凭证.png").count() == 1
    follow(desk, desk_watch, desk.get_by_role("button", name=zh("Accept for review")))
    desk.get_by_label(zh("What is missing (the party sees this note)")).fill("请补充2026年10月的缴费凭证。")
    follow(desk, desk_watch, desk.get_by_role("button", name=zh("Request more material")))
    assert zh("More material requested") in desk.locator(".badge.state").inner_text()

    # The employer reads the request and replies with a text and a file.
    go(page, watch, track_url)
    request_panel = section(page, zh("The bureau needs more material"))
    assert "请补充2026年10月的缴费凭证。" in request_panel.inner_text()
    request_panel.get_by_label(zh("Your reply")).fill("已补充10月缴费凭证，请查收。")
    request_panel.get_by_label(zh("Files")).set_input_files(files(live, "十月凭证.pdf"))
    follow(page, watch, request_panel.get_by_role("button", name=zh("Send reply")))
    assert zh("Thank you. Your reply was received and the review continues.") in page.inner_text("main")

    # An approver (second factor) grants it: the employer leaves the list early.
    signer, signer_watch = web.another()
    staff_sign_in(signer, signer_watch, approver, secret)
    go(signer, signer_watch, filing_url)
    signer.get_by_role("radio", name=zh("Granted"), exact=True).check()
    signer.get_by_label(zh("Reasons (the party sees them)")).fill("经核查，该单位已完成整改，准予提前移出。")
    follow(signer, signer_watch, signer.get_by_role("button", name=zh("Record the decision")))
    assert zh("Granted") in signer.locator(".badge.state").inner_text()

    go(page, watch, track_url)
    decision = section(page, zh("The bureau's decision"))
    assert zh("Granted.") in decision.inner_text()
    assert "准予提前移出" in decision.inner_text()

    live.session.expire_all()
    filing = live.session.execute(sa.select(Submission).where(
        Submission.receipt_no == receipt_no)).scalar_one()
    assert filing.state is SubmissionState.GRANTED and len(filing.attachments) == 3
    assert filing.case_id == case_id
    assert live.session.get(Case, case_id).state is CaseState.REMOVED
    live.session.rollback()
    for each in (watch, desk_watch, signer_watch):
        each.assert_clean()


# --------------------------------------------------------------------------
# (c) A whistle-blower reports anonymously and follows the report
# --------------------------------------------------------------------------

def test_whistle_blower_reports_anonymously_and_follows_the_report(live, web, viewport):
    page, watch = web.page, web.watch
    go(page, watch, "/submit")
    follow(page, watch, page.get_by_role("main").get_by_role("link", name=zh("Make a report")),
           re.compile(r"/submit/complaint"))
    page.get_by_label(zh("Name of the unit or person you report")).fill("某某劳务派遣公司")
    page.get_by_role("radio", name=zh("Fraud to obtain benefits or fund payments")).check()
    page.get_by_label(zh("What happened?")).fill("该公司虚构劳动关系，为他人补缴社会保险。")
    page.get_by_label(zh("Report anonymously")).check()
    follow(page, watch, page.get_by_role("button", name=zh("Send report")))
    assert page.get_by_role("heading", level=1).inner_text() == zh("Your filing has been received")
    receipt_no, query_code = receipt(page)

    # Later, in a browser that does not remember the report: receipt number and query code.
    follow(page, watch, page.get_by_role("link", name=zh("Follow this filing")),
           re.compile(rf"/track/{receipt_no}$"))
    follow(page, watch, page.get_by_role("button",
                                         name=zh("Close (forget this filing in this browser)")),
           re.compile(r"/track$"))
    page.get_by_label(zh("Receipt number")).fill(receipt_no)
    page.get_by_label(zh("Query code")).fill(query_code)
    follow(page, watch, page.get_by_role("button", name=zh("Show my filing")),
           re.compile(rf"/track/{receipt_no}$"))
    assert receipt_no in page.get_by_role("heading", level=1).inner_text()
    assert zh("Received") in page.locator(".status").inner_text()
    assert "某某劳务派遣公司" in page.get_by_role("main").inner_text()

    live.session.expire_all()
    report = live.session.execute(sa.select(Submission)).scalar_one()
    assert report.anonymous and (report.filer_name, report.filer_contact) == (None, None)
    live.session.rollback()
    watch.assert_clean()


# --------------------------------------------------------------------------
# (d) Clerk and approver: four eyes, a second factor, publication
# --------------------------------------------------------------------------

LISTED = "佳木斯市北辰保安服务有限公司"


def test_clerk_proposes_a_different_approver_signs_with_totp_and_the_entry_is_published(
        live, web, viewport):
    session = live.session
    profile, today = load_profile("jiamusi"), clock.today()
    opener, reviewer = make_staff(session, Role.CLERK), make_staff(session, Role.REVIEWER)
    case = cases.open_case(session, opener, profile, make_subject(session, name=LISTED),
                           cases.CaseInput(ground="J1", facts="经查，该单位拒不办理社会保险登记。"),
                           today - dt.timedelta(days=45))
    cases.serve_pre_notice(session, opener, case, profile, load_calendar(session),
                           today - dt.timedelta(days=40))
    reviewed_on = case.defence_due_on + dt.timedelta(days=1)     # the defence window has lapsed
    assert reviewed_on <= today
    cases.complete_review(session, reviewer, case, reviewed_on)
    session.commit()
    clerk = staff(session, Role.CLERK, "wang.fang")
    approver = user(session, Role.APPROVER, "zhang.wei")        # no authenticator yet
    session.commit()
    case_url = f"/admin/cases/{case.id}"
    session.rollback()
    page, watch = web.page, web.watch
    sign = zh("Sign the listing decision")

    staff_sign_in(page, watch, clerk)
    go(page, watch, case_url)
    follow(page, watch, page.get_by_role("button", name=zh("Propose listing")))
    assert page.get_by_role("button", name=sign).count() == 0      # a clerk does not sign

    # The approver's first sign-in sets up the authenticator app.
    signer, signer_watch = web.another()
    go(signer, signer_watch, "/admin/login")
    signer.get_by_label(zh("User name")).fill(approver.username)
    signer.get_by_label(zh("Password")).fill(PASSWORD)
    follow(signer, signer_watch, signer.get_by_role("button", name=zh("Sign in"), exact=True),
           re.compile(r"/admin/login/enrol$"))
    secret = enrolment_secret(signer)
    signer.get_by_label(zh("Six-digit code from the authenticator app")).fill(pyotp.TOTP(secret).now())
    follow(signer, signer_watch, signer.get_by_role("button", name=zh("Confirm and sign in")))
    assert "/admin/login" not in signer.url
    live.session.expire_all()
    assert live.session.get(StaffUser, approver.id).totp_secret == secret
    live.session.rollback()

    go(signer, signer_watch, case_url)
    follow(signer, signer_watch, signer.get_by_role("button", name=sign))
    access_code = signer.locator("p.access-code").inner_text().strip()
    assert re.fullmatch(r"[0-9A-Z-]{8,20}", access_code), access_code

    go(page, watch, case_url)
    follow(page, watch, page.get_by_role("button", name=zh("Publish on the portal")))
    assert zh("The listing is published on the portal.") in page.get_by_role("main").inner_text()

    visitor, visitor_watch = web.another()
    go(visitor, visitor_watch, "/entries")
    follow(visitor, visitor_watch, visitor.get_by_role("main").get_by_role("link", name=LISTED),
           re.compile(r"/entries/[^/?]+$"))
    assert visitor.get_by_role("heading", level=1).inner_text() == LISTED

    live.session.expire_all()
    done = live.session.get(Case, case.id)
    assert done.state is CaseState.PUBLISHED and done.approved_by_id == approver.id
    assert done.prepared_by_id == clerk.id != approver.id
    live.session.rollback()
    for each in (watch, signer_watch, visitor_watch):
        each.assert_clean()


def enrolment_secret(page) -> str:
    """The key the enrolment page shows (in its setup link, or as text to type)."""
    found = re.search(r"secret=([A-Z2-7]+)", page.content())
    if found:
        return found.group(1)
    return re.sub(r"\s", "", page.locator(".secret").first.inner_text())
