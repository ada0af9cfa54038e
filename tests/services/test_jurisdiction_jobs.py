"""The daily job and the letter register on a portal of several bureaus.

A county bureau has a code of its own and the profile of its city (or of another): the daily
job ends each case's term and each removal notice's publication under the case's own profile,
whatever the portal was configured with; letters are numbered per bureau, and a bureau seeded
from a profile keeps exactly the numbers it always had.
"""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from portal.admin.letter_content import letter_context
from portal.models import Case, Letter, LetterKind, RemovalNotice, Role, SubjectKind
from portal.rules import terms
from portal.rules.profiles import load_profile
from portal.rules.workflow import CaseState
from portal.services import cases, jurisdictions, letters
from portal.services.calendar import load_calendar
from portal.worker import end_of_day
from tests.factories import enough, make_staff, make_subject

DECIDED = dt.date(2026, 3, 3)


def _county(session, code: str, profile: str, parent: str | None = None) -> None:
    admin = make_staff(session, Role.ADMIN)
    rules = load_profile(profile)
    jurisdictions.save(session, admin, code, {
        "name_zh": f"{code}区", "name_en": code.title(), "authority_zh": f"{code}区人力资源和社会保障局",
        "authority_en": f"{code.title()} District HRSS Bureau", "profile": rules.code,
        "parent_code": parent, "departments": [{"zh": f"{code}区社会保险稽核科", "en": "Audit Section"}],
        "contact_zh": f"{code}-12333", "contact_en": f"{code}-12333 (en)", "active": True})


def _listed(session, app, jurisdiction: str, profile_code: str, ground: str, *, portal_profile):
    """A case of ``jurisdiction`` taken to publication, every step handed ``portal_profile``."""
    own = load_profile(profile_code)
    bureau = (jurisdiction,)                     # its own staff decide it (谁认定、谁负责)
    clerk = make_staff(session, Role.CLERK, jurisdictions=bureau)
    reviewer = make_staff(session, Role.REVIEWER, jurisdictions=bureau)
    approver = make_staff(session, Role.APPROVER, jurisdictions=bureau)
    calendar = load_calendar(session)
    case = cases.open_case(session, clerk, portal_profile, make_subject(session, SubjectKind.ORGANISATION),
                           cases.CaseInput(ground=ground, facts="经查属实。", jurisdiction=jurisdiction,
                                           **enough(own, ground)), DECIDED - dt.timedelta(days=30))
    cases.serve_pre_notice(session, clerk, case, portal_profile, calendar, case.opened_on)
    cases.complete_review(session, reviewer, case, DECIDED - dt.timedelta(days=1))
    cases.propose_listing(session, clerk, case)
    cases.approve_listing(session, approver, case, portal_profile, calendar, DECIDED)
    cases.publish_case(session, clerk, case, portal_profile, app.config["PORTAL_LOOKUP_KEY"],
                       DECIDED + dt.timedelta(days=2))
    return case, clerk


def test_the_daily_job_ends_terms_and_publication_under_each_cases_own_profile(app, session):
    """Jiamusi (the configured profile) lists J2 for 3 years; a county under Chizhou's rules
    lists C1 for 1 year. The job removes the county's case the day its own term ends, and its
    notice at the end of its own profile's publication period; the Jiamusi case stays."""
    assert app.config["PORTAL_PROFILE"] == "jiamusi"
    _county(session, "guichi", "chizhou")
    jiamusi, chizhou = load_profile("jiamusi"), load_profile("chizhou")
    city, _ = _listed(session, app, "jiamusi", "jiamusi", "J2", portal_profile=jiamusi)
    county, _ = _listed(session, app, "guichi", "chizhou", "C1", portal_profile=jiamusi)
    session.commit()
    assert (county.profile, county.jurisdiction) == ("chizhou", "guichi")
    ends = terms.listing_term(chizhou, "C1", DECIDED).expires_on
    assert ends == county.leaves_list_on < city.leaves_list_on
    assert end_of_day(ends - dt.timedelta(days=1)) == ([], [])
    removed, _ended = end_of_day(ends)
    assert removed == [county.case_no]
    session.expire_all()
    assert session.get(Case, county.id).state is CaseState.REMOVED
    assert session.get(Case, city.id).state is CaseState.PUBLISHED
    notice = session.execute(sa.select(RemovalNotice)).scalar_one()
    assert (notice.profile, notice.jurisdiction) == ("chizhou", "guichi")
    last_day = terms.removal_publication_last_day(chizhou, ends)
    assert end_of_day(last_day)[1] == []
    kept = notice.entry_public_id           # the entry kept with the notice goes with it
    assert sorted(end_of_day(last_day + dt.timedelta(days=1))[1]) == sorted([notice.public_id, kept])
    session.expire_all()
    assert session.get(Case, city.id).state is CaseState.PUBLISHED


def test_letters_are_numbered_per_bureau_and_a_seeded_bureau_keeps_its_numbers(app, session):
    _county(session, "tangyuan", "jiamusi", parent="jiamusi")
    jiamusi = load_profile("jiamusi")
    city, clerk = _listed(session, app, "jiamusi", "jiamusi", "J1", portal_profile=jiamusi)
    county, county_clerk = _listed(session, app, "tangyuan", "jiamusi", "J1", portal_profile=jiamusi)
    other, _ = _listed(session, app, "jiamusi", "jiamusi", "J2", portal_profile=jiamusi)
    day = DECIDED + dt.timedelta(days=3)
    numbers = [letters.issue(session, c, case, jiamusi, LetterKind.LISTING_DECISION, day).letter_no
               for case, c in ((city, clerk), (county, county_clerk), (other, clerk))]
    assert numbers == ["JIA-LR-2026-00001", "JIA-TANGYUAN-LR-2026-00001", "JIA-LR-2026-00002"]
    rows = session.execute(sa.select(Letter.jurisdiction, Letter.seq).order_by(Letter.id)).all()
    assert [tuple(r) for r in rows] == [("jiamusi", 1), ("tangyuan", 1), ("jiamusi", 2)]
    letter = session.execute(sa.select(Letter).where(Letter.case_id == county.id)).scalar_one()
    with app.test_request_context():
        zh = letter_context(session, county, jiamusi, load_calendar(session),
                            LetterKind.LISTING_DECISION, letter, "zh_CN", None)
        en = letter_context(session, county, jiamusi, load_calendar(session),
                            LetterKind.LISTING_DECISION, letter, "en", None)
        mine = letter_context(session, city, jiamusi, load_calendar(session),
                              LetterKind.LISTING_DECISION, session.execute(
                                  sa.select(Letter).where(Letter.case_id == city.id)).scalar_one(),
                              "zh_CN", None)
    assert (zh["authority"], zh["department"], zh["contact"]) == (
        "tangyuan区人力资源和社会保障局", "tangyuan区社会保险稽核科", "tangyuan-12333")
    assert (en["authority"], en["department"], en["contact"]) == (
        "Tangyuan District HRSS Bureau", "Audit Section", "tangyuan-12333 (en)")
    assert (mine["authority"], mine["department"], mine["contact"]) == (
        jiamusi.authority.zh, jiamusi.authority.zh, app.config["PORTAL_DEPARTMENT_CONTACT"])
