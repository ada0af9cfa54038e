"""The listing procedure through the services, on both databases."""
import datetime as dt

import pytest
import sqlalchemy as sa

from portal.models import (
    AuditEvent,
    Case,
    OutboxEvent,
    PublicationState,
    PublishedEntry,
    RemovalNotice,
    Role,
    SubjectKind,
)
from portal.rules.profiles import available_profiles, load_profile
from portal.rules.workflow import CaseState, InvalidTransition, RemovalReason
from portal.services import audit, cases
from portal.services.calendar import load_calendar
from tests.factories import make_staff, make_subject, published_case


@pytest.mark.parametrize("code", available_profiles())
def test_the_whole_procedure_for_every_profile(app, session, code):
    profile = load_profile(code)
    case = published_case(session, app, profile_code=code, decided_on=dt.date(2026, 9, 28))
    session.commit()
    assert case.state is CaseState.PUBLISHED
    assert case.publish_due_on == dt.date(2026, 10, 13)        # 7 wd over National Day
    term = profile.ground(case.ground).term
    assert term.unit == "years"
    assert case.leaves_list_on == dt.date(2026 + term.amount, 9, 29)   # the day after the last day
    entry = session.execute(sa.select(PublishedEntry)).scalar_one()
    assert entry.public_id.startswith("E") and entry.leaves_list_on == case.leaves_list_on
    assert entry.term_last_day == case.term_last_day == dt.date(2026 + term.amount, 9, 28)
    actions = session.execute(sa.select(AuditEvent.action).order_by(AuditEvent.seq)).scalars().all()
    assert actions == ["case.open", "case.pre_notice", "case.review", "case.propose",
                       "case.decide", "case.publish"]
    assert audit.verify(session) == []


def test_pre_notice_sets_the_defence_deadline_over_a_holiday(app, session):
    profile = load_profile("jiamusi")
    clerk = make_staff(session, Role.CLERK)
    case = cases.open_case(session, clerk, profile, make_subject(session),
                           cases.CaseInput(ground="J1", facts="f"), dt.date(2026, 9, 20))
    code = cases.serve_pre_notice(session, clerk, case, profile, load_calendar(session),
                                  dt.date(2026, 9, 28))
    # 5 working days: 9-29, 9-30, (10-01..07 off), 10-08, 10-09, 10-10 (make-up Saturday)
    assert case.defence_due_on == dt.date(2026, 10, 10)
    assert len(code.replace("-", "")) == 10 and case.access_code_hash and code not in case.access_code_hash


def test_the_review_waits_for_the_defence_window(app, session):
    profile = load_profile("jiamusi")
    clerk, reviewer = make_staff(session, Role.CLERK), make_staff(session, Role.REVIEWER)
    case = cases.open_case(session, clerk, profile, make_subject(session),
                           cases.CaseInput(ground="J1", facts="f"), dt.date(2026, 9, 20))
    cases.serve_pre_notice(session, clerk, case, profile, load_calendar(session), dt.date(2026, 9, 28))
    with pytest.raises(cases.CaseError):
        cases.complete_review(session, reviewer, case, dt.date(2026, 10, 10))   # last day in
    cases.complete_review(session, reviewer, case, dt.date(2026, 10, 11))
    assert case.state is CaseState.REVIEWED


def test_a_late_defence_is_refused(app, session):
    profile = load_profile("jiamusi")
    clerk = make_staff(session, Role.CLERK)
    case = cases.open_case(session, clerk, profile, make_subject(session),
                           cases.CaseInput(ground="J1", facts="f"), dt.date(2026, 9, 20))
    cases.serve_pre_notice(session, clerk, case, profile, load_calendar(session), dt.date(2026, 9, 28))
    with pytest.raises(cases.CaseError):
        cases.record_defence(session, audit.PARTY, case, dt.date(2026, 10, 12))
    cases.record_defence(session, audit.PARTY, case, dt.date(2026, 10, 10))
    assert case.state is CaseState.DEFENCE_FILED


