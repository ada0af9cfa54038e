"""The demo city (``seed_city``) and the benchmark data set (``seed_bulk``).

The demo city is seeded once per module into SQLite (it goes through the
services: ~10 s); the tests then read it.  Every other profile is seeded by
a parametrised test (marked slow: about a minute in total).
"""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher

from portal import create_app
from portal.config import testing as settings_for_tests
from portal.demo.bulk import seed_bulk
from portal.demo.city import DEMO_TODAY
from portal.demo.seed import seed_city
from portal.extensions import db
from portal.models import (
    AuditEvent,
    Case,
    OutboxEvent,
    PublicationHistory,
    PublishedEntry,
    RedListEntry,
    RelatedPerson,
    RemovalNotice,
    Role,
    StaffUser,
    Subject,
    SubjectKind,
    Submission,
)
from portal.rules import identifiers, terms
from portal.rules.profiles import available_profiles, load_profile
from portal.rules.workflow import (
    OPEN_SUBMISSION_STATES,
    CaseState,
    RemovalReason,
    SubmissionKind,
    SubmissionState,
)
from portal.security import lookup_hash
from portal.services import audit, publication
from tests import demo_cache

RIC_LIKE = re.compile(r"[0-9]{17}[0-9Xx]")


def make_app(path, profile: str = "jiamusi"):
    config = settings_for_tests("sqlite:///" + str(path / "t.db"), path)
    config["PORTAL_PROFILE"] = profile
    app = create_app(config)
    with app.app_context():
        db.create_all()
    return app


def seeded(path, profile: str = "jiamusi", *, fresh: bool = False):
    """An app on the demo city of ``profile``: seeded here (``fresh``), else a copy of the
    run's one seeding of that profile (tests/demo_cache.py)."""
    if not fresh:
        report = demo_cache.seeded_copy(path, profile, "t.db")
        return make_app(path, profile), report
    app = make_app(path, profile)
    with app.app_context():
        report = seed_city(db.session, app.config)
        db.session.commit()
    return app, report


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    app, report = seeded(tmp_path_factory.mktemp("city"))
    with app.app_context():
        yield db.session, report
        db.session.remove()


def scalar_count(session, model, *where) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


# ---------------------------------------------------------------- the list

def test_at_least_300_visible_entries_on_every_ground(city):
    session, report = city
    listed = (PublishedEntry.status == "listed") & PublishedEntry.visible.is_(True)
    assert scalar_count(session, PublishedEntry, listed) >= 300
    assert report["listed"] >= 300
    grounds = set(session.execute(sa.select(PublishedEntry.ground_code).where(listed)).scalars())
    assert grounds == {g.code for g in load_profile("jiamusi").grounds if g.public}
    kinds = set(session.execute(sa.select(PublishedEntry.subject_kind).where(listed)).scalars())
    assert kinds == {"organisation", "person"}


def test_entries_respect_the_subject_kinds_of_their_ground(city):
    session, _ = city
    profile = load_profile("jiamusi")
    for code, kind in session.execute(sa.select(PublishedEntry.ground_code, PublishedEntry.subject_kind)):
        assert kind in profile.ground(code).subject_kinds


def test_organisations_carry_valid_codes_and_a_legal_representative(city):
    session, _ = city
    orgs = session.execute(sa.select(Subject).where(Subject.kind == "organisation")).scalars().all()
    assert orgs
    for subject in orgs:
        identifiers.validate_uscc(subject.uscc)
        assert identifiers.validate_org_code(subject.org_code) == subject.uscc[8:17]
        if subject.reg_no:
            identifiers.validate_reg_no(subject.reg_no)
        rep = subject.legal_representative
        assert rep is not None and rep.name
        identifiers.validate_ric(rep.id_number, today=DEMO_TODAY)
    assert any(s.reg_no for s in orgs)
    assert scalar_count(session, RelatedPerson, RelatedPerson.role == "responsible") > 0
    persons = session.execute(sa.select(Subject).where(Subject.kind == "person")).scalars().all()
    for subject in persons:
        identifiers.validate_ric(subject.id_number, today=DEMO_TODAY)


