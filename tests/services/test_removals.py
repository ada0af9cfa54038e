"""Removal for each reason of SPEC §4 step 7, for every profile, with its date edges."""
import datetime as dt

import pytest
import sqlalchemy as sa

from portal.models import AuditEvent, PublishedEntry, RemovalNotice
from portal.rules import terms
from portal.rules.profiles import available_profiles, load_profile
from portal.rules.workflow import CaseState, RemovalReason
from portal.services import cases
from tests.factories import published_case, remove_published

DECIDED = dt.date(2026, 3, 16)
R = RemovalReason


def _first_day(profile, case, reason: RemovalReason) -> dt.date | None:
    """The first day a removal for ``reason`` is right (None: never for this listing)."""
    if reason is R.TERM_EXPIRED:
        return case.leaves_list_on
    if reason is R.RECTIFIED:
        return DECIDED if profile.ground(case.ground).rectifiable else None
    if reason is R.CREDIT_REPAIRED:
        if not profile.repair.allowed:
            return None
        return terms.repair_eligibility(profile, case.ground, DECIDED, DECIDED, None).opens_on
    return DECIDED


@pytest.mark.parametrize("reason", list(RemovalReason))
@pytest.mark.parametrize("code", available_profiles())
def test_each_removal_reason_for_every_profile(app, session, code, reason):
    profile = load_profile(code)
    case = published_case(session, app, profile_code=code, decided_on=DECIDED)
    cases.mark_shared(session, None, case, DECIDED + dt.timedelta(days=3))
    key = app.config["PORTAL_LOOKUP_KEY"]
    first = _first_day(profile, case, reason)
    if first is None:
        with pytest.raises(cases.CaseError):
            remove_published(session, case, reason, case.leaves_list_on - dt.timedelta(days=1), key)
        assert case.state is CaseState.PUBLISHED
        return
    if first > DECIDED:   # the day before is refused, the first day is accepted
        with pytest.raises(cases.CaseError):
            remove_published(session, case, reason, first - dt.timedelta(days=1), key)
        assert case.state is CaseState.PUBLISHED and case.removed_on is None
    remove_published(session, case, reason, first, key)
    session.commit()
    assert case.state is CaseState.REMOVED and case.removal_reason is reason
    notice = session.execute(sa.select(RemovalNotice)).scalar_one()
    assert (notice.reason, notice.removed_on) == (reason.value, first)
    entry = session.execute(sa.select(PublishedEntry)).scalar_one_or_none()
    if reason in (R.CREDIT_REPAIRED, R.OBJECTION_UPHELD, R.REVOKED):
        # Order 36: after a repair the entry is no longer published; a listing that fell or
        # was revoked is withdrawn (its contested facts are never shown again)
        assert entry is None and notice.entry_public_id is None
    else:
        assert entry.status == "removed" and notice.entry_public_id == entry.public_id
    actions = session.execute(sa.select(AuditEvent.action).order_by(AuditEvent.seq)).scalars().all()
    assert actions[-3:] == ["case.publish", "case.share", "case.remove"]


def test_a_repeat_listing_cannot_be_removed_for_rectification(app, session):
    profile = load_profile("jiamusi")
    first = published_case(session, app, decided_on=dt.date(2021, 3, 1), ground="J1")
    again = published_case(session, app, decided_on=DECIDED, ground="J1", subject=first.subject)
    assert profile.ground("J1").rectifiable and again.prior_listings == 1
    with pytest.raises(cases.CaseError, match="repeat_listing"):
        remove_published(session, again, R.RECTIFIED, DECIDED + dt.timedelta(days=20),
                         app.config["PORTAL_LOOKUP_KEY"])


def test_the_expiry_job_removes_on_the_day_the_term_ends(app, session):
    case = published_case(session, app, decided_on=DECIDED)
    key = app.config["PORTAL_LOOKUP_KEY"]
    assert cases.expire_terms(session, load_profile, key, case.leaves_list_on - dt.timedelta(days=1)) == []
    assert cases.expire_terms(session, load_profile, key, case.leaves_list_on) == [case.case_no]
    assert case.removed_on == case.leaves_list_on and case.removal_reason is R.TERM_EXPIRED
    assert cases.expire_terms(session, load_profile, key, case.leaves_list_on) == []


def test_the_repair_window_follows_the_working_calendar(app, session):
    """Jiamusi J1 listed 2026-03-06: the 3-month rectification window ends on Saturday
    2026-06-06 and moves to Monday 06-08, so repair opens on 06-09 (as the letter says)."""
    from portal.services.calendar import load_calendar

    profile = load_profile("jiamusi")
    listed = dt.date(2026, 3, 6)
    opens = terms.repair_eligibility(profile, "J1", listed, listed, None,
                                     calendar=load_calendar(session)).opens_on
    assert opens == dt.date(2026, 6, 9)
    case = published_case(session, app, decided_on=listed, ground="J1")
    key = app.config["PORTAL_LOOKUP_KEY"]
    with pytest.raises(cases.CaseError, match="repair_not_open"):
        remove_published(session, case, R.CREDIT_REPAIRED, dt.date(2026, 6, 8), key)
    remove_published(session, case, R.CREDIT_REPAIRED, opens, key)
    assert case.state is CaseState.REMOVED
