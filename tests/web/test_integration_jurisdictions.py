"""An integration client acts for its own bureau (issue 12, item 3): a Chizhou client neither
reads nor files for Jiamusi, and files its cases under Chizhou's rules."""
import pytest

from portal import clock
from portal.models import Case, Role
from portal.rules.profiles import load_profile
from portal.services import cases, integration
from tests.factories import bureau_day, make_staff
from tests.web.integration_support import BASE, auth, org_body
from tests.web.jurisdiction_support import TODAY, add_bureaus, jiamusi_records


@pytest.fixture
def bureaus(app, session, time_machine):
    bureau_day(time_machine, TODAY)
    records = jiamusi_records(session, app)
    add_bureaus(session)
    chizhou, token = integration.create_client(session, make_staff(session, Role.ADMIN, None, ()),
                                               "chizhou-sbjf", list(integration.SCOPES),
                                               clock.now(), jurisdiction="chizhou")
    session.commit()
    return records, chizhou, token


def test_status_reads_only_the_clients_bureau(client, session, bureaus):
    records, _chizhou, token = bureaus
    code = {"code": records.published.subject.uscc}
    theirs = client.post(f"{BASE}/status", json=code, headers=auth(token)).get_json()
    assert theirs["listed"] is False and theirs["listings"] == []
    own = client.post(f"{BASE}/status", json=code, headers=auth(records.token)).get_json()
    assert own["listed"] is True
    assert [item["case_no"] for item in own["listings"]] == [records.published.case_no]


def test_the_feed_shows_only_the_clients_bureau(client, session, bureaus):
    records, _chizhou, token = bureaus
    theirs = client.get(f"{BASE}/changes", headers=auth(token)).get_json()
    assert records.published.case_no not in {item["case_no"] for item in theirs["data"]}
    own = client.get(f"{BASE}/changes", headers=auth(records.token)).get_json()
    assert records.published.case_no in {item["case_no"] for item in own["data"]}


def test_a_client_files_under_its_bureaus_rules(client, session, bureaus):
    _records, _chizhou, token = bureaus
    refused = client.post(f"{BASE}/cases", json=org_body(ref="C-1", ground="J1"),
                          headers=auth(token))
    assert refused.status_code == 422                 # J1 is a Jiamusi ground
    ground = next(g for g in load_profile("chizhou").grounds
                  if "organisation" in g.subject_kinds and g.threshold is None)
    body = org_body(ref="C-2", ground=ground.code)
    body.pop("amount")
    made = client.post(f"{BASE}/cases", json=body, headers=auth(token))
    assert made.status_code == 201, made.get_json()
    case = session.query(Case).filter_by(case_no=made.get_json()["data"]["case_no"]).one()
    assert (case.jurisdiction, case.profile) == ("chizhou", "chizhou")
    assert case.department_contact == "0566-1234567"


def test_a_client_cannot_file_for_another_bureau(session, bureaus):
    _records, chizhou, _token = bureaus
    from portal.models import SubjectKind
    from portal.services import subjects

    with pytest.raises(cases.PermissionDenied):
        integration.intake_case(
            session, chizhou, load_profile("jiamusi"), "test-lookup-key",
            subjects.SubjectInput(kind=SubjectKind.ORGANISATION, name="x"),
            cases.CaseInput(ground="J1", facts="x", external_ref="s:1", jurisdiction="jiamusi"),
            TODAY)
