"""Staff scoped to their jurisdictions (issue 12, item 3): across the boundary every back-office
view and action is refused and audited, lists show only one's own bureau's rows, a bureau
above reads its city's case but does not change it; and each case keeps its own rules."""
import datetime as dt

import pytest
from werkzeug.routing import Rule

from portal.models import Case, Role
from portal.rules.profiles import load_profile
from portal.rules.workflow import CaseState
from portal.services import cases
from portal.services.calendar import load_calendar
from tests.factories import bureau_day, enough, make_subject
from tests.web.admin_support import english, fast_passwords, login, staff, text  # noqa: F401
from tests.web.jurisdiction_support import (
    PROVINCE,
    TODAY,
    add_bureaus,
    jiamusi_records,
    last_seq,
    refusals,
)

pytestmark = pytest.mark.usefixtures("fast_passwords")

#: Parameters that name a record of one jurisdiction: a route with one is refused across it.
OWNED = {"case_id", "submission_id", "finding_id", "proposal_id", "entry_id", "batch_id",
         "client_id", "mail_id", "code", "table_id", "endpoint_id", "delivery_id"}
#: Routes with other parameters, and why no jurisdiction owns what they name.
SHARED = {
    "admin.users.role": "accounts are the portal's (admins)",
    "admin.users.active": "accounts are the portal's (admins)",
    "admin.users.reset_password": "accounts are the portal's (admins)",
    "admin.users.reset_totp": "accounts are the portal's (admins)",
    "admin.users.unlock": "accounts are the portal's (admins)",
    "admin.users.works_for": "memberships: only one's own bureaus are granted (tested below)",
    "admin.calendar.delete_day": "the holiday calendar is the country's",
    "admin.grades.subject": "the register of subjects is shared; findings are filtered (below)",
    "admin.grades.record": "a finding is recorded for the recorder's own bureau",
    "admin.grades.propose": "a proposal is made for the proposer's own bureau",
    "admin.grades.unit_kind": "the kind of unit is a fact of the shared register",
    "admin.imports.template": "a blank template of the user's own bureau",
    "admin.organisations.account": "an organisation's account belongs to no bureau (admins)",
    "admin.organisations.close": "an organisation's account belongs to no bureau (admins)",
    "admin.organisations.reopen": "an organisation's account belongs to no bureau (admins)",
}
#: Parameter-less POST routes that name a jurisdiction or records in their form.
NAMING_POSTS = {"admin.cases.new", "admin.imports.upload", "admin.imports.export",
                "admin.sharing.export", "admin.sharing.mark", "admin.users.create",
                "admin.integration.create", "admin.jurisdictions.save"}
VALUES = {"kind": "listing_decision", "name": "publish", "file_format": "csv", "value": 0,
          "day": "2026-10-01", "attachment_id": 1}   # an attachment: through its filing
ROLE_ORDER = (Role.CLERK, Role.REVIEWER, Role.APPROVER, Role.ADMIN)


@pytest.fixture
def portal(app, session, time_machine):
    bureau_day(time_machine, TODAY)
    records = jiamusi_records(session, app)
    add_bureaus(session)
    people = {role: staff(session, role, f"chizhou.{role.value}", ("chizhou",)) for role in Role}
    return records, people


def _login(client, user) -> None:
    """Sign ``user`` in on a client that may be signed in as somebody else."""
    client.post("/admin/logout")
    login(client, user)


def _rules(app) -> list[Rule]:
    return [rule for rule in app.url_map.iter_rules() if rule.endpoint.startswith("admin.")
            and not rule.endpoint.startswith("admin.auth.")]


def _url(app, rule: Rule, ids: dict) -> str:
    values = {name: ids.get(name, VALUES.get(name, 1)) for name in rule.arguments}
    with app.test_request_context():
        from flask import url_for

        return url_for(rule.endpoint, **values)


def _who(app, rule: Rule, people: dict):
    allowed = getattr(app.view_functions[rule.endpoint], "admin_roles", ())
    return next(people[role] for role in ROLE_ORDER if role in allowed)


