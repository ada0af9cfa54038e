"""Submissions through the services on both databases: windows, exactly-once, 补正 clock, decisions."""
import datetime as dt

import pytest
import sqlalchemy as sa

from portal.models import AuditEvent, PublishedEntry, RemovalNotice, Role, Submission
from portal.rules.profiles import load_profile
from portal.rules.workflow import CaseState, InvalidTransition, SubmissionKind, SubmissionState
from portal.services import audit, cases, submissions
from portal.services.calendar import load_calendar
from portal.services.submissions import Filing, FilingRefused, SubmissionError
from tests.factories import listed_case, make_staff, pre_noticed_case

K, S = SubmissionKind, SubmissionState
D = dt.date
KEY = "test-lookup-key"


def _file(session, kind, case, on, body="陈述内容", **extra):
    profile = load_profile("jiamusi")
    filing = Filing(kind=kind, body=body, case=case, filer_name="王建国", filer_contact="0454-8888888",
                    **extra)
    return submissions.file(session, profile, load_calendar(session), filing, on)


def _entry(session, case):
    return session.execute(sa.select(PublishedEntry).where(PublishedEntry.case_id == case.id)).scalar_one_or_none()


# ------------------------------------------------------------------ windows

def test_defence_last_day_in_moves_the_case(app, session):
    case, _code = pre_noticed_case(session, served_on=D(2026, 9, 28))
    assert case.defence_due_on == D(2026, 10, 10)            # 5 wd over National Day (make-up Saturday)
    receipt = _file(session, K.DEFENCE, case, D(2026, 10, 10))
    assert receipt.created and receipt.query_code
    assert case.state is CaseState.DEFENCE_FILED
    sub = receipt.submission
    assert (sub.due_on, sub.due_basis, sub.due_provisional) == (D(2026, 10, 10), "case", False)
    # a second statement inside the window is accepted; the case stays where it is
    _file(session, K.DEFENCE, case, D(2026, 10, 10), body="补充陈述")
    assert case.state is CaseState.DEFENCE_FILED


def test_defence_first_day_out_is_refused_and_nothing_is_saved(app, session):
    case, _code = pre_noticed_case(session, served_on=D(2026, 9, 28))
    with pytest.raises(FilingRefused) as refused:
        _file(session, K.DEFENCE, case, D(2026, 10, 11))
    assert refused.value.window.reason == "window_closed"
    assert refused.value.window.closes_on == D(2026, 10, 10)
    assert session.scalar(sa.select(sa.func.count(Submission.id))) == 0
    assert case.state is CaseState.PRE_NOTICED


def test_rectification_window_edges(app, session):
    case, _code = listed_case(session, app, decided_on=D(2026, 3, 15), ground="J1")
    with pytest.raises(FilingRefused) as late:
        _file(session, K.RECTIFICATION, case, D(2026, 6, 16))
    assert late.value.window.reason == "window_closed" and late.value.window.closes_on == D(2026, 6, 15)
    receipt = _file(session, K.RECTIFICATION, case, D(2026, 6, 15))
    assert receipt.submission.due_on == D(2026, 7, 28)        # 30 wd (Dragon Boat 06-19 off)
    with pytest.raises(FilingRefused) as again:               # one open rectification per case
        _file(session, K.RECTIFICATION, case, D(2026, 6, 15))
    assert again.value.window.reason == "already_pending"
    assert again.value.window.pending_receipt == receipt.submission.receipt_no


@pytest.mark.parametrize("ground, prior, reason", [("J2", None, "ground_not_rectifiable"),
                                                   ("J1", 1, "repeat_listing")])
def test_rectification_refused_for_ground_and_repeat(app, session, ground, prior, reason):
    case, _code = listed_case(session, app, decided_on=D(2026, 3, 15), ground=ground, prior_listings=prior)
    with pytest.raises(FilingRefused) as refused:
        _file(session, K.RECTIFICATION, case, D(2026, 4, 1))
    assert refused.value.window.reason == reason


