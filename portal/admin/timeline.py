"""Every date of a case's procedure with its deadline and the rule that set it (cited in words)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask_babel import gettext as _

from portal.admin.queries import Due, due_of
from portal.models import Case
from portal.rules import terms
from portal.rules.calendar import (
    SOURCE_BUREAU,
    SOURCE_PROVISIONAL,
    SOURCE_STATE_COUNCIL,
    WorkCalendar,
)
from portal.rules.profiles import Profile
from portal.rules.profiles.citations import cite
from portal.rules.workflow import LISTED_STATES, CaseState


@dataclass(frozen=True)
class Step:
    label: str
    on: dt.date | None                 # the day it happened
    due: Due | None = None             # its deadline, if the law sets one
    period: str | None = None          # "7 working days"
    source: str | None = None          # the rule that sets the period, cited in words
    basis: str | None = None           # which calendar counted the working days
    stale: bool = False                # the stored due date differs from today's calendar
    met: bool | None = None            # done on or before its deadline
    last_day: dt.date | None = None    # last day of a range (the term's last day on the list)
    until: dt.date | None = None       # the day after the range (the subject leaves the list)


def basis_label(basis: str | None) -> str:
    """"state-council:2026+provisional:2027" → "State Council schedule 2026; provisional 2027"."""
    if not basis:
        return ""
    if basis == "case":
        return _("the case's defence window")
    if basis == "calendar":
        return _("calendar days")
    if basis.startswith("calendar+next-workday(") and basis.endswith(")"):
        inner = basis_label(basis[len("calendar+next-workday("):-1])
        return _("calendar days, moved to the next working day (%(basis)s)", basis=inner)
    names = {
        SOURCE_STATE_COUNCIL: _("State Council schedule %(year)s"),
        SOURCE_BUREAU: _("bureau schedule %(year)s"),
        SOURCE_PROVISIONAL: _("provisional %(year)s (statutory holidays only)"),
    }
    parts = []
    for part in basis.split("+"):
        source, _sep, year = part.partition(":")
        template = names.get(source)
        parts.append(template % {"year": year} if template else part)
    return "; ".join(parts)


def _deadline_step(label: str, case: Case, profile: Profile, calendar: WorkCalendar,
                   today: dt.date, locale: str, name: str, start: dt.date | None,
                   stored: dt.date | None, done: dt.date | None, running: bool) -> Step:
    period = profile.deadline(name)
    if start is None or stored is None:
        return Step(label, done, period=period.label().get(locale),
                    source=cite(profile, period.source).get(locale))
    fresh = terms.deadline(profile, name, start, calendar)
    due = due_of(stored, name, today, calendar, provisional=fresh.provisional) if running else \
        Due(stored, name, provisional=fresh.provisional)
    return Step(label, done, due, period.label().get(locale),
                cite(profile, period.source).get(locale), basis_label(fresh.basis),
                stale=fresh.due != stored, met=None if done is None else done <= stored)


def case_timeline(case: Case, profile: Profile, calendar: WorkCalendar, today: dt.date,
                  locale: str) -> list[Step]:
    C = CaseState
    steps = [Step(_("Case opened"), case.opened_on),
             Step(_("Pre-notice served"), case.pre_notice_served_on)]
    steps.append(_deadline_step(
        _("Statement and defence window ends"), case, profile, calendar, today, locale,
        "defence_window", case.pre_notice_served_on, case.defence_due_on, None,
        running=case.state is C.PRE_NOTICED))
    steps.append(Step(_("Listing decision signed"), case.decided_on))
    steps.append(_deadline_step(
        _("Publication on the portal"), case, profile, calendar, today, locale, "publication",
        case.decided_on, case.publish_due_on, case.published_on,
        running=case.state is C.DECIDED))
    steps.append(_deadline_step(
        _("Upload to the credit sharing platform"), case, profile, calendar, today, locale,
        "sharing", case.decided_on, case.share_due_on, case.shared_on,
        running=case.state in LISTED_STATES and case.shared_on is None))
    if case.decided_on and case.leaves_list_on:
        term = terms.listing_term(profile, case.ground, case.decided_on, case.prior_listings)
        steps.append(Step(_("Listing term"), case.term_start, period=term.period.label().get(locale),
                          source=cite(profile, term.source).get(locale), last_day=case.term_last_day,
                          until=case.leaves_list_on))
    if case.corrected_on:
        steps.append(Step(_("Facts corrected after an upheld objection"), case.corrected_on))
    if case.removed_on:
        steps.append(Step(_("Removed from the list"), case.removed_on))
    return steps
