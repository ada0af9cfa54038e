"""Which bureau a party page speaks for: the case's, the filing's, or the one a report is for.

A party's pages show the rules, the authority and the contact of its own case's jurisdiction;
a complaint (no case) is addressed to a jurisdiction the filer chooses when the portal serves
several (none is shown when it serves one). Read once per request.
"""
from __future__ import annotations

from flask import request

from portal.extensions import db
from portal.models import Case, Submission
from portal.public_scope import contact_line
from portal.rules.profiles import Profile
from portal.services import jurisdictions, rules_of
from portal.services.jurisdictions import Directory, Info
from portal.web import active_profile


def directory() -> Directory:
    """Read once per request (kept with the request: an application context may outlive it)."""
    cached = request.environ.get("portal.submit.directory")
    if cached is None:
        cached = request.environ["portal.submit.directory"] = jurisdictions.directory(db.session)
    return cached


def active() -> list[Info]:
    return directory().active


def several() -> bool:
    """More than one active jurisdiction: a report names the one it is for."""
    return not directory().single


def of_case(case: Case) -> Info | None:
    return directory().get(case.jurisdiction)


def of_submission(submission: Submission) -> Info | None:
    return directory().get(submission.jurisdiction)


def chosen(value: str | None = None) -> Info | None:
    """The jurisdiction a visitor picked (``value``, else ``?jurisdiction=``) among the active
    ones; else the first active one (the only one of a single-city portal)."""
    items = active()
    wanted = value if value is not None else request.values.get("jurisdiction")
    for item in items:
        if item.code == wanted:
            return item
    return items[0] if items else None


def profile_of(info: Info | None) -> Profile:
    """The rules of ``info`` (a portal without any jurisdiction yet: its configured profile)."""
    return info.rules if info is not None else active_profile()


def case_profile(case: Case) -> Profile:
    return rules_of.case(case)


def submission_profile(submission: Submission) -> Profile:
    return rules_of.submission(db.session, submission)


def contact(case: Case | None, info: Info | None, locale) -> str:
    """The telephone a party is told to call: the case's department's, else its bureau's."""
    return contact_line(case.department_contact if case is not None else "", info, locale)