def test_repair_opens_after_the_rectification_window_in_jiamusi(app, session):
    case, _code = listed_case(session, app, decided_on=D(2026, 3, 15), ground="J1")
    with pytest.raises(FilingRefused) as early:
        _file(session, K.CREDIT_REPAIR, case, D(2026, 6, 15))
    assert early.value.window.reason == "window_not_open" and early.value.window.opens_on == D(2026, 6, 16)
    sub = _file(session, K.CREDIT_REPAIR, case, D(2026, 6, 16)).submission
    assert sub.due_on == D(2026, 9, 9) and not sub.due_provisional   # 60 wd


def test_a_due_date_in_2027_is_provisional(app, session):
    case, _code = listed_case(session, app, decided_on=D(2026, 10, 9), ground="J1")
    sub = _file(session, K.RECTIFICATION, case, D(2026, 12, 1)).submission
    assert sub.due_on == D(2027, 1, 13)
    assert sub.due_provisional is True
    assert sub.due_basis == "state-council:2026+provisional:2027"


def test_objection_needs_a_published_entry(app, session):
    case, _code = listed_case(session, app, publish=False)
    with pytest.raises(FilingRefused) as refused:
        _file(session, K.OBJECTION, case, D(2026, 3, 16))
    assert refused.value.window.reason == "not_published"


def test_same_token_files_once(app, session):
    case, _code = listed_case(session, app)
    first = _file(session, K.OBJECTION, case, D(2026, 4, 1), category="facts", idempotency_key="t" * 32)
    again = _file(session, K.OBJECTION, case, D(2026, 4, 1), category="facts", idempotency_key="t" * 32)
    session.commit()
    assert first.created and not again.created
    assert again.query_code is None and again.submission.id == first.submission.id
    assert session.scalar(sa.select(sa.func.count(Submission.id))) == 1


def test_complaints_are_not_filed_on_a_case(app, session):
    case, _code = listed_case(session, app)
    with pytest.raises(SubmissionError):
        _file(session, K.COMPLAINT, case, D(2026, 4, 1))


# ------------------------------------------------------------------ review and 补正

def _objection(session, app, on=None):
    case, _code = listed_case(session, app)
    sub = _file(session, K.OBJECTION, case, on or D(2026, 6, 1), category="identity").submission
    return case, sub


def test_accepting_an_objection_marks_the_entry_at_once(app, session):
    case, sub = _objection(session, app)
    clerk = make_staff(session, Role.CLERK)
    profile = load_profile("jiamusi")
    submissions.accept_for_review(session, clerk, sub, profile, load_calendar(session), D(2026, 6, 2))
    session.commit()
    assert sub.state is S.UNDER_REVIEW and _entry(session, case).under_objection is True
    marker = session.execute(sa.select(AuditEvent).where(AuditEvent.action == "submission.objection_marker")).scalar_one()
    assert marker.data["due"] == "2026-06-02" and marker.data["late"] is False
    assert marker.actor_label == f"staff:{clerk.username}"


def test_material_request_pauses_and_the_reply_resumes_the_clock(app, session):
    _case, sub = _objection(session, app, on=D(2026, 6, 1))
    assert sub.due_on == D(2026, 6, 8)                         # 5 wd
    clerk = make_staff(session, Role.CLERK)
    profile, calendar = load_profile("jiamusi"), load_calendar(session)
    submissions.accept_for_review(session, clerk, sub, profile, calendar, D(2026, 6, 2))
    submissions.request_material(session, clerk, sub, "请提交营业执照复印件。", D(2026, 6, 3), profile, calendar)
    assert sub.state is S.AWAITING_MATERIAL and sub.paused_since == D(2026, 6, 3)
    request = sub.details["material_requests"][-1]
    assert request["reply_due"] == "2026-06-17" and request["note"] == "请提交营业执照复印件。"
    assert sub.events[-1].note == "请提交营业执照复印件。"
    submissions.reply_material(session, sub, "已补充营业执照。", D(2026, 6, 5), profile, calendar)
    session.commit()
    # paused on 06-04 and 06-05: two working days → 06-08 becomes 06-10
    assert sub.state is S.UNDER_REVIEW and sub.paused_since is None
    assert sub.due_on == D(2026, 6, 10)
    assert sub.details["material_requests"][-1]["paused_working_days"] == 2
    assert sub.details["material_requests"][-1]["reply"] == "已补充营业执照。"
    # a second round over the Dragon Boat Festival: 06-16, 06-17, 06-18, 06-22 → 4 working days
    submissions.request_material(session, clerk, sub, "请补充银行回单。", D(2026, 6, 15), profile, calendar)
    submissions.reply_material(session, sub, "", D(2026, 6, 22), profile, calendar)
    assert sub.due_on == D(2026, 6, 16) and sub.details["paused_working_days"] == 6