def test_entries_carry_document_numbers_department_and_contact(city):
    session, _ = city
    entries = session.execute(sa.select(PublishedEntry)).scalars().all()
    authority = load_profile("jiamusi").authority.zh
    for entry in entries:
        assert re.fullmatch(r"佳人社失决〔20\d\d〕\d+号", entry.document_no)
        assert entry.department == authority
        assert re.fullmatch(r"0454-\d{7}", entry.department_contact)
        assert entry.facts and entry.reasons
    assert len({e.name for e in entries if e.subject_kind == "organisation"}) > 200


def test_amounts_in_the_facts_exceed_the_thresholds_of_the_ground(city):
    session, _ = city
    rows = session.execute(sa.select(Case.ground, Case.amount).where(Case.amount.is_not(None))).all()
    minimum = {"J2": 20_000, "J3": 10_000, "J4": 10_000, "J6": 100_000, "J7": 10_000}
    for ground, amount in rows:
        assert amount > minimum.get(ground, 0)


def test_repeat_listings_get_the_repeat_term(city):
    session, report = city
    profile = load_profile("jiamusi")
    repeats = session.execute(
        sa.select(PublishedEntry).where(PublishedEntry.repeat_listing.is_(True))).scalars().all()
    assert len(repeats) >= 5 and report["repeat_listings"] == len(repeats)
    for entry in repeats:
        term = terms.listing_term(profile, entry.ground_code, entry.listed_on, prior_listings=1)
        assert term.repeat or profile.ground(entry.ground_code).term.amount == 3
        assert entry.leaves_list_on == term.expires_on == entry.listed_on.replace(
            year=entry.listed_on.year + 3) + dt.timedelta(days=1)
        # the earlier listing (its entry may no longer be published after its period)
        subject_id = session.get(Case, entry.case_id).subject_id
        earlier = session.scalar(sa.select(sa.func.count()).select_from(Case).where(
            Case.subject_id == subject_id, Case.decided_on < entry.listed_on))
        assert earlier >= 1


def test_dates_follow_the_procedure(city):
    session, _ = city
    for case in session.execute(sa.select(Case).where(Case.published_on.is_not(None))).scalars():
        assert case.opened_on < case.pre_notice_served_on < case.defence_due_on < case.decided_on
        assert case.decided_on < case.published_on <= case.publish_due_on
        assert case.published_on <= case.shared_on <= case.share_due_on
        assert case.term_start == case.decided_on < case.leaves_list_on
        if case.state is CaseState.PUBLISHED:
            assert case.leaves_list_on > DEMO_TODAY >= case.published_on
        else:
            assert case.published_on < case.removed_on <= min(case.leaves_list_on, DEMO_TODAY)
    assert session.scalar(sa.select(sa.func.min(Case.decided_on))) >= DEMO_TODAY - dt.timedelta(days=4 * 365)


# ------------------------------------------------------------- removals

def test_every_removal_reason_at_least_five_times(city):
    session, report = city
    counts = dict(session.execute(
        sa.select(Case.removal_reason, sa.func.count()).where(Case.state == CaseState.REMOVED)
        .group_by(Case.removal_reason)).all())
    for reason in RemovalReason:
        assert counts.get(reason, 0) >= 5, reason
        assert report["removals"][reason.value] == counts[reason]


def test_removals_are_consistent_with_their_entries(city):
    session, report = city
    # the notices whose period ended on demo-today are withdrawn, as the worker does
    profile = load_profile("jiamusi")
    for notice in session.execute(sa.select(RemovalNotice)).scalars():
        assert DEMO_TODAY <= terms.removal_publication_last_day(profile, notice.removed_on)
    assert report["withdrawn"] > 0 and report["removal_notices"] > 0
    for notice in session.execute(sa.select(RemovalNotice)).scalars():
        case = session.get(Case, notice.case_id)
        assert case.state is CaseState.REMOVED and case.removed_on == notice.removed_on
        entry = session.execute(
            sa.select(PublishedEntry).where(PublishedEntry.case_id == case.id)).scalar_one_or_none()
        if notice.reason in {r.value for r in publication.WITHDRAWING_REASONS}:
            assert entry is None and notice.entry_public_id is None
        else:
            assert entry.status == "removed" and entry.public_id == notice.entry_public_id
        if notice.reason == RemovalReason.TERM_EXPIRED.value:
            assert notice.removed_on == case.leaves_list_on
        if notice.reason == RemovalReason.RECTIFIED.value:
            assert case.prior_listings == 0 and load_profile("jiamusi").ground(case.ground).rectifiable


