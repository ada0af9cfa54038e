"""The red list through the services (Zhengzhou §一): four-eyes admission, refusals, removal."""
import datetime as dt

import pytest
import sqlalchemy as sa

from portal.models import (
    AuditEvent,
    OutboxEvent,
    ProposalState,
    PublicationState,
    RedListEntry,
    Role,
    Subject,
    SubjectKind,
)
from portal.services import public_queries as queries
from portal.paging import Window
from portal.rules.profiles import load_profile
from portal.services import audit, cases, redlist
from portal.services.calendar import load_calendar
from tests.factories import enough, make_staff, make_subject
from tests.grades_support import (
    EMPLOYER_CRITERIA,
    KEY,
    TODAY,
    ZZ,
    admitted,
    finding,
    proposal,
)


def _version(session):
    state = session.get(PublicationState, 1)
    return state.version if state else 0


def test_admission_writes_the_projection_and_the_outbox(app, session):
    before = _version(session)
    p = proposal(session)
    assert p.state is ProposalState.PROPOSED and p.proposal_no.startswith("ZHE-H2026-")
    approver = make_staff(session, Role.APPROVER)
    entry = redlist.admit(session, approver, p, ZZ, KEY, TODAY)
    session.commit()
    assert p.state is ProposalState.ADMITTED and p.entry_id == entry.id
    assert entry.public_id.startswith("G") and entry.criteria == list(EMPLOYER_CRITERIA)
    assert entry.admitted_on == TODAY and entry.valid_until is None      # no validity in the seed
    assert entry.code_display == p.subject.uscc
    outbox = session.execute(sa.select(OutboxEvent)).scalars().all()
    assert [(o.topic, o.action, o.public_id) for o in outbox] == [("redlist", "upsert", entry.public_id)]
    assert _version(session) == before + 1
    assert queries.red_list_page(session, TODAY, Window()) == [entry]
    actions = session.execute(sa.select(AuditEvent.action).order_by(AuditEvent.seq)).scalars().all()
    assert actions[-2:] == ["redlist.propose", "redlist.admit"]
    assert audit.verify(session) == []


def test_four_eyes_the_proposer_may_not_decide(app, session):
    clerk = make_staff(session, Role.CLERK)
    p = proposal(session, clerk=clerk)
    clerk.role = Role.APPROVER                  # even after a change of role
    with pytest.raises(cases.PermissionDenied, match="four-eyes"):
        redlist.admit(session, clerk, p, ZZ, KEY, TODAY)
    with pytest.raises(cases.PermissionDenied, match="four-eyes"):
        redlist.refuse(session, clerk, p, "不符合", TODAY)
    with pytest.raises(cases.PermissionDenied):
        redlist.admit(session, make_staff(session, Role.REVIEWER), p, ZZ, KEY, TODAY)
    with pytest.raises(cases.PermissionDenied):
        proposal(session, clerk=make_staff(session, Role.ADMIN))


def test_refusal_is_recorded_with_its_reason(app, session):
    p = proposal(session)
    redlist.refuse(session, make_staff(session, Role.APPROVER), p, "R2 证明材料不足", TODAY)
    assert p.state is ProposalState.REFUSED and p.decision_note == "R2 证明材料不足"
    with pytest.raises(redlist.RedListError, match="decided"):
        redlist.admit(session, make_staff(session, Role.APPROVER), p, ZZ, KEY, TODAY)
    assert session.scalar(sa.select(sa.func.count(RedListEntry.id))) == 0


def test_refused_when_criteria_are_missing(app, session):
    with pytest.raises(redlist.RedListError) as exc:
        proposal(session, criteria=("R1", "R2"))
    assert exc.value.reasons == ("criteria",) and exc.value.missing == ("R3", "R4", "R6", "R7")
    with pytest.raises(redlist.RedListError) as exc:       # (五) applies to medical institutions
        proposal(session, unit_type="medical_institution")
    assert exc.value.missing == ("R5",)
    assert proposal(session, unit_type="medical_institution",
                    criteria=EMPLOYER_CRITERIA + ("R5",)).unit_type == "medical_institution"


def test_refused_when_listed_with_an_open_case_or_a_live_finding(app, session):
    from tests.factories import listed_case

    case, _code = listed_case(session, app, profile_code="zhengzhou", ground="ZS1")
    with pytest.raises(redlist.RedListError) as exc:
        proposal(session, case.subject)
    assert "listed" in exc.value.reasons
    unit = make_subject(session)
    cases.open_case(session, make_staff(session, Role.CLERK), ZZ, unit,
                    cases.CaseInput(ground="ZS2", facts="f", **enough(ZZ, "ZS2")), TODAY)
    with pytest.raises(redlist.RedListError) as exc:
        proposal(session, unit)
    assert exc.value.reasons == ("open_case",)
    other = make_subject(session)
    finding(session, other, "ZG3")
    with pytest.raises(redlist.RedListError) as exc:
        proposal(session, other)
    assert exc.value.reasons == ("live_finding",)
    person = make_subject(session, SubjectKind.PERSON)
    with pytest.raises(redlist.RedListError, match="not_a_unit"):
        proposal(session, person)


