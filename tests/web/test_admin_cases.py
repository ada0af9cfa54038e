"""The listing procedure through the back office, step by step, with its refusals."""
import datetime as dt
import random
import re

import pytest
import sqlalchemy as sa

from portal.models import (
    AuditEvent,
    Case,
    PublishedEntry,
    RemovalNotice,
    Role,
    Subject,
    SubjectKind,
)
from portal.rules import identifiers
from portal.rules.profiles import load_profile
from portal.rules.workflow import CaseState
from portal.security import verify_code
from portal.services import cases
from portal.services import staff as staff_service
from portal.services.calendar import load_calendar
from tests.factories import bureau_day, make_subject
from tests.web.admin_support import english, fast_passwords, login, staff, text  # noqa: F401

pytestmark = pytest.mark.usefixtures("fast_passwords")
RNG = random.Random(7)
USCC = identifiers.generate_uscc(RNG)
REP_ID = identifiers.generate_ric(RNG, birth=dt.date(1971, 5, 4))


def _today(time_machine, day: dt.date, *signed_in) -> None:
    """Move to ``day``; the staff of ``signed_in`` ((client, user) pairs) sign in again that day."""
    bureau_day(time_machine, day)
    for browser, user in signed_in:
        login(browser, user)


def _case(session) -> Case:
    session.expire_all()
    return session.execute(sa.select(Case)).scalar_one()


def _step(client, case, name, **fields):
    data = {f"{name}-{k}": v for k, v in fields.items()}
    return client.post(f"/admin/cases/{case.id}/step/{name}", data=data)


def _open(client, **overrides):
    data = {"kind": "organisation", "name": "佳木斯市松江建筑工程有限公司", "uscc": USCC,
            "legal_rep_name": "王建国", "legal_rep_id": REP_ID, "ground": "J1",
            "origin": "inspection", "facts": "经查，该单位拒不办理社会保险登记。",
            "document_no": "佳人社失告〔2026〕12号", "department": "佳木斯市人力资源和社会保障局",
            "department_contact": "0454-12333"}
    data.update(overrides)
    return client.post("/admin/cases/new", data=data)


def test_the_whole_procedure_through_the_back_office(app, session, client, time_machine):
    clerk = staff(session, Role.CLERK, "wang.fang")
    reviewer = staff(session, Role.REVIEWER, "li.na")
    approver = staff(session, Role.APPROVER, "zhang.wei")
    as_reviewer, as_approver = app.test_client(), app.test_client()
    _today(time_machine, dt.date(2026, 9, 25))
    login(client, clerk), login(as_reviewer, reviewer), login(as_approver, approver)
    staff_browsers = ((client, clerk), (as_reviewer, reviewer), (as_approver, approver))

    opened = _open(client)
    assert opened.status_code == 302
    case = _case(session)
    assert opened.headers["Location"] == f"/admin/cases/{case.id}"
    assert (case.state, case.opened_on, case.prepared_by_id) == (CaseState.OPENED, dt.date(2026, 9, 25), clerk.id)
    assert case.subject.uscc == USCC and case.subject.legal_representative.id_number == REP_ID

    _today(time_machine, dt.date(2026, 9, 28), *staff_browsers)
    served = _step(client, case, "pre_notice", served_on="2026-09-28")
    assert served.status_code == 200 and served.headers["Cache-Control"] == "no-store"
    code = re.search(r'class="access-code code">([2-9A-Z-]+)<', served.get_data(as_text=True)).group(1)
    case = _case(session)
    assert verify_code(case.access_code_hash, code)
    assert case.defence_due_on == dt.date(2026, 10, 10)     # 5 working days over National Day
    assert code not in client.get(f"/admin/cases/{case.id}").get_data(as_text=True)   # shown once

    # the review waits for the defence window
    _today(time_machine, dt.date(2026, 10, 10), *staff_browsers)
    early = _step(as_reviewer, case, "review", note="申辩期尚未届满")
    assert early.status_code == 409 and _case(session).state is CaseState.PRE_NOTICED
    assert "申辩期尚未届满" in text(early)                    # what was typed is kept
    _today(time_machine, dt.date(2026, 10, 12), *staff_browsers)
    assert _step(as_reviewer, case, "review", note="期限内未提出陈述申辩。").status_code == 302
    assert _step(client, case, "propose").status_code == 302
    decided = _step(as_approver, case, "approve", decided_on="2026-10-12")
    assert decided.status_code == 200 and "access-code" in decided.get_data(as_text=True)
    case = _case(session)
    assert (case.state, case.approved_by_id) == (CaseState.DECIDED, approver.id)
    assert case.publish_due_on == dt.date(2026, 10, 21) == case.share_due_on

    _today(time_machine, dt.date(2026, 10, 14), *staff_browsers)
    assert _step(client, case, "publish", published_on="2026-10-14").status_code == 302
    assert _step(client, case, "share", shared_on="2026-10-14").status_code == 302
    entry = session.execute(sa.select(PublishedEntry)).scalar_one()
    assert entry.status == "listed" and entry.legal_rep_id_masked == identifiers.mask_ric(REP_ID)

    _today(time_machine, dt.date(2027, 1, 11), *staff_browsers)
    removed = _step(as_approver, case, "remove", reason="rectified", removed_on="2027-01-11",
                    note="已整改")
    assert removed.status_code == 302
    case = _case(session)
    assert (case.state, case.removed_on) == (CaseState.REMOVED, dt.date(2027, 1, 11))
    assert session.execute(sa.select(RemovalNotice.reason)).scalar_one() == "rectified"

    trail = session.execute(sa.select(AuditEvent.action, AuditEvent.actor_label)
                            .where(AuditEvent.entity_type == "case").order_by(AuditEvent.seq)).all()
    # each act numbers its letter in the register as it is taken (两书同达)
    assert trail == [("case.open", "staff:wang.fang"), ("case.pre_notice", "staff:wang.fang"),
                     ("letter.issue", "staff:wang.fang"),
                     ("case.review", "staff:li.na"), ("case.propose", "staff:wang.fang"),
                     ("case.decide", "staff:zhang.wei"), ("letter.issue", "staff:zhang.wei"),
                     ("case.publish", "staff:wang.fang"),
                     ("case.share", "staff:wang.fang"), ("case.remove", "staff:zhang.wei"),
                     ("letter.issue", "staff:zhang.wei")]
    page = as_approver.get(f"/admin/cases/{case.id}").get_data(as_text=True)
    for action, _actor in trail:
        assert f'title="{action}"' in page                  # the case's own audit trail


