"""The score → grade table in the back office (Zhengzhou §三 ¶1): four-eyes, roles, CSRF, the
back-test shown to the approver, and the score on the subject's grade page."""
import re

import pytest
import sqlalchemy as sa
from flask import g

from portal.models import AuditEvent, Role, ScoreGradeTable, ScoreTableStatus
from tests.factories import bureau_day, make_subject
from tests.grades_support import TODAY, finding
from tests.web.admin_support import english, fast_passwords, login, staff, text  # noqa: F401

pytestmark = pytest.mark.usefixtures("fast_passwords")
PAGE = "/admin/grades/score-table"
PROPOSAL = {"bands": "A 95\nB 80\nC 50\nD 0", "note": "按稽核结果试行分档"}


@pytest.fixture
def zz(app, time_machine):
    app.config["PORTAL_PROFILE"] = "zhengzhou"
    bureau_day(time_machine, TODAY)
    return app


@pytest.fixture
def people(session, zz):
    found = {r: staff(session, r, f"{r.value}.s") for r in Role}
    found["approver2"] = staff(session, Role.APPROVER, "approver.t")
    return found


@pytest.fixture
def units(session, zz):
    general, serious = make_subject(session, name="郑州一般单位"), make_subject(session)
    finding(session, general, "ZG1")              # 90: A under the provisional table
    finding(session, serious, "ZS4")              # 60: C
    session.commit()
    return general, serious


def _switch(client, user):
    client.post("/admin/logout")
    login(client, user)


def _propose(client, data=PROPOSAL):
    return client.post(f"{PAGE}/proposals", data=data)


def _row(session) -> ScoreGradeTable:
    session.expire_all()
    return session.execute(sa.select(ScoreGradeTable).order_by(ScoreGradeTable.id.desc())
                           ).scalars().first()


def _distribution(html: str, marker: str) -> dict[str, str]:
    part = re.search(marker + r'.*?<table class="list distribution">.*?</table>', html,
                     re.S).group(0)
    return dict(re.findall(r'data-grade="([^"]+)"><td><b>[^<]+</b></td><td>(\d+)</td>', part))


def test_the_page_explains_the_model_and_the_provisional_table(session, client, people, units):
    login(client, people[Role.CLERK])
    zh = client.get(PAGE)
    assert zh.status_code == 200 and "临时" in text(zh) and "100" in text(zh)
    english(client)
    response = client.get(PAGE)
    en = text(response)
    assert "Every subject starts from 100 points." in en
    assert "A finding of grade Severe: -40 points · it counts for 3 years" in en
    assert "A finding of grade Serious (grade 2): -20 points" in en
    assert "Complaint found false: -10 points, for as long as" in en
    assert "then less each day" in en
    assert "Provisional: the bureau has not put a table of its own in force" in en
    assert "2 subjects with a finding or a red-list admission" in en
    assert _distribution(response.get_data(as_text=True), 'id="in-force"') == {
        "A": "1", "B": "0", "C": "1", "D": "0"}
    assert "Propose a score table" not in en                      # a clerk does not propose
    assert "Credit score and score table" in text(client.get("/admin/grades/"))


def test_a_proposal_is_back_tested_and_needs_another_approver(session, client, people, units):
    login(client, people[Role.APPROVER])
    english(client)
    assert _propose(client).status_code == 302
    row = _row(session)
    assert row.status is ScoreTableStatus.PROPOSED and row.table_no.startswith("ZHE-T2026-")
    page = client.get(PAGE)
    html, en = page.get_data(as_text=True), text(page)
    assert "You proposed this table: a different approver must decide (four-eyes rule)." in en
    assert "Put the table in force" not in en
    assert _distribution(html, f'data-backtest="{row.table_no}"') == {
        "A": "0", "B": "1", "C": "1", "D": "0"}
    refused = client.post(f"{PAGE}/{row.id}/approve", data={"approve-note": ""})
    assert refused.status_code == 403 and "four-eyes" in text(refused)
    assert _row(session).status is ScoreTableStatus.PROPOSED
    _switch(client, people["approver2"])
    page = text(client.get(PAGE))
    assert "Put the table in force" in page and "Under this proposal" in page
    done = client.post(f"{PAGE}/{row.id}/approve", data={"approve-note": "局长办公会通过"})
    assert done.status_code == 302
    assert _row(session).status is ScoreTableStatus.IN_FORCE
    again = client.post(f"{PAGE}/{row.id}/approve", data={"approve-note": ""})
    assert again.status_code == 409 and "already been decided" in text(again)
    general = units[0]
    subject = text(client.get(f"/admin/grades/subjects/{general.id}"))
    assert "Score today 90.0" in subject and "Score grade B" in subject
    assert f"under score table {row.table_no}" in subject
    assert "ZG1" in subject and "-10.0" in subject
    in_force = client.get(PAGE)
    assert _distribution(in_force.get_data(as_text=True), 'id="in-force"') == {
        "A": "0", "B": "1", "C": "1", "D": "0"}
    actions = session.execute(sa.select(AuditEvent.action, AuditEvent.actor_label)
                              .where(AuditEvent.entity_type == "score_table")
                              .order_by(AuditEvent.seq)).all()
    assert [tuple(a) for a in actions] == [("score_table.propose", "staff:approver.s"),
                                           ("score_table.approve", "staff:approver.t")]
    _switch(client, people[Role.ADMIN])
    trail = text(client.get("/admin/audit/?action=score_table.approve"))
    assert f"put score table {row.table_no} in force" in trail
    assert "it replaces the provisional table of the rules" in trail


