"""The letters (两书同达) in the back office: every required element, for every profile, zh and en."""
import datetime as dt
import re

import pytest
import sqlalchemy as sa

from portal.models import AuditEvent, Letter, Role, SubjectKind
from portal.rules import terms
from portal.rules.profiles import available_profiles
from portal.rules.workflow import RemovalReason
from portal.services import cases, letters
from tests.factories import bureau_day, make_subject
from tests.letters_support import (
    DECIDED,
    Procedure,
    day,
    measures_shown,
    page_text,
    parts,
    post_letter,
)
from tests.web.admin_support import english, fast_passwords, login, staff  # noqa: F401

pytestmark = pytest.mark.usefixtures("fast_passwords")
LANGS = ("zh_CN", "en")
LISTING_PARTS = {
    "party", "uscc", "legal_representative", "responsible", "facts", "reasons", "basis", "term",
    "leaves_list_on", "measures", "department", "contact", "remedies", "reconsideration", "litigation",
    "objection", "rectification", "repair", "repair_notice", "repair_conditions", "repair_opens",
    "repair_commitment", "repair_free", "access", "letter_no", "issued_on",
}
PRE_NOTICE_PARTS = {"party", "uscc", "legal_representative", "responsible", "facts", "reasons",
                    "basis", "measures", "term", "defence", "access", "department", "letter_no"}
REMOVAL_PARTS = {"party", "reason", "removed_on", "measures_end", "notice", "department"}


def _today(time_machine, value: dt.date) -> None:
    bureau_day(time_machine, value)


def _events(session, action: str) -> list[AuditEvent]:
    session.expire_all()
    return list(session.execute(sa.select(AuditEvent).where(AuditEvent.action == action)
                                .order_by(AuditEvent.seq)).scalars())


def _check_common(text: str, proc: Procedure, lang: str) -> None:
    profile, ground, subject = proc.profile, proc.ground, proc.subject
    rep = subject.legal_representative
    responsible = next(p for p in subject.people if p.role.value == "responsible")
    for value in (subject.name, subject.uscc, rep.name, rep.id_number, responsible.name,
                  responsible.id_number, proc.case.facts, proc.case.reasons, proc.case.case_no,
                  ground.text.get(lang), ground.legal_basis.get(lang),
                  profile.authority.get(lang), "0454-12333", "http://localhost/submit"):
        assert value in text, value
    if lang == "en":
        for zh in (ground.text.zh, ground.legal_basis.zh, profile.authority.zh, profile.document.zh,
                   "个工作日", "个月"):
            assert zh not in text, zh


def _check_measures(response, text, proc, lang) -> None:
    kind = proc.case.subject.kind.value
    expected = {m.code for m in proc.profile.measures
                if (not m.severities or proc.case.severity in m.severities) and kind in m.subject_kinds}
    assert measures_shown(response) == expected
    for m in proc.profile.measures:
        if m.code in expected:
            assert m.text.get(lang) in text and m.implementing_units.get(lang) in text