def test_obstacles_are_checked_again_at_admission(app, session):
    p = proposal(session)
    finding(session, p.subject, "ZG1")
    with pytest.raises(redlist.RedListError) as exc:
        redlist.admit(session, make_staff(session, Role.APPROVER), p, ZZ, KEY, TODAY)
    assert exc.value.reasons == ("live_finding",)


def test_a_city_without_criteria_of_its_own_uses_zhengzhous(app, session):
    """As the public /redlist page: Jiamusi's seed defines no red list, Zhengzhou's criteria apply."""
    jiamusi = load_profile("jiamusi")
    assert not jiamusi.red_list_criteria
    with pytest.raises(redlist.RedListError, match="criteria"):
        redlist.propose(session, make_staff(session, Role.CLERK), jiamusi,
                        make_subject(session), "employer", [], "x", TODAY)
    codes = [c.code for c in load_profile("zhengzhou").red_list_criteria if not c.subjects]
    proposal = redlist.propose(session, make_staff(session, Role.CLERK), jiamusi,
                               make_subject(session), "employer", codes, "年度核查材料", TODAY)
    assert proposal.profile == "jiamusi" and proposal.criteria == codes


def test_staff_removal_with_a_reason(app, session):
    entry = admitted(session)
    with pytest.raises(cases.PermissionDenied):
        redlist.remove(session, make_staff(session, Role.CLERK), entry, "unit_request", "x", TODAY)
    with pytest.raises(redlist.RedListError, match="reason_required"):
        redlist.remove(session, make_staff(session, Role.APPROVER), entry, "unit_request", "", TODAY)
    redlist.remove(session, make_staff(session, Role.APPROVER), entry, "criteria_no_longer_met",
                   "2026年裁员率超过4.5%", TODAY)
    session.commit()
    assert entry.removed_on == TODAY and entry.removal_reason == "criteria_no_longer_met"
    assert queries.red_list_count(session, TODAY) == 0
    topics = session.execute(sa.select(OutboxEvent.topic, OutboxEvent.public_id)).all()
    assert topics == [("redlist", entry.public_id), ("redlist", entry.public_id)]


def test_a_listing_decision_removes_the_unit_from_the_red_list_automatically(app, session):
    entry = admitted(session)
    unit = session.get(Subject, entry.subject_id)
    # the unit commits serious conduct after its admission: a case, decided by the approver
    clerk, reviewer = make_staff(session, Role.CLERK), make_staff(session, Role.REVIEWER)
    approver, calendar = make_staff(session, Role.APPROVER), load_calendar(session)
    opened = TODAY + dt.timedelta(days=1)
    case = cases.open_case(session, clerk, ZZ, unit, cases.CaseInput(ground="ZS2", facts="f", **enough(ZZ, "ZS2")), opened)
    cases.serve_pre_notice(session, clerk, case, ZZ, calendar, opened)
    decided = opened + dt.timedelta(days=20)
    cases.complete_review(session, reviewer, case, decided)
    cases.propose_listing(session, clerk, case)
    assert entry.removed_on is None
    cases.approve_listing(session, approver, case, ZZ, calendar, decided)
    session.commit()
    assert entry.removed_on == decided and entry.removal_reason == "listing_decision"
    event = session.execute(sa.select(AuditEvent).where(AuditEvent.action == "redlist.remove")).scalar_one()
    assert event.actor_label == "system" and event.data["note"] == case.case_no
    assert queries.red_list_count(session, decided) == 0
    assert audit.verify(session) == []


def test_change_feed_shows_the_red_list_entry(app, session):
    from portal.services import change_log as changes

    entry = admitted(session)
    session.commit()
    with app.test_request_context("/api/v1/changes"):
        page = changes.read(session, 0, 10, dt.timedelta(0))
    assert [(i["type"], i["public_id"], i["deleted"]) for i in page.items] == [
        ("redlist", entry.public_id, False)]
    assert page.items[0]["data"]["criteria"] == list(EMPLOYER_CRITERIA)


def test_the_indexer_drains_red_list_rows_without_indexing_them(app, session):
    from portal.search import get_index
    from portal.services import indexer

    entry = admitted(session)
    session.commit()
    index = get_index(app)
    assert indexer.sync(session, index) == 1
    session.commit()
    assert indexer.pending(session, indexer.position_of(index)) == 0
    assert entry.public_id not in set(index.ids())       # the red list is not searchable
