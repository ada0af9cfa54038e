"""Demo data: a believable city for the active profile, and a bulk data set.

``seed_city`` builds the demo city *through the services* — every listing is
opened, pre-noticed, reviewed, proposed, approved by a different person,
published, shared and (for some) removed by the same functions the back
office calls, so the public projection, the outbox and the hash-chained
audit log are exactly what real use would produce.  Dates are spread over
the three years before a fixed demo-today (:data:`portal.demo.city.DEMO_TODAY`), and the same
seed gives the same city: names, codes, case numbers and public ids.

``seed_bulk`` (in :mod:`portal.demo.bulk`) writes a large projection
directly with SQLAlchemy Core for benchmarks.

Both are called by ``flask --app wsgi seed-demo`` (``--count N`` for bulk);
they flush and leave the commit to the caller.
"""
from __future__ import annotations

import datetime as dt
import random
from collections.abc import Mapping

import sqlalchemy as sa
from sqlalchemy.orm import Session

from portal import security
from portal.demo import parties
from portal.demo.city import DEFAULT_SEED, DEMO_TODAY, CityPlan
from portal.demo.history import CityHistory
from portal.demo.names import NamePools
from portal.demo.places import Place, place_for
from portal.demo.procedure import Procedure, Staff
from portal.demo.subjects import SubjectFactory
from portal.models import (
    AuditEvent,
    Case,
    GradeFinding,
    PublicationWithdrawal,
    PublishedEntry,
    RedListEntry,
    RemovalNotice,
    Role,
    StaffJurisdiction,
    StaffUser,
    Submission,
)
from portal.rules import grades as grade_rules
from portal.rules.profiles import Profile, load_profile
from portal.rules.thresholds import least_figures
from portal.rules.workflow import (
    OPEN_SUBMISSION_STATES,
    CaseState,
    RemovalReason,
    SubmissionKind,
)
from portal.services import grades, jurisdictions, publication, redlist, sharing
from portal.services.calendar import load_calendar
from portal.services.cases import expire_terms

__all__ = ["demo_profile", "seed_city"]

#: (role, username, label) of the demo bureau's staff; password ``demo-<username>-2026``.
STAFF = (
    (Role.CLERK, "clerk", "经办"),
    (Role.REVIEWER, "reviewer", "复核"),
    (Role.APPROVER, "approver", "负责人"),
    (Role.ADMIN, "admin", "系统管理员"),
)

VISIBLE_TARGET = 310      # currently published, publicly visible entries
PER_REASON = 6            # early removals per reason (term expiry gives more)
REPEATS = 12              # subjects listed a second time
PER_QUEUE = 5             # cases per procedure state still in the back office
PER_KIND = 6              # open filings per kind
RED_LIST_UNITS = 20


def demo_profile(config: Mapping) -> Profile:
    return load_profile(config.get("PORTAL_PROFILE") or "jiamusi")


def create_staff(session: Session, pools: NamePools, rng: random.Random,
                 jurisdiction: str, prefix: str = "") -> tuple[Staff, list[str]]:
    """One account per role of ``jurisdiction``'s bureau, with an Argon2 password hash and no
    TOTP secret yet; user names ``<prefix><role>`` (the multi-city demo prefixes the city).

    Reviewers, approvers and admins must use a second factor; without a
    secret the back office walks them through enrolling an authenticator app
    at their first sign-in, so a demo user can actually log in.
    Existing accounts of the same username are kept as they are.
    """
    users, logins = {}, []
    for role, role_name, label in STAFF:
        username = f"{prefix}{role_name}"
        password = f"demo-{username}-2026"
        user = session.execute(
            sa.select(StaffUser).where(StaffUser.username == username)).scalar_one_or_none()
        if user is None:
            user = StaffUser(
                username=username, display_name=pools.person(rng), role=role,
                password_hash=security.hash_password(password), totp_secret=None,
            )
            session.add(user)
        users[role] = user
        logins.append(f"{username} / {password} ({label})")
    session.flush()
    for user in users.values():
        if session.get(StaffJurisdiction, (user.id, jurisdiction)) is None:
            session.add(StaffJurisdiction(staff_id=user.id, jurisdiction_code=jurisdiction))
    session.flush()
    staff = Staff(clerk=users[Role.CLERK], reviewer=users[Role.REVIEWER],
                  approver=users[Role.APPROVER], admin=users[Role.ADMIN])
    return staff, logins


