"""Whose rules: the profile and the bureau a case, a filing or a jurisdiction code follows.

Several bureaus share one portal (issue 12), so no computation reads a portal-wide profile:
a case follows the profile it was opened under (``case.profile``, the profile of its
jurisdiction then), a filing its case's (a complaint, which has no case, the profile of the
jurisdiction it was addressed to), and a new case or complaint the profile of its
jurisdiction. The bureau (authority, contact, departments) is the jurisdiction's.

``given``: a profile the caller already holds (a view's, a test's variant of a profile). It is
used only when it *is* the record's own profile (same code); any other is ignored, so a caller
holding the wrong city's rules can never apply them to this record.
"""
from __future__ import annotations

from sqlalchemy.orm import Session

from portal.models import Case, Jurisdiction, Submission
from portal.rules.profiles import Profile, load_profile


def _own(code: str, given: Profile | None) -> Profile:
    if given is not None and given.code == code:
        return given
    return load_profile(code)


def own(row, given: Profile | None = None) -> Profile:
    """The profile a record that names one follows (a case, a finding, a proposal, a batch,
    a published row): the one it was made under."""
    return _own(row.profile, given)


def case(case: Case, given: Profile | None = None) -> Profile:
    """The profile ``case`` follows."""
    return _own(case.profile, given)


def jurisdiction_profile_code(session: Session, code: str | None) -> str | None:
    """The profile code of jurisdiction ``code`` (None: no such jurisdiction)."""
    if not code:
        return None
    row = session.get(Jurisdiction, code)
    return row.profile if row is not None else None


def jurisdiction(session: Session, code: str | None, given: Profile | None = None) -> Profile:
    """The profile of jurisdiction ``code`` (an unknown code: ``given``, else the profile
    of that code: the jurisdiction seeded from a profile has the profile's code)."""
    found = jurisdiction_profile_code(session, code)
    if found is None:
        if given is not None:
            return given
        return load_profile(code)
    return _own(found, given)


def submission(session: Session, submission: Submission, given: Profile | None = None) -> Profile:
    """The profile a filing follows: its case's, else its jurisdiction's."""
    if submission.case_id is not None:
        found = session.get(Case, submission.case_id)
        if found is not None:
            return case(found, given)
    return jurisdiction(session, submission.jurisdiction, given)


def bureau(session: Session, code: str | None) -> Jurisdiction | None:
    """The jurisdiction ``code`` (None: unknown)."""
    return session.get(Jurisdiction, code) if code else None


def default_department(row: Jurisdiction | None, profile: Profile) -> str:
    """The department a case is prepared by when none is named: the jurisdiction's first
    department, else its authority (a jurisdiction seeded from a profile: the profile's)."""
    if row is not None:
        for item in row.departments or []:
            if isinstance(item, dict) and item.get("zh"):
                return str(item["zh"])
        if row.authority_zh:
            return row.authority_zh
    return profile.authority.zh
