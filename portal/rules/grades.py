"""Credit grades and red-list eligibility as pure functions (Zhengzhou §一, §三, §四).

A *finding* (认定) says that a subject committed one behaviour of the
profile's catalogue on a given day. A subject's current grade is the worst
grade among its findings that still count: a finding counts from the day it
was made for the period the profile gives its grade
(``profile.grading.finding_periods``, "ends on the same date later", like a
listing term); withdrawn or annulled findings never count. No finding that
counts means no grade (no dishonest conduct on record).

Red list: every *applicable* criterion must be met (a criterion with
``subjects`` applies only to those units, e.g. Zhengzhou (五) to agreement
medical institutions and pharmacies), and a unit that is listed, has an open
listing case or a live finding cannot be admitted.

No Flask, no SQLAlchemy: dates and profile objects in, dates and tuples out.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Iterable, Protocol

from portal.rules.profiles import Criterion, Period, Profile, Text
from portal.rules.terms import add_period

#: From the mildest to the worst; a grade's rank decides "worst".
GRADE_ORDER: tuple[str, ...] = ("light", "general", "heavy", "serious")
#: Finding states: only LIVE findings can count.
LIVE, WITHDRAWN, ANNULLED = "live", "withdrawn", "annulled"
#: Unit types a red-list criterion or a behaviour can be about.
UNIT_TYPES: tuple[str, ...] = ("employer", "medical_institution")

_ONE_DAY = timedelta(days=1)


class FindingLike(Protocol):
    grade: str
    found_on: date
    status: str


@dataclass(frozen=True)
class CatalogueItem:
    """One behaviour that may be found against a subject of a kind."""

    code: str
    grade: str
    text: Text
    subject: str           # employer | medical_institution | person (the catalogue part)
    source: str
    units: frozenset = frozenset({"person"})   # kinds of unit (or "person") it applies to
    threshold: object = None                   # figures a finding must give (profiles.Threshold)


@dataclass(frozen=True)
class Standing:
    """A subject's grade on a day: the worst counting finding, and until when it decides."""

    grade: str | None
    counting: tuple            # the findings that count on that day, worst first
    until: date | None         # first day on which the deciding finding no longer counts


def rank(grade: str | None) -> int:
    return GRADE_ORDER.index(grade) + 1 if grade in GRADE_ORDER else 0


def _status(finding: FindingLike) -> str:
    return getattr(finding.status, "value", finding.status)


def grading_enabled(profile: Profile) -> bool:
    return profile.grading is not None and bool(profile.behaviours)


def catalogue(profile: Profile, subject_kind: str) -> tuple[CatalogueItem, ...]:
    """The behaviours that may be found against an ``organisation`` or a ``person``.

    Organisations: the catalogue's employer and medical-institution behaviours.
    Persons: the catalogue's person behaviours and the grounds for persons (the
    personal blacklist, Zhengzhou §二 ¶2), graded by their severity.
    """
    if subject_kind == "person":
        items = [CatalogueItem(b.code, b.grade, b.text, b.subject, b.source, b.units, b.threshold)
                 for b in profile.behaviours if b.subject == "person"]
        known = {i.code for i in items}
        items += [CatalogueItem(g.code, g.severity, g.text, "person", g.source)
                  for g in profile.grounds if "person" in g.subject_kinds and g.code not in known]
        return tuple(items)
    return tuple(CatalogueItem(b.code, b.grade, b.text, b.subject, b.source, b.units, b.threshold)
                 for b in profile.behaviours if b.subject != "person")


def catalogue_item(profile: Profile, subject_kind: str, code: str) -> CatalogueItem | None:
    return next((i for i in catalogue(profile, subject_kind) if i.code == code), None)


#: A unit whose kind was never recorded is an ordinary employer (用人单位).
DEFAULT_UNIT_KIND = "employer"


def unit_kind_of(subject_kind: str, unit_kind: str | None) -> str:
    """What a subject is for the catalogue: ``person``, or its kind of unit."""
    return "person" if subject_kind == "person" else (unit_kind or DEFAULT_UNIT_KIND)


def fits(item: CatalogueItem, subject_kind: str, unit_kind: str | None) -> bool:
    """Whether ``item`` may be found against this subject (Zhengzhou §四: medical-only
    behaviours such as ZS9 only against agreement medical institutions). The finding form
    asks it; ``services.grades.record_finding`` enforces it."""
    return unit_kind_of(subject_kind, unit_kind) in item.units


