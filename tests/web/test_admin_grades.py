"""Back-office pages for credit grades and the red list (Zhengzhou), zh and en, with role refusals."""
import datetime as dt
import random

import pytest
import sqlalchemy as sa

from portal.models import (
    AuditEvent,
    Case,
    GradeFinding,
    OutboxEvent,
    ProposalState,
    RedListEntry,
    RedListProposal,
    Role,
    Subject,
    SubjectKind,
)
from portal.rules import identifiers
from tests.factories import bureau_day, enough, make_subject
from tests.grades_support import (
    COMPLAINANT_ID,
    EMPLOYER_CRITERIA,
    TODAY,
    complaint,
    finding,
    proposal,
)
from tests.web.admin_support import english, fast_passwords, login, staff, text  # noqa: F401

pytestmark = pytest.mark.usefixtures("fast_passwords")


@pytest.fixture
def zz(app, time_machine):
    app.config["PORTAL_PROFILE"] = "zhengzhou"
    bureau_day(time_machine, TODAY)
    return app


@pytest.fixture
def people(session, zz):
    return {r: staff(session, r, f"{r.value}.g") for r in Role}


def test_anonymous_is_sent_to_the_login(client, zz):
    for path in ("/admin/grades/", "/admin/grades/redlist", "/admin/grades/subjects/1",
                 "/admin/grades/complaints/1"):
        response = client.get(path)
        assert response.status_code == 302 and "/admin/login" in response.headers["Location"]
    assert client.post("/admin/grades/subjects/1/findings").status_code in (302, 400)


def test_admin_may_not_open_the_grade_pages(session, client, people):
    login(client, people[Role.ADMIN])
    english(client)
    for path in ("/admin/grades/", "/admin/grades/redlist"):
        response = client.get(path)
        assert response.status_code == 403 and "may not open this page" in text(response)


def test_subject_page_shows_the_grade_and_history_in_both_languages(session, client, people):
    unit = make_subject(session, name="郑州测试医院", unit_kind="medical_institution")
    finding(session, unit, "ZH5", user=people[Role.CLERK])
    session.commit()
    login(client, people[Role.CLERK])
    zh = text(client.get(f"/admin/grades/subjects/{unit.id}"))
    assert "郑州测试医院" in zh and "ZH5" in zh and "挂床住院" in zh
    assert "较重" in zh                                      # the grade label in Chinese
    english(client)
    response = client.get(f"/admin/grades/subjects/{unit.id}")
    en = text(response)
    assert response.status_code == 200
    assert "Current grade" in en and "Serious (grade 2)" in en and "counts today" in en
    # the credit score: base 100, a heavy finding made today deducts 20 in full → B
    assert "Score today 80.0" in en and "Score grade B" in en
    assert "under the provisional score table of the rules" in en
    assert "a finding counts for 1 year from the day it was made" in en
    found = client.get(f"/admin/grades/?q={unit.uscc}")
    assert "郑州测试医院" in text(found)


def test_recording_and_withdrawing_a_finding(session, client, people):
    unit = make_subject(session)
    session.commit()
    login(client, people[Role.CLERK])
    english(client)
    response = client.post(f"/admin/grades/subjects/{unit.id}/findings", data={
        "finding-code": "ZS2", "finding-found_on": TODAY.isoformat(), "finding-source": "inspection",
        "finding-document_no": "郑社保稽〔2026〕3号", "finding-facts": "欠费3年以上，金额60万元。",
        "finding-months": "30", "finding-amount": "600000"})
    assert response.status_code == 400 and (
        "Part 4 (3) item 2 requires an amount of ¥500,000 or more and 36 months or more; in this "
        "case the amount is ¥600,000, the period is 30 months.") in text(response)
    response = client.post(f"/admin/grades/subjects/{unit.id}/findings", data={
        "finding-code": "ZS2", "finding-found_on": TODAY.isoformat(), "finding-source": "inspection",
        "finding-document_no": "郑社保稽〔2026〕3号", "finding-facts": "欠费3年以上，金额60万元。",
        "finding-months": "40", "finding-amount": "600000"})
    assert response.status_code == 302
    f = session.execute(sa.select(GradeFinding)).scalar_one()
    assert f.grade == "serious" and f.document_no == "郑社保稽〔2026〕3号"
    page = text(client.get(f"/admin/grades/subjects/{unit.id}"))
    assert "Open the listing case" in page
    # a clerk may not withdraw; a reviewer may
    assert client.post(f"/admin/grades/findings/{f.id}/end",
                       data={"end-action": "withdraw", "end-reason": "x"}).status_code == 403
    short = client.post(f"/admin/grades/findings/{f.id}/case",
                        data={f"case{f.id}-months": "40", f"case{f.id}-amount": "60000"})
    assert short.status_code == 302 and "/admin/cases/" not in short.headers["Location"]
    assert ("Part 4 (3) item 2 requires an amount of ¥500,000 or more and 36 months or more; in "
            "this case the amount is ¥60,000, the period is 40 months.") in text(
        client.get(short.headers["Location"]))
    opened = client.post(f"/admin/grades/findings/{f.id}/case")      # the finding's own figures
    assert opened.status_code == 302 and "/admin/cases/" in opened.headers["Location"]
    assert session.execute(sa.select(Case.months)).scalar_one() == 40
    client.post("/admin/logout")
    login(client, people[Role.REVIEWER])
    assert client.post(f"/admin/grades/findings/{f.id}/end",
                       data={"end-action": "annul", "end-reason": "复议撤销"}).status_code == 302
    session.expire_all()
    assert session.get(GradeFinding, f.id).status.value == "annulled"


