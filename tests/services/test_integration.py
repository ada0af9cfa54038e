"""API clients and case intake through the service (portal.services.integration), both databases."""
import datetime as dt
import random

import pytest
import sqlalchemy as sa

from portal import security
from portal.models import ApiClient, AuditEvent, Case, CaseOrigin, Role, Subject, SubjectKind
from portal.rules import identifiers
from portal.rules.profiles import load_profile
from portal.rules.workflow import CaseState
from portal.security import lookup_hash
from portal.services import audit, cases, integration, subjects
from portal.services.subjects import PersonInput, SubjectInput
from tests.factories import make_staff

KEY = "test-lookup-key"
NOW = dt.datetime(2026, 11, 2, 8, 30, tzinfo=dt.UTC)
RNG = random.Random(77)


def org_input(uscc=None):
    return SubjectInput(kind=SubjectKind.ORGANISATION, name="佳木斯市东风机械厂",
                        uscc=uscc or identifiers.generate_uscc(RNG),
                        legal_rep=PersonInput("钱学军", identifiers.generate_ric(RNG)),
                        responsible=(PersonInput("周敏", identifiers.generate_ric(RNG)),))


def case_input(ref="sbjf:1", ground="J1", **figures):
    return cases.CaseInput(ground=ground, facts="少报缴费基数。", external_ref=ref, **figures)


def test_a_client_keeps_only_a_digest_of_its_token(app, session):
    admin = make_staff(session, Role.ADMIN)
    client, token = integration.create_client(session, admin, " SBJF-Finance ",
                                              ["changes:read", "status:read"], NOW)
    session.commit()
    assert client.name == "sbjf-finance" and client.scopes == ["status:read", "changes:read"]
    assert token.startswith("isk_") and len(token) >= 4 + 43
    assert client.token_hash == security.token_digest(token) and token not in client.token_hash
    assert client.token_prefix == token[:12] and client.created_by_id == admin.id
    found = integration.authenticate(session, token)
    assert found.client is client and found.reason is None
    assert integration.authenticate(session, None).reason == "missing"
    assert integration.authenticate(session, token[:-1] + "x").reason == "invalid"
    assert integration.authenticate(session, "x" * 500).reason == "invalid"
    [event] = session.execute(sa.select(AuditEvent)).scalars().all()
    assert (event.action, event.actor_label, event.entity_id) == (
        "api_client.create", f"staff:{admin.username}", "sbjf-finance")
    assert event.data == {"scopes": ["status:read", "changes:read"], "token_prefix": token[:12]}


@pytest.mark.parametrize("name, scopes, code", [
    ("x", ["status:read"], "invalid_name"),
    ("has space", ["status:read"], "invalid_name"),
    ("api:evil", ["status:read"], "invalid_name"),
    ("ok-name", [], "invalid_scopes"),
    ("ok-name", ["status:read", "admin:all"], "invalid_scopes"),
])
def test_invalid_clients_are_refused(app, session, name, scopes, code):
    admin = make_staff(session, Role.ADMIN)
    with pytest.raises(integration.IntegrationError) as problem:
        integration.create_client(session, admin, name, scopes, NOW)
    assert problem.value.code == code


def test_names_are_unique_and_revoking_is_final(app, session):
    admin = make_staff(session, Role.ADMIN)
    client, token = integration.create_client(session, admin, "ylbx", ["status:read"], NOW)
    with pytest.raises(integration.IntegrationError) as problem:
        integration.create_client(session, admin, "YLBX", ["status:read"], NOW)
    assert problem.value.code == "name_taken"
    assert integration.revoke_client(session, admin, client, NOW) is True
    assert integration.revoke_client(session, admin, client, NOW) is False     # recorded once
    session.commit()
    assert client.revoked_at is not None and not client.active and not client.usable
    found = integration.authenticate(session, token)
    assert found.reason == "revoked" and found.client is client
    actions = session.execute(sa.select(AuditEvent.action).order_by(AuditEvent.seq)).scalars().all()
    assert actions == ["api_client.create", "api_client.revoke"]


def test_intake_opens_an_unassigned_integration_case_as_the_client(app, session):
    admin = make_staff(session, Role.ADMIN)
    client, _token = integration.create_client(session, admin, "sbjf", ["cases:write"], NOW)
    profile = load_profile("jiamusi")
    data = org_input()
    case, created = integration.intake_case(session, client, profile, KEY, data, case_input(),
                                            dt.date(2026, 11, 2))
    session.commit()
    assert created and case.state is CaseState.OPENED and case.origin is CaseOrigin.INTEGRATION
    assert case.assignee_id is None and case.prepared_by_id is None
    assert case.external_ref == f"{client.id}:sbjf:1" and case.opened_on == dt.date(2026, 11, 2)
    subject = case.subject
    assert subject.org_code == identifiers.org_code_from_uscc(data.uscc)
    assert [p.role.value for p in subject.people] == ["legal_representative", "responsible"]
    assert subject.people[0].id_hash == lookup_hash(KEY, data.legal_rep.id_number)
    events = session.execute(sa.select(AuditEvent.action, AuditEvent.actor_label, AuditEvent.data)
                             .order_by(AuditEvent.seq)).all()
    assert [(e.action, e.actor_label) for e in events[1:]] == [
        ("subject.create", "api:sbjf"), ("case.open", "api:sbjf")]
    assert events[2].data["external_ref"] == f"{client.id}:sbjf:1" and events[2].data["origin"] == "integration"
    assert audit.verify(session) == []

    again, created = integration.intake_case(session, client, profile, KEY, data, case_input(),
                                             dt.date(2026, 11, 3))
    assert again is case and not created
    with pytest.raises(integration.IntegrationError) as problem:     # same reference, other ground
        integration.intake_case(session, client, profile, KEY, data, case_input(ground="J6"),
                                dt.date(2026, 11, 3))
    assert problem.value.code == "external_ref_conflict"
    with pytest.raises(integration.IntegrationError):                # same reference, other unit
        integration.intake_case(session, client, profile, KEY, org_input(), case_input(),
                                dt.date(2026, 11, 3))
    second, created = integration.intake_case(session, client, profile, KEY, data,
                                              case_input("sbjf:2"), dt.date(2026, 11, 3))
    assert created and second.subject_id == case.subject_id
    assert session.scalar(sa.select(sa.func.count(Subject.id))) == 1