@pytest.mark.parametrize("profile_code", available_profiles())
def test_every_letter_of_every_profile_has_its_required_elements(app, session, client, time_machine, profile_code):
    proc = Procedure(session, app, profile_code)
    profile, case = proc.profile, proc.case
    session.commit()
    _today(time_machine, DECIDED)
    clerk = staff(session, Role.CLERK)
    login(client, clerk)

    # 事先告知书, with the access code handed back from the code page
    for lang in LANGS:
        response = post_letter(client, case, "pre_notice", code=proc.pre_notice_code, lang=lang)
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
        assert response.headers["Cache-Control"] == "no-store"
        assert PRE_NOTICE_PARTS <= parts(response), PRE_NOTICE_PARTS - parts(response)
        text = page_text(response)
        _check_common(text, proc, lang)
        _check_measures(response, text, proc, lang)
        assert proc.pre_notice_code in text
        assert day(case.defence_due_on, lang) in text
        assert profile.deadline("defence_window").label().get(lang) in text
        assert proc.ground.term.label().get(lang) in text
        assert "http://localhost/submit/defence" in text

    # 列入决定书 + 信用修复告知书 (两书同达)
    proc.decide()
    session.commit()
    for lang in LANGS:
        response = post_letter(client, case, "listing_decision", code=proc.decision_code, lang=lang)
        assert response.status_code == 200
        assert LISTING_PARTS <= parts(response), LISTING_PARTS - parts(response)
        text = page_text(response)
        _check_common(text, proc, lang)
        _check_measures(response, text, proc, lang)
        assert proc.decision_code in text
        for value in (day(case.decided_on, lang), day(case.leaves_list_on - dt.timedelta(days=1), lang),
                      day(case.leaves_list_on, lang),
                      profile.deadline("reconsideration").label().get(lang),
                      profile.deadline("litigation").label().get(lang),
                      profile.deadline("repair_check").label().get(lang)):
            assert value in text, value
        rect = terms.rectification_eligibility(profile, case.ground, case.decided_on,
                                               case.prior_listings, case.decided_on, proc.calendar)
        if rect.allowed:
            assert day(rect.closes_on, lang) in text
            assert profile.deadline("rectification_check").label().get(lang) in text
        for condition in profile.repair.conditions:
            assert condition.get(lang) in text
        assert day(proc.repair_opens(), lang) in text
    # the pre-notice's code no longer prints anything: the decision issued a new one
    refused = post_letter(client, case, "pre_notice", code=proc.pre_notice_code)
    assert refused.status_code == 303 and proc.pre_notice_code not in page_text(refused)

    # 移出决定书 and, where the profile issues one, the 信用修复证明
    removed_on = proc.remove(RemovalReason.CREDIT_REPAIRED)
    session.commit()
    _today(time_machine, removed_on)
    login(client, clerk)                     # another day: the clerk signs in again
    for lang in LANGS:
        response = post_letter(client, case, "removal_decision", lang=lang)
        assert response.status_code == 200
        assert REMOVAL_PARTS <= parts(response)
        text = page_text(response)
        assert 'data-reason="credit_repaired"' in response.get_data(as_text=True)
        assert day(removed_on, lang) in text and proc.subject.name in text
        assert proc.subject.uscc in text
        assert proc.subject.legal_representative.id_number not in text   # no ID numbers needed
        certificate = post_letter(client, case, "repair_certificate", lang=lang)
        if profile.repair.certificate:
            assert certificate.status_code == 200
            assert {"repair_facts", "repair_conditions", "removed_on", "basis"} <= \
                parts(certificate)
            cert_text = page_text(certificate)
            assert day(removed_on, lang) in cert_text and proc.subject.name in cert_text
            assert profile.document.get(lang) in cert_text
        else:
            assert certificate.status_code == 303            # not available in this profile

    kinds = [r.kind.value for r in session.execute(sa.select(Letter).order_by(Letter.id)).scalars()]
    expected = ["pre_notice", "listing_decision", "removal_decision"]
    assert kinds == expected + (["repair_certificate"] if profile.repair.certificate else [])
    renders = _events(session, "letter.render")
    assert len(renders) == 6 + (2 if profile.repair.certificate else 0)
    assert all(e.data["full_ids"] for e in renders
               if e.data["kind"] in ("pre_notice", "listing_decision"))
    for event in _events(session, "letter.render") + _events(session, "letter.issue"):
        assert proc.subject.legal_representative.id_number not in str(event.data)
        assert proc.decision_code not in str(event.data)


def test_the_code_page_posts_the_code_back_and_the_letter_carries_it(app, session, client, time_machine):
    proc = Procedure(session, app)
    case = proc.case
    cases.complete_review(session, proc.reviewer, case, DECIDED)
    cases.propose_listing(session, proc.clerk, case)
    session.commit()
    approver = staff(session, Role.APPROVER)
    _today(time_machine, DECIDED)
    login(client, approver)
    page = client.post(f"/admin/cases/{case.id}/step/approve",
                       data={"approve-decided_on": DECIDED.isoformat()})
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert f'action="/admin/cases/{case.id}/letters/listing_decision"' in body
    code = re.search(r'name="code" value="([2-9A-Z-]+)"', body).group(1)
    assert 'name="csrf_token"' in body
    printed = post_letter(client, case, "listing_decision", code=code)
    assert printed.status_code == 200 and code in page_text(printed)
    assert "data-print" in printed.get_data(as_text=True)          # the print button
    session.expire_all()
    row = session.execute(sa.select(Letter)).scalar_one()
    assert all(code not in str(getattr(row, c.key)) for c in Letter.__table__.columns)