# -------------------------------------------------------- the back office

def test_cases_wait_in_every_procedure_state(city):
    session, report = city
    for state in CaseState:
        assert scalar_count(session, Case, Case.state == state) >= 1, state
        assert report["cases"][state.value] >= 1
    for case in session.execute(sa.select(Case).where(Case.state == CaseState.PRE_NOTICED)).scalars():
        assert case.defence_due_on > DEMO_TODAY   # the window is still running
    for case in session.execute(sa.select(Case).where(Case.state == CaseState.DECIDED)).scalars():
        assert case.published_on is None and case.publish_due_on > DEMO_TODAY
    proposed = session.execute(sa.select(Case).where(Case.state == CaseState.PROPOSED)).scalars().all()
    approver = session.execute(sa.select(StaffUser).where(StaffUser.role == Role.APPROVER)).scalar_one()
    assert all(c.prepared_by_id != approver.id for c in proposed)


def test_four_eyes_on_every_decision(city):
    session, _ = city
    rows = session.execute(sa.select(Case.prepared_by_id, Case.approved_by_id)
                           .where(Case.decided_on.is_not(None))).all()
    assert rows and all(p and a and p != a for p, a in rows)


def test_pending_submissions_of_every_kind(city):
    session, report = city
    for kind in SubmissionKind:
        open_ = scalar_count(session, Submission, Submission.kind == kind,
                             Submission.state.in_(OPEN_SUBMISSION_STATES))
        assert open_ >= 1, kind
        assert report["submissions"][kind.value] >= open_
    for state in (SubmissionState.UNDER_REVIEW, SubmissionState.AWAITING_MATERIAL,
                  SubmissionState.GRANTED, SubmissionState.REJECTED):
        assert scalar_count(session, Submission, Submission.state == state) >= 1, state
    anonymous = session.execute(sa.select(Submission).where(Submission.anonymous.is_(True))).scalars().all()
    assert anonymous and all(s.filer_name is None and s.kind is SubmissionKind.COMPLAINT for s in anonymous)


def test_defences_are_filed_against_pre_noticed_cases_in_their_window(city):
    session, _ = city
    rows = session.execute(sa.select(Submission, Case).join(Case, Submission.case_id == Case.id)
                           .where(Submission.kind == SubmissionKind.DEFENCE)).all()
    assert rows
    for sub, case in rows:
        assert case.pre_notice_served_on <= sub.received_on <= case.defence_due_on


def test_objections_under_review_mark_their_entries(city):
    session, report = city
    marked = session.execute(sa.select(PublishedEntry).where(
        PublishedEntry.under_objection.is_(True))).scalars().all()
    assert marked and report["under_objection"] == len(marked)
    for entry in marked:
        assert entry.status == "listed"
        states = set(session.execute(sa.select(Submission.state).where(
            Submission.case_id == entry.case_id, Submission.kind == SubmissionKind.OBJECTION)).scalars())
        assert states & {SubmissionState.UNDER_REVIEW, SubmissionState.AWAITING_MATERIAL}


def test_open_rectifications_are_inside_their_window(city):
    session, _ = city
    profile = load_profile("jiamusi")
    rows = session.execute(sa.select(Submission, Case).join(Case, Submission.case_id == Case.id)
                           .where(Submission.kind == SubmissionKind.RECTIFICATION)).all()
    assert rows
    for sub, case in rows:
        eligibility = terms.rectification_eligibility(profile, case.ground, case.decided_on,
                                                      case.prior_listings, sub.received_on)
        assert eligibility.allowed, (case.case_no, eligibility.reason)


# ------------------------------------------------------ red list and staff

