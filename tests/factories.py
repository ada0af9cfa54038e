"""Factories that build data through the services (they return callables)."""
from __future__ import annotations

import contextlib
import datetime as dt
import random
from itertools import count

import sqlalchemy as sa

from portal import clock
from portal.models import PersonRole, RelatedPerson, Role, StaffUser, Subject, SubjectKind
from portal.rules import identifiers
from portal.rules.profiles import load_profile
from portal.security import hash_password

_PASSWORD_HASH = hash_password("x")  # hashed once: full-cost Argon2 is slow by design
from portal.services import cases
from portal.services.calendar import load_calendar

_seq = count(1)


def make_staff(session, role: Role, username: str | None = None,
               jurisdictions: tuple[str, ...] | None = None) -> StaffUser:
    """A member of staff working for ``jurisdictions`` (default: every jurisdiction at the
    top of the tree, i.e. the one of a single-city portal)."""
    from portal.models import Jurisdiction, StaffJurisdiction

    user = StaffUser(username=username or f"{role.value}{next(_seq)}", display_name=role.value,
                     role=role, password_hash=_PASSWORD_HASH)
    session.add(user)
    session.flush()
    codes = jurisdictions if jurisdictions is not None else session.execute(
        sa.select(Jurisdiction.code).where(Jurisdiction.parent_code.is_(None))).scalars().all()
    session.add_all(StaffJurisdiction(staff_id=user.id, jurisdiction_code=code) for code in codes)
    session.flush()
    return user


def make_subject(session, kind: SubjectKind = SubjectKind.ORGANISATION, name: str | None = None,
                 rng: random.Random | None = None, unit_kind: str | None = None) -> Subject:
    rng = rng or random.Random(next(_seq))
    if kind is SubjectKind.ORGANISATION:
        uscc = identifiers.generate_uscc(rng)
        subject = Subject(kind=kind, name=name or f"佳木斯市测试{next(_seq)}建筑工程有限公司", uscc=uscc,
                          org_code=identifiers.org_code_from_uscc(uscc), unit_kind=unit_kind)
        rid = identifiers.generate_ric(rng, birth=dt.date(1975, 3, 9))
        subject.people.append(RelatedPerson(role=PersonRole.LEGAL_REPRESENTATIVE, name="王建国",
                                            id_number=rid))
    else:
        subject = Subject(kind=kind, name=name or "李秀英",
                          id_number=identifiers.generate_ric(rng, birth=dt.date(1958, 7, 1)))
    session.add(subject)
    session.flush()
    return subject


def enough(profile, ground: str) -> dict:
    """Figures that satisfy ``ground``'s threshold (``CaseInput`` keywords; empty: none needed)."""
    threshold = profile.ground(ground).threshold
    if threshold is None:
        return {}
    out = {}
    for limit in threshold.limits:
        value = limit.value if limit.inclusive else limit.value + 1
        out[limit.figure] = value if limit.figure == "amount" else int(value)
    return out


def published_case(session, app, *, profile_code: str = "jiamusi", ground: str | None = None,
                   decided_on: dt.date = dt.date(2026, 3, 16), subject: Subject | None = None,
                   kind: SubjectKind = SubjectKind.ORGANISATION, facts: str = "经查，该单位拒不改正。",
                   department: str = "", published_on: dt.date | None = None):
    """Run a case through the whole procedure up to publication (two different staff).

    ``department``: the deciding department (default: the profile's authority);
    ``published_on``: default two days after the decision.
    """
    profile = load_profile(profile_code)
    ground = ground or next(g.code for g in profile.grounds
                            if kind.value in g.subject_kinds and g.public)
    clerk = make_staff(session, Role.CLERK)
    approver = make_staff(session, Role.APPROVER)
    reviewer = make_staff(session, Role.REVIEWER)
    subject = subject or make_subject(session, kind)
    calendar = load_calendar(session)
    opened = decided_on - dt.timedelta(days=30)
    case = cases.open_case(session, clerk, profile, subject,
                           cases.CaseInput(ground=ground, facts=facts, document_no="佳人社失决〔2026〕1号",
                                           department=department, **enough(profile, ground)),
                           opened)
    cases.serve_pre_notice(session, clerk, case, profile, calendar, opened)
    cases.complete_review(session, reviewer, case, decided_on - dt.timedelta(days=1))
    cases.propose_listing(session, clerk, case)
    cases.approve_listing(session, approver, case, profile, calendar, decided_on)
    cases.publish_case(session, clerk, case, profile, app.config["PORTAL_LOOKUP_KEY"],
                       published_on or decided_on + dt.timedelta(days=2))
    return case


def red_list_entry(session, app, *, name: str | None = None, criteria: tuple[str, ...] = ("R1", "R4"),
                   admitted_on: dt.date = dt.date(2026, 1, 5), valid_until: dt.date | None = None,
                   removed_on: dt.date | None = None, profile_code: str | None = None):
    """A 守信红名单 unit written straight into the projection (any dates, for the public
    pages); the back office admits units through ``portal.services.redlist``."""
    from portal.models import RedListEntry
    from portal.security import public_id
    from portal.services import publication

    code = profile_code or app.config["PORTAL_PROFILE"]
    subject = make_subject(session, name=name)
    entry = RedListEntry(
        public_id=public_id(app.config["PORTAL_LOOKUP_KEY"], "G", f"{code}:{subject.uscc}"),
        profile=code, subject_id=subject.id, name=subject.name, code_display=subject.uscc,
        criteria=list(criteria), admitted_on=admitted_on, valid_until=valid_until, removed_on=removed_on,
    )
    session.add(entry)
    publication.bump_version(session)
    session.flush()
    return entry