def test_a_wrong_code_is_refused_and_recorded(app, session, client, monkeypatch):
    proc = Procedure(session, app)
    session.commit()
    login(client, staff(session, Role.CLERK))
    wrong = "2222-3333-44"
    response = post_letter(client, proc.case, "pre_notice", code=wrong)
    assert response.status_code == 303
    assert response.headers["Location"] == f"/admin/cases/{proc.case.id}"
    assert not _events(session, "letter.render")
    assert session.scalar(sa.select(sa.func.count(Letter.id))) == 0
    refused = _events(session, "letter.code_refused")
    assert len(refused) == 1 and wrong not in str(refused[0].data)


def test_a_copy_without_the_code_says_where_the_code_is(app, session, client, monkeypatch):
    proc = Procedure(session, app)
    session.commit()
    login(client, staff(session, Role.REVIEWER))
    response = post_letter(client, proc.case, "pre_notice", lang="en")
    assert response.status_code == 200
    assert "access_code_withheld" in parts(response)
    assert "not shown on this copy" in page_text(response)
    assert _events(session, "letter.render")[0].data["with_code"] is False


def test_reissue_gives_a_new_code_and_the_old_one_stops_working(app, session, client, monkeypatch):
    from portal.services import party_access

    proc = Procedure(session, app)
    old = proc.decide()
    session.commit()
    login(client, staff(session, Role.CLERK))
    first = post_letter(client, proc.case, "listing_decision", code=old)
    assert first.status_code == 200
    page = client.post(f"/admin/cases/{proc.case.id}/letters/listing_decision/reissue")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    new = re.search(r'class="access-code code">([2-9A-Z-]+)<', page.get_data(as_text=True)).group(1)
    assert new != old
    session.expire_all()
    uscc = proc.subject.uscc
    assert party_access.find_case_for_party(session, proc.case.case_no, old, uscc) is None
    found = party_access.find_case_for_party(session, proc.case.case_no, new, uscc)
    assert found.id == proc.case.id
    assert post_letter(client, proc.case, "listing_decision", code=old).status_code == 303
    again = post_letter(client, proc.case, "listing_decision", code=new)
    assert again.status_code == 200 and new in page_text(again)
    rows = session.execute(sa.select(Letter).order_by(Letter.id)).scalars().all()
    assert [r.letter_no for r in rows] == ["JIA-LR-2026-00001", "JIA-LR-2026-00002"]
    assert letters.is_superseded(rows[0], proc.case)
    assert not letters.is_superseded(rows[1], proc.case)
    event = _events(session, "case.reissue_code")[0]
    assert event.data["letter"] == "listing_decision" and new not in str(event.data)
    case_page = client.get(f"/admin/cases/{proc.case.id}").get_data(as_text=True)
    assert "JIA-LR-2026-00001" in case_page and "JIA-LR-2026-00002" in case_page
    assert new not in case_page and old not in case_page


def test_reprinting_keeps_the_letter_number(app, session, client, monkeypatch):
    first, second = Procedure(session, app), Procedure(session, app)
    first.decide(), second.decide()
    session.commit()
    login(client, staff(session, Role.CLERK))
    for proc in (first, second, first):
        assert post_letter(client, proc.case, "listing_decision").status_code == 200
    numbers = session.execute(sa.select(Letter.letter_no).order_by(Letter.id)).scalars().all()
    assert numbers == ["JIA-LR-2026-00001", "JIA-LR-2026-00002"]
    assert post_letter(client, first.case, "pre_notice").status_code == 200
    assert session.scalar(sa.select(Letter.letter_no).where(Letter.kind == "pre_notice")) == \
        "JIA-GZ-2026-00001"


@pytest.mark.parametrize("role", [Role.ADMIN, None])
def test_only_case_roles_print_letters(app, session, client, role):
    proc = Procedure(session, app)
    session.commit()
    if role is not None:
        login(client, staff(session, role))
    response = post_letter(client, proc.case, "pre_notice", code=proc.pre_notice_code)
    reissue = client.post(f"/admin/cases/{proc.case.id}/letters/pre_notice/reissue")
    if role is None:
        assert response.status_code == 302 and "/admin/login" in response.headers["Location"]
        assert reissue.status_code == 302
    else:
        assert response.status_code == 403 and reissue.status_code == 403
        page = client.get(f"/admin/cases/{proc.case.id}").get_data(as_text=True)
        assert 'id="letters"' not in page
    assert not _events(session, "letter.render") and not _events(session, "case.reissue_code")


