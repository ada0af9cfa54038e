"""Corrections after an upheld objection and withdrawals after a revocation (Shanghai art. 9,
Jiamusi art. 15, NDRC Order 36): the contested text never reaches a public surface again."""
import datetime as dt

import pytest
import sqlalchemy as sa

from portal.models import (
    AuditEvent,
    OutboxEvent,
    PublicationWithdrawal,
    PublishedEntry,
    RemovalNotice,
    Role,
)
from portal.rules.profiles import load_profile
from portal.rules.workflow import CaseState, RemovalReason, SubmissionKind, SubmissionState
from portal.search import get_index
from portal.services import indexer, submissions
from portal.services.calendar import load_calendar
from portal.services.submissions import Filing, ObjectionOutcome, SubmissionError
from tests.factories import make_staff, published_case, remove_published

D = dt.date
KEY = "test-lookup-key"
CONTESTED = "经查，该单位拖欠社会保险费人民币叁拾万元。"
CORRECTED = "经复查，该单位拖欠社会保险费人民币伍万元（原认定金额有误）。"


def _objection(session, app):
    case = published_case(session, app, facts=CONTESTED, decided_on=D(2026, 3, 16))
    _indexed_with_contested_text(app, session)
    profile, calendar = load_profile("jiamusi"), load_calendar(session)
    filing = Filing(kind=SubmissionKind.OBJECTION, body="认定金额有误", case=case, filer_name="王建国",
                    filer_contact="0454-8888888", category="facts")
    sub = submissions.file(session, profile, calendar, filing, D(2026, 6, 1)).submission
    approver = make_staff(session, Role.APPROVER)
    submissions.accept_for_review(session, approver, sub, profile, calendar, D(2026, 6, 1))
    return case, sub, approver


def _decide(session, sub, approver, outcome):
    submissions.decide(session, approver, sub, True, "经核查，异议成立。", load_profile("jiamusi"),
                       load_calendar(session), KEY, D(2026, 6, 4), outcome=outcome)


def _indexed_with_contested_text(app, session) -> None:
    """The search index holds the published facts (so the checks below can fail)."""
    session.commit()
    indexer.sync(session, get_index(app))
    session.commit()
    page = app.test_client().get("/search?q=叁拾万元").get_data(as_text=True)
    assert 'class="meta snippet"' in page and "拖欠社会保险费" in page


def _public_surfaces(client, entry_id: str) -> dict[str, str]:
    from flask import current_app

    from portal.extensions import db

    indexer.sync(db.session, get_index(current_app))
    db.session.commit()
    return {
        "page": client.get(f"/entries/{entry_id}").get_data(as_text=True),
        "api": client.get(f"/api/v1/entries/{entry_id}").get_data(as_text=True),
        "changes": client.get("/api/v1/changes?limit=1000").get_data(as_text=True),
        "csv": client.get("/exports/entries.csv").get_data(as_text=True),
        "json": client.get("/exports/entries.json").get_data(as_text=True),
        "feed": client.get("/feeds/changes.atom").get_data(as_text=True),
        "search": client.get("/search?q=叁拾万元").get_data(as_text=True),
    }


def _entry(session, case):
    return session.execute(sa.select(PublishedEntry).where(PublishedEntry.case_id == case.id)
                           ).scalar_one_or_none()


def test_an_upheld_objection_publishes_the_corrected_facts(app, session, client):
    case, sub, approver = _objection(session, app)
    entry_id = _entry(session, case).public_id
    _decide(session, sub, approver, ObjectionOutcome(facts=CORRECTED))
    session.commit()

    assert sub.state is SubmissionState.GRANTED
    assert case.state is CaseState.PUBLISHED and case.facts == CORRECTED
    entry = _entry(session, case)
    assert entry.status == "listed" and entry.facts == CORRECTED and not entry.under_objection
    assert entry.corrected_on == D(2026, 6, 4)
    assert session.scalar(sa.select(sa.func.count(RemovalNotice.id))) == 0
    event = session.execute(sa.select(AuditEvent).where(AuditEvent.action == "case.correct")).scalar_one()
    assert event.data["submission"] == sub.receipt_no
    assert session.execute(sa.select(OutboxEvent).where(OutboxEvent.public_id == entry_id)
                           .order_by(OutboxEvent.id.desc())).scalars().first().action == "upsert"
    assert indexer.entry_document(entry)["facts"] == CORRECTED

    surfaces = _public_surfaces(client, entry_id)
    for name, body in surfaces.items():
        assert CONTESTED not in body, name
    assert 'class="meta snippet"' not in surfaces["search"]      # the old facts are not found
    assert CORRECTED in surfaces["page"] and CORRECTED in surfaces["api"]
    assert "信息已更正" not in surfaces["page"] or "2026年6月4日" in surfaces["page"]


def test_an_upheld_objection_that_defeats_the_listing_withdraws_the_entry(app, session, client):
    case, sub, approver = _objection(session, app)
    entry_id = _entry(session, case).public_id
    _decide(session, sub, approver, ObjectionOutcome(listing_fell=True))
    session.commit()

    assert case.state is CaseState.REMOVED and case.removal_reason is RemovalReason.OBJECTION_UPHELD
    assert _entry(session, case) is None
    notice = session.execute(sa.select(RemovalNotice)).scalar_one()
    assert notice.reason == "objection_upheld" and notice.entry_public_id is None
    tomb = session.execute(sa.select(PublicationWithdrawal)
                           .where(PublicationWithdrawal.public_id == entry_id)).scalar_one()
    assert (tomb.topic, tomb.reason, tomb.withdrawn_on) == ("entry", "objection_upheld", D(2026, 6, 4))
    assert client.get(f"/entries/{entry_id}").status_code in (404, 410)
    api = client.get(f"/api/v1/entries/{entry_id}")
    assert api.status_code == 410 and api.get_json()["error"]["code"] == "withdrawn"
    changes = client.get("/api/v1/changes?limit=1000").get_json()["data"]
    gone = [c for c in changes if c["public_id"] == entry_id]
    assert gone[-1]["deleted"] is True and gone[-1]["reason"] == "objection_upheld"
    for name, body in _public_surfaces(client, entry_id).items():
        assert CONTESTED not in body, name
    removal_page = client.get("/removals").get_data(as_text=True)
    assert "异议成立，列入信息已撤销" in removal_page and "信息已更正" not in removal_page


def test_granting_an_objection_needs_its_outcome(app, session):
    _case, sub, approver = _objection(session, app)
    with pytest.raises(SubmissionError) as missing:
        _decide(session, sub, approver, None)
    assert missing.value.code == "outcome_required"
    with pytest.raises(SubmissionError) as empty:
        _decide(session, sub, approver, ObjectionOutcome(facts="  "))
    assert empty.value.code == "outcome_required"


def test_a_revoked_decision_withdraws_the_entry_and_says_so(app, session, client):
    case = published_case(session, app, facts=CONTESTED)
    _indexed_with_contested_text(app, session)
    entry_id = _entry(session, case).public_id
    remove_published(session, case, RemovalReason.REVOKED, D(2026, 7, 1))
    session.commit()
    assert _entry(session, case) is None
    notice = session.execute(sa.select(RemovalNotice)).scalar_one()
    assert notice.reason == "revoked" and notice.entry_public_id is None
    assert session.execute(sa.select(PublicationWithdrawal.reason)
                           .where(PublicationWithdrawal.public_id == entry_id)).scalar_one() == "revoked"
    page = client.get("/removals").get_data(as_text=True)
    assert "列入决定已撤销" in page
    for name, body in _public_surfaces(client, entry_id).items():
        assert CONTESTED not in body, name