def test_red_list_units_with_audit_and_outbox(city):
    session, report = city
    units = session.execute(sa.select(RedListEntry)).scalars().all()
    assert len(units) >= 10 and report["red_list"] == len(units)
    codes = {c.code for c in load_profile("zhengzhou").red_list_criteria}
    for unit in units:
        assert unit.public_id.startswith("G") and set(unit.criteria) <= codes and unit.criteria
        assert unit.valid_until is None      # the rules give the red list no validity period
        identifiers.validate_uscc(unit.code_display)
    outbox = set(session.execute(sa.select(OutboxEvent.public_id).where(OutboxEvent.topic == "redlist")).scalars())
    assert outbox == {u.public_id for u in units}
    admitted = session.execute(sa.select(AuditEvent.data).where(
        AuditEvent.action == "redlist.admit")).scalars().all()
    assert {d["entry"] for d in admitted} == {u.public_id for u in units}
    proposed = session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "redlist.propose"))
    assert proposed == len(units)


def test_one_staff_user_per_role(city):
    session, report = city
    users = session.execute(sa.select(StaffUser)).scalars().all()
    assert sorted(u.role.value for u in users) == sorted(r.value for r in Role)
    assert report["staff"] == 4 and len(report["_logins"]) == 4
    hasher = PasswordHasher()
    for user in users:
        assert user.username == user.role.value
        assert hasher.verify(user.password_hash, f"demo-{user.username}-2026")
        assert user.totp_secret is None   # enrols an authenticator at first sign-in
        assert any(line.startswith(f"{user.username} / demo-{user.username}-2026") for line in report["_logins"])


def test_three_listed_parties_sign_in_with_documented_codes(city):
    """Anyone can try the party's side: three listed organisations open with the codes the
    README documents, set through the letter service (hashed, audited), each chosen for a
    filing that is open to it."""
    from portal.demo import parties
    from portal.demo.seed import demo_profile
    from portal.services import filing_windows, party_access
    from portal.services.calendar import load_calendar

    session, report = city
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert len(report["_parties"]) == 3
    calendar = load_calendar(session)
    profile = demo_profile({"PORTAL_PROFILE": "jiamusi"})
    for kind, code in parties.CODES.items():
        line = next(line for line in report["_parties"] if f"access code {code}" in line)
        case_no = re.search(r"case (\S+)", line).group(1)
        case = session.execute(sa.select(Case).where(Case.case_no == case_no)).scalar_one()
        assert case.state is CaseState.PUBLISHED and case.subject.kind is SubjectKind.ORGANISATION
        assert party_access.find_case_for_party(session, case_no, code, case.subject.uscc) is case
        assert f"USCC {case.subject.uscc}" in line
        assert code not in case.access_code_hash            # stored hashed
        windows = filing_windows.windows(session, case, profile, calendar, DEMO_TODAY)
        assert windows[kind].allowed and kind.value.replace("_", " ") in line
        assert code in readme and case_no in readme and case.subject.uscc in readme
    reissued = session.execute(sa.select(AuditEvent.entity_id).where(
        AuditEvent.action == "case.reissue_code")).scalars().all()
    assert len(reissued) == 3 and not any(c in str(reissued) for c in parties.CODES.values())
    assert parties.party_logins(session, calendar, DEMO_TODAY) == report["_parties"]


# ------------------------------------------------------------ privacy, audit

def _public_strings(session):
    for model in (PublishedEntry, RemovalNotice, RedListEntry):
        for row in session.execute(sa.select(model.__table__)).mappings():
            for value in row.values():
                if isinstance(value, str):
                    yield value
                elif isinstance(value, list):
                    yield from (v for v in value if isinstance(v, str))


def test_no_full_resident_id_number_in_the_projection(city):
    session, _ = city
    full = set(session.execute(sa.select(Subject.id_number).where(Subject.id_number.is_not(None))).scalars())
    full |= set(session.execute(sa.select(RelatedPerson.id_number)).scalars())
    assert full
    checked = 0
    for value in _public_strings(session):
        for candidate in RIC_LIKE.findall(value):
            with pytest.raises(identifiers.InvalidIdentifier):
                identifiers.validate_ric(candidate)
        assert identifiers.detect(value) != "ric"
        assert value not in full
        checked += 1
    assert checked > 1000
    persons = session.execute(sa.select(PublishedEntry, Subject).join(Case, Case.id == PublishedEntry.case_id)
                              .join(Subject, Subject.id == Case.subject_id)
                              .where(PublishedEntry.subject_kind == "person")).all()
    assert persons
    for entry, subject in persons:
        assert entry.code_display == identifiers.mask_ric(subject.id_number)
        assert entry.code_hash == lookup_hash("test-lookup-key", subject.id_number)


