"""Jurisdictions configured by an admin: created, changed, placed in the tree, audited."""
import pytest
import sqlalchemy as sa

from portal.admin.jurisdictions import departments_from_text
from portal.models import AuditEvent, Jurisdiction, PublicationState, Role
from portal.services import jurisdictions
from tests.web.admin_support import english, fast_passwords, login, staff, text  # noqa: F401

pytestmark = pytest.mark.usefixtures("fast_passwords")

CHIZHOU = {"code": "chizhou", "name_zh": "池州市", "name_en": "Chizhou",
           "authority_zh": "池州市人力资源和社会保障局",
           "authority_en": "Chizhou Human Resources and Social Security Bureau",
           "profile": "chizhou", "parent_code": "", "contact_zh": "0566-12333",
           "contact_en": "+86 566 12333", "position": "2", "active": "y",
           "departments": "池州市人力资源和社会保障局 | Chizhou HRSS Bureau\n池州市社会保险事业管理中心"}


def _version(session) -> int:
    state = session.get(PublicationState, 1)
    return state.version if state else 0


def test_admin_adds_and_changes_a_jurisdiction(session, client):
    english(client)
    login(client, staff(session, Role.ADMIN, "admin.zhou"))
    page = client.get("/admin/jurisdictions/")
    assert page.status_code == 200 and "jiamusi" in text(page)
    before = _version(session)
    saved = client.post("/admin/jurisdictions/", data=CHIZHOU)
    assert saved.status_code == 302 and saved.headers["Location"].endswith("/admin/jurisdictions/chizhou")
    session.expire_all()
    row = session.get(Jurisdiction, "chizhou")
    assert (row.profile, row.contact_zh, row.position, row.active) == ("chizhou", "0566-12333", 2, True)
    assert row.departments == [{"zh": "池州市人力资源和社会保障局", "en": "Chizhou HRSS Bureau"},
                               {"zh": "池州市社会保险事业管理中心", "en": ""}]
    assert _version(session) == before + 1      # public pages show names and contacts
    shown = client.get("/admin/jurisdictions/chizhou")
    assert "Chizhou HRSS Bureau" in shown.get_data(as_text=True)

    changed = client.post("/admin/jurisdictions/", data={**CHIZHOU, "parent_code": "jiamusi",
                                                         "contact_zh": "0566-2345678"})
    assert changed.status_code == 302
    session.expire_all()
    assert session.get(Jurisdiction, "chizhou").parent_code == "jiamusi"
    events = session.execute(sa.select(AuditEvent).where(AuditEvent.entity_type == "jurisdiction")
                             .order_by(AuditEvent.seq)).scalars().all()
    assert [e.action for e in events] == ["jurisdiction.create", "jurisdiction.update"]
    assert events[1].data == {"parent_code": "jiamusi", "contact_zh": "0566-2345678"}
    assert {e.jurisdiction for e in events} == {"chizhou"}
    unchanged = client.post("/admin/jurisdictions/", data={**CHIZHOU, "parent_code": "jiamusi",
                                                           "contact_zh": "0566-2345678"})
    assert unchanged.status_code == 302
    assert session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                          .where(AuditEvent.entity_type == "jurisdiction")) == 2


@pytest.mark.parametrize("change, message", [
    ({"code": "Chi Zhou"}, "lower-case letters"),
    ({"profile": "atlantis"}, "Not a valid choice"),
    ({"name_zh": ""}, "This field is required"),
    ({"parent_code": "nowhere"}, "Not a valid choice"),
])
def test_invalid_input_is_refused_at_its_field(session, client, change, message):
    english(client)
    login(client, staff(session, Role.ADMIN, "admin.zhou"))
    refused = client.post("/admin/jurisdictions/", data={**CHIZHOU, **change})
    assert refused.status_code == 400 and message in text(refused)
    assert session.get(Jurisdiction, "chizhou") is None


def test_a_jurisdiction_cannot_lie_below_itself(session, client):
    english(client)
    admin = staff(session, Role.ADMIN, "admin.zhou")
    jurisdictions.save(session, admin, "chizhou", {**CHIZHOU, "parent_code": "jiamusi",
                                                    "departments": [], "position": 2,
                                                    "active": True})
    session.commit()
    login(client, admin)
    refused = client.post("/admin/jurisdictions/", data={
        "code": "jiamusi", "name_zh": "佳木斯市", "authority_zh": "佳木斯市人社局",
        "profile": "jiamusi", "parent_code": "chizhou", "active": "y"})
    assert refused.status_code == 400 and "cannot lie below itself" in text(refused)
    session.expire_all()
    assert session.get(Jurisdiction, "jiamusi").parent_code is None


@pytest.mark.parametrize("role", [Role.CLERK, Role.REVIEWER, Role.APPROVER])
def test_only_admins_configure_jurisdictions(session, client, role):
    login(client, staff(session, role, f"{role.value}.li"))
    assert client.get("/admin/jurisdictions/").status_code == 403
    assert client.post("/admin/jurisdictions/", data=CHIZHOU).status_code == 403
    assert session.get(Jurisdiction, "chizhou") is None


def test_departments_are_read_one_per_line():
    assert departments_from_text(" 甲局 | Bureau A \n\n乙中心\n甲局 | again") == [
        {"zh": "甲局", "en": "Bureau A"}, {"zh": "乙中心", "en": ""}]


def test_the_directory_knows_the_tree(session):
    admin = staff(session, Role.ADMIN, "admin.zhou")
    base = {"authority_zh": "局", "departments": [], "active": True}
    jurisdictions.save(session, admin, "province", {**base, "name_zh": "省", "profile": "national"})
    jurisdictions.save(session, admin, "jiamusi", {"parent_code": "province"})
    jurisdictions.save(session, admin, "jiamusi-qianjin", {**base, "name_zh": "前进区",
                                                           "profile": "jiamusi",
                                                           "parent_code": "jiamusi"})
    jurisdictions.save(session, admin, "chizhou", {**base, "name_zh": "池州", "profile": "chizhou",
                                                   "parent_code": "province"})
    directory = jurisdictions.directory(session)
    assert not directory.single
    assert directory.below(["jiamusi"]) == {"jiamusi", "jiamusi-qianjin"}
    assert directory.below(["province"]) == {"province", "jiamusi", "jiamusi-qianjin", "chizhou"}
    assert directory.profile_of("jiamusi-qianjin").code == "jiamusi"
    assert directory.profile_of("chizhou").code == "chizhou"
    with pytest.raises(jurisdictions.JurisdictionError):
        jurisdictions.save(session, admin, "province", {"parent_code": "jiamusi-qianjin"})
