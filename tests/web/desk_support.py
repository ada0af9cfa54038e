"""Cases at each step of the procedure on a fixed bureau's day, for the back-office landing
page's tests (its lines and the queues they link to)."""
import datetime as dt

import pytest

from portal.models import SubjectKind
from portal.rules.profiles import load_profile
from portal.services import cases
from portal.services.calendar import load_calendar
from tests.factories import bureau_day, make_subject

JIAMUSI = load_profile("jiamusi")
TODAY = dt.date(2026, 10, 12)          # a Monday


@pytest.fixture
def today(time_machine):
    bureau_day(time_machine, TODAY)
    return TODAY


def _opened(session, clerk, on):
    return cases.open_case(session, clerk, JIAMUSI, make_subject(session, SubjectKind.ORGANISATION),
                           cases.CaseInput(ground="J1", facts="经查"), on)


def _pre_noticed(session, clerk, served_on):
    case = _opened(session, clerk, served_on)
    cases.serve_pre_notice(session, clerk, case, JIAMUSI, load_calendar(session), served_on)
    return case


def _proposed(session, clerk, reviewer, served_on):
    case = _pre_noticed(session, clerk, served_on)
    cases.complete_review(session, reviewer, case, served_on + dt.timedelta(days=20))
    cases.propose_listing(session, clerk, case)
    return case