def _proposed_case(session, app, preparer):
    profile = load_profile("jiamusi")
    case = cases.open_case(session, preparer, profile, make_subject(session),
                           cases.CaseInput(ground="J1", facts="经查"), dt.date(2026, 9, 1))
    cases.serve_pre_notice(session, preparer, case, profile, load_calendar(session), dt.date(2026, 9, 1))
    cases.complete_review(session, None, case, dt.date(2026, 9, 20))
    cases.propose_listing(session, preparer, case)
    session.commit()
    return case


def test_a_clerk_cannot_approve(app, session, client):
    clerk = staff(session, Role.CLERK)
    case = _proposed_case(session, app, clerk)
    english(client)
    login(client, clerk)
    page = client.get(f"/admin/cases/{case.id}")
    assert 'step/approve"' not in page.get_data(as_text=True)
    assert "This step is taken by: Approver." in text(page)
    refused = _step(client, case, "approve", decided_on="2026-09-21")
    assert refused.status_code == 403
    assert _case(session).state is CaseState.PROPOSED
    assert not session.execute(sa.select(AuditEvent).where(AuditEvent.action == "case.decide")).first()


def test_an_approver_cannot_approve_their_own_proposal(app, session, client):
    admin = staff(session, Role.ADMIN)
    reviewer = staff(session, Role.REVIEWER, "li.na")
    case = _proposed_case(session, app, reviewer)
    staff_service.change_role(session, admin, reviewer, Role.APPROVER)   # promoted meanwhile
    session.commit()
    english(client)
    login(client, reviewer)
    page = client.get(f"/admin/cases/{case.id}")
    assert 'step/approve"' not in page.get_data(as_text=True)
    assert "a different approver must sign the decision (four-eyes rule)" in text(page)
    refused = _step(client, case, "approve", decided_on="2026-09-21")
    assert refused.status_code == 403 and "four-eyes" in text(refused)
    assert _case(session).state is CaseState.PROPOSED
    other = staff(session, Role.APPROVER)
    second = app.test_client()
    login(second, other)
    assert _step(second, case, "approve", decided_on="2026-09-21").status_code == 200
    assert _case(session).approved_by_id == other.id