def test_the_audit_chain_verifies(city):
    session, report = city
    assert audit.verify(session) == []
    assert report["audit_events"] == scalar_count(session, AuditEvent) > 1000


def test_same_seed_same_city(city, tmp_path):
    session, report = city
    app, again = seeded(tmp_path, fresh=True)
    fields = (PublishedEntry.public_id, PublishedEntry.name, PublishedEntry.code_display,
              PublishedEntry.listed_on, PublishedEntry.facts)
    first = session.execute(sa.select(*fields).order_by(PublishedEntry.public_id)).all()
    with app.app_context():
        second = db.session.execute(sa.select(*fields).order_by(PublishedEntry.public_id)).all()
        subjects = db.session.execute(sa.select(Subject.name, Subject.uscc, Subject.id_number)
                                      .order_by(Subject.id)).all()
        db.session.remove()
    assert first == second
    assert subjects == session.execute(sa.select(Subject.name, Subject.uscc, Subject.id_number)
                                       .order_by(Subject.id)).all()
    assert {k: v for k, v in again.items() if k != "_logins"} == \
        {k: v for k, v in report.items() if k != "_logins"}


# ------------------------------------------------------------ every profile

@pytest.mark.slow
@pytest.mark.parametrize("profile", [p for p in available_profiles() if p != "jiamusi"])
def test_every_profile_seeds_a_city(profile, tmp_path):
    app, report = seeded(tmp_path, profile)
    rules = load_profile(profile)
    public = {g.code for g in rules.grounds if g.public}
    with app.app_context():
        session = db.session
        listed = (PublishedEntry.status == "listed") & PublishedEntry.visible.is_(True)
        assert scalar_count(session, PublishedEntry, listed) >= 300
        grounds = set(session.execute(sa.select(PublishedEntry.ground_code)).scalars())
        assert grounds == public                  # every public ground, and nothing else
        for reason in RemovalReason:
            expected = 5
            if reason is RemovalReason.RECTIFIED and not any(g.rectifiable for g in rules.grounds):
                expected = 0                      # the profile has no early rectification
            assert report["removals"][reason.value] >= expected, reason
        assert all(report["cases"][s.value] >= 1 for s in CaseState)
        assert report["red_list"] > 0 and report["staff"] == 4
        # graded conduct where the profile grades it (Zhengzhou), and nowhere else
        assert (report["graded_units"] > 0) == (rules.grading is not None and bool(rules.behaviours))
        assert audit.verify(session) == []
        db.session.remove()


# ----------------------------------------------------------------- bulk