def test_four_eyes_and_roles_are_enforced(app, session):
    profile = load_profile("jiamusi")
    clerk = make_staff(session, Role.CLERK)
    approver = make_staff(session, Role.APPROVER)
    with pytest.raises(cases.PermissionDenied):   # an approver does not open cases
        cases.open_case(session, approver, profile, make_subject(session),
                        cases.CaseInput(ground="J1", facts="f"), dt.date(2026, 1, 5))
    case = cases.open_case(session, clerk, profile, make_subject(session),
                           cases.CaseInput(ground="J1", facts="f"), dt.date(2026, 1, 5))
    calendar = load_calendar(session)
    cases.serve_pre_notice(session, clerk, case, profile, calendar, dt.date(2026, 1, 5))
    cases.complete_review(session, None, case, dt.date(2026, 2, 1))
    # an approver who prepares the proposal may not approve it
    cases.propose_listing(session, make_staff(session, Role.REVIEWER), case)
    with pytest.raises(cases.PermissionDenied):
        cases.approve_listing(session, clerk, case, profile, calendar, dt.date(2026, 2, 2))
    case.prepared_by_id = approver.id
    with pytest.raises(cases.PermissionDenied, match="four-eyes"):
        cases.approve_listing(session, approver, case, profile, calendar, dt.date(2026, 2, 2))
    other = make_staff(session, Role.APPROVER)
    cases.approve_listing(session, other, case, profile, calendar, dt.date(2026, 2, 2))
    assert case.state is CaseState.DECIDED and case.approved_by_id == other.id


def test_illegal_steps_raise(app, session):
    profile = load_profile("jiamusi")
    clerk = make_staff(session, Role.CLERK)
    case = cases.open_case(session, clerk, profile, make_subject(session),
                           cases.CaseInput(ground="J1", facts="f"), dt.date(2026, 1, 5))
    with pytest.raises(InvalidTransition):
        cases.propose_listing(session, clerk, case)
    with pytest.raises(InvalidTransition):
        cases.publish_case(session, clerk, case, profile, "k", dt.date(2026, 1, 6))
    assert session.scalar(sa.select(sa.func.count(PublishedEntry.id))) == 0


def test_a_ground_that_does_not_fit_the_subject_is_refused(app, session):
    profile = load_profile("jiamusi")
    person_only = next((g for g in profile.grounds if g.subject_kinds == {"person"}), None)
    org_only = next(g for g in profile.grounds if g.subject_kinds == {"organisation"})
    clerk = make_staff(session, Role.CLERK)
    with pytest.raises(cases.CaseError):
        cases.open_case(session, clerk, profile, make_subject(session, SubjectKind.PERSON),
                        cases.CaseInput(ground=org_only.code, facts="f"), dt.date(2026, 1, 5))
    assert person_only is None or person_only.code


def test_repeat_listing_gets_the_longer_term(app, session):
    subject = make_subject(session)
    first = published_case(session, app, ground="J1", subject=subject, decided_on=dt.date(2024, 3, 1))
    assert first.leaves_list_on == dt.date(2025, 3, 2)
    second = published_case(session, app, ground="J1", subject=subject, decided_on=dt.date(2026, 3, 2))
    assert second.prior_listings == 1
    assert second.leaves_list_on == dt.date(2029, 3, 3)                # any repeat → 3 years (art. 10)
    entry = session.execute(sa.select(PublishedEntry).where(PublishedEntry.case_id == second.id)).scalar_one()
    assert entry.repeat_listing and entry.rectification_closes_on is None   # art. 11: first listing only


def test_publication_writes_outbox_and_bumps_the_version(app, session):
    published_case(session, app)
    session.commit()
    rows = session.execute(sa.select(OutboxEvent.topic, OutboxEvent.action)).all()
    assert rows == [("entry", "upsert")]
    # the decision (a decision awaiting publication counts on /stats), then the publication
    assert session.get(PublicationState, 1).version == 2


def test_expiry_is_idempotent(app, session):
    key = app.config["PORTAL_LOOKUP_KEY"]
    case = published_case(session, app, ground="J1", decided_on=dt.date(2025, 1, 6))
    published_case(session, app, ground="J2", decided_on=dt.date(2025, 1, 6))   # 3 years: stays
    session.commit()
    assert cases.expire_terms(session, load_profile, key, dt.date(2026, 1, 6)) == []   # last day in
    first = cases.expire_terms(session, load_profile, key, dt.date(2026, 1, 7))
    session.commit()
    second = cases.expire_terms(session, load_profile, key, dt.date(2026, 1, 8))
    session.commit()
    assert first == [case.case_no] and second == []
    notices = session.execute(sa.select(RemovalNotice)).scalars().all()
    assert len(notices) == 1 and notices[0].reason == RemovalReason.TERM_EXPIRED.value
    assert notices[0].removed_on == dt.date(2026, 1, 7)
    assert session.get(Case, case.id).state is CaseState.REMOVED