def counts_for(profile: Profile, grade: str) -> Period | None:
    if profile.grading is None:
        return None
    return profile.grading.finding_periods.get(grade)


def counts_until(found_on: date, period: Period | None) -> date | None:
    """First day on which a finding made on ``found_on`` no longer counts (None: it always counts)."""
    if period is None:
        return None
    return add_period(found_on, period) + _ONE_DAY


def counts_on(finding: FindingLike, day: date, profile: Profile) -> bool:
    """Whether ``finding`` counts towards the grade on ``day``."""
    if _status(finding) != LIVE or finding.found_on > day:
        return False
    until = counts_until(finding.found_on, counts_for(profile, finding.grade))
    return until is None or day < until


def standing(findings: Iterable[FindingLike], day: date, profile: Profile) -> Standing:
    """The subject's grade on ``day``: the worst grade among the findings that count."""
    counting = sorted((f for f in findings if counts_on(f, day, profile)),
                      key=lambda f: (rank(f.grade), f.found_on), reverse=True)
    if not counting:
        return Standing(None, (), None)
    worst = counting[0].grade
    # The grade holds while any finding of that grade counts: the latest end of them.
    ends = [counts_until(f.found_on, counts_for(profile, f.grade)) for f in counting
            if f.grade == worst]
    until = None if any(e is None for e in ends) else max(ends)
    return Standing(worst, tuple(counting), until)


def serious_ground(profile: Profile, code: str, subject_kind: str):
    """The listing ground of a serious behaviour (same code), if the profile has one for this kind."""
    ground = next((g for g in profile.grounds if g.code == code), None)
    if ground is None or ground.severity != "serious" or subject_kind not in ground.subject_kinds:
        return None
    return ground


def leads_to_blacklist(profile: Profile, grade: str) -> bool:
    """Only grades the profile publishes (Zhengzhou: 严重 only) lead to the public blacklist."""
    return grade in profile.public_severities


# --------------------------------------------------------------------------
# Red list
# --------------------------------------------------------------------------

#: Only Zhengzhou's seed (004 §一) defines a red list; a city whose own rules give no
#: criteria or incentives runs its red list on Zhengzhou's, and says so where it is shown.
RED_LIST_FALLBACK = "zhengzhou"


def red_list_rules(profile: Profile) -> tuple[tuple[Criterion, ...], tuple[Text, ...], Profile]:
    """(criteria, incentives, the profile the criteria come from) of ``profile``'s red list."""
    from portal.rules.profiles import load_profile

    fallback = None if profile.red_list_criteria and profile.red_list_incentives \
        else load_profile(RED_LIST_FALLBACK)
    criteria_from = profile if profile.red_list_criteria else fallback
    incentives = profile.red_list_incentives or fallback.red_list_incentives
    return criteria_from.red_list_criteria, incentives, criteria_from


def red_list_criteria(profile: Profile) -> tuple[Criterion, ...]:
    return red_list_rules(profile)[0]


def applicable_criteria(profile: Profile, unit_type: str) -> tuple[Criterion, ...]:
    return tuple(c for c in red_list_criteria(profile) if c.applies_to(unit_type))


def missing_criteria(profile: Profile, unit_type: str, met: Iterable[str]) -> tuple[str, ...]:
    """Codes of applicable criteria not met (empty: the criteria are satisfied)."""
    met = set(met)
    return tuple(c.code for c in applicable_criteria(profile, unit_type) if c.code not in met)


def red_list_obstacles(*, listed: bool, open_case: bool, live_finding: bool,
                       on_red_list: bool = False, pending: bool = False,
                       missing: tuple[str, ...] = ()) -> tuple[str, ...]:
    """Why a unit cannot be admitted now, as machine-readable codes (empty: it can)."""
    found = (("listed", listed), ("open_case", open_case), ("live_finding", live_finding),
             ("on_red_list", on_red_list), ("pending", pending), ("criteria", bool(missing)))
    return tuple(code for code, hit in found if hit)


def red_list_valid_until(profile: Profile, admitted_on: date) -> date | None:
    """Last day of an admission, if the profile limits it (``grading.red_list_validity``)."""
    validity = profile.grading.red_list_validity if profile.grading else None
    return add_period(admitted_on, validity) if validity is not None else None
