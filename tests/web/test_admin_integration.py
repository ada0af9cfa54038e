"""The admins' page of API clients (/admin/integration) and integrated cases in the queue."""
import re

import pytest
import sqlalchemy as sa

from portal.models import ApiClient, AuditEvent, Role
from tests.web.admin_support import english, fast_passwords, login, staff, text  # noqa: F401
from tests.web.integration_support import BASE, audit_text, auth, new_client, org_body


@pytest.mark.usefixtures("fast_passwords")
def test_admin_creates_a_client_sees_the_token_once_and_revokes_it(app, session, client):
    english(client)
    login(client, staff(session, Role.ADMIN, "admin.zhou"))
    page = client.get("/admin/integration/")
    assert page.status_code == 200 and "No API clients yet." in text(page)
    created = client.post("/admin/integration/", data={"name": "SBJF-Finance",
                                                       "scopes": ["status:read", "changes:read"]})
    assert created.status_code == 200 and created.headers["Cache-Control"] == "no-store"
    token = re.search(r'class="access-code code api-token">([^<]+)<',
                      created.get_data(as_text=True)).group(1)
    assert token.startswith("isk_") and len(token) > 40
    row = session.execute(sa.select(ApiClient)).scalar_one()
    assert row.name == "sbjf-finance" and row.scopes == ["status:read", "changes:read"]
    assert token not in row.token_hash and row.token_prefix == token[:12]
    listing = client.get("/admin/integration/")
    assert token not in listing.get_data(as_text=True) and token[:12] in listing.get_data(
        as_text=True)
    api = app.test_client()
    assert api.get(f"{BASE}/changes", headers=auth(token)).status_code == 200
    duplicate = client.post("/admin/integration/", data={"name": "sbjf-finance",
                                                         "scopes": ["status:read"]})
    assert duplicate.status_code == 400 and "exists already" in text(duplicate)
    nothing = client.post("/admin/integration/", data={"name": "x y", "scopes": []})
    assert nothing.status_code == 400 and "Choose at least one permission." in text(nothing)
    unknown = client.post("/admin/integration/", data={"name": "abc", "scopes": ["admin:all"]})
    assert unknown.status_code == 400

    revoked = client.post(f"/admin/integration/{row.id}/revoke")
    assert revoked.status_code == 302
    assert "no longer works" in text(client.get("/admin/integration/"))
    assert api.get(f"{BASE}/changes", headers=auth(token)).status_code == 401
    session.expire_all()
    assert session.get(ApiClient, row.id).revoked_at is not None
    actions = session.execute(sa.select(AuditEvent.action, AuditEvent.actor_label).where(
        AuditEvent.entity_type == "api_client").order_by(AuditEvent.seq)).all()
    assert [tuple(a) for a in actions] == [
        ("api_client.create", "staff:admin.zhou"), ("api.call", "api:sbjf-finance"),
        ("api_client.revoke", "staff:admin.zhou"), ("api.auth_failed", "public")]
    assert token not in audit_text(session)


@pytest.mark.usefixtures("fast_passwords")
@pytest.mark.parametrize("role", [Role.CLERK, Role.APPROVER])
def test_only_admins_manage_api_clients(app, session, client, role):
    target, _token = new_client(session, ["status:read"])
    login(client, staff(session, role))
    assert client.get("/admin/integration/").status_code == 403
    assert client.post("/admin/integration/", data={"name": "abc",
                                                    "scopes": ["status:read"]}).status_code == 403
    assert client.post(f"/admin/integration/{target.id}/revoke").status_code == 403
    session.expire_all()
    assert session.get(ApiClient, target.id).usable
    assert session.scalar(sa.select(sa.func.count(ApiClient.id))) == 1


@pytest.mark.usefixtures("fast_passwords")
def test_an_integrated_case_waits_unassigned_in_the_clerks_queue(app, session, client):
    _writer, token = new_client(session, ["cases:write"])
    api = app.test_client()
    number = api.post(f"{BASE}/cases", json=org_body("Q-1"), headers=auth(token)).get_json()[
        "data"]["case_no"]
    login(client, staff(session, Role.CLERK))
    unassigned = client.get("/admin/queue/cases?assignee=none")
    assert unassigned.status_code == 200 and number in unassigned.get_data(as_text=True)
    assert number not in client.get("/admin/queue/cases?assignee=me").get_data(as_text=True)