def test_a_bad_finding_is_refused_with_a_message(session, client, people):
    unit = make_subject(session)
    session.commit()
    login(client, people[Role.CLERK])
    english(client)
    response = client.post(f"/admin/grades/subjects/{unit.id}/findings", data={
        "finding-code": "ZG1", "finding-found_on": (TODAY + dt.timedelta(days=3)).isoformat(),
        "finding-source": "inspection", "finding-facts": "x"})
    assert response.status_code == 400 and "cannot lie in the future" in text(response)
    assert client.post(f"/admin/grades/subjects/{unit.id}/findings", data={
        "finding-code": "ZG1", "finding-found_on": TODAY.isoformat(), "finding-source": "inspection",
        "finding-facts": "x"}).status_code == 302
    client.post("/admin/logout")
    login(client, people[Role.APPROVER])
    assert client.post(f"/admin/grades/subjects/{unit.id}/findings", data={
        "finding-code": "ZG1", "finding-found_on": TODAY.isoformat(), "finding-source": "inspection",
        "finding-facts": "x"}).status_code == 403


def test_red_list_proposal_and_four_eyes_admission(session, client, people):
    unit = make_subject(session, name="郑州守信机械有限公司")
    session.commit()
    login(client, people[Role.CLERK])
    english(client)
    data = {"proposal-unit_type": "employer", "proposal-criteria": list(EMPLOYER_CRITERIA[:2]),
            "proposal-basis": "年度稽核无违规"}
    refused = client.post(f"/admin/grades/subjects/{unit.id}/redlist", data=data)
    assert refused.status_code == 400 and "Not met: R3" in text(refused)
    data["proposal-criteria"] = list(EMPLOYER_CRITERIA)
    assert client.post(f"/admin/grades/subjects/{unit.id}/redlist", data=data).status_code == 302
    p = session.execute(sa.select(RedListProposal)).scalar_one()
    queue = text(client.get("/admin/grades/redlist"))
    assert "郑州守信机械有限公司" in queue and "An approver decides." in queue
    assert client.post(f"/admin/grades/redlist/proposals/{p.id}/admit").status_code == 403
    client.post("/admin/logout")
    login(client, people[Role.APPROVER])
    assert client.post(f"/admin/grades/redlist/proposals/{p.id}/admit",
                       data={"admit-note": "同意"}).status_code == 302
    session.expire_all()
    entry = session.execute(sa.select(RedListEntry)).scalar_one()
    assert session.get(RedListProposal, p.id).state is ProposalState.ADMITTED
    assert session.execute(sa.select(OutboxEvent.topic)).scalars().all() == ["redlist"]
    public = client.get("/redlist")
    assert "郑州守信机械有限公司" in text(public)
    # removal with a reason; the public page follows
    assert client.post(f"/admin/grades/redlist/entries/{entry.id}/remove", data={
        "remove-reason": "criteria_no_longer_met", "remove-note": "裁员率超标"}).status_code == 302
    assert "郑州守信机械有限公司" not in text(client.get("/redlist"))
    zh = client.get("/admin/grades/redlist")
    assert zh.status_code == 200


def test_the_proposer_cannot_admit_even_as_an_approver(session, client, people):
    approver = people[Role.APPROVER]
    p = proposal(session)
    p.proposed_by_id = approver.id
    session.commit()
    login(client, approver)
    english(client)
    page = text(client.get("/admin/grades/redlist"))
    assert "four-eyes rule" in page
    response = client.post(f"/admin/grades/redlist/proposals/{p.id}/admit", data={})
    assert response.status_code == 403 and "four-eyes" in text(response)