def test_bulk_seed_writes_consistent_masked_entries(tmp_path):
    app = make_app(tmp_path)
    profile = load_profile("jiamusi")
    lines: list[str] = []
    with app.app_context():
        session = db.session
        report = seed_bulk(session, app.config, 2000, echo=lines.append)
        session.commit()
        listed = (PublishedEntry.status == "listed")
        assert scalar_count(session, PublishedEntry, listed) == 2000 == report["listed"]
        assert scalar_count(session, RemovalNotice) == 200 == report["removal_notices"]
        assert scalar_count(session, PublicationHistory) == scalar_count(session, Case) == 2200
        assert lines
        rows = session.execute(sa.select(PublishedEntry, Case, Subject)
                               .join(Case, Case.id == PublishedEntry.case_id)
                               .join(Subject, Subject.id == Case.subject_id)).all()
        assert len(rows) == report["entries"]
        for entry, case, subject in rows:
            term = terms.listing_term(profile, case.ground, case.decided_on)
            assert case.leaves_list_on == entry.leaves_list_on == term.expires_on
            assert case.opened_on < case.pre_notice_served_on < case.decided_on == entry.listed_on
            assert case.decided_on < case.published_on == entry.published_on <= case.publish_due_on
            assert case.published_on <= case.shared_on <= case.share_due_on
            assert entry.public_id.startswith("E")
            if entry.status == "listed":
                assert case.state is CaseState.PUBLISHED and case.leaves_list_on > DEMO_TODAY
            else:
                assert case.state is CaseState.REMOVED
                assert case.published_on < case.removed_on <= min(case.leaves_list_on, DEMO_TODAY)
            if subject.kind.value == "person":
                assert entry.code_display == identifiers.mask_ric(subject.id_number)
                assert subject.id_number not in entry.code_display
            else:
                assert entry.code_display == subject.uscc
                identifiers.validate_ric(session.execute(sa.select(RelatedPerson.id_number).where(
                    RelatedPerson.subject_id == subject.id)).scalar_one(), today=DEMO_TODAY)
                assert "*" in entry.legal_rep_id_masked
            assert entry.code_hash == lookup_hash("test-lookup-key", subject.primary_code)
        for value in _public_strings(session):
            assert not any(_valid_ric(c) for c in RIC_LIKE.findall(value))
        reasons = set(session.execute(sa.select(RemovalNotice.reason)).scalars())
        assert reasons == {r.value for r in RemovalReason}
        assert scalar_count(session, OutboxEvent) == 0
        assert session.execute(sa.select(AuditEvent.action)).scalars().all() == ["demo.bulk_seed"]
        assert audit.verify(session) == []
        db.session.remove()


def test_bulk_rows_read_back_alike_on_each_backend(app, tmp_path):
    """The bulk writer (COPY on PostgreSQL, the driver's executemany on SQLite) stores what the
    models read back — enums, JSON lists, dates, timestamps — the same seed gives the same rows on
    every back end, and ids handed out afterwards continue after the seeded ones."""
    import random

    def snapshot(session):
        entries = session.execute(sa.select(
            PublishedEntry.public_id, PublishedEntry.name, PublishedEntry.code_display,
            PublishedEntry.extra_codes, PublishedEntry.listed_on, PublishedEntry.dates_provisional,
            PublishedEntry.status, PublishedEntry.removal_reason, PublishedEntry.visible,
        ).order_by(PublishedEntry.id)).all()
        cases = session.execute(sa.select(
            Case.case_no, Case.state, Case.origin, Case.removal_reason, Case.decided_on,
            Case.leaves_list_on, Case.amount, Case.facts,
        ).order_by(Case.id)).all()
        notices = session.execute(sa.select(RemovalNotice.public_id, RemovalNotice.reason,
                                            RemovalNotice.entry_public_id).order_by(RemovalNotice.id)).all()
        history = session.execute(sa.select(
            PublicationHistory.public_id, PublicationHistory.listed_from,
            PublicationHistory.listed_until, PublicationHistory.removal_reason,
            PublicationHistory.corrected_on, PublicationHistory.visible,
        ).order_by(PublicationHistory.id)).all()
        return ([tuple(r) for r in entries], [tuple(r) for r in cases], [tuple(r) for r in notices],
                [tuple(r) for r in history])

    session = db.session
    seed_bulk(session, app.config, 300)
    session.commit()
    here = snapshot(session)
    removed = session.scalars(sa.select(Case).where(Case.state == CaseState.REMOVED).limit(1)).one()
    assert isinstance(removed.removal_reason, RemovalReason)
    assert removed.created_at is not None and removed.opened_on < removed.decided_on
    assert any(isinstance(codes, list) and codes for _, _, _, codes, *_ in here[0])
    seeded_ids = session.scalar(sa.select(sa.func.max(Subject.id)))
    subject = Subject(kind=SubjectKind.ORGANISATION, name="佳木斯测试商贸有限公司",
                      uscc=identifiers.generate_uscc(random.Random(1)))
    session.add(subject)
    session.flush()
    assert subject.id == seeded_ids + 1
    session.rollback()

    (tmp_path / "reference").mkdir()
    reference = make_app(tmp_path / "reference")
    with reference.app_context():
        seed_bulk(db.session, reference.config, 300)
        db.session.commit()
        assert snapshot(db.session) == here
        db.session.remove()


