"""Cities with different rules side by side on one database: every case follows its own.

Issue 12 item 2: every computation takes the case's own jurisdiction and profile, never a
global one. For every pair of city profiles the aspects in which their rules differ are read
from the profile data (:func:`aspects`, nothing written per pair). Both cities are seeded as
jurisdictions of one database; a case runs through the procedure in each, and every service
step is handed the *other* city's profile (what a portal-wide profile would hand it). Each
case's dates, windows, visibility, measures, letters, removal and report must follow its own
profile, and for every aspect where the two profiles differ the two cases must come out
differently.
"""
from __future__ import annotations

import datetime as dt
import itertools

import pytest
import sqlalchemy as sa

from portal.admin.letter_content import letter_context
from portal.models import LetterKind, PublishedEntry, Role, SubjectKind
from portal.rules import grades as grade_rules
from portal.rules import terms
from portal.rules.profiles import load_profile
from portal.rules.workflow import RemovalReason, SubmissionKind
from portal.services import cases, filing_windows, jurisdictions, letters, redlist, report_export
from portal.services import submissions as subs
from portal.services.calendar import load_calendar
from portal.services.report_format import report_format
from tests.factories import enough, make_staff, make_subject

CITIES = ("jiamusi", "chizhou", "shanghai", "fuzhou", "zhengzhou")
PAIRS = list(itertools.combinations(CITIES, 2))
CONTACTS = {"jiamusi": "0454-12333", "chizhou": "0566-12333", "shanghai": "021-12333",
            "fuzhou": "0591-12333", "zhengzhou": "0371-12333"}
OPENED, REVIEWED, DECIDED, PUBLISHED = (dt.date(2026, 2, 2), dt.date(2026, 3, 2),
                                        dt.date(2026, 3, 3), dt.date(2026, 3, 5))


def _period(p):
    return (p.amount, p.unit) if p is not None else None


def _shape(ground) -> tuple:
    """What a case on a ground gets, whatever the ground's code: class, term, remedies, publicity."""
    return ground.severity, _period(ground.term), ground.rectifiable, ground.public


def aspects(profile) -> dict:
    """The rule aspects the issue names, as comparable values of one profile."""
    repair = profile.repair
    return {
        "grounds": frozenset(g.code for g in profile.grounds),
        "terms": frozenset(_shape(g) for g in profile.grounds
                           if g.public and "organisation" in g.subject_kinds),
        "deadlines": tuple(sorted((n, _period(d)) for n, d in profile.deadlines.items())),
        "visibility": profile.publish_individuals,
        "measures": tuple(m.code for m in profile.measures_for("serious", "organisation")),
        "repair": (repair.allowed, repair.opens_after_rectification_window,
                   repair.stops_publication, repair.certificate, profile.national_overlay,
                   tuple(sorted((k, _period(v)) for k, v in repair.min_period.items()))),
        "red_list": tuple((c.code, c.text.zh) for c in grade_rules.red_list_criteria(profile)),
        "report": tuple(c.label.zh for c in report_format(profile).report_columns),
        "removal_notice_period": _period(profile.removal_notice_period),
    }


def differing(a, b) -> list[str]:
    mine, theirs = aspects(a), aspects(b)
    return sorted(k for k in mine if mine[k] != theirs[k])


def test_every_pair_of_city_profiles_differs_somewhere():
    """Every pair gets the side-by-side test below; Jiamusi and Chizhou differ in their terms."""
    found = {(a, b): differing(load_profile(a), load_profile(b)) for a, b in PAIRS}
    assert all(found.values()), found
    assert "terms" in found[("jiamusi", "chizhou")]


def _org_grounds(a, b):
    """A public unit ground in each profile, of different shapes wherever the shapes differ."""
    def usable(p):
        return [g for g in p.grounds if g.public and "organisation" in g.subject_kinds]
    mine, theirs = usable(a), usable(b)
    for x, y in itertools.product(mine, theirs):
        if _shape(x) != _shape(y):
            return x.code, y.code
    return mine[0].code, theirs[0].code


def _person_ground(p):
    return next((g.code for g in p.grounds if g.public and "person" in g.subject_kinds), None)


