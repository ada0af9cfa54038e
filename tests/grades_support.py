"""Helpers for the grade and red-list tests (Zhengzhou): complaints, findings, proposals."""
from __future__ import annotations

import datetime as dt

from portal.models import FindingSource, Role
from portal.rules import identifiers
from portal.rules.profiles import load_profile
from portal.rules.thresholds import least_figures
from portal.rules.workflow import SubmissionKind
from portal.services import grades, redlist, submissions
from portal.services.calendar import load_calendar
from tests.factories import make_staff, make_subject

ZZ = load_profile("zhengzhou")
TODAY = dt.date(2026, 10, 12)
KEY = "test-lookup-key"
EMPLOYER_CRITERIA = ("R1", "R2", "R3", "R4", "R6", "R7")
COMPLAINANT_ID = identifiers.generate_ric(__import__("random").Random(7), birth=dt.date(1980, 5, 4))


def complaint(session, *, granted: bool | None = None, anonymous: bool = False,
              name: str = "赵投诉", contact: str = "13800001234", reported: str = "郑州某医院"):
    """A complaint received 30 days ago; decided (granted / rejected) when asked to."""
    filing = submissions.Filing(kind=SubmissionKind.COMPLAINT, body="该院挂床住院。",
                                filer_name=None if anonymous else name,
                                filer_contact=None if anonymous else contact, anonymous=anonymous,
                                reported_name=reported, category="fraud")
    received = TODAY - dt.timedelta(days=30)
    sub = submissions.receive(session, ZZ, load_calendar(session), filing, received).submission
    if granted is not None:
        clerk = make_staff(session, Role.CLERK)
        submissions.accept_for_review(session, clerk, sub, ZZ, load_calendar(session), received)
        submissions.decide(session, clerk, sub, granted, "经核实" if granted else "经核实，举报不实。",
                           ZZ, load_calendar(session), KEY, TODAY - dt.timedelta(days=1))
    return sub


def finding(session, subject, code: str = "ZG2", *, on: dt.date = TODAY, user=None, months=None):
    """A finding of ``code``; arrears by years get the months their threshold needs."""
    user = user or make_staff(session, Role.CLERK)
    behaviour = next((b for b in ZZ.behaviours if b.code == code), None)
    figures = least_figures(behaviour.threshold if behaviour else None)
    return grades.record_finding(session, user, ZZ, subject, grades.FindingInput(
        code=code, found_on=on, facts="经稽核认定。", source=FindingSource.INSPECTION,
        document_no="郑社保稽〔2026〕1号", amount=figures.amount,
        months=figures.months if months is None else months), TODAY)


def proposal(session, subject=None, *, criteria=EMPLOYER_CRITERIA, unit_type="employer", clerk=None):
    subject = subject or make_subject(session)
    clerk = clerk or make_staff(session, Role.CLERK)
    return redlist.propose(session, clerk, ZZ, subject, unit_type, criteria, "年度稽核无违规。", TODAY)


def admitted(session, subject=None, **kw):
    p = proposal(session, subject, **kw)
    approver = make_staff(session, Role.APPROVER)
    return redlist.admit(session, approver, p, ZZ, KEY, TODAY)
