"""Helpers for the letter tests: a case through the whole procedure, rendering, page text."""
from __future__ import annotations

import datetime as dt
import html
import random
import re
from itertools import count

from babel.dates import format_date

from portal.models import PersonRole, RelatedPerson, Role
from portal.rules import identifiers, terms
from portal.rules.profiles import Profile, load_profile
from portal.rules.workflow import RemovalReason
from portal.services import cases
from portal.services.calendar import load_calendar
from tests.factories import enough, make_staff, make_subject

SERVED = dt.date(2026, 3, 2)
DECIDED = dt.date(2026, 3, 16)
PUBLISHED = dt.date(2026, 3, 18)
CJK = re.compile(r"[\u4e00-\u9fff]")


def pick_ground(profile: Profile):
    """An organisation ground of the profile, a rectifiable one where there is one."""
    grounds = [g for g in profile.grounds if "organisation" in g.subject_kinds]
    return next((g for g in grounds if g.rectifiable), grounds[0])


_seeds = count(1000)


def organisation(session, seed: int | None = None):
    """An organisation with its legal representative and one responsible person (full IDs)."""
    seed = next(_seeds) if seed is None else seed
    subject = make_subject(session, rng=random.Random(seed))
    rid = identifiers.generate_ric(random.Random(seed + 1), birth=dt.date(1980, 2, 3))
    subject.people.append(RelatedPerson(role=PersonRole.RESPONSIBLE, name="赵德明", id_number=rid))
    session.flush()
    return subject


class Procedure:
    """One case of ``profile_code`` walked through the services, keeping each code as issued."""

    def __init__(self, session, app, profile_code: str = "jiamusi", subject=None,
                 ground: str | None = None):
        self.session, self.app = session, app
        self.profile = load_profile(profile_code)
        self.ground = self.profile.ground(ground) if ground else pick_ground(self.profile)
        self.calendar = load_calendar(session)
        self.clerk = make_staff(session, Role.CLERK)
        self.reviewer = make_staff(session, Role.REVIEWER)
        self.approver = make_staff(session, Role.APPROVER)
        self.subject = subject or organisation(session)
        self.case = cases.open_case(
            session, self.clerk, self.profile, self.subject,
            cases.CaseInput(ground=self.ground.code, facts="经查，该单位拒不改正，涉及职工23人次。",
                            reasons="经责令限期改正后逾期仍未改正。",
                            **enough(self.profile, self.ground.code)),
            SERVED - dt.timedelta(days=7))
        self.pre_notice_code = cases.serve_pre_notice(session, self.clerk, self.case, self.profile,
                                                      self.calendar, SERVED)
        self.decision_code = None

    def decide(self, publish: bool = True):
        s, case = self.session, self.case
        cases.complete_review(s, self.reviewer, case, DECIDED)
        cases.propose_listing(s, self.clerk, case)
        self.decision_code = cases.approve_listing(s, self.approver, case, self.profile,
                                                   self.calendar, DECIDED)
        if publish:
            cases.publish_case(s, self.clerk, case, self.profile,
                               self.app.config["PORTAL_LOOKUP_KEY"], PUBLISHED)
        return self.decision_code

    def repair_opens(self) -> dt.date:
        case = self.case
        return terms.repair_eligibility(self.profile, case.ground, case.decided_on, case.decided_on,
                                        case.leaves_list_on, prior_listings=case.prior_listings,
                                        calendar=self.calendar).opens_on

    def remove(self, reason: RemovalReason = RemovalReason.CREDIT_REPAIRED) -> dt.date:
        on = {RemovalReason.CREDIT_REPAIRED: self.repair_opens(),
              RemovalReason.TERM_EXPIRED: self.case.leaves_list_on}.get(reason, self.case.decided_on)
        cases.remove_case(self.session, self.approver, self.case, self.profile,
                          self.app.config["PORTAL_LOOKUP_KEY"], reason, on)
        return on


def post_letter(client, case, kind: str, *, code: str | None = None, fmt: str = "html",
                lang: str = "zh_CN"):
    data = {"format": fmt, "lang": lang}
    if code is not None:
        data["code"] = code
    return client.post(f"/admin/cases/{case.id}/letters/{kind}", data=data)


def page_text(response) -> str:
    """Visible text, whitespace collapsed and entities decoded."""
    raw = response.get_data(as_text=True)
    raw = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", raw, flags=re.DOTALL)
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", raw)))


def parts(response) -> set[str]:
    return set(re.findall(r'data-part="([a-z_]+)"', response.get_data(as_text=True)))


def measures_shown(response) -> set[str]:
    return set(re.findall(r'data-measure="([^"]+)"', response.get_data(as_text=True)))


def day(value: dt.date, lang: str) -> str:
    """A date as the letters print it."""
    if lang.startswith("zh"):
        return f"{value.year}年{value.month}月{value.day}日"
    return format_date(value, "medium", locale="en")