def test_request_material_needs_a_note_and_the_right_state(app, session):
    _case, sub = _objection(session, app)
    clerk = make_staff(session, Role.CLERK)
    profile, calendar = load_profile("jiamusi"), load_calendar(session)
    with pytest.raises(InvalidTransition):        # still RECEIVED
        submissions.request_material(session, clerk, sub, "x", D(2026, 6, 2), profile, calendar)
    submissions.accept_for_review(session, clerk, sub, profile, calendar, D(2026, 6, 2))
    with pytest.raises(SubmissionError):
        submissions.request_material(session, clerk, sub, "  ", D(2026, 6, 2), profile, calendar)
    with pytest.raises(InvalidTransition):
        submissions.reply_material(session, sub, "unasked", D(2026, 6, 3), profile, calendar)


# ------------------------------------------------------------------ decisions

def _decide(session, sub, granted, user, on):
    profile = load_profile("jiamusi")
    calendar = load_calendar(session)
    if sub.state is S.RECEIVED:
        submissions.accept_for_review(session, user, sub, profile, calendar, on)
    outcome = submissions.ObjectionOutcome(listing_fell=True) if sub.kind is K.OBJECTION else None
    submissions.decide(session, user, sub, granted, "经核查，理由成立。" if granted else "经核查，理由不成立。",
                       profile, calendar, KEY, on, outcome=outcome)


def test_granted_objection_publishes_a_removal_and_clears_the_marker(app, session):
    case, sub = _objection(session, app)
    approver = make_staff(session, Role.APPROVER)
    _decide(session, sub, True, approver, D(2026, 6, 4))
    session.commit()
    assert sub.state is S.GRANTED and sub.decided_on == D(2026, 6, 4)
    assert sub.decision_reasons == "经核查，理由成立。"
    assert case.state is CaseState.REMOVED and case.removal_reason.value == "objection_upheld"
    notice = session.execute(sa.select(RemovalNotice)).scalar_one()
    assert (notice.reason, notice.removed_on) == ("objection_upheld", D(2026, 6, 4))
    assert _entry(session, case) is None          # the listing fell: the entry is withdrawn


def test_rejected_objection_clears_the_marker_and_a_new_one_sets_it_again(app, session):
    case, first = _objection(session, app)
    clerk = make_staff(session, Role.CLERK)
    profile, calendar = load_profile("jiamusi"), load_calendar(session)
    submissions.accept_for_review(session, clerk, first, profile, calendar, D(2026, 6, 2))
    submissions.decide(session, clerk, first, False, "列入信息准确。", profile, calendar, KEY, D(2026, 6, 3))
    assert _entry(session, case).under_objection is False and case.state is CaseState.PUBLISHED
    second = _file(session, K.OBJECTION, case, D(2026, 6, 4), category="facts").submission
    submissions.accept_for_review(session, clerk, second, profile, calendar, D(2026, 6, 5))
    assert _entry(session, case).under_objection is True


def test_marker_stays_while_another_objection_is_reviewed(app, session):
    case, first = _objection(session, app)
    clerk = make_staff(session, Role.CLERK)
    profile, calendar = load_profile("jiamusi"), load_calendar(session)
    submissions.accept_for_review(session, clerk, first, profile, calendar, D(2026, 6, 2))
    # the one-open-objection rule applies to the party's filings; a second one can still
    # reach the queue (e.g. forwarded by the credit centre) — received directly here
    other = submissions.receive(session, profile, calendar,
                                Filing(kind=K.OBJECTION, body="转来的异议", case=case), D(2026, 6, 2)).submission
    submissions.accept_for_review(session, clerk, other, profile, calendar, D(2026, 6, 2))
    submissions.decide(session, clerk, first, False, "理由不成立。", profile, calendar, KEY, D(2026, 6, 3))
    assert _entry(session, case).under_objection is True
    submissions.decide(session, clerk, other, False, "理由不成立。", profile, calendar, KEY, D(2026, 6, 3))
    assert _entry(session, case).under_objection is False


