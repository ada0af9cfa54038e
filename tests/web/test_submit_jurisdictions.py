"""The party's pages and the public's reports on a portal of several bureaus.

A party sees its own case's bureau, rules and contact; a report names the bureau it is for
when the portal serves several (a single-city portal shows no choice), and its due date and
its e-mails follow that bureau.
"""
import datetime as dt

import sqlalchemy as sa

from portal.models import OutgoingMail, Submission
from portal.rules import terms
from portal.rules.profiles import load_profile
from portal.services import jurisdictions, notifications
from portal.services.calendar import load_calendar
from tests.factories import listed_case
from tests.web.test_submit_filings import COMPLAINT, login, post, set_today, token

D = dt.date
CHIZHOU_CONTACT = "0566-2022333"


def _two_cities(session):
    jurisdictions.ensure_seeded(session, "chizhou", CHIZHOU_CONTACT)
    session.commit()


def test_a_single_city_portal_offers_no_choice_of_bureau(client):
    complaint = client.get("/submit/complaint").get_data(as_text=True)
    assert 'name="jurisdiction"' not in complaint
    assert 'class="bureaus"' not in client.get("/submit").get_data(as_text=True)


def test_a_report_is_addressed_to_the_bureau_chosen_and_follows_its_rules(app, session, client,
                                                                          time_machine):
    _two_cities(session)
    set_today(time_machine, D(2026, 5, 6))
    page = client.get("/submit/complaint?jurisdiction=chizhou").get_data(as_text=True)
    assert 'name="jurisdiction"' in page and "池州市" in page and "佳木斯市" in page
    assert '<option selected value="chizhou">' in page
    data = {**COMPLAINT, "anonymous": "", "filer_name": "举报人甲", "filer_contact": "13800000000",
            "filer_email": "a@example.cn"}
    missing = post(client, "/submit/complaint", {"token": token(client, "/submit/complaint"), **data})
    assert missing.status_code == 422 and "请选择举报所涉的经办机构。" in missing.get_data(as_text=True)
    assert session.scalar(sa.select(sa.func.count(Submission.id))) == 0
    reply = post(client, "/submit/complaint", {"token": token(client, "/submit/complaint"),
                                               "jurisdiction": "chizhou", **data})
    assert reply.status_code == 200
    assert "池州市人力资源和社会保障局" in reply.get_data(as_text=True)
    session.expire_all()
    sub = session.execute(sa.select(Submission)).scalar_one()
    due = terms.deadline(load_profile("chizhou"), "complaint_decision", D(2026, 5, 6),
                         load_calendar(session)).due
    assert (sub.jurisdiction, sub.case_id, sub.due_on) == ("chizhou", None, due)


def test_the_receipt_e_mail_names_the_bureau_only_on_a_portal_of_several(app, session, client,
                                                                          time_machine):
    set_today(time_machine, D(2026, 5, 6))
    data = {**COMPLAINT, "anonymous": "", "filer_name": "举报人甲", "filer_contact": "13800000000",
            "filer_email": "a@example.cn"}
    app.config["PORTAL_SMTP_HOST"] = "127.0.0.1"          # mail is written (nothing is sent)
    post(client, "/submit/complaint", {"token": token(client, "/submit/complaint"), **data})
    _two_cities(session)
    post(client, "/submit/complaint", {"token": token(client, "/submit/complaint"),
                                       "jurisdiction": "chizhou", **data})
    session.expire_all()
    mails = session.execute(sa.select(OutgoingMail).order_by(OutgoingMail.id)).scalars().all()
    assert [m.jurisdiction for m in mails] == ["jiamusi", "chizhou"]
    with app.test_request_context():
        bodies = [notifications.render(notifications.item_of(m))[1] for m in mails]
    assert len(bodies) == 2
    assert "池州市人力资源和社会保障局" not in bodies[0] and "佳木斯" not in bodies[0]
    assert "池州市人力资源和社会保障局" in bodies[1] and CHIZHOU_CONTACT in bodies[1]


def test_the_party_of_a_chizhou_case_sees_chizhou_rules_and_contact(app, session, client,
                                                                     time_machine):
    _two_cities(session)
    case, code = listed_case(session, app, profile_code="chizhou", ground="C1",
                             decided_on=D(2026, 3, 16))
    session.commit()
    assert case.jurisdiction == "chizhou"
    set_today(time_machine, D(2026, 4, 1))
    login(client, case, code)
    page = client.get("/submit/case").get_data(as_text=True)
    ground = load_profile("chizhou").ground("C1").text.zh
    assert "池州市人力资源和社会保障局" in page and CHIZHOU_CONTACT in page
    assert ground[:20] in page          # the case's own ground, not an unknown code
    # C1 is no rectifiable ground in Chizhou: the page says so, in Chizhou's words
    closed = client.get("/submit/rectification").get_data(as_text=True)
    assert ground[:20] in closed and CHIZHOU_CONTACT in closed
