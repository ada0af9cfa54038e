"""Every back-office form, found by crawling the pages each role sees, takes hostile input
without a 5xx.

test_form_fuzz covers the public and party forms and a few staff forms by hand; this test
finds the rest itself: as clerk, reviewer, approver and admin it follows the back-office
links (cases, filings, letters, imports, sharing, grades, red list, calendar, users, API
clients, audit), reads every ``<form method="post">`` with its fields, and posts generated
values (hypothesis, bounded and reproducible: NUL and control characters, any Unicode,
whitespace, full-width digits, huge numbers, impossible dates, long strings, random file
bytes). Sign-out forms are left alone. ``pytest -s`` prints the forms and inputs tried.
"""
from __future__ import annotations

import datetime as dt
import io
import re
from collections import Counter
from html import unescape
from urllib.parse import urlsplit

import pytest
from hypothesis import strategies as st

from portal.models import Role
from portal.rules.profiles import load_profile
from portal.rules.workflow import SubmissionKind
from portal.services import submissions
from portal.services.calendar import load_calendar
from portal.services.submissions import Filing
from tests.factories import bureau_day, listed_case, pre_noticed_case
from tests.web.admin_support import fast_passwords, login, staff  # noqa: F401
from tests.web.test_form_fuzz import EXAMPLES, drive, hostile, summary

pytestmark = pytest.mark.usefixtures("fast_passwords")

FORM = re.compile(r"<form\b([^>]*)>(.*?)</form>", re.S | re.I)
ATTR = re.compile(r'([a-zA-Z_-]+)="([^"]*)"')
FIELD = re.compile(r"<(input|select|textarea)\b([^>]*)>", re.I)
LINK = re.compile(r'href="(/admin[^"#]*)"')
#: Forms that end the session or the account being crawled with.
SKIP_ACTIONS = ("logout", "/deactivate", "/revoke")
PAGES_PER_ROLE = 80


def _forms(html: str, page: str) -> list[tuple[str, dict[str, str]]]:
    """(action, {field name: type}) of every POST form on the page."""
    found = []
    for attrs, body in FORM.findall(html):
        a = dict(ATTR.findall(attrs))
        if a.get("method", "get").lower() != "post":
            continue
        action = unescape(a.get("action") or page)
        fields = {}
        for _tag, fattrs in FIELD.findall(body):
            f = dict(ATTR.findall(fattrs))
            if f.get("name") and f["name"] != "csrf_token":
                fields[f["name"]] = f.get("type", "text").lower()
        found.append((action, fields))
    return found


def _crawl(client) -> dict[str, dict[str, str]]:
    """Every back-office POST form this client can reach: action -> fields."""
    forms, queue, seen = {}, ["/admin/"], {"/admin/"}
    while queue and len(seen) <= PAGES_PER_ROLE:
        page = queue.pop(0)
        response = client.get(page, follow_redirects=True)
        if response.status_code != 200 or "html" not in (response.mimetype or ""):
            continue
        page = response.request.path
        html = response.get_data(as_text=True)
        for action, fields in _forms(html, page):
            if urlsplit(action).path.startswith("/admin") and not any(s in action for s in SKIP_ACTIONS):
                forms.setdefault(action, fields)
        for link in LINK.findall(html):
            link = unescape(link)
            path = urlsplit(link).path
            # one page of each kind of list is enough; downloads and letters' PDFs are not forms
            if link not in seen and "page=" not in link and not path.endswith((".pdf", ".csv", ".xlsx")) \
                    and "logout" not in path:
                seen.add(link)
                queue.append(link)
    return forms


def _values(fields: dict[str, str]):
    def one(kind: str):
        if kind == "file":
            return st.binary(max_size=2048).map(lambda b: (io.BytesIO(b), "证据.pdf"))
        return hostile(200)
    return st.fixed_dictionaries({name: one(kind) for name, kind in fields.items()})


def _zhengzhou_units(session) -> None:
    """Graded units, a finding, a red-list proposal and a complaint: the grade and red-list forms."""
    from tests.factories import make_subject
    from tests.grades_support import complaint, finding, proposal

    unit = make_subject(session)
    finding(session, unit)
    proposal(session)
    complaint(session)


@pytest.mark.parametrize(("profile_code", "ground"), [("jiamusi", "J1"), ("zhengzhou", "ZS1")])
def test_every_back_office_form_takes_hostile_input(app, session, client, time_machine,
                                                    profile_code, ground):
    app.config["PORTAL_PROFILE"] = profile_code
    bureau_day(time_machine, dt.date(2026, 10, 12))
    pre_noticed_case(session, served_on=dt.date(2026, 9, 28), profile_code=profile_code, ground=ground)
    case, _code = listed_case(session, app, decided_on=dt.date(2026, 3, 16), profile_code=profile_code,
                              ground=ground)
    if profile_code == "zhengzhou":
        _zhengzhou_units(session)
    profile, calendar = load_profile(profile_code), load_calendar(session)
    for filing in (Filing(kind=SubmissionKind.OBJECTION, body="金额有误。", case=case, category="facts",
                          filer_name="王建国", filer_contact="0454-8888888"),
                   Filing(kind=SubmissionKind.COMPLAINT, body="某公司未参保。", reported_name="某公司",
                          category="unregistered", filer_name="李敏", filer_contact="13900001111")):
        submissions.file(session, profile, calendar, filing, dt.date(2026, 10, 12))
    session.commit()
    report, failures, tried_forms = Counter(), [], 0
    for role in (Role.CLERK, Role.REVIEWER, Role.APPROVER, Role.ADMIN):
        user = staff(session, role, f"fuzz.{role.value}")
        browser = app.test_client()
        login(browser, user)
        forms = _crawl(browser)
        tried_forms += len(forms)
        for action, fields in sorted(forms.items()):
            if not fields:
                continue

            def send(values, action=action, browser=browser, user=user):
                response = browser.post(action, data=values, content_type="multipart/form-data")
                if response.status_code == 302 and "/admin/login" in response.headers.get("Location", ""):
                    login(browser, user)                 # a form that ended the session: sign in again
                return response

            surface = f"{role.value} {re.sub(r'/[0-9]+', '/<id>', urlsplit(action).path)}"
            drive(surface, _values(fields), send, report, failures,
                  examples=max(3, EXAMPLES // 6))
    print(f"\nback-office forms found: {tried_forms}")
    assert tried_forms >= 15, "the crawl reached too few back-office forms"
    summary("back-office forms", report, failures, app)