def test_the_full_id_number_is_shown_only_on_a_recorded_request(app, session, client):
    clerk = staff(session, Role.CLERK, "wang.fang")
    person = make_subject(session, SubjectKind.PERSON, name="李秀英")
    case = cases.open_case(session, clerk, load_profile("jiamusi"), person,
                           cases.CaseInput(ground="J5", facts="冒领"), dt.date(2026, 9, 1))
    session.commit()
    full = person.id_number
    login(client, clerk)
    page = client.get(f"/admin/cases/{case.id}").get_data(as_text=True)
    assert full not in page and identifiers.mask_ric(full) in page
    shown = client.post(f"/admin/cases/{case.id}/reveal", data={"target": "subject"})
    assert shown.status_code == 200 and full in shown.get_data(as_text=True)
    assert shown.headers["Cache-Control"] == "no-store"
    event = session.execute(sa.select(AuditEvent).where(AuditEvent.action == "subject.reveal_id")).scalar_one()
    assert (event.actor_label, event.entity_type, event.entity_id) == ("staff:wang.fang", "subject", str(person.id))
    assert event.data == {"case": case.case_no, "whose": "subject", "person": None}
    assert full not in str(event.data)
    assert full not in client.get(f"/admin/cases/{case.id}").get_data(as_text=True)   # not sticky
    assert client.post(f"/admin/cases/{case.id}/reveal", data={"target": "person-999"}).status_code == 404


def test_an_admin_may_not_reveal_id_numbers(app, session, client):
    clerk = staff(session, Role.CLERK)
    subject = make_subject(session)
    case = cases.open_case(session, clerk, load_profile("jiamusi"), subject,
                           cases.CaseInput(ground="J1", facts="f"), dt.date(2026, 9, 1))
    session.commit()
    login(client, staff(session, Role.ADMIN))
    rep = subject.legal_representative
    assert client.post(f"/admin/cases/{case.id}/reveal", data={"target": f"person-{rep.id}"}).status_code == 403
    assert not session.execute(sa.select(AuditEvent).where(AuditEvent.action == "subject.reveal_id")).first()


def test_invalid_identifiers_get_translated_errors_and_nothing_is_saved(app, session, client):
    login(client, staff(session, Role.CLERK))
    english(client)
    bad_check = USCC[:-1] + ("0" if USCC[-1] != "0" else "1")
    response = _open(client, uscc=bad_check)
    assert response.status_code == 400
    assert "The check character does not match" in text(response)
    response = _open(client, legal_rep_id=REP_ID[:10])
    assert "A resident ID number has 18 characters." in text(response)
    assert REP_ID[:10] not in re.sub(r'value="[^"]*"', "", response.get_data(as_text=True))
    response = _open(client, kind="person", id_number="", uscc="")
    assert response.status_code == 400 and "This field is required." in text(response)
    assert session.scalar(sa.select(sa.func.count(Case.id))) == 0
    assert session.scalar(sa.select(sa.func.count(Subject.id))) == 0


def test_a_second_case_reuses_the_registered_subject(app, session, client):
    login(client, staff(session, Role.CLERK))
    assert _open(client).status_code == 302
    english(client)
    second = _open(client, name="改名后的公司")
    assert second.status_code == 302
    assert session.scalar(sa.select(sa.func.count(Subject.id))) == 1
    assert session.scalar(sa.select(sa.func.count(Case.id))) == 2
    assert "already registered" in text(client.get(second.headers["Location"]))


def test_step_dates_follow_the_procedure(app, session, client, time_machine):
    clerk = staff(session, Role.CLERK)
    case = cases.open_case(session, clerk, load_profile("jiamusi"), make_subject(session),
                           cases.CaseInput(ground="J1", facts="f"), dt.date(2026, 9, 25))
    session.commit()
    _today(time_machine, dt.date(2026, 9, 28))
    login(client, clerk)
    english(client)
    slip = _step(client, case, "pre_notice", served_on="2025-09-28")      # a year too early
    assert slip.status_code == 400
    assert "The date cannot lie before 2026-09-25" in text(slip)
    future = _step(client, case, "pre_notice", served_on="2026-09-29")
    assert future.status_code == 400 and "The date cannot lie in the future." in text(future)
    assert _case(session).state is CaseState.OPENED
    assert _step(client, case, "pre_notice", served_on="2026-09-28").status_code == 200


