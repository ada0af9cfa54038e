"""Each count of the landing page is the number of rows of the queue it links to: the count
and the queue are one query (a reviewer was shown "1 window closed" and landed on every
pre-noticed case; an approver on its own proposals, on every filing under review)."""
import datetime as dt
import html as htmllib
import re

import pytest

from portal.models import Role
from portal.rules.workflow import SubmissionKind
from portal.services import cases, submissions
from portal.services.calendar import load_calendar
from tests.web.admin_support import english, fast_passwords, login, staff  # noqa: F401

from tests.web.desk_support import JIAMUSI, TODAY, _opened, _pre_noticed, _proposed, today  # noqa: F401

pytestmark = pytest.mark.usefixtures("fast_passwords")
K = SubmissionKind




def _filing(session, kind, case, on, clerk=None):
    sub = submissions.receive(session, JIAMUSI, load_calendar(session), submissions.Filing(
        kind=kind, body="材料", case=case, filer_name="王建国", reported_name="某单位"), on).submission
    if clerk is not None:
        submissions.accept_for_review(session, clerk, sub, JIAMUSI, load_calendar(session), on)
    return sub


@pytest.fixture
def office(session, app, today):  # noqa: F811 (the fixture of desk_support)
    """Work in every state a desk line counts, with its near misses next to it."""
    clerk = staff(session, Role.CLERK, "wang.fang")
    reviewer = staff(session, Role.REVIEWER, "li.na")
    approver = staff(session, Role.APPROVER, "zhang.wei")
    calendar = load_calendar(session)
    _pre_noticed(session, clerk, dt.date(2026, 10, 9))              # window open (until 10-16)
    _pre_noticed(session, clerk, dt.date(2026, 10, 12))             # window open
    _pre_noticed(session, clerk, dt.date(2026, 9, 1))               # window closed
    _pre_noticed(session, clerk, dt.date(2026, 8, 3))               # window closed
    _opened(session, clerk, dt.date(2026, 10, 9))
    proposed = [_proposed(session, clerk, reviewer, dt.date(2026, 8, 3)) for _ in range(3)]
    proposed[0].prepared_by_id = approver.id                        # waits for another approver
    listed = []
    for decided_on in (dt.date(2026, 9, 30), dt.date(2026, 9, 15)):
        case = _proposed(session, clerk, reviewer, decided_on - dt.timedelta(days=30))
        cases.approve_listing(session, approver, case, JIAMUSI, calendar, decided_on)
        cases.publish_case(session, clerk, case, JIAMUSI, "k", decided_on + dt.timedelta(days=1))
        listed.append(case)
    cases.mark_shared(session, clerk, listed[1], dt.date(2026, 9, 20))
    day = dt.date(2026, 10, 9)
    _filing(session, K.OBJECTION, listed[0], day, clerk)            # may end the listing
    _filing(session, K.CREDIT_REPAIR, listed[1], day, clerk)        # may end the listing
    _filing(session, K.COMPLAINT, None, day, clerk)                 # under review, ends nothing
    _filing(session, K.COMPLAINT, None, day)                        # to accept
    asked = _filing(session, K.COMPLAINT, None, dt.date(2026, 9, 28), clerk)
    submissions.request_material(session, clerk, asked, "请补充证据。", dt.date(2026, 9, 29), JIAMUSI, calendar)
    submissions.reply_material(session, asked, "已补充。", dt.date(2026, 10, 9), JIAMUSI, calendar)
    session.commit()
    return {"clerk": clerk, "reviewer": reviewer, "approver": approver}


def _lines(body: str) -> dict[str, tuple[int, str]]:
    """name -> (count, link) of each line of the landing page."""
    found = re.findall(r'<li data-waiting="([^"]+)"><a href="([^"]+)"><b class="desk-count[^"]*">(\d+)</b>',
                       body)
    return {name: (int(count), htmllib.unescape(url)) for name, url, count in found}


def _rows(client, url: str) -> int:
    """The rows the linked page lists (for the sharing page: of the group it links to)."""
    path, _, anchor = url.partition("#")
    page = client.get(path)
    assert page.status_code == 200, url
    html = page.get_data(as_text=True)
    if anchor:
        html = html[html.index(f'id="{anchor}"'):]
    body = html[html.index("<tbody>"):html.index("</tbody>")]
    rows = len([row for row in body.split("<tr")[1:] if 'class="empty"' not in row])
    total = re.search(r'<p class="total">(\d+) (?:case|filing)', html)
    if total is not None:
        assert int(total.group(1)) == rows, url
    return rows


