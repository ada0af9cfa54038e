"""Findings and grades through the services (Zhengzhou §三, §四), on both databases."""
import datetime as dt

import pytest
import sqlalchemy as sa

from portal.models import (
    AuditEvent,
    CaseOrigin,
    FindingSource,
    FindingStatus,
    GradeFinding,
    Role,
    Subject,
    SubjectKind,
)
from portal.rules.workflow import CaseState
from portal.services import audit, cases, grades, redlist, subjects
from tests.factories import make_staff, make_subject
from tests.grades_support import COMPLAINANT_ID, KEY, TODAY, ZZ, admitted, complaint, finding


def _grade(session, subject, day=TODAY):
    return grades.standing_of(session, ZZ, subject, day).grade


def test_a_finding_raises_the_grade_and_is_audited(app, session):
    unit = make_subject(session)
    assert _grade(session, unit) is None
    f = finding(session, unit, "ZG2")
    assert _grade(session, unit) == "general"
    finding(session, unit, "ZH1")
    assert _grade(session, unit) == "heavy"
    session.commit()
    assert f.finding_no.startswith("ZHE-F2026-") and f.grade == "general"
    event = session.execute(sa.select(AuditEvent).where(AuditEvent.action == "grade.finding")).scalars().first()
    assert event.entity_id == f.finding_no and event.data["behaviour"] == "ZG2"
    assert audit.verify(session) == []


def test_withdrawn_finding_lowers_the_grade(app, session):
    unit = make_subject(session)
    finding(session, unit, "ZG2")
    heavy = finding(session, unit, "ZH3")
    reviewer = make_staff(session, Role.REVIEWER)
    grades.withdraw_finding(session, reviewer, heavy, "稽核数据有误", TODAY)
    assert heavy.status is FindingStatus.WITHDRAWN and _grade(session, unit) == "general"
    with pytest.raises(grades.GradeError, match="not_live"):
        grades.annul_finding(session, reviewer, heavy, "again", TODAY)


def test_annulled_finding_does_not_count(app, session):
    unit = make_subject(session)
    f = finding(session, unit, "ZS2")
    grades.annul_finding(session, make_staff(session, Role.APPROVER), f, "复议撤销", TODAY)
    assert _grade(session, unit) is None


def test_roles_and_data_checks(app, session):
    unit = make_subject(session)
    with pytest.raises(cases.PermissionDenied):
        finding(session, unit, user=make_staff(session, Role.APPROVER))
    with pytest.raises(cases.PermissionDenied):
        finding(session, unit, user=make_staff(session, Role.ADMIN))
    with pytest.raises(grades.GradeError, match="unknown_behaviour"):
        finding(session, unit, "ZP5")                        # a person's ground, not a unit's
    with pytest.raises(grades.GradeError, match="future"):
        finding(session, unit, on=TODAY + dt.timedelta(days=1))
    f = finding(session, unit)
    with pytest.raises(cases.PermissionDenied):
        grades.withdraw_finding(session, make_staff(session, Role.CLERK), f, "x", TODAY)
    with pytest.raises(grades.GradeError, match="reason_required"):
        grades.withdraw_finding(session, make_staff(session, Role.REVIEWER), f, " ", TODAY)


def test_profiles_without_grading_refuse(app, session):
    from portal.rules.profiles import load_profile

    with pytest.raises(grades.GradeError, match="no_grading"):
        grades.record_finding(session, make_staff(session, Role.CLERK), load_profile("jiamusi"),
                              make_subject(session), grades.FindingInput("ZG2", TODAY, "f"), TODAY)


def test_a_verified_complaint_adjusts_the_grade(app, session):
    unit = make_subject(session, unit_kind="medical_institution")
    sub = complaint(session, granted=True)
    clerk = make_staff(session, Role.CLERK)
    f = grades.record_complaint_finding(session, clerk, ZZ, sub, unit, "ZH5", "经核实存在挂床住院。",
                                        TODAY, TODAY)
    assert f.source is FindingSource.COMPLAINT and f.submission_id == sub.id
    assert _grade(session, unit) == "heavy"
    assert grades.findings_for_submission(session, sub.id) == [f]
    with pytest.raises(grades.GradeError, match="already_recorded"):
        grades.record_complaint_finding(session, clerk, ZZ, sub, unit, "ZH5", "again", TODAY, TODAY)