class City:
    """One jurisdiction's staff, and the procedure run with a rival profile as the argument."""

    def __init__(self, session, app, code, rival):
        self.session, self.app, self.code = session, app, code
        self.own, self.rival = load_profile(code), rival
        self.clerk, self.reviewer = make_staff(session, Role.CLERK), make_staff(session, Role.REVIEWER)
        self.approver = make_staff(session, Role.APPROVER)
        self.calendar = load_calendar(session)
        self.key = app.config["PORTAL_LOOKUP_KEY"]

    def listed(self, ground, kind=SubjectKind.ORGANISATION):
        s, rival = self.session, self.rival
        case = cases.open_case(s, self.clerk, rival, make_subject(s, kind), cases.CaseInput(
            ground=ground, facts="经查属实。", jurisdiction=self.code,
            **enough(self.own, ground)), OPENED)
        cases.serve_pre_notice(s, self.clerk, case, rival, self.calendar, OPENED)
        cases.complete_review(s, self.reviewer, case, REVIEWED)
        cases.propose_listing(s, self.clerk, case)
        cases.approve_listing(s, self.approver, case, rival, self.calendar, DECIDED)
        cases.publish_case(s, self.clerk, case, rival, self.key, PUBLISHED)
        return case

    def window(self, case, kind, today=PUBLISHED):
        return filing_windows.window(self.session, kind, case, self.rival, self.calendar, today)

    def entry(self, case):
        return self.session.execute(sa.select(PublishedEntry)
                                    .where(PublishedEntry.case_id == case.id)).scalar_one_or_none()


def _observe(city: City, case) -> dict:
    """What the portal computed for ``case``, checked against its own profile on the way."""
    own, cal, g = city.own, city.calendar, case.ground
    assert (case.profile, case.jurisdiction) == (own.code, city.code)
    term = terms.listing_term(own, g, DECIDED, case.prior_listings)
    assert case.leaves_list_on == term.expires_on
    assert case.defence_due_on == terms.deadline(own, "defence_window", OPENED, cal).due
    assert case.publish_due_on == terms.deadline(own, "publication", DECIDED, cal).due
    entry = city.entry(case)
    dates = terms.entry_dates(own, g, DECIDED, case.prior_listings, cal)
    assert entry.leaves_list_on == dates.leaves_list_on and entry.jurisdiction == city.code
    rect = city.window(case, SubmissionKind.RECTIFICATION)
    own_rect = terms.rectification_eligibility(own, g, DECIDED, case.prior_listings, PUBLISHED, cal)
    assert (rect.allowed, rect.closes_on) == (own_rect.allowed, own_rect.closes_on)
    repair = city.window(case, SubmissionKind.CREDIT_REPAIR)
    own_repair = terms.repair_eligibility(own, g, DECIDED, PUBLISHED, case.leaves_list_on,
                                          prior_listings=case.prior_listings, calendar=cal)
    assert repair.opens_on == own_repair.opens_on
    return {"severity": case.severity, "leaves": case.leaves_list_on, "rectify": rect.allowed,
            "visible": entry.visible, "repair_opens": repair.opens_on,
            "defence_window": case.defence_due_on, "publication": case.publish_due_on}


def _letter(city: City, case) -> dict:
    s = city.session
    letter = letters.issue(s, city.clerk, case, city.rival, LetterKind.LISTING_DECISION, PUBLISHED)
    assert letter.jurisdiction == city.code and letter.letter_no.startswith(
        f"{city.code.upper()[:3]}-LR-2026-")
    with city.app.test_request_context():
        values = letter_context(s, case, city.rival, city.calendar, LetterKind.LISTING_DECISION,
                                letter, "zh_CN", None)
    assert values["authority"] == city.own.authority.zh
    assert values["contact"] == CONTACTS[city.code]
    measures = tuple(m.code for m in values["measures"])
    assert measures == tuple(m.code for m in city.own.measures_for(case.severity, "organisation"))
    return {"measures": measures, "letter_no": letter.letter_no}


