"""The publication history answers "was this code listed on day D?": written with the
projection, kept after the entry and its removal notice stop being published."""
import datetime as dt
import importlib

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import (
    PublicationHistory,
    PublicationWithdrawal,
    PublishedEntry,
    RemovalNotice,
    Role,
    SubjectKind,
)
from portal.rules.point_in_time import Verdict
from portal.rules.profiles import load_profile
from portal.rules.workflow import RemovalReason, SubmissionKind
from portal.security import lookup_hash
from portal.services import publication, submissions
from portal.services.calendar import load_calendar
from portal.services.publication_history import listed_on
from portal.services.submissions import Filing, ObjectionOutcome
from tests.factories import make_staff, make_subject, published_case, remove_published

D = dt.date
TODAY = D(2026, 12, 6)
DECIDED, PUBLISHED = D(2026, 3, 16), D(2026, 3, 18)
KEY = "test-lookup-key"
FIRST = D(2025, 6, 2)


@pytest.fixture
def records(app, session):
    """Another unit's listing: the portal's records begin on its listing day."""
    return published_case(session, app, decided_on=FIRST)


def _ask(app, session, subject, day, today=TODAY, jurisdictions=None):
    code_hash = lookup_hash(app.config["PORTAL_LOOKUP_KEY"], subject.primary_code)
    return listed_on(session, code_hash, day, jurisdictions, today=today)


def _history(session, case) -> PublicationHistory:
    return session.execute(sa.select(PublicationHistory)
                           .where(PublicationHistory.case_id == case.id)).scalar_one()


def test_listed_then_rectified_answers_each_day(app, session, records):
    case = published_case(session, app, ground="J1", decided_on=DECIDED, published_on=PUBLISHED)
    row = _history(session, case)
    entry = session.execute(sa.select(PublishedEntry).where(PublishedEntry.case_id == case.id)).scalar_one()
    assert (row.public_id, row.code_hash, row.listed_from, row.published_on, row.listed_until) == \
        (entry.public_id, entry.code_hash, DECIDED, PUBLISHED, None)
    remove_published(session, case, RemovalReason.RECTIFIED, D(2026, 5, 20), KEY)
    session.commit()
    ask = lambda day: _ask(app, session, case.subject, day)

    assert ask(D(2026, 3, 15)).verdict is Verdict.NOT_LISTED
    during = ask(D(2026, 4, 1))
    assert during.verdict is Verdict.LISTED
    (listing,) = during.listings
    assert (listing.listed_from, listing.published_on, listing.listed_until, listing.removal_reason,
            listing.ground_code, listing.shows_ground, listing.entry_public) == \
        (DECIDED, PUBLISHED, D(2026, 5, 20), "rectified", "J1", True, True)
    assert ask(D(2026, 5, 19)).listed
    after = ask(D(2026, 5, 20))
    assert after.verdict is Verdict.REMOVED and after.listing.listed_until == D(2026, 5, 20)
    assert ask(FIRST).verdict is Verdict.NOT_LISTED
    assert ask(FIRST - dt.timedelta(days=1)).verdict is Verdict.BEFORE_RECORDS
    assert ask(D(2020, 1, 1)).records_begin == FIRST
    assert ask(TODAY + dt.timedelta(days=1)).verdict is Verdict.FUTURE


def test_the_history_outlives_the_publication_of_the_entry_and_the_notice(app, session):
    case = published_case(session, app, ground="J1", decided_on=DECIDED)
    remove_published(session, case, RemovalReason.RECTIFIED, D(2026, 5, 20), KEY)
    session.commit()
    ended = publication.end_expired_publication(session, load_profile, D(2026, 8, 21))
    session.commit()
    assert len(ended) == 2
    assert session.scalar(sa.select(sa.func.count(PublishedEntry.id))) == 0
    assert session.scalar(sa.select(sa.func.count(RemovalNotice.id))) == 0
    row = _history(session, case)
    assert row.unpublished_on == D(2026, 8, 21) and row.listed_until == D(2026, 5, 20)
    during = _ask(app, session, case.subject, D(2026, 4, 1))
    assert during.listed and during.listing.entry_public is False   # no page to link to
    assert _ask(app, session, case.subject, D(2026, 9, 1)).verdict is Verdict.REMOVED


OBJECTION_DECIDED = D(2026, 6, 4)


def _objection(session, app, case, outcome, on=OBJECTION_DECIDED):
    profile, calendar = load_profile("jiamusi"), load_calendar(session)
    filing = Filing(kind=SubmissionKind.OBJECTION, body="认定金额有误", case=case, filer_name="王建国",
                    filer_contact="0454-8888888", category="facts")
    sub = submissions.file(session, profile, calendar, filing, D(2026, 6, 1)).submission
    approver = make_staff(session, Role.APPROVER)
    submissions.accept_for_review(session, approver, sub, profile, calendar, D(2026, 6, 1))
    submissions.decide(session, approver, sub, True, "经核查，异议成立。", profile, calendar, KEY, on,
                       outcome=outcome)
    session.commit()


def test_an_objection_that_defeats_the_listing_answers_withdrawn_never_listed(app, session, records):
    case = published_case(session, app, decided_on=DECIDED, published_on=PUBLISHED)
    _objection(session, app, case, ObjectionOutcome(listing_fell=True))
    row = _history(session, case)
    assert (row.listed_until, row.removal_reason, row.unpublished_on) == \
        (D(2026, 6, 4), "objection_upheld", D(2026, 6, 4))
    shown = _ask(app, session, case.subject, D(2026, 5, 1))
    assert shown.verdict is Verdict.WITHDRAWN and not shown.listed
    assert shown.listing.published_over(D(2026, 5, 1)) and not shown.listing.shows_ground
    assert _ask(app, session, case.subject, D(2026, 7, 1)).verdict is Verdict.WITHDRAWN
    assert _ask(app, session, case.subject, D(2026, 3, 1)).verdict is Verdict.NOT_LISTED