def join_city(session: Session, staff: Staff, code: str) -> None:
    """The demo's staff work for the city (accounts that work nowhere yet)."""
    for user in (staff.clerk, staff.reviewer, staff.approver, staff.admin):
        if not jurisdictions.memberships(session, user):
            session.add(StaffJurisdiction(staff_id=user.id, jurisdiction_code=code))
    session.flush()


def department_contact(place: Place, rng: random.Random) -> str:
    digits = 8 if len(place.area_code) == 3 else 7
    first = rng.choice("2345678")
    return f"{place.area_code}-{first}{''.join(rng.choice('0123456789') for _ in range(digits - 1))}"


def seed_city(session: Session, config: Mapping, seed: int = DEFAULT_SEED,
              today: dt.date = DEMO_TODAY, profile: Profile | None = None,
              staff_prefix: str = "", visible: int = VISIBLE_TARGET, small: bool = False) -> dict:
    """Build the demo city for ``profile`` (default ``config["PORTAL_PROFILE"]``) in the
    jurisdiction of the same code (seeded when absent); returns a report (see module doc).
    ``small``: one of each kind of record instead of several (every ground, removal reason,
    back-office queue and filing kind is still there: the province's tests need no more)."""
    few = (lambda n: min(n, 1) if n < 10 else 2) if small else (lambda n: n)
    profile = profile or demo_profile(config)
    key = config["PORTAL_LOOKUP_KEY"]
    rng = random.Random(seed)
    place = place_for(profile)
    pools = NamePools(seed, place)
    calendar = load_calendar(session)
    bureau = jurisdictions.ensure_seeded(session, profile.code,
                                         config.get("PORTAL_DEPARTMENT_CONTACT", ""))
    staff, logins = create_staff(session, pools, rng, bureau.code, staff_prefix)
    contact = department_contact(place, rng)
    join_city(session, staff, jurisdictions.ensure_seeded(session, profile.code, contact).code)
    proc = Procedure(session, profile, calendar, key, staff, rng, today)
    factory = SubjectFactory(session, key, pools)
    history = CityHistory(session, proc, factory, pools, place, contact)
    plan = CityPlan(profile, rng, today, visible, few(PER_REASON), few(REPEATS),
                    per_ground=1 if small else 3).build()
    for item in plan:
        history.play(item)
    expire_terms(session, load_profile, key, today)
    # removal notices past the profile's period are no longer published, as the worker does
    publication.end_expired_publication(session, load_profile, today)
    report_removals(session, proc, staff, calendar, today)
    listed = [item.case for item in plan if item.case.state is CaseState.PUBLISHED]
    history.rejected_filings(listed, few(PER_KIND))
    confirmed = history.decided_complaints(few(PER_KIND))
    history.pending_filings(listed, few(PER_KIND))
    history.queues([g for g in profile.grounds if g.public], few(PER_QUEUE), confirmed)
    seed_red_list(session, profile, factory, rng, key, staff, today, few(RED_LIST_UNITS))
    seed_findings(session, profile, factory, rng, staff, today, few(GRADED_UNITS))
    parties.give_codes(session, staff.clerk, profile, calendar, today, bureau.code)
    session.flush()
    report = city_report(session, profile, logins)
    report["_parties"] = parties.party_logins(session, calendar, today)
    return report


# ------------------------------------------------------------------ sharing platform

#: Removals of the last days are still to be reported to the sharing platform.
RECENT_REMOVAL_DAYS = 10


def report_removals(session: Session, proc: Procedure, staff: Staff, calendar,
                    today: dt.date) -> int:
    """The bureau reported each older removal to the platform two working days after it."""
    done = 0
    for item in sharing.pending(session, sharing.REMOVALS, calendar):
        case = item.case
        if case.removed_on is None or (today - case.removed_on).days <= RECENT_REMOVAL_DAYS:
            continue
        on = min(proc.add_wd(case.removed_on, 2), today)
        done += sharing.mark_uploaded(session, staff.clerk, sharing.REMOVALS, [case], on)
    return done


# ------------------------------------------------------------------ credit grades

#: Units with findings of general and heavy conduct (Zhengzhou §四): graded, not listed.
GRADED_UNITS = 12
_FACTS = {"general": "经稽核，该单位存在所列失信行为，已责令限期改正。",
          "heavy": "经专项检查，该单位存在所列失信行为，情节较重。"}