def test_rejecting_needs_a_reason_and_shows_in_the_history(session, client, people, units):
    login(client, people[Role.REVIEWER])
    english(client)
    assert _propose(client).status_code == 302
    row = _row(session)
    _switch(client, people[Role.APPROVER])
    bare = client.post(f"{PAGE}/{row.id}/reject", data={"reject-reason": ""})
    assert bare.status_code == 400 and "State the reason." in text(bare)
    assert client.post(f"{PAGE}/{row.id}/reject",
                       data={"reject-reason": "分档过严"}).status_code == 302
    assert _row(session).status is ScoreTableStatus.REJECTED
    history = text(client.get(PAGE))
    assert "Rejected" in history and "分档过严" in history and "No proposed table" in history


def test_roles_are_checked_on_the_server(session, client, people, units):
    assert client.get(PAGE).status_code == 302                    # to the login
    login(client, people[Role.ADMIN])
    english(client)
    assert client.get(PAGE).status_code == 403
    assert _propose(client).status_code == 403
    _switch(client, people[Role.CLERK])
    refused = _propose(client)
    assert refused.status_code == 403 and "may not" in text(refused)
    _switch(client, people[Role.REVIEWER])
    assert _propose(client).status_code == 302
    row = _row(session)
    assert client.post(f"{PAGE}/{row.id}/approve", data={}).status_code == 403
    assert client.post(f"{PAGE}/{row.id}/reject", data={"reject-reason": "x"}).status_code == 403
    assert _row(session).status is ScoreTableStatus.PROPOSED
    _switch(client, people[Role.APPROVER])
    assert client.post(f"{PAGE}/999/approve", data={}).status_code == 404


@pytest.mark.parametrize("data, message", [
    ({"bands": "A 90", "note": "x"}, "A table needs at least two bands."),
    ({"bands": "A 90\nA 0", "note": "x"}, "Each grade may appear only once."),
    ({"bands": "A ninety\nB 0", "note": "x"}, "Write one band per line"),
    ({"bands": "A 5000\nB 0", "note": "x"}, "between -1000 and 1000"),
    ({"bands": "A 90\nB 0", "note": ""}, "This field is required"),
    ({"bands": "", "note": "x"}, "This field is required"),
])
def test_a_table_that_cannot_be_used_is_refused_with_what_was_typed(session, client, people,
                                                                    units, data, message):
    login(client, people[Role.REVIEWER])
    english(client)
    response = _propose(client, data)
    assert response.status_code == 400
    page = text(response)
    assert message in page, page[:3000]
    assert session.scalar(sa.select(sa.func.count(ScoreGradeTable.id))) == 0


def test_the_forms_need_their_csrf_token(zz, session, client, people, units):
    login(client, people[Role.REVIEWER])
    approver = zz.test_client()
    login(approver, people[Role.APPROVER])
    zz.config["WTF_CSRF_ENABLED"] = True
    assert _propose(client).status_code == 400
    assert session.scalar(sa.select(sa.func.count(ScoreGradeTable.id))) == 0
    token = re.search(r'name="csrf_token" value="([^"]+)"',
                      client.get(PAGE).get_data(as_text=True)).group(1)
    assert _propose(client, {**PROPOSAL, "csrf_token": token}).status_code == 302
    row = _row(session)
    assert approver.post(f"{PAGE}/{row.id}/approve", data={}).status_code == 400
    assert approver.post(f"{PAGE}/{row.id}/reject", data={"reject-reason": "x"}).status_code == 400
    assert _row(session).status is ScoreTableStatus.PROPOSED
    # The test's app context spans both clients' requests: forget the reviewer's token in ``g``
    # so that the page generates the approver's own.
    g.pop("csrf_token", None)
    page = approver.get(PAGE)
    token = re.search(r'name="approve-csrf_token" type="hidden" value="([^"]+)"',
                      page.get_data(as_text=True)).group(1)
    assert approver.post(f"{PAGE}/{row.id}/approve",
                         data={"approve-csrf_token": token}).status_code == 302
    assert _row(session).status is ScoreTableStatus.IN_FORCE


def test_a_bureau_whose_rules_have_no_score(app, session, client):
    """The default test portal follows Jiamusi: no score, no table, nothing to propose."""
    from tests.web.admin_support import staff as make

    reviewer = make(session, Role.REVIEWER, "reviewer.j")
    login(client, reviewer)
    english(client)
    page = client.get(PAGE)
    assert page.status_code == 200 and "define no credit score" in text(page)
    refused = _propose(client)
    assert refused.status_code == 400 and "define no credit score" in text(refused)


def _desk_line(client) -> tuple[int, str] | None:
    html = client.get("/admin/").get_data(as_text=True)
    found = re.search(r'<li data-waiting="score_tables"><a href="([^"]+)"><b class="desk-count'
                      r'[^"]*">(\d+)</b>', html)
    return (int(found.group(2)), found.group(1)) if found else None


def test_the_approvers_desk_counts_the_tables_they_may_decide(session, client, people, units):
    login(client, people[Role.APPROVER])
    assert _desk_line(client) == (0, PAGE)
    assert _propose(client).status_code == 302          # their own: another approver decides
    assert _desk_line(client) == (0, PAGE)
    _switch(client, people["approver2"])
    assert _desk_line(client) == (1, PAGE)
    row = _row(session)
    assert client.post(f"{PAGE}/{row.id}/approve").status_code == 302
    assert _desk_line(client) == (0, PAGE)


def test_no_table_line_where_the_rules_have_no_score(session, client):
    login(client, staff(session, Role.APPROVER, "approver.j"))    # Jiamusi: no score
    assert _desk_line(client) is None