def test_a_profile_out_of_force_is_flagged_in_the_back_office(app, session, client, monkeypatch, time_machine):
    from flask import g

    from tests.factories import published_case

    monkeypatch.setitem(app.config, "PORTAL_PROFILE", "shanghai")
    g.pop("profile", None)
    _today(time_machine, dt.date(2026, 11, 2))
    case = published_case(session, app, profile_code="shanghai", decided_on=dt.date(2026, 3, 16))
    session.commit()
    login(client, staff(session, Role.CLERK))
    english(client)
    page = text(client.get(f"/admin/cases/{case.id}"))
    assert "were valid until Jul 31, 2023 and are not in force today" in page
    assert "decided while the rules of" in page
    monkeypatch.setitem(app.config, "PORTAL_PROFILE", "jiamusi")
    g.pop("profile", None)   # the tests share one app context: forget the request's profile
    assert "not in force today" not in text(client.get("/admin/queue/cases"))


def test_a_case_opened_from_a_complaint_names_only_the_reported_party(app, session, client):
    from tests.grades_support import complaint

    upheld = complaint(session, granted=True, name="钱举报", reported="佳木斯市松江建筑工程有限公司")
    rejected = complaint(session, granted=False, name="孙举报")
    session.commit()
    clerk = staff(session, Role.CLERK, "zhou.min")
    login(client, clerk)
    english(client)
    page = text(client.get(f"/admin/submissions/{upheld.id}"))
    assert "Open a listing case from this complaint" in page
    form = client.get(f"/admin/cases/new?complaint={upheld.id}").get_data(as_text=True)
    assert 'value="佳木斯市松江建筑工程有限公司"' in form and "钱举报" not in form
    assert client.get(f"/admin/cases/new?complaint={rejected.id}").status_code == 404
    response = client.post(f"/admin/cases/new?complaint={upheld.id}", data={
        "kind": "organisation", "name": "佳木斯市松江建筑工程有限公司", "uscc": USCC,
        "legal_rep_name": "王建国", "legal_rep_id": REP_ID, "ground": "J1",
        "origin": "report", "facts": "经核查举报属实，该单位未办理社会保险登记。"})
    assert response.status_code == 302
    case = _case(session)
    assert case.origin.value == "report"
    link = session.execute(sa.select(AuditEvent).where(
        AuditEvent.action == "complaint.case")).scalar_one()
    assert link.entity_id == upheld.receipt_no and link.data == {"case": case.case_no}
    assert "钱举报" not in case.facts + case.reasons


def test_a_case_below_its_grounds_threshold_is_refused_citing_it(app, session, client):
    """000 art. 5(三): a J3 case of ¥5,000 (returned when ordered) is not a listing ground."""
    login(client, staff(session, Role.CLERK))
    response = _open(client, ground="J3", amount="5000", facts="骗取养老保险待遇。")
    assert response.status_code == 400
    assert ("第五条第（三）项要求金额超过1万元（或虽未达到1万元但经责令退回仍拒不退回）；"
            "本案金额为5,000元。") in text(response)
    english(client)
    response = _open(client, ground="J2", amount="", person_times="12", facts="违规办理参保。")
    assert ("Article 5 item (2) requires an amount over ¥20,000 or more than 20 person-times; in "
            "this case no amount is given, the count is 12 person-times.") in text(response)
    assert session.scalar(sa.select(sa.func.count(Case.id))) == 0
    page = text(client.get("/admin/cases/new"))
    assert "Grounds that require figures:" in page
    assert "J4 an amount over ¥10,000 or more than 6 months" in page
    assert _open(client, ground="J3", amount="5000", alternative_met="y").status_code == 302
    assert _open(client, ground="J2", person_times="21").status_code == 302
    assert [(c.ground, c.person_times, c.alternative_met) for c in
            session.execute(sa.select(Case).order_by(Case.id)).scalars()] == [
        ("J3", None, True), ("J2", 21, False)]


def test_the_case_form_records_the_kind_of_unit_once(app, session, client):
    login(client, staff(session, Role.CLERK))
    assert _open(client).status_code == 302
    assert session.execute(sa.select(Subject.unit_kind)).scalar_one() is None     # not stated
    assert _open(client, unit_kind="pharmacy").status_code == 302
    session.expire_all()
    assert session.execute(sa.select(Subject.unit_kind)).scalar_one() == "pharmacy"
    assert _open(client, unit_kind="medical_institution").status_code == 302      # stays as recorded
    session.expire_all()
    assert session.execute(sa.select(Subject.unit_kind)).scalar_one() == "pharmacy"
    assert _open(client, unit_kind="hospital").status_code == 400
    actions = session.execute(sa.select(AuditEvent.action)).scalars().all()
    assert actions.count("subject.unit_kind") == 1