FORM = {"jurisdiction": "jiamusi", "kind": "listings", "fmt": "csv", "language": "zh",
        "uploaded_on": "2026-10-12", "period": "2026-09", "file_format": "csv", "name": "x-sys",
        "scopes": "status:read", "username": "new.user", "display_name": "新", "role": "clerk",
        "outcome": "rejected", "reasons": "x", "note": "x", "reason": "x", "code": "",
        "format": "html", "lang": "zh_CN", "target": "subject", "assignee": "",
        "publish-published_on": "2026-10-12"}


def test_every_back_office_route_is_classified(app):
    """A new route with a parameter must say whether a jurisdiction owns what it names."""
    for rule in _rules(app):
        names = set(rule.arguments) - set(VALUES)
        assert names <= OWNED or rule.endpoint in SHARED, rule.endpoint


def test_every_route_across_the_boundary_is_refused_and_audited(app, session, client, portal):
    records, people = portal
    ids = records.ids()
    tried = 0
    for rule in _rules(app):
        if not (set(rule.arguments) & OWNED):
            continue
        url = _url(app, rule, ids)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            _login(client, _who(app, rule, people))
            before = last_seq(session)
            response = client.open(url, method=method, data=FORM if method == "POST" else None)
            assert response.status_code in (403, 404), (method, url, response.status_code)
            events = refusals(session, before)
            assert events, (method, url)
            assert events[-1].jurisdiction == "jiamusi"
            assert events[-1].data["endpoint"] == rule.endpoint
            tried += 1
    assert tried >= 20
    session.expire_all()
    assert session.get(Case, records.published.id).state is CaseState.PUBLISHED


def test_forms_that_name_another_bureau_are_refused_and_audited(app, session, client, portal):
    records, people = portal
    for rule in _rules(app):
        if rule.endpoint not in NAMING_POSTS:
            continue
        _login(client, _who(app, rule, people))
        before = last_seq(session)
        data = dict(FORM, case=str(records.published.id))
        response = client.post(_url(app, rule, {}), data=data)
        assert response.status_code in (403, 404), (rule.endpoint, response.status_code)
        assert refusals(session, before), rule.endpoint


def test_lists_show_only_the_bureaus_own_rows(app, session, client, portal):
    records, people = portal
    _login(client, people[Role.CLERK])
    pages = ["/admin/queue/cases?state=all", "/admin/queue/submissions?state=granted",
             "/admin/grades/", "/admin/grades/redlist", "/admin/grades/score-table",
             "/admin/imports/", "/admin/sharing/",
             f"/admin/grades/subjects/{records.finding.subject_id}"]
    for url in pages:
        body = client.get(url).get_data(as_text=True)
        for mark in records.marks():
            assert mark not in body, (url, mark)
    _login(client, people[Role.ADMIN])
    for url in ("/admin/audit/", "/admin/integration/", "/admin/mail/", "/admin/webhooks/"):
        body = client.get(url).get_data(as_text=True)
        for mark in records.marks():
            assert mark not in body, (url, mark)
    # the same pages of a Jiamusi clerk do list them
    jiamusi = staff(session, Role.CLERK, "jiamusi.clerk", ("jiamusi",))
    _login(client, jiamusi)
    assert records.published.case_no in client.get("/admin/queue/cases?state=all").get_data(
        as_text=True)


def test_the_audit_view_shows_portal_wide_events_to_admins_only_with_their_bureaus(
        app, session, client, portal):
    records, people = portal
    _login(client, people[Role.ADMIN])
    body = text(client.get("/admin/audit/?entity_type=case"))
    assert records.published.case_no not in body
    staff_events = text(client.get("/admin/audit/?action=staff.login"))
    assert "chizhou.admin" in staff_events          # portal-wide (no jurisdiction): admins


def test_a_province_member_reads_the_citys_case_but_cannot_change_it(app, session, client,
                                                                       portal):
    records, _people = portal
    approver = staff(session, Role.APPROVER, "province.approver", (PROVINCE,))
    _login(client, approver)
    english(client)
    page = client.get(f"/admin/cases/{records.published.id}")
    assert page.status_code == 200
    assert "you may read it but not change it" in text(page)
    assert records.published.case_no in client.get("/admin/queue/cases?state=all").get_data(
        as_text=True)
    before = last_seq(session)
    refused = client.post(f"/admin/cases/{records.published.id}/step/remove",
                          data={"remove-reason": "revoked", "remove-removed_on": "2026-10-12"})
    assert refused.status_code == 403
    assert refusals(session, before)[-1].data["write"] is True
    session.expire_all()
    assert session.get(Case, records.published.id).state is CaseState.PUBLISHED