def test_granted_rectification_removes_early(app, session):
    case, _code = listed_case(session, app, decided_on=D(2026, 3, 15))
    sub = _file(session, K.RECTIFICATION, case, D(2026, 5, 6)).submission
    _decide(session, sub, True, make_staff(session, Role.APPROVER), D(2026, 5, 20))
    session.commit()
    assert case.removal_reason.value == "rectified" and case.removed_on == D(2026, 5, 20)
    assert _entry(session, case).status == "removed"
    assert session.execute(sa.select(RemovalNotice.reason)).scalar_one() == "rectified"


def test_granted_repair_unpublishes_the_entry(app, session):
    case, _code = listed_case(session, app, decided_on=D(2026, 3, 15))
    public_id = _entry(session, case).public_id
    sub = _file(session, K.CREDIT_REPAIR, case, D(2026, 7, 1)).submission
    _decide(session, sub, True, make_staff(session, Role.APPROVER), D(2026, 8, 3))
    session.commit()
    assert _entry(session, case) is None
    notice = session.execute(sa.select(RemovalNotice)).scalar_one()
    assert (notice.reason, notice.entry_public_id) == ("credit_repaired", None)
    assert public_id not in session.execute(sa.select(PublishedEntry.public_id)).scalars().all()


def test_granted_defence_drops_the_case_and_a_rejected_one_does_not(app, session):
    upheld, _ = pre_noticed_case(session, served_on=D(2026, 9, 28))
    sub = _file(session, K.DEFENCE, upheld, D(2026, 9, 30)).submission
    _decide(session, sub, True, make_staff(session, Role.REVIEWER), D(2026, 10, 12))
    assert upheld.state is CaseState.DROPPED
    failed, _ = pre_noticed_case(session, served_on=D(2026, 9, 28))
    sub2 = _file(session, K.DEFENCE, failed, D(2026, 9, 30)).submission
    _decide(session, sub2, False, make_staff(session, Role.REVIEWER), D(2026, 10, 12))
    assert failed.state is CaseState.DEFENCE_FILED and sub2.state is S.REJECTED


def test_complaint_decision_changes_no_case(app, session):
    profile = load_profile("jiamusi")
    sub = submissions.file(session, profile, load_calendar(session),
                           Filing(kind=K.COMPLAINT, body="某公司未给职工参保", reported_name="某公司",
                                  anonymous=True, filer_name="不应保存", filer_email="x@example.cn"),
                           D(2026, 5, 6)).submission
    assert (sub.filer_name, sub.filer_email, sub.anonymous) == (None, None, True)
    assert sub.due_on == D(2026, 5, 26)                       # 15 wd (Saturday 05-09 is worked)
    _decide(session, sub, True, make_staff(session, Role.CLERK), D(2026, 5, 20))
    assert sub.state is S.GRANTED and sub.case_id is None


def test_roles_and_reasons_are_enforced(app, session):
    _case, sub = _objection(session, app)
    clerk = make_staff(session, Role.CLERK)
    profile, calendar = load_profile("jiamusi"), load_calendar(session)
    submissions.accept_for_review(session, audit.Actor.staff(clerk), sub, profile, calendar, D(2026, 6, 2))
    with pytest.raises(SubmissionError):
        submissions.decide(session, clerk, sub, True, "   ", profile, calendar, KEY, D(2026, 6, 3))
    with pytest.raises(cases.PermissionDenied):              # removal needs an approver
        submissions.decide(session, clerk, sub, True, "成立", profile, calendar, KEY, D(2026, 6, 3),
                           outcome=submissions.ObjectionOutcome(listing_fell=True))
    session.rollback()
    with pytest.raises(cases.PermissionDenied):              # a party is not staff
        submissions.accept_for_review(session, audit.PARTY, sub, profile, calendar, D(2026, 6, 2))
    assert audit.verify(session) == []


def test_staff_can_reissue_a_lost_query_code(app, session):
    from portal.security import verify_code

    _case, sub = _objection(session, app)
    old_hash = sub.query_code_hash
    code = submissions.reissue_query_code(session, make_staff(session, Role.CLERK), sub)
    assert verify_code(sub.query_code_hash, code) and sub.query_code_hash != old_hash
    with pytest.raises(cases.PermissionDenied):
        submissions.reissue_query_code(session, audit.PARTY, sub)