def test_references_are_found_for_their_own_client_only(app, session):
    admin = make_staff(session, Role.ADMIN)
    first, _token = integration.create_client(session, admin, "sbjf", ["cases:write"], NOW)
    second, _token = integration.create_client(session, admin, "sbjf-copy", ["cases:write"], NOW)
    profile = load_profile("jiamusi")
    data = org_input()
    mine, created = integration.intake_case(session, first, profile, KEY, data, case_input(),
                                            dt.date(2026, 11, 2))
    assert created and integration.find_by_ref(session, first, "sbjf:1") is mine
    assert integration.find_by_ref(session, second, "sbjf:1") is None
    theirs, created = integration.intake_case(session, second, profile, KEY, org_input(),
                                              case_input(), dt.date(2026, 11, 2))
    assert created and theirs is not mine
    assert integration.find_by_ref(session, second, "sbjf:1") is theirs
    assert integration.public_ref(mine.external_ref) == ("sbjf", "1")
    assert integration.ref_owner(theirs.external_ref) == second.id
    assert integration.public_ref(None) is None and integration.ref_owner("sbjf:1") is None
    session.commit()


def test_a_reference_too_long_for_the_column_is_refused(app, session):
    admin = make_staff(session, Role.ADMIN)
    client, _token = integration.create_client(session, admin, "sbjf", ["cases:write"], NOW)
    with pytest.raises(integration.IntegrationError) as problem:
        integration.intake_case(session, client, load_profile("jiamusi"), KEY, org_input(),
                                case_input("s:" + "r" * 117), dt.date(2026, 11, 2))
    assert (problem.value.code, problem.value.field) == ("too_long", "external_ref")
    assert session.scalar(sa.select(sa.func.count(Subject.id))) == 0


def test_intake_of_a_person_and_a_ground_for_units_only(app, session):
    admin = make_staff(session, Role.ADMIN)
    client, _token = integration.create_client(session, admin, "ylbx", ["cases:write"], NOW)
    profile = load_profile("jiamusi")
    number = identifiers.generate_ric(RNG)
    person = SubjectInput(kind=SubjectKind.PERSON, name="吴桂芳", id_number=number)
    with pytest.raises(integration.IntegrationError) as problem:
        integration.intake_case(session, client, profile, KEY, person, case_input("y:1", "J1"),
                                dt.date(2026, 11, 2))
    assert (problem.value.code, problem.value.field) == ("ground_not_for_kind", "ground")
    assert session.scalar(sa.select(sa.func.count(Subject.id))) == 0      # nothing written
    with pytest.raises(integration.IntegrationError) as problem:
        integration.intake_case(session, client, profile, KEY, person, case_input("y:1", "J99"),
                                dt.date(2026, 11, 2))
    assert problem.value.code == "unknown_ground"
    with pytest.raises(integration.IntegrationError) as problem:      # 000 art. 5(二): > 20 times
        integration.intake_case(session, client, profile, KEY, person,
                                case_input("y:2", "J2", person_times=20), dt.date(2026, 11, 2))
    assert (problem.value.code, problem.value.field) == ("below_threshold", "amount")
    assert session.scalar(sa.select(sa.func.count(Subject.id))) == 0      # nothing written
    case, created = integration.intake_case(session, client, profile, KEY, person,
                                            case_input("y:2", "J2", person_times=21),
                                            dt.date(2026, 11, 2))
    assert created and case.subject.id_hash == lookup_hash(KEY, number)
    stored = str(session.execute(sa.select(AuditEvent.data)).scalars().all())
    assert number not in stored


def test_open_case_without_an_actor_is_unchanged_for_staff(app, session):
    clerk = make_staff(session, Role.CLERK)
    subject = subjects.register_subject(session, audit.SYSTEM, KEY, org_input())[0]
    case = cases.open_case(session, clerk, load_profile("jiamusi"), subject,
                           cases.CaseInput(ground="J1", facts="f"), dt.date(2026, 11, 2))
    assert case.assignee_id == clerk.id and case.external_ref is None
    # a staff user always acts as themselves (the actor argument is for business systems only)
    admin = make_staff(session, Role.ADMIN)
    with pytest.raises(cases.PermissionDenied):
        cases.open_case(session, admin, load_profile("jiamusi"), subject,
                        cases.CaseInput(ground="J1", facts="f"), dt.date(2026, 11, 2),
                        actor=audit.Actor("api:x"))


def test_every_call_is_recorded_with_the_client_as_actor(app, session):
    admin = make_staff(session, Role.ADMIN)
    client, _token = integration.create_client(session, admin, "neikong", ["status:read"], NOW)
    integration.record_call(session, client, "status", 200, NOW, {"warning": "none"})
    session.commit()
    assert client.last_used_at is not None
    event = session.execute(sa.select(AuditEvent).where(
        AuditEvent.action == "api.call")).scalar_one()
    assert event.actor_label == "api:neikong" and event.actor_id is None
    assert event.data == {"endpoint": "status", "status": 200, "warning": "none"}
    assert session.get(ApiClient, client.id).usable
    assert session.scalar(sa.select(sa.func.count(Case.id))) == 0