def test_the_services_refuse_another_bureaus_record(app, session, portal):
    records, people = portal
    with pytest.raises(cases.PermissionDenied):
        cases.mark_shared(session, people[Role.CLERK], records.published, TODAY)
    session.rollback()
    with pytest.raises(cases.PermissionDenied):
        cases.open_case(session, people[Role.CLERK], load_profile("jiamusi"), make_subject(session),
                        cases.CaseInput(ground="J1", facts="经查。", jurisdiction="jiamusi"), TODAY)
    session.rollback()


def test_a_chizhou_case_shows_chizhous_rules_on_a_jiamusi_portal(app, session, client, portal):
    assert app.config["PORTAL_PROFILE"] == "jiamusi"
    _records, people = portal
    chizhou = load_profile("chizhou")
    clerk = people[Role.CLERK]
    ground = next(g for g in chizhou.grounds if "organisation" in g.subject_kinds)
    case = cases.open_case(session, clerk, chizhou, make_subject(session),
                           cases.CaseInput(ground=ground.code, facts="经查。", jurisdiction="chizhou",
                                           **enough(chizhou, ground.code)), TODAY)
    cases.serve_pre_notice(session, clerk, case, chizhou, load_calendar(session), TODAY)
    session.commit()
    _login(client, clerk)
    page = text(client.get(f"/admin/cases/{case.id}"))
    assert ground.text.zh in page
    assert case.defence_due_on.isoformat() in page or f"{case.defence_due_on:%Y}" in page
    form = client.get("/admin/cases/new").get_data(as_text=True)
    assert f'value="{ground.code}"' in form and 'value="J1"' not in form
    assert "0566-1234567" in client.get("/admin/cases/new").get_data(as_text=True)


def test_a_chizhou_clerk_opens_chizhou_cases_under_chizhous_rules(app, session, client, portal):
    _records, people = portal
    chizhou = load_profile("chizhou")
    ground = next(g for g in chizhou.grounds if "organisation" in g.subject_kinds
                  and g.threshold is None)
    from portal.rules import identifiers
    import random

    _login(client, people[Role.CLERK])
    response = client.post("/admin/cases/new", data={
        "kind": "organisation", "name": "池州市某建筑有限公司",
        "uscc": identifiers.generate_uscc(random.Random(3)), "ground": ground.code,
        "legal_rep_name": "王某", "legal_rep_id": identifiers.generate_ric(
            random.Random(4), birth=dt.date(1970, 1, 1)),
        "origin": "inspection", "facts": "经查。", "department": "池州市人社局",
        "department_contact": ""})
    assert response.status_code == 302, text(response)[:400]
    case = session.query(Case).order_by(Case.id.desc()).first()
    assert (case.jurisdiction, case.profile) == ("chizhou", "chizhou")
    assert case.department_contact == "0566-1234567"


def test_membership_edits_are_limited_to_the_admins_own_bureaus(app, session, client, portal):
    _records, people = portal
    clerk = staff(session, Role.CLERK, "someone", ("chizhou",))
    _login(client, people[Role.ADMIN])
    before = last_seq(session)
    refused = client.post(f"/admin/users/{clerk.id}/jurisdictions",
                          data={"jurisdiction": ["chizhou", "jiamusi"]})
    assert refused.status_code in (403, 404)
    assert refusals(session, before)
    done = client.post(f"/admin/users/{clerk.id}/jurisdictions", data={"jurisdiction": []})
    assert done.status_code == 302
    from portal.services import jurisdictions

    session.expire_all()
    assert jurisdictions.memberships(session, clerk) == []


def test_single_bureau_portal_is_unscoped(app, session):
    """With one bureau every member reads and writes everything, as before (no filter)."""
    from portal.services import scope

    user = staff(session, Role.CLERK)
    found = scope.staff_scope(session, user)
    assert found.everything and found.can_write("anything")