def test_complaint_findings_need_a_verified_complaint_and_never_name_the_reporter(app, session):
    unit = make_subject(session, unit_kind="medical_institution")
    clerk = make_staff(session, Role.CLERK)
    open_one = complaint(session)
    with pytest.raises(grades.GradeError, match="complaint_not_verified"):
        grades.record_complaint_finding(session, clerk, ZZ, open_one, unit, "ZH5", "f", TODAY, TODAY)
    sub = complaint(session, granted=True, name="钱举报")
    with pytest.raises(grades.GradeError, match="reporter_named"):
        grades.record_complaint_finding(session, clerk, ZZ, sub, unit, "ZH5",
                                        "据钱举报反映，该院挂床住院。", TODAY, TODAY)


def test_a_false_complaint_lists_the_complainant(app, session):
    sub = complaint(session, granted=False, name="孙虚假")
    clerk = make_staff(session, Role.CLERK)
    f = grades.record_false_complaint(session, clerk, ZZ, KEY, sub, COMPLAINANT_ID,
                                      "经核实，所举报事项不存在，系捏造。", TODAY, TODAY)
    person = f.subject
    assert person.kind is SubjectKind.PERSON and person.name == "孙虚假"
    assert person.id_number == COMPLAINANT_ID and person.id_hash
    assert f.behaviour_code == ZZ.grading.false_complaint_ground == "ZP5"
    assert f.source is FindingSource.FALSE_COMPLAINT and _grade(session, person) == "serious"
    # the personal blacklist case can be opened from it (not published: persons are not public)
    case = grades.open_case_from_finding(session, clerk, ZZ, f, TODAY)
    assert case.ground == "ZP5" and case.origin is CaseOrigin.REPORT


def test_false_complaint_refused_when_anonymous_or_not_rejected(app, session):
    clerk = make_staff(session, Role.CLERK)
    anonymous = complaint(session, granted=False, anonymous=True)
    with pytest.raises(grades.GradeError, match="anonymous"):
        grades.record_false_complaint(session, clerk, ZZ, KEY, anonymous, COMPLAINANT_ID, "f", TODAY, TODAY)
    granted = complaint(session, granted=True)
    with pytest.raises(grades.GradeError, match="complaint_not_rejected"):
        grades.record_false_complaint(session, clerk, ZZ, KEY, granted, COMPLAINANT_ID, "f", TODAY, TODAY)
    rejected = complaint(session, granted=False)
    with pytest.raises(subjects.SubjectError):
        grades.record_false_complaint(session, clerk, ZZ, KEY, rejected, "123", "f", TODAY, TODAY)
    assert session.scalar(sa.select(sa.func.count(GradeFinding.id))) == 0


def test_serious_finding_opens_a_listing_case_on_the_matching_ground(app, session):
    unit = make_subject(session, unit_kind="medical_institution")
    clerk = make_staff(session, Role.CLERK)
    f = finding(session, unit, "ZS9", user=clerk)
    case = grades.open_case_from_finding(session, clerk, ZZ, f, TODAY)
    assert (case.ground, case.state, case.subject_id) == ("ZS9", CaseState.OPENED, unit.id)
    assert case.facts == f.facts and case.document_no == f.document_no
    assert f.listing_case_id == case.id
    with pytest.raises(grades.GradeError, match="case_opened"):
        grades.open_case_from_finding(session, clerk, ZZ, f, TODAY)
    heavy = finding(session, unit, "ZH1")
    with pytest.raises(grades.GradeError, match="no_ground"):
        grades.open_case_from_finding(session, clerk, ZZ, heavy, TODAY)