def test_a_city_without_red_list_criteria_says_whose_apply(session, client, app, time_machine):
    bureau_day(time_machine, TODAY)
    clerk = staff(session, Role.CLERK)
    login(client, clerk)
    english(client)
    page = text(client.get("/admin/grades/redlist"))
    assert "define no red-list criteria of their own; the criteria of" in page
    assert "Zhengzhou" in page
    assert "has no catalogue of graded behaviours" in text(client.get("/admin/grades/"))


def test_complaint_page_verified_complaint_raises_the_grade(session, client, people):
    unit = make_subject(session, name="郑州某医院", unit_kind="medical_institution")
    sub = complaint(session, granted=True, name="钱举报")
    session.commit()
    login(client, people[Role.CLERK])
    english(client)
    filing = text(client.get(f"/admin/submissions/{sub.id}"))
    assert "Record the behaviour found" in filing
    named = client.post(f"/admin/grades/complaints/{sub.id}/finding", data={
        "unit-code_of_unit": unit.uscc, "unit-code": "ZH5", "unit-found_on": TODAY.isoformat(),
        "unit-facts": "钱举报称该院挂床住院，经核实属实。"})
    assert named.status_code == 400 and "must not name or identify the complainant" in text(named)
    ok = client.post(f"/admin/grades/complaints/{sub.id}/finding", data={
        "unit-code_of_unit": unit.uscc, "unit-code": "ZH5", "unit-found_on": TODAY.isoformat(),
        "unit-facts": "经核实该院存在挂床住院。"})
    assert ok.status_code == 302
    page = text(client.get(f"/admin/grades/subjects/{unit.id}"))
    assert "Serious (grade 2)" in page and "Verified complaint" in page and "钱举报" not in page


def test_complaint_page_false_complaint_lists_the_complainant(session, client, people):
    sub = complaint(session, granted=False, name="孙虚假")
    anonymous = complaint(session, granted=False, anonymous=True)
    session.commit()
    login(client, people[Role.CLERK])
    english(client)
    assert "nobody can be put on the personal blacklist" in text(
        client.get(f"/admin/submissions/{anonymous.id}"))
    assert client.post(f"/admin/grades/complaints/{anonymous.id}/false", data={
        "false-id_number": COMPLAINANT_ID, "false-found_on": TODAY.isoformat(),
        "false-facts": "捏造"}).status_code == 400
    bad = client.post(f"/admin/grades/complaints/{sub.id}/false", data={
        "false-id_number": "110101199003071230", "false-found_on": TODAY.isoformat(),
        "false-facts": "捏造"})
    assert bad.status_code == 400
    assert client.post(f"/admin/grades/complaints/{sub.id}/false", data={
        "false-id_number": COMPLAINANT_ID, "false-found_on": TODAY.isoformat(),
        "false-facts": "经核实举报事项系捏造。"}).status_code == 302
    person = session.execute(sa.select(Subject).where(Subject.kind == SubjectKind.PERSON)).scalar_one()
    assert person.name == "孙虚假"
    zh = client.get(f"/admin/grades/subjects/{person.id}")
    html = zh.get_data(as_text=True)
    assert COMPLAINANT_ID not in html                       # only the masked number is shown
    assert "ZP5" in html


def test_register_subject_page(session, client, people):
    login(client, people[Role.CLERK])
    assert client.get("/admin/grades/subjects/new").status_code == 200
    response = client.post("/admin/grades/subjects/new", data={"kind": "person", "name": "周某",
                                                               "id_number": COMPLAINANT_ID})
    assert response.status_code == 302
    client.post("/admin/logout")
    login(client, people[Role.APPROVER])
    assert client.get("/admin/grades/subjects/new").status_code == 403