def test_a_corrected_entry_stays_listed_with_its_correction_day(app, session):
    case = published_case(session, app, decided_on=DECIDED, published_on=PUBLISHED)
    _objection(session, app, case, ObjectionOutcome(facts="经复查，该单位拖欠社会保险费人民币伍万元。"))
    assert _history(session, case).corrected_on == ["2026-06-04"]
    answer = _ask(app, session, case.subject, D(2026, 7, 1))
    assert answer.listed and answer.listing.corrected_on == (D(2026, 6, 4),)
    assert answer.listing.published_on == PUBLISHED and answer.listing.listed_until is None
    assert answer.listing.corrections_by(D(2026, 6, 3)) == ()


def test_a_credit_repair_ends_publication_but_not_the_answer(app, session):
    case = published_case(session, app, ground="J1", decided_on=DECIDED)
    remove_published(session, case, RemovalReason.CREDIT_REPAIRED, D(2026, 9, 1), KEY)
    session.commit()
    assert session.scalar(sa.select(sa.func.count(PublishedEntry.id))) == 0
    assert _history(session, case).unpublished_on == D(2026, 9, 1)
    during = _ask(app, session, case.subject, D(2026, 8, 1))
    assert during.listed and not during.listing.shows_ground and not during.listing.entry_public
    assert _ask(app, session, case.subject, D(2026, 9, 1)).verdict is Verdict.REMOVED


def test_a_person_a_profile_does_not_publish_is_answered_as_check_answers(app, session):
    person = make_subject(session, SubjectKind.PERSON, name="钱冒领")
    case = published_case(session, app, profile_code="zhengzhou", kind=SubjectKind.PERSON,
                          subject=person, ground="ZP3", decided_on=DECIDED)
    session.commit()
    row = _history(session, case)
    assert row.visible is False and row.subject_kind == "person"
    answer = _ask(app, session, person, D(2026, 4, 1))
    assert answer.listed and answer.listing.visible is False and answer.listing.entry_public is False


def test_a_unit_on_a_listing_check_does_not_show_is_not_answered(app, session, records):
    case = published_case(session, app, decided_on=DECIDED)
    _history(session, case).visible = False     # as a ground a profile does not publish
    session.commit()
    assert _ask(app, session, case.subject, D(2026, 4, 1)).verdict is Verdict.NEVER


def test_the_answer_follows_the_jurisdictions_asked(app, session):
    case = published_case(session, app, decided_on=DECIDED)
    session.commit()
    assert _ask(app, session, case.subject, D(2026, 4, 1), jurisdictions={case.jurisdiction}).listed
    other = _ask(app, session, case.subject, D(2026, 4, 1), jurisdictions={"elsewhere"})
    assert other.verdict is Verdict.NEVER and other.records_begin is None


def test_the_migration_backfills_the_history_from_the_projection_and_the_cases(app, session):
    """Every published case gets its row: from the entry, from the notice of a withdrawn entry,
    from the case itself once both were withdrawn; a second run writes nothing."""
    migration = importlib.import_module("migrations.versions.6b1e9d0c4f27_publication_history")
    key = app.config["PORTAL_LOOKUP_KEY"]
    listed = published_case(session, app, decided_on=DECIDED)
    repaired = published_case(session, app, ground="J1", decided_on=DECIDED)
    remove_published(session, repaired, RemovalReason.CREDIT_REPAIRED, D(2026, 9, 1), key)
    ended = published_case(session, app, ground="J1", decided_on=D(2026, 2, 2))
    remove_published(session, ended, RemovalReason.RECTIFIED, D(2026, 3, 2), key)
    publication.end_expired_publication(session, load_profile, D(2026, 7, 1))
    person = published_case(session, app, profile_code="zhengzhou", kind=SubjectKind.PERSON,
                            ground="ZP3", decided_on=DECIDED)
    session.commit()
    assert session.execute(sa.select(PublicationWithdrawal.public_id)).all()
    columns = ("case_id", "public_id", "profile", "jurisdiction", "code_hash", "subject_kind",
               "visible", "ground_code", "listed_from", "published_on", "listed_until",
               "removal_reason", "corrected_on", "unpublished_on")
    kept = lambda: {tuple(str(getattr(r, c)) for c in columns)
                    for r in session.execute(sa.select(PublicationHistory)).scalars()}
    before = kept()
    assert len(before) == 4
    session.execute(sa.delete(PublicationHistory))
    session.commit()
    now = dt.datetime(2026, 12, 6, tzinfo=dt.UTC)
    with db.engine.begin() as conn:
        assert migration.backfill(conn, key, now) == 4
        assert migration.backfill(conn, key, now) == 0
    session.expire_all()
    assert kept() == before
    for case in (listed, repaired, ended, person):
        assert _ask(app, session, case.subject, D(2026, 2, 20)).verdict is not Verdict.NEVER
    session.execute(sa.delete(PublicationHistory))
    session.commit()
    with db.engine.begin() as conn:       # without the key: the listings whose entry is still kept
        assert migration.backfill(conn, None, now) == 2