def test_a_finding_puts_a_red_list_unit_before_an_approver(app, session):
    """One clerk's finding does not take a unit off the public red list: an approver decides."""
    entry = admitted(session)
    unit = session.get(Subject, entry.subject_id)
    assert redlist.to_review(session, ZZ, TODAY) == []
    f = finding(session, unit, "ZS4")
    session.commit()
    assert entry.removed_on is None
    assert redlist.to_review(session, ZZ, TODAY) == [entry]
    with pytest.raises(cases.PermissionDenied):
        redlist.remove(session, make_staff(session, Role.CLERK), entry, "dishonest_conduct",
                       f.finding_no, TODAY)
    redlist.remove(session, make_staff(session, Role.APPROVER), entry, "dishonest_conduct",
                   f"认定 {f.finding_no}", TODAY)
    assert entry.removed_on == TODAY and entry.removal_reason == "dishonest_conduct"
    assert redlist.to_review(session, ZZ, TODAY) == []


def test_whoever_decides_complaints_records_their_outcome_but_admins_do_not(app, session):
    unit = make_subject(session, unit_kind="medical_institution")
    sub = complaint(session, granted=True)
    approver = make_staff(session, Role.APPROVER)
    assert grades.record_complaint_finding(session, approver, ZZ, sub, unit, "ZH7", "经核实。",
                                           TODAY, TODAY).grade == "heavy"
    false = complaint(session, granted=False)
    with pytest.raises(cases.PermissionDenied):
        grades.record_false_complaint(session, make_staff(session, Role.ADMIN), ZZ, KEY, false,
                                      COMPLAINANT_ID, "f", TODAY, TODAY)


def test_a_medical_behaviour_is_refused_against_a_unit_of_another_kind(app, session):
    """004 §四(三)9 (分解项目、串换项目收费) is a medical institution's conduct: a travel agency
    cannot commit it; arrears (ZG2) can be found against any unit, a hospital included."""
    agency = make_subject(session, name="郑州测试旅行社有限公司", unit_kind="employer")
    unstated = make_subject(session, name="郑州测试国际旅行社有限公司")
    hospital = make_subject(session, name="郑州测试医院", unit_kind="medical_institution")
    pharmacy = make_subject(session, name="郑州测试大药房", unit_kind="pharmacy")
    for unit in (agency, unstated, pharmacy):
        with pytest.raises(grades.GradeError, match="unit_kind"):
            finding(session, unit, "ZS9")
    assert session.scalar(sa.select(sa.func.count(GradeFinding.id))) == 0
    assert finding(session, hospital, "ZS9").grade == "serious"
    assert finding(session, pharmacy, "ZS21").behaviour_code == "ZS21"     # 虚构购药事实
    assert finding(session, hospital, "ZG2").behaviour_code == "ZG2"
    assert finding(session, agency, "ZG2").behaviour_code == "ZG2"
    sub = complaint(session, granted=True)
    with pytest.raises(grades.GradeError, match="unit_kind"):
        grades.record_complaint_finding(session, make_staff(session, Role.CLERK), ZZ, sub, agency,
                                        "ZH5", "经核实存在挂床住院。", TODAY, TODAY)


def test_arrears_findings_need_the_months_of_their_grade(app, session):
    """004 §四: arrears of 1 year or less are 一般, of 2 to 3 years 较重."""
    unit = make_subject(session)
    for code, months in (("ZG2", 13), ("ZH2", 12), ("ZH2", 37)):
        with pytest.raises(grades.GradeError, match="threshold"):
            finding(session, unit, code, months=months)
    with pytest.raises(grades.GradeError, match="threshold"):
        grades.record_finding(session, make_staff(session, Role.CLERK), ZZ, unit,
                              grades.FindingInput("ZH2", TODAY, "欠费。"), TODAY)      # months not given
    assert finding(session, unit, "ZH2", months=30).months == 30
    assert finding(session, unit, "ZG2", months=12).grade == "general"