def test_a_finding_from_a_listing_case_names_the_case(session, client, people):
    from portal.services import cases
    from tests.grades_support import ZZ

    unit, other = make_subject(session), make_subject(session)
    case = cases.open_case(session, people[Role.CLERK], ZZ, unit,
                           cases.CaseInput(ground="ZS2", facts="f", **enough(ZZ, "ZS2")), TODAY)
    foreign = cases.open_case(session, people[Role.CLERK], ZZ, other,
                              cases.CaseInput(ground="ZS2", facts="f", **enough(ZZ, "ZS2")), TODAY)
    session.commit()
    login(client, people[Role.CLERK])
    english(client)
    data = {"finding-code": "ZH1", "finding-found_on": TODAY.isoformat(), "finding-source": "case",
            "finding-facts": "案件中查明。", "finding-case_no": foreign.case_no}
    refused = client.post(f"/admin/grades/subjects/{unit.id}/findings", data=data)
    assert refused.status_code == 400 and "Name the listing case about this subject." in text(refused)
    data["finding-case_no"] = case.case_no.lower()
    assert client.post(f"/admin/grades/subjects/{unit.id}/findings", data=data).status_code == 302
    f = session.execute(sa.select(GradeFinding)).scalar_one()
    assert f.case_id == case.id and f.source.value == "case"
    assert case.case_no in text(client.get(f"/admin/grades/subjects/{unit.id}"))


def test_a_medical_behaviour_against_a_travel_agency_is_refused_on_the_form(session, client, people):
    """The finding form asks the rule the service enforces (rules.grades.fits)."""
    login(client, people[Role.CLERK])
    rep = identifiers.generate_ric(random.Random(3), birth=dt.date(1970, 1, 2))
    uscc = identifiers.generate_uscc(random.Random(4))
    registered = client.post("/admin/grades/subjects/new", data={
        "kind": "organisation", "name": "郑州测试旅行社有限公司", "uscc": uscc, "unit_kind": "employer",
        "legal_rep_name": "王建国", "legal_rep_id": rep})
    assert registered.status_code == 302
    agency = session.execute(sa.select(Subject).where(Subject.uscc == uscc)).scalar_one()
    assert agency.unit_kind == "employer"
    data = {"finding-code": "ZS9", "finding-found_on": TODAY.isoformat(),
            "finding-source": "inspection", "finding-facts": "分解项目收费。"}
    refused = client.post(f"/admin/grades/subjects/{agency.id}/findings", data=data)
    assert refused.status_code == 400
    assert ("ZS9 仅适用于：协议管理医疗机构。该单位登记为：用人单位（其他单位）。如登记有误，请先更正单位类别。"
            in text(refused))
    english(client)
    refused = client.post(f"/admin/grades/subjects/{agency.id}/findings", data=data)
    assert ("ZS9 applies only to: Agreement medical institution. This unit is recorded as: Employer "
            "(any other unit).") in text(refused)
    assert session.scalar(sa.select(sa.func.count(GradeFinding.id))) == 0
    # a wrongly recorded kind is corrected on the subject's page (audited); then the finding fits
    assert client.post(f"/admin/grades/subjects/{agency.id}/unit-kind",
                       data={"unit_kind-unit_kind": "medical_institution"}).status_code == 302
    assert client.post(f"/admin/grades/subjects/{agency.id}/findings", data=data).status_code == 302
    session.expire_all()
    assert session.get(Subject, agency.id).unit_kind == "medical_institution"
    assert "subject.unit_kind" in session.execute(sa.select(AuditEvent.action)).scalars().all()


def test_a_refused_grade_step_keeps_what_was_typed(session, client, people):
    """A finding withdrawn meanwhile (409), a proposer's own admission (403): the page again,
    with why and with the reason or note typed."""
    unit = make_subject(session)
    f = finding(session, unit, user=people[Role.CLERK])
    approver = people[Role.APPROVER]
    p = proposal(session)
    p.proposed_by_id = approver.id
    session.commit()
    login(client, approver)
    english(client)
    page = client.get(f"/admin/grades/subjects/{unit.id}").get_data(as_text=True)
    assert f'action="/admin/grades/findings/{f.id}/end"' in page    # offered: it counts
    from portal.services import grades
    grades.withdraw_finding(session, people[Role.REVIEWER], f, "另案处理", TODAY)
    session.commit()
    reason = "经复议，原认定事实不清。"
    late = client.post(f"/admin/grades/findings/{f.id}/end",
                       data={"end-action": "annul", "end-reason": reason})
    assert late.status_code == 409 and reason in late.get_data(as_text=True)
    assert "The finding no longer counts." in text(late)
    assert f'action="/admin/grades/findings/{f.id}/end"' not in late.get_data(as_text=True)
    note = "材料齐全，同意列入红名单。"
    own = client.post(f"/admin/grades/redlist/proposals/{p.id}/admit", data={"admit-note": note})
    assert own.status_code == 403 and "four-eyes" in text(own)
    assert note in own.get_data(as_text=True)
    session.expire_all()
    assert session.get(RedListProposal, p.id).state is ProposalState.PROPOSED