def _valid_ric(value: str) -> bool:
    try:
        identifiers.validate_ric(value)
    except identifiers.InvalidIdentifier:
        return False
    return True


def test_older_removals_were_reported_to_the_sharing_platform(city):
    from portal.demo.seed import RECENT_REMOVAL_DAYS
    from portal.services import sharing
    from portal.services.calendar import load_calendar

    session, _report = city
    removed = session.execute(sa.select(Case).where(Case.state == CaseState.REMOVED,
                                                    Case.shared_on.is_not(None))).scalars().all()
    assert removed and any(c.removal_shared_on for c in removed)
    for case in removed:
        if case.removal_shared_on is not None:
            assert case.removal_shared_on >= case.removed_on
    for item in sharing.pending(session, sharing.REMOVALS, load_calendar(session)):
        assert (DEMO_TODAY - item.case.removed_on).days <= RECENT_REMOVAL_DAYS


def test_the_province_demo_puts_every_city_under_its_own_rules(app, backend):
    """``seed-demo --province``: five cities and a county on one database, each case under its
    own jurisdiction and profile, each bureau's staff working for their own."""
    if backend != "postgresql":
        pytest.skip("on SQLite the province is seeded once for tests/web/test_province_demo.py")
    from portal.demo.province import CITIES, COUNTY, PLATFORM, seed_province
    from portal.models import Jurisdiction, StaffJurisdiction, StaffUser
    from portal.services import jurisdictions

    with app.app_context():
        report = seed_province(db.session, app.config, visible=6, county_listings=4, small=True)
        db.session.commit()
        directory = jurisdictions.directory(db.session)
        assert {j.code for j in directory.items} == {PLATFORM, *CITIES, COUNTY[0]}
        assert directory.below([PLATFORM]) == {j.code for j in directory.items}
        assert directory.get(COUNTY[0]).parent_code == "jiamusi"
        assert all(report[code] > 0 for code in (*CITIES, COUNTY[0]))
        pairs = set(db.session.execute(sa.select(Case.jurisdiction, Case.profile).distinct()))
        assert pairs == {(c, c) for c in CITIES} | {(COUNTY[0], "jiamusi")}
        entries = set(db.session.execute(
            sa.select(PublishedEntry.jurisdiction, PublishedEntry.profile).distinct()))
        assert entries <= pairs and len(entries) == len(pairs)
        members = dict(db.session.execute(
            sa.select(StaffUser.username, StaffJurisdiction.jurisdiction_code)
            .join(StaffJurisdiction, StaffJurisdiction.staff_id == StaffUser.id)).all())
        assert members["chizhou-clerk"] == "chizhou" and members["province-admin"] == PLATFORM
        assert members[f"{COUNTY[0]}-approver"] == COUNTY[0]
        assert db.session.get(Jurisdiction, "chizhou").contact_zh == "0566-12333"
        assert any(line.startswith("province-admin /") for line in report["_logins"])


def test_demo_logins_prints_the_parties_whose_documented_code_still_opens_their_case(app, session):
    """`make run` prints the demo parties with the filings open on the bureau's day; a code the
    bureau re-issued since is no longer printed."""
    import time_machine

    from portal.demo import parties
    from portal.models import LetterKind
    from portal.services import letters
    from tests.factories import listed_case, make_staff

    case, _code = listed_case(session, app, decided_on=dt.date(2026, 3, 16))
    clerk = make_staff(session, Role.CLERK)
    letters.reissue_code(session, clerk, case, LetterKind.LISTING_DECISION,
                         code=parties.CODES[SubmissionKind.OBJECTION])
    session.commit()
    with time_machine.travel(dt.datetime(2026, 4, 1, 10, tzinfo=dt.UTC), tick=False):
        output = app.test_cli_runner().invoke(args=["demo-logins"]).output
    line = next(line for line in output.splitlines() if case.case_no in line)
    assert "access code DEMA-DSPT-26" in line and f"USCC {case.subject.uscc}" in line
    assert "objection" in line and "/submit/party" in output
    letters.reissue_code(session, clerk, case, LetterKind.LISTING_DECISION)     # a new letter
    session.commit()
    assert case.case_no not in app.test_cli_runner().invoke(args=["demo-logins"]).output
