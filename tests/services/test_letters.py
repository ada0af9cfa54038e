"""The letter service: which letters a case allows, their codes, the register, the audit."""
import datetime as dt

import pytest
import sqlalchemy as sa

from portal.models import AuditEvent, Letter, LetterKind, Role
from portal.rules.workflow import RemovalReason
from portal.security import verify_code
from portal.services import letters, party_access
from portal.services.cases import CaseError
from portal.services.permissions import PermissionDenied
from tests.factories import make_staff
from tests.letters_support import DECIDED, Procedure

K = LetterKind


def _actions(session) -> list[str]:
    return list(session.execute(sa.select(AuditEvent.action).order_by(AuditEvent.seq)).scalars())


def test_the_letters_follow_the_state_of_the_case(app, session):
    proc = Procedure(session, app, "shanghai")         # Shanghai issues a repair certificate
    case, profile = proc.case, proc.profile
    assert letters.available_kinds(case, profile) == [K.PRE_NOTICE]
    assert letters.code_letter(case) is K.PRE_NOTICE
    proc.decide()
    assert letters.available_kinds(case, profile) == [K.PRE_NOTICE, K.LISTING_DECISION]
    assert letters.code_letter(case) is K.LISTING_DECISION
    proc.remove(RemovalReason.CREDIT_REPAIRED)
    assert letters.available_kinds(case, profile) == [
        K.PRE_NOTICE, K.LISTING_DECISION, K.REMOVAL_DECISION, K.REPAIR_CERTIFICATE]
    assert letters.code_letter(case) is None         # nothing left to file with a code


def test_no_certificate_where_the_profile_issues_none_or_after_another_removal(app, session):
    jiamusi = Procedure(session, app, "jiamusi")
    jiamusi.decide()
    jiamusi.remove(RemovalReason.CREDIT_REPAIRED)
    assert K.REPAIR_CERTIFICATE not in letters.available_kinds(jiamusi.case, jiamusi.profile)
    shanghai = Procedure(session, app, "shanghai")
    shanghai.decide()
    shanghai.remove(RemovalReason.TERM_EXPIRED)
    assert K.REPAIR_CERTIFICATE not in letters.available_kinds(shanghai.case, shanghai.profile)
    with pytest.raises(letters.LetterError):
        letters.issue(session, shanghai.clerk, shanghai.case, shanghai.profile,
                      K.REPAIR_CERTIFICATE, dt.date(2027, 3, 20))


def test_a_code_prints_only_on_the_letter_it_belongs_to(app, session):
    proc = Procedure(session, app)
    case, pre_code = proc.case, proc.pre_notice_code
    assert letters.verify_letter_code(case, K.PRE_NOTICE, pre_code)
    assert not letters.verify_letter_code(case, K.LISTING_DECISION, pre_code)
    assert not letters.verify_letter_code(case, K.PRE_NOTICE, "2222-3333-44")
    assert not letters.verify_letter_code(case, K.PRE_NOTICE, "")
    decision_code = proc.decide()
    assert not letters.verify_letter_code(case, K.PRE_NOTICE, pre_code)
    assert letters.verify_letter_code(case, K.LISTING_DECISION, decision_code.lower())


def test_reissue_rehashes_audits_and_invalidates_the_old_code(app, session):
    proc = Procedure(session, app)
    case, old = proc.case, proc.pre_notice_code
    before = letters.code_fingerprint(case)
    new = letters.reissue_code(session, proc.clerk, case, K.PRE_NOTICE)
    assert new != old and verify_code(case.access_code_hash, new)
    assert not verify_code(case.access_code_hash, old)
    assert party_access.find_case_for_party(session, case.case_no, old, proc.subject.uscc) is None
    assert party_access.find_case_for_party(session, case.case_no, new, proc.subject.uscc) is case
    event = session.execute(sa.select(AuditEvent).where(
        AuditEvent.action == "case.reissue_code")).scalar_one()
    assert event.actor_label == f"staff:{proc.clerk.username}"
    assert event.data["previous"] == before[:16] and new not in str(event.data)
    with pytest.raises(CaseError):        # the pre-notice's code is current, not the decision's
        letters.reissue_code(session, proc.clerk, case, K.LISTING_DECISION)
    with pytest.raises(PermissionDenied):
        letters.reissue_code(session, make_staff(session, Role.ADMIN), case, K.PRE_NOTICE)
    with pytest.raises(PermissionDenied):
        letters.reissue_code(session, proc.approver, case, K.PRE_NOTICE)


def test_the_register_numbers_each_profile_year_and_kind(app, session):
    a, b = Procedure(session, app), Procedure(session, app, "chizhou")
    today = dt.date(2026, 3, 20)
    first = letters.issue(session, a.clerk, a.case, a.profile, K.PRE_NOTICE, today)
    assert (first.letter_no, first.issued_on, first.issued_by_id) == (
        "JIA-GZ-2026-00001", a.case.pre_notice_served_on, a.clerk.id)
    assert letters.issue(session, a.clerk, a.case, a.profile, K.PRE_NOTICE, today) is first
    other = letters.issue(session, b.clerk, b.case, b.profile, K.PRE_NOTICE, today)
    assert other.letter_no == "CHI-GZ-2026-00001"
    a.decide()
    decision = letters.issue(session, a.clerk, a.case, a.profile, K.LISTING_DECISION, today)
    assert decision.letter_no == "JIA-LR-2026-00001" and decision.issued_on == DECIDED
    assert decision.code_fingerprint == letters.code_fingerprint(a.case)
    # the pre-notice, reprinted after the decision, keeps its number (its code is superseded)
    assert letters.issue(session, a.clerk, a.case, a.profile, K.PRE_NOTICE, today) is first
    assert letters.is_superseded(first, a.case)
    assert _actions(session).count("letter.issue") == 3
    with pytest.raises(PermissionDenied):
        letters.issue(session, make_staff(session, Role.ADMIN), a.case, a.profile,
                      K.LISTING_DECISION, today)


def test_every_rendering_is_audited_with_its_hash(app, session):
    proc = Procedure(session, app)
    letter = letters.issue(session, proc.clerk, proc.case, proc.profile, K.PRE_NOTICE,
                           dt.date(2026, 3, 2))
    digest = letters.record_render(session, proc.clerk, letter, "<article>甲</article>", fmt="pdf",
                                   locale="zh_CN", with_code=True, full_ids=True)
    assert letter.sha256 == digest == letters.content_hash("<article>甲</article>")
    second = letters.record_render(session, proc.reviewer, letter, "<article>乙</article>",
                                   fmt="html", locale="en", with_code=False, full_ids=True)
    assert letter.sha256 == digest != second              # the register keeps the first
    events = session.execute(sa.select(AuditEvent).where(AuditEvent.action == "letter.render")
                             .order_by(AuditEvent.seq)).scalars().all()
    assert [(e.data["sha256"], e.data["format"], e.data["with_code"]) for e in events] == [
        (digest, "pdf", True), (second, "html", False)]
    assert all(e.entity_id == proc.case.case_no and e.data["full_ids"] for e in events)
    assert session.scalar(sa.select(sa.func.count(Letter.id))) == 1