def test_removal_before_publication_publishes_no_notice(app, session):
    profile = load_profile("jiamusi")
    clerk, approver = make_staff(session, Role.CLERK), make_staff(session, Role.APPROVER)
    case = cases.open_case(session, clerk, profile, make_subject(session),
                           cases.CaseInput(ground="J1", facts="f"), dt.date(2026, 1, 5))
    calendar = load_calendar(session)
    cases.serve_pre_notice(session, clerk, case, profile, calendar, dt.date(2026, 1, 5))
    cases.complete_review(session, None, case, dt.date(2026, 2, 1))
    cases.propose_listing(session, clerk, case)
    cases.approve_listing(session, approver, case, profile, calendar, dt.date(2026, 2, 2))
    cases.remove_case(session, approver, case, profile, "k", RemovalReason.REVOKED, dt.date(2026, 2, 3))
    assert case.state is CaseState.REMOVED
    assert session.scalar(sa.select(sa.func.count(RemovalNotice.id))) == 0


def test_an_admin_takes_no_case_steps(app, session):
    profile = load_profile("jiamusi")
    admin = make_staff(session, Role.ADMIN)
    with pytest.raises(cases.PermissionDenied):
        cases.open_case(session, admin, profile, make_subject(session),
                        cases.CaseInput(ground="J1", facts="f"), dt.date(2026, 1, 5))
    case = published_case(session, app)
    with pytest.raises(cases.PermissionDenied):
        cases.remove_case(session, admin, case, profile, "k", RemovalReason.REVOKED, dt.date(2026, 5, 1))


@pytest.mark.parametrize("reason", [RemovalReason.OBJECTION_UPHELD, RemovalReason.REVOKED])
def test_an_annulled_listing_is_not_a_prior_listing(app, session, reason):
    subject = make_subject(session)
    first = published_case(session, app, ground="J1", subject=subject, decided_on=dt.date(2024, 3, 1))
    cases.remove_case(session, make_staff(session, Role.APPROVER), first, load_profile("jiamusi"),
                      "k", reason, dt.date(2024, 4, 1))
    second = published_case(session, app, ground="J1", subject=subject, decided_on=dt.date(2026, 3, 2))
    assert second.prior_listings == 0
    assert second.leaves_list_on == dt.date(2027, 3, 3)                # 1 year, not the repeat 3 years


def test_a_listing_decided_after_opening_counts_at_the_decision(app, session):
    profile = load_profile("jiamusi")
    subject = make_subject(session)
    clerk, approver = make_staff(session, Role.CLERK), make_staff(session, Role.APPROVER)
    calendar = load_calendar(session)
    pending = cases.open_case(session, clerk, profile, subject,
                              cases.CaseInput(ground="J1", facts="f"), dt.date(2026, 1, 5))
    assert pending.prior_listings == 0
    published_case(session, app, ground="J4", subject=subject, decided_on=dt.date(2026, 2, 2))
    cases.serve_pre_notice(session, clerk, pending, profile, calendar, dt.date(2026, 2, 3))
    cases.complete_review(session, None, pending, dt.date(2026, 3, 2))
    cases.propose_listing(session, clerk, pending)
    cases.approve_listing(session, approver, pending, profile, calendar, dt.date(2026, 3, 3))
    assert pending.prior_listings == 1
    assert pending.leaves_list_on == dt.date(2029, 3, 4)               # repeat listing → 3 years


def test_an_id_number_in_the_facts_is_masked_on_publication(app, session):
    import random

    from portal.rules.identifiers import generate_ric

    rid = generate_ric(random.Random(11), birth=dt.date(1969, 4, 2))
    case = published_case(session, app, facts=f"经查，该单位法定代表人（身份证号{rid}）拒不改正。")
    entry = session.execute(sa.select(PublishedEntry)).scalar_one()
    assert rid in case.facts and rid not in entry.facts
    assert f"身份证号{rid[:4]}**********{rid[-4:]}）" in entry.facts


def test_the_entry_shows_the_windows_as_the_working_calendar_counts_them(app, session):
    """Listed 2026-03-06 (J1): the 3-month rectification window ends on Saturday 06-06 and
    moves to Monday 06-08; repair opens the day after (as the filing form and letter say)."""
    published_case(session, app, decided_on=dt.date(2026, 3, 6), ground="J1")
    entry = session.execute(sa.select(PublishedEntry)).scalar_one()
    assert entry.rectification_closes_on == dt.date(2026, 6, 8)
    assert entry.repair_opens_on == dt.date(2026, 6, 9)