def test_a_reviewer_may_not_reissue_the_decision_code(app, session, client):
    proc = Procedure(session, app)
    proc.decide()
    session.commit()
    login(client, staff(session, Role.REVIEWER))
    url = f"/admin/cases/{proc.case.id}/letters"
    assert client.post(f"{url}/listing_decision/reissue").status_code == 403
    assert client.post(f"{url}/pre_notice/reissue").status_code == 303


def test_the_pdf_is_an_attachment_with_the_party_name(app, session, client):
    import shutil
    import subprocess

    proc = Procedure(session, app)
    code = proc.decide()
    session.commit()
    login(client, staff(session, Role.CLERK))
    response = post_letter(client, proc.case, "listing_decision", code=code, fmt="pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    assert response.headers["Content-Disposition"] == 'attachment; filename="JIA-LR-2026-00001.pdf"'
    assert response.headers["Cache-Control"] == "no-store"
    assert _events(session, "letter.render")[0].data["format"] == "pdf"
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed: PDF text not checked")
    text = subprocess.run(["pdftotext", "-", "-"], input=response.data, capture_output=True,
                          check=True).stdout.decode("utf-8")
    assert proc.subject.name in text and code in text.replace("\n", "")


def test_without_weasyprint_the_html_letter_still_prints(app, session, client, monkeypatch):
    from portal.admin import letter_pdf

    monkeypatch.setattr(letter_pdf, "_weasyprint", lambda: None)
    proc = Procedure(session, app)
    session.commit()
    login(client, staff(session, Role.CLERK))
    english(client)   # the notice follows the language of the back office
    response = post_letter(client, proc.case, "pre_notice", code=proc.pre_notice_code, fmt="pdf",
                           lang="en")
    assert response.status_code == 200 and response.mimetype == "text/html"
    text = page_text(response)
    assert "The PDF could not be produced on this server" in text and proc.pre_notice_code in text
    assert _events(session, "letter.render")[0].data["format"] == "html"
    page = client.get(f"/admin/cases/{proc.case.id}").get_data(as_text=True)
    assert "WeasyPrint is not installed" in page and 'value="pdf"' not in page


def test_a_person_gets_the_full_id_number_in_the_letter_only(app, session, client):
    person = make_subject(session, SubjectKind.PERSON, name="李秀英")
    proc = Procedure(session, app, subject=person, ground="J4")
    code = proc.decide()
    session.commit()
    login(client, staff(session, Role.CLERK))
    response = post_letter(client, proc.case, "listing_decision", code=code, lang="en")
    assert response.status_code == 200 and "id_number" in parts(response)
    text = page_text(response)
    assert person.id_number in text and "resident ID number" in text
    event = _events(session, "letter.render")[0]
    assert event.data["full_ids"] is True and person.id_number not in str(event.data)
    assert person.id_number not in client.get(f"/admin/cases/{proc.case.id}").get_data(as_text=True)


def test_a_repeat_listing_gets_no_rectification_and_says_why(app, session, client):
    earlier = Procedure(session, app)
    earlier.decide()
    proc = Procedure(session, app, subject=earlier.subject)
    code = proc.decide()
    session.commit()
    assert proc.case.prior_listings == 1
    login(client, staff(session, Role.CLERK))
    text = page_text(post_letter(client, proc.case, "listing_decision", code=code, lang="en"))
    assert "this is a repeat listing" in text
    assert "the term for a repeat listing applies" in text
    assert proc.profile.repeat.term.label().en in text


def test_a_removal_before_publication_publishes_no_notice(app, session, client):
    proc = Procedure(session, app)
    proc.decide(publish=False)
    proc.remove(RemovalReason.REVOKED)
    session.commit()
    login(client, staff(session, Role.CLERK))
    response = post_letter(client, proc.case, "removal_decision", lang="en")
    assert 'data-reason="revoked"' in response.get_data(as_text=True)
    text = page_text(response)
    assert "no removal notice is published" in text and "revoked" in text