EXPECTED = {
    "clerk": {"to_pre_notice": 1, "to_propose": 0, "to_publish": 0, "to_share": 1,
              "filings_to_accept": 1, "replies": 1},
    "reviewer": {"reviews_due": 0, "windows_lapsed": 2, "under_review": 4, "filings_to_accept": 1},
    "approver": {"proposals": 2, "removals": 2, "redlist": 0, "to_publish": 0},
}


@pytest.mark.parametrize("role", sorted(EXPECTED))
def test_every_count_of_the_desk_is_the_number_of_rows_of_its_queue(session, client, office, role):
    english(client)
    login(client, office[role])
    lines = _lines(client.get("/admin/").get_data(as_text=True))
    assert {name: count for name, (count, _url) in lines.items()} == EXPECTED[role]
    for name, (count, url) in lines.items():
        assert _rows(client, url) == count, (name, url)


def test_the_queues_offer_the_filters_the_desk_links_use(session, client, office):
    english(client)
    login(client, office["approver"])
    lines = _lines(client.get("/admin/").get_data(as_text=True))
    for name in ("proposals", "removals"):
        url = lines[name][1]
        page = client.get(url).get_data(as_text=True)
        for key, value in re.findall(r"[?&]([a-z_]+)=([a-z_]+)", url):
            assert re.search(rf'<select[^>]*name="{key}"[^>]*>.*?<option selected value="{value}">',
                             page, re.S), (name, key, value)


def test_the_admins_account_lines_link_to_exactly_their_accounts(session, client, today):  # noqa: F811
    """Locked, deactivated and first-password accounts: each line opens the list of those
    accounts only, as many as it counts (it used to open every account)."""
    import datetime as _dt

    from portal import clock

    admin = staff(session, Role.ADMIN, "admin.one")
    for name in ("locked.one", "locked.two"):
        staff(session, Role.CLERK, name).locked_until = clock.now() + _dt.timedelta(minutes=10)
    staff(session, Role.CLERK, "was.locked").locked_until = clock.now() - _dt.timedelta(minutes=1)
    staff(session, Role.CLERK, "gone").active = False
    fresh = staff(session, Role.CLERK, "fresh.one")
    fresh.must_change_password = True
    gone_fresh = staff(session, Role.CLERK, "gone.fresh")
    gone_fresh.must_change_password, gone_fresh.active = True, False
    admin.must_change_password = False
    session.commit()
    english(client)
    login(client, admin)
    lines = _lines(client.get("/admin/").get_data(as_text=True))
    counts = {name: lines[name][0] for name in ("locked_accounts", "inactive_accounts",
                                                  "first_password")}
    assert counts == {"locked_accounts": 2, "inactive_accounts": 2, "first_password": 1}
    for name in counts:
        count, url = lines[name]
        assert "show=" in url
        assert _rows(client, url) == count, (name, url)
    page = client.get(lines["first_password"][1]).get_data(as_text=True)
    assert "fresh.one" in page and "gone.fresh" not in page and "All accounts" in page
    assert client.get("/admin/users/?show=nonsense").status_code == 200


def test_the_approvers_red_list_line_opens_the_proposals_they_may_decide(session, client, office):
    """The line counts the proposals of others (four eyes) and its link lists those and no
    more; the page without the filter still lists every proposal waiting."""
    from portal.rules.profiles import load_profile
    from portal.services import redlist
    from tests.factories import make_subject

    codes = [c.code for c in load_profile("zhengzhou").red_list_criteria if not c.subjects]
    made = [redlist.propose(session, office["clerk"], JIAMUSI, make_subject(session), "employer",
                            codes, "年度核查材料", TODAY) for _ in range(3)]
    made[2].proposed_by_id = office["approver"].id      # proposed before they became an approver
    session.commit()
    english(client)
    login(client, office["approver"])
    count, url = _lines(client.get("/admin/").get_data(as_text=True))["redlist"]
    assert count == 2 and "to_decide=1" in url
    assert _rows(client, url) == 2
    assert _rows(client, url.split("?")[0]) == 3