def _repair_removal(city: City, case, opens_on) -> dict:
    """Removed for credit repair on the first day its own rules allow (the removal guard)."""
    if opens_on is None:
        return {"repair": None}
    cases.remove_case(city.session, city.approver, case, city.rival, city.key,
                      RemovalReason.CREDIT_REPAIRED, opens_on, calendar=city.calendar)
    certificate = LetterKind.REPAIR_CERTIFICATE in letters.available_kinds(case, city.rival)
    assert certificate == city.own.repair.certificate
    assert city.entry(case) is None       # a repaired listing is no longer published
    return {"repair": (opens_on - DECIDED, certificate)}


def _complaint(city: City) -> dt.date:
    receipt = subs.file(city.session, city.rival, city.calendar, subs.Filing(
        kind=SubmissionKind.COMPLAINT, body="未缴纳社会保险。", reported_name="某公司",
        category="arrears", filer_name="张三", filer_contact="13800000000",
        jurisdiction=city.code), PUBLISHED)
    assert receipt.submission.jurisdiction == city.code
    due = terms.deadline(city.own, "complaint_decision", PUBLISHED, city.calendar).due
    assert receipt.submission.due_on == due
    return due


def _red_list(city: City, offered: set[str]) -> tuple:
    subject = make_subject(city.session)
    try:
        proposal = redlist.propose(city.session, city.clerk, city.rival, subject, "employer",
                                   sorted(offered), "材料齐全。", PUBLISHED, jurisdiction=city.code)
    except redlist.RedListError as error:
        return ("refused", error.code)
    own = {c.code for c in grade_rules.red_list_criteria(city.own)}
    assert set(proposal.criteria) <= own and proposal.jurisdiction == city.code
    return tuple(sorted(proposal.criteria)), tuple(
        c.text.zh for c in grade_rules.red_list_criteria(city.own))


def _report(city: City) -> tuple:
    period = report_export.ReportPeriod(2026, 3, "monthly")
    header, rows = report_export.report_table(city.session, city.rival, period,
                                              jurisdiction=city.code)
    assert tuple(header) == tuple(c.label.zh for c in report_format(city.own).report_columns)
    return tuple(header)


@pytest.mark.parametrize("first,second", PAIRS, ids=[f"{a}-{b}" for a, b in PAIRS])
def test_two_cities_on_one_database_each_follow_their_own_rules(app, session, first, second):
    a, b = load_profile(first), load_profile(second)
    for code in (first, second):
        jurisdictions.ensure_seeded(session, code, CONTACTS[code])
    one, two = City(session, app, first, b), City(session, app, second, a)
    g1, g2 = _org_grounds(a, b)
    seen = {}
    for city, ground in ((one, g1), (two, g2)):
        case = city.listed(ground)
        obs = _observe(city, case)
        obs.update(_letter(city, case))
        person = _person_ground(city.own)
        obs["person_visible"] = (city.entry(city.listed(person, SubjectKind.PERSON)).visible
                                 if person else None)
        if person:
            assert obs["person_visible"] == city.own.publish_individuals
        obs["complaint"] = _complaint(city)
        offered = {c.code for p in (a, b) for c in grade_rules.red_list_criteria(p)}
        obs["red_list"] = _red_list(city, offered)
        obs["report"] = _report(city)
        obs.update(_repair_removal(city, case, obs["repair_opens"]))
        seen[city.code] = obs
    o1, o2 = seen[first], seen[second]
    assert o1["letter_no"] != o2["letter_no"]
    diff = differing(a, b)
    assert diff
    if "grounds" in diff and g1 not in {g.code for g in b.grounds}:
        with pytest.raises(KeyError):        # the other city's ground is no ground here
            cases.open_case(session, two.clerk, a, make_subject(session), cases.CaseInput(
                ground=g1, facts="x", jurisdiction=second, **enough(a, g1)), OPENED)
    observable = {
        "terms": ("severity", "leaves", "rectify", "visible"),
        "deadlines": ("defence_window", "publication", "complaint"),
        "visibility": ("person_visible",),
        "measures": ("measures",),
        "repair": ("repair", "repair_opens"),
        "red_list": ("red_list",),
        "report": ("report",),
    }
    for aspect in diff:
        keys = observable.get(aspect)
        if keys is None:
            continue
        assert tuple(o1[k] for k in keys) != tuple(o2[k] for k in keys), (aspect, o1, o2)
