"""Factories that build data through the services (they return callables)."""
from __future__ import annotations

import datetime as dt
import random
from itertools import count

from portal.models import PersonRole, RelatedPerson, Role, StaffUser, Subject, SubjectKind
from portal.rules import identifiers
from portal.rules.profiles import load_profile
from portal.security import hash_password

_PASSWORD_HASH = hash_password("x")  # hashed once: full-cost Argon2 is slow by design
from portal.services import cases
from portal.services.calendar import load_calendar

_seq = count(1)


def make_staff(session, role: Role, username: str | None = None) -> StaffUser:
    user = StaffUser(username=username or f"{role.value}{next(_seq)}", display_name=role.value,
                     role=role, password_hash=_PASSWORD_HASH)
    session.add(user)
    session.flush()
    return user


def make_subject(session, kind: SubjectKind = SubjectKind.ORGANISATION, name: str | None = None,
                 rng: random.Random | None = None) -> Subject:
    rng = rng or random.Random(next(_seq))
    if kind is SubjectKind.ORGANISATION:
        uscc = identifiers.generate_uscc(rng)
        subject = Subject(kind=kind, name=name or f"佳木斯市测试{next(_seq)}建筑工程有限公司", uscc=uscc,
                          org_code=identifiers.org_code_from_uscc(uscc))
        rid = identifiers.generate_ric(rng, birth=dt.date(1975, 3, 9))
        subject.people.append(RelatedPerson(role=PersonRole.LEGAL_REPRESENTATIVE, name="王建国",
                                            id_number=rid))
    else:
        subject = Subject(kind=kind, name=name or "李秀英",
                          id_number=identifiers.generate_ric(rng, birth=dt.date(1958, 7, 1)))
    session.add(subject)
    session.flush()
    return subject


def published_case(session, app, *, profile_code: str = "jiamusi", ground: str | None = None,
                   decided_on: dt.date = dt.date(2026, 3, 16), subject: Subject | None = None,
                   kind: SubjectKind = SubjectKind.ORGANISATION, facts: str = "经查，该单位拒不改正。"):
    """Run a case through the whole procedure up to publication (two different staff)."""
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
                           cases.CaseInput(ground=ground, facts=facts, document_no="佳人社失决〔2026〕1号"),
                           opened)
    cases.serve_pre_notice(session, clerk, case, profile, calendar, opened)
    cases.complete_review(session, reviewer, case, decided_on - dt.timedelta(days=1))
    cases.propose_listing(session, clerk, case)
    cases.approve_listing(session, approver, case, profile, calendar, decided_on)
    cases.publish_case(session, clerk, case, profile, app.config["PORTAL_LOOKUP_KEY"],
                       decided_on + dt.timedelta(days=2))
    return case