def test_two_clerks_opening_cases_at_once_get_different_numbers(app, session, backend):
    """The case number is taken under the audit head's lock: the second waits for the first."""
    import threading

    from portal.models import StaffUser, Subject

    if backend != "postgresql":
        pytest.skip("needs concurrent writers (SQLite serialises the whole database)")
    profile = load_profile("jiamusi")
    clerk_id = make_staff(session, Role.CLERK).id
    subject_ids = [make_subject(session).id, make_subject(session).id]
    audit.record(session, audit.SYSTEM, "calendar.import", "calendar", "2026")  # the chain exists
    session.commit()
    engine = session.get_bind()
    first = sa.orm.Session(engine)
    one = cases.open_case(first, first.get(StaffUser, clerk_id), profile,
                          first.get(Subject, subject_ids[0]),
                          cases.CaseInput(ground="J1", facts="f"), dt.date(2026, 11, 2))
    numbers, done, errors = [one.case_no], threading.Event(), []

    def second():
        try:
            with sa.orm.Session(engine) as other:
                case = cases.open_case(other, other.get(StaffUser, clerk_id), profile,
                                       other.get(Subject, subject_ids[1]),
                                       cases.CaseInput(ground="J1", facts="f"),
                                       dt.date(2026, 11, 2))
                numbers.append(case.case_no)
                other.commit()
        except Exception as exc:   # reported below
            errors.append(exc)
        done.set()

    thread = threading.Thread(target=second)
    thread.start()
    try:
        assert not done.wait(0.5)          # waits for the first transaction
    finally:
        first.commit()
        first.close()
        thread.join(10)
    assert errors == [] and done.is_set()
    assert numbers == ["JIA-2026-000001", "JIA-2026-000002"]


def test_a_case_below_its_grounds_threshold_is_refused(app, session):
    """000 art. 5(三): more than ¥10,000, or less but not returned despite an order."""
    from decimal import Decimal

    profile = load_profile("jiamusi")
    clerk = make_staff(session, Role.CLERK)
    person = make_subject(session, SubjectKind.PERSON)
    with pytest.raises(cases.BelowThreshold) as refused:
        cases.open_case(session, clerk, profile, person,
                        cases.CaseInput(ground="J3", facts="骗取待遇5000元", amount=Decimal("5000")),
                        dt.date(2026, 9, 20))
    assert refused.value.shortfall.missing == ()
    assert session.scalar(sa.select(sa.func.count(Case.id))) == 0
    exactly = cases.CaseInput(ground="J3", facts="f", amount=Decimal("10000"))    # 超过: not enough
    with pytest.raises(cases.BelowThreshold):
        cases.open_case(session, clerk, profile, person, exactly, dt.date(2026, 9, 20))
    over = cases.open_case(session, clerk, profile, person,
                           cases.CaseInput(ground="J3", facts="f", amount=Decimal("10000.01")),
                           dt.date(2026, 9, 20))
    refused_to_return = cases.open_case(session, clerk, profile, make_subject(session, SubjectKind.PERSON),
                                        cases.CaseInput(ground="J3", facts="f", amount=Decimal("5000"),
                                                        alternative_met=True), dt.date(2026, 9, 20))
    assert over.amount == Decimal("10000.01") and refused_to_return.alternative_met
    no_alternative = cases.open_case(session, clerk, profile, person, cases.CaseInput(
        ground="J5", facts="f", alternative_met=True), dt.date(2026, 9, 20))
    assert not no_alternative.alternative_met          # J5 names no alternative: not recorded


def test_zhengzhou_serious_arrears_need_both_three_years_and_half_a_million(app, session):
    from decimal import Decimal

    profile = load_profile("zhengzhou")
    clerk = make_staff(session, Role.CLERK)
    unit = make_subject(session)
    for months, amount in ((40, Decimal("499999.99")), (35, Decimal("800000")), (None, Decimal("800000"))):
        with pytest.raises(cases.BelowThreshold):
            cases.open_case(session, clerk, profile, unit, cases.CaseInput(
                ground="ZS2", facts="f", amount=amount, months=months), dt.date(2026, 9, 20))
    case = cases.open_case(session, clerk, profile, unit, cases.CaseInput(
        ground="ZS2", facts="f", amount=Decimal("500000"), months=36), dt.date(2026, 9, 20))
    assert (case.months, case.amount) == (36, Decimal("500000"))