def pre_noticed_case(session, *, served_on: dt.date = dt.date(2026, 9, 28), ground: str = "J1",
                     profile_code: str = "jiamusi", subject: Subject | None = None,
                     kind: SubjectKind = SubjectKind.ORGANISATION):
    """A case whose pre-notice was served on ``served_on``; returns ``(case, access_code)``."""
    profile = load_profile(profile_code)
    clerk = make_staff(session, Role.CLERK)
    subject = subject or make_subject(session, kind)
    case = cases.open_case(session, clerk, profile, subject,
                           cases.CaseInput(ground=ground, facts="经查，该单位未依法办理社会保险登记。",
                                           **enough(profile, ground)),
                           served_on - dt.timedelta(days=7))
    code = cases.serve_pre_notice(session, clerk, case, profile, load_calendar(session), served_on)
    return case, code


def listed_case(session, app, *, decided_on: dt.date = dt.date(2026, 3, 15), ground: str = "J1",
                profile_code: str = "jiamusi", subject: Subject | None = None,
                kind: SubjectKind = SubjectKind.ORGANISATION, publish: bool = True,
                prior_listings: int | None = None):
    """A case decided on ``decided_on`` (and published two days later unless ``publish=False``);
    returns ``(case, access_code)`` with the code printed on the decision letter.

    ``prior_listings=N`` first lists the same subject N times, years earlier, so the
    repeat-listing rule sees real earlier decisions."""
    profile = load_profile(profile_code)
    if prior_listings:
        subject = subject or make_subject(session, kind)
        for i in range(prior_listings):
            published_case(session, app, profile_code=profile_code, ground=ground, subject=subject,
                           kind=kind, decided_on=decided_on.replace(year=decided_on.year - 4 - i))
    clerk, reviewer = make_staff(session, Role.CLERK), make_staff(session, Role.REVIEWER)
    approver = make_staff(session, Role.APPROVER)
    subject = subject or make_subject(session, kind)
    calendar = load_calendar(session)
    opened = decided_on - dt.timedelta(days=30)
    case = cases.open_case(session, clerk, profile, subject,
                           cases.CaseInput(ground=ground, facts="经查，该单位拒不改正。",
                                           **enough(profile, ground)), opened)
    cases.serve_pre_notice(session, clerk, case, profile, calendar, opened)
    cases.complete_review(session, reviewer, case, decided_on - dt.timedelta(days=1))
    cases.propose_listing(session, clerk, case)
    code = cases.approve_listing(session, approver, case, profile, calendar, decided_on)
    if publish:
        cases.publish_case(session, clerk, case, profile, app.config["PORTAL_LOOKUP_KEY"],
                           decided_on + dt.timedelta(days=2))
    return case, code


#: Minimal files of each kind, recognisable by their content (uploads are typed by content).
EVIDENCE = {
    "pdf": b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n",
    "png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
           b"\x00\x00\x00\nIDATx\x9cc\x00\x01\x00\x00\x05\x00\x01\r\n-\xb4\x00\x00\x00\x00IEND\xaeB`\x82",
    "jpeg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9",
    "exe": b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48 + b"PE\x00\x00",
}


def ofd_bytes(with_root: bool = True) -> bytes:
    """An OFD container (a ZIP with OFD.xml at its root), or a plain ZIP without it; the same
    bytes every time (the members' times are fixed: a ZIP records them to two seconds, so two
    calls either side of a tick would differ)."""
    import io
    import zipfile

    def member(name: str) -> zipfile.ZipInfo:
        return zipfile.ZipInfo(name, date_time=(2026, 1, 5, 9, 0, 0))

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        if with_root:
            archive.writestr(member("OFD.xml"),
                             '<?xml version="1.0"?><ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016"/>')
        archive.writestr(member("Doc_0/Document.xml"), "<Document/>")
    return buffer.getvalue()


@contextlib.contextmanager
def count_queries(describe=None):
    """Collect the SQL statements the engine executes inside the block (read-path budgets);
    ``describe(statement, parameters)``, when given, makes each item collected."""
    from portal.extensions import db

    statements: list = []

    def record(conn, cursor, statement, parameters, *args):
        statements.append(describe(statement, parameters) if describe else statement)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)


def remove_published(session, case, reason, on, key: str = "test-lookup-key") -> None:
    """Remove a published case through the service, signed by a fresh approver."""
    approver = make_staff(session, Role.APPROVER)
    cases.remove_case(session, approver, case, load_profile(case.profile), key, reason, on)


def bureau_day(traveller, day: dt.date) -> None:
    """Move the frozen clock (time-machine's ``time_machine`` fixture) to ``day`` at the bureau.

    10:00 Beijing time, ticking: "today" is ``day`` for the bureau while the
    server's own UTC date is the same day (a test of the small hours sets the
    instant itself).
    """
    instant = dt.datetime.combine(day, dt.time(10), clock.zone()).astimezone(dt.UTC)
    traveller.move_to(instant, tick=True)     # UTC: the server's own zone is left alone