def seed_findings(session: Session, profile: Profile, factory: SubjectFactory,
                  rng: random.Random, staff: Staff, today: dt.date, count: int) -> int:
    """Findings recorded by the clerk, where the profile grades conduct (Zhengzhou)."""
    if not grade_rules.grading_enabled(profile):
        return 0
    items = [i for i in grade_rules.catalogue(profile, "organisation")
             if i.grade in _FACTS]
    for n in range(count):
        flavour = "institution" if n % 3 == 0 else "company"
        fitting = [i for i in items
                   if (i.subject == "medical_institution") == (flavour == "institution")]
        item = rng.choice(fitting or items)
        subject = factory.organisation(rng, flavour)
        if flavour == "institution":
            subject.unit_kind = "medical_institution"
        session.flush()
        found_on = today - dt.timedelta(days=rng.randint(10, 300))
        figures = least_figures(item.threshold)      # arrears by years: the months they need
        grades.record_finding(session, staff.clerk, profile, subject, grades.FindingInput(
            code=item.code, found_on=found_on, facts=_FACTS[item.grade],
            document_no=f"{profile.name.zh[:1]}社保稽〔{found_on.year}〕{n + 1}号",
            amount=figures.amount, months=figures.months), found_on)
    return count


# ------------------------------------------------------------------ red list

def red_list_criteria(profile: Profile):
    """The profile's red-list criteria, or Zhengzhou's (§一: the only seed that defines one)."""
    return grade_rules.red_list_criteria(profile)


def seed_red_list(session: Session, profile: Profile, factory: SubjectFactory, rng: random.Random,
                  key: str, staff: Staff, today: dt.date, count: int) -> int:
    """守信红名单 units, proposed by the clerk and admitted by the approver through the service.

    A unit meets every criterion that applies to it (Zhengzhou §一 "须具备以下条件"); the
    medical-institution criterion applies only to hospitals and pharmacies.
    """
    if not red_list_criteria(profile):
        return 0
    for i in range(count):
        unit_type = "medical_institution" if i % 4 == 0 else "employer"
        subject = factory.organisation(rng, "institution" if i % 4 == 0 else "company")
        session.flush()  # the subject's id
        met = [c.code for c in grade_rules.applicable_criteria(profile, unit_type)]
        admitted = today - dt.timedelta(days=rng.randint(7, 330))
        proposal = redlist.propose(session, staff.clerk, profile, subject, unit_type, met,
                                   "年度社会保险缴费、稽核和投诉记录核查",
                                   admitted - dt.timedelta(days=5))
        redlist.admit(session, staff.approver, proposal, profile, key, admitted)
    session.flush()
    return count


# -------------------------------------------------------------------- report

def _counts(session: Session, column, *where) -> dict:
    rows = session.execute(sa.select(column, sa.func.count()).where(*where).group_by(column)).all()
    return {getattr(k, "value", k): n for k, n in rows}


def city_report(session: Session, profile: Profile, logins: list[str]) -> dict:
    count = lambda model, *where: session.scalar(
        sa.select(sa.func.count()).select_from(model).where(*where))
    # every removal of the city's history, published or (after its period) withdrawn
    removals = _counts(session, Case.removal_reason, Case.state == CaseState.REMOVED)
    cases = _counts(session, Case.state)
    kinds = _counts(session, Submission.kind)
    return {
        "profile": profile.code,
        "entries": count(PublishedEntry),
        "listed": count(PublishedEntry, PublishedEntry.status == "listed",
                        PublishedEntry.visible.is_(True)),
        "listed_hidden": count(PublishedEntry, PublishedEntry.status == "listed",
                               PublishedEntry.visible.is_(False)),
        "repeat_listings": count(PublishedEntry, PublishedEntry.repeat_listing.is_(True)),
        "under_objection": count(PublishedEntry, PublishedEntry.under_objection.is_(True)),
        "removal_notices": count(RemovalNotice),
        "withdrawn": count(PublicationWithdrawal),
        "removals": {r.value: removals.get(r.value, 0) for r in RemovalReason},
        "cases": {s.value: cases.get(s.value, 0) for s in CaseState},
        "submissions": {k.value: kinds.get(k.value, 0) for k in SubmissionKind},
        "submissions_open": count(Submission, Submission.state.in_(OPEN_SUBMISSION_STATES)),
        "red_list": count(RedListEntry),
        "graded_units": count(GradeFinding),
        "staff": count(StaffUser),
        "audit_events": count(AuditEvent),
        "_logins": logins,
    }
