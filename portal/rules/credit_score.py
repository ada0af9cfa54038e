"""The credit score and its grade (Zhengzhou §三 ¶1) as pure functions.

A subject's score on a day is the profile's ``base`` plus what each record contributes:

* a **finding** (认定) of a catalogue behaviour: the points of its code
  (``behaviour_points``) or else of its grade (``grade_points``), while it counts
  (:mod:`portal.rules.grades`: live, from the day it was made for its grade's period);
* a **red-list admission** (§一) that is current on the day: the points of each criterion it
  was admitted on (``criterion_points``), once per criterion;
* a **complaint outcome** (§三 ¶3): a complaint about the unit that was verified, or a
  complaint the subject made that was found false (``complaint_points``), while the finding
  recorded from it counts.

With ``decay = "linear"`` a finding's (and a complaint outcome's) points fade over the period
it counts: in full on the day it was made, by equal steps each day after, and nothing from
the first day on which it no longer counts. Each contribution is rounded to 0.1 point; the
total is the base plus the rounded contributions, kept within ``floor`` / ``ceiling``.

The grade comes from a score → grade table (bands, highest first): the first band whose
minimum the total reaches; a total below every minimum gets the lowest band.

No Flask, no SQLAlchemy: records, a day and the profile's :class:`ScoreModel` in; a
:class:`ScoreResult` out.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Iterable, Protocol

from portal.rules import grades
from portal.rules.profiles import (
    COMPLAINT_OUTCOMES,
    ScoreBand,
    ScoreModel,
    band_problem,
    sorted_bands,
)

__all__ = ["Contribution", "ComplaintOutcome", "ScoreResult", "score", "grade_for",
           "distribution", "band_problem", "sorted_bands", "COMPLAINT_OUTCOMES", "SOURCES"]

#: Where a contribution comes from, in the order they are listed.
SOURCES: tuple[str, ...] = ("finding", "complaint", "red_list")
_TENTH = Decimal("0.1")
_WEIGHT = Decimal("0.0001")
_ONE_DAY = timedelta(days=1)


class FindingLike(Protocol):
    behaviour_code: str
    grade: str
    found_on: date
    status: object


class RedListEntryLike(Protocol):
    criteria: list
    admitted_on: date
    valid_until: date | None
    removed_on: date | None


@dataclass(frozen=True)
class ComplaintOutcome:
    """A complaint's outcome for one subject: ``verified`` (about this unit) or
    ``found_false`` (made by this person). ``on``, ``grade`` and ``status``: those of the
    finding recorded from it, whose period it counts for."""

    ref: str | None
    outcome: str
    on: date
    grade: str
    status: object = grades.LIVE


@dataclass(frozen=True)
class Contribution:
    source: str             # one of SOURCES
    code: str               # behaviour code, complaint outcome or red-list criterion
    ref: str | None         # finding number, complaint receipt number, red-list public id
    since: date
    until: date | None      # first day it no longer counts (None: no end)
    points: Decimal         # at full weight
    weight: Decimal         # 0 < weight <= 1 after decay
    counted: Decimal        # points × weight, rounded to 0.1


@dataclass(frozen=True)
class ScoreResult:
    base: Decimal
    total: Decimal
    grade: str
    contributions: tuple[Contribution, ...]
    table: tuple[ScoreBand, ...]

    def by_source(self) -> dict[str, Decimal]:
        """The points counted per source (``finding``, ``complaint``, ``red_list``)."""
        out = {s: Decimal(0) for s in SOURCES}
        for c in self.contributions:
            out[c.source] += c.counted
        return out


def _status(record) -> str:
    return getattr(record.status, "value", record.status)


def _tenth(value: Decimal) -> Decimal:
    return value.quantize(_TENTH, rounding=ROUND_HALF_UP)


def _faded(points: Decimal, since: date, until: date | None, day: date,
           decay: str) -> tuple[Decimal, Decimal]:
    """(weight, points counted) of a record made on ``since`` that stops counting on ``until``."""
    if decay != "linear" or until is None:
        return Decimal(1), _tenth(points)
    length = (until - since).days
    left = (until - day).days
    share = Decimal(left) / Decimal(length)
    return share.quantize(_WEIGHT, rounding=ROUND_HALF_UP), _tenth(points * left / length)


def _counting(status, found_on: date, grade: str, day: date,
              model: ScoreModel) -> tuple[bool, date | None]:
    """Whether a record counts on ``day`` and the first day it no longer does."""
    until = grades.counts_until(found_on, model.periods.get(grade))
    live = status == grades.LIVE and found_on <= day and (until is None or day < until)
    return live, until


def _finding_points(model: ScoreModel, code: str, grade: str) -> Decimal:
    if code in model.behaviour_points:
        return model.behaviour_points[code]
    return model.grade_points.get(grade, Decimal(0))


def _from_findings(findings, day: date, model: ScoreModel) -> list[Contribution]:
    out = []
    for f in findings:
        live, until = _counting(_status(f), f.found_on, f.grade, day, model)
        points = _finding_points(model, f.behaviour_code, f.grade)
        if not live or not points:
            continue
        weight, counted = _faded(points, f.found_on, until, day, model.decay)
        out.append(Contribution("finding", f.behaviour_code, getattr(f, "finding_no", None),
                                f.found_on, until, points, weight, counted))
    return out


def _from_complaints(complaints, day: date, model: ScoreModel) -> list[Contribution]:
    out = []
    for c in complaints:
        points = model.complaint_points.get(c.outcome, Decimal(0))
        live, until = _counting(_status(c), c.on, c.grade, day, model)
        if not live or not points:
            continue
        weight, counted = _faded(points, c.on, until, day, model.decay)
        out.append(Contribution("complaint", c.outcome, c.ref, c.on, until, points, weight, counted))
    return out


def is_current(entry: RedListEntryLike, day: date) -> bool:
    """On the red list on ``day``: admitted, not removed, not past its last valid day."""
    return (entry.admitted_on <= day and (entry.removed_on is None or entry.removed_on > day)
            and (entry.valid_until is None or day <= entry.valid_until))


def _from_red_list(entries, day: date, model: ScoreModel) -> list[Contribution]:
    out, seen = [], set()
    for e in sorted((e for e in entries if is_current(e, day)), key=lambda e: e.admitted_on):
        until = e.valid_until + _ONE_DAY if e.valid_until else None
        for code in e.criteria or ():
            points = model.criterion_points.get(code)
            if not points or code in seen:
                continue
            seen.add(code)
            out.append(Contribution("red_list", code, getattr(e, "public_id", None),
                                    e.admitted_on, until, points, Decimal(1), _tenth(points)))
    return out


def grade_for(total: Decimal, table: Iterable[ScoreBand]) -> str:
    """The grade of ``total``: the highest band whose minimum it reaches, else the lowest band."""
    bands = sorted_bands(table)
    if not bands:
        raise ValueError("an empty score table")
    for band in bands:
        if total >= band.min_score:
            return band.grade
    return bands[-1].grade


def score(findings: Iterable[FindingLike], red_list_entries: Iterable[RedListEntryLike],
          complaints: Iterable[ComplaintOutcome], day: date, model: ScoreModel,
          table: Iterable[ScoreBand] | None = None) -> ScoreResult:
    """The subject's score and grade on ``day`` (``table``: the score → grade table in force;
    None: the profile's provisional one), with the contributions that make it up."""
    bands = sorted_bands(table if table is not None else model.provisional_table)
    contributions = (_from_findings(findings, day, model)
                     + _from_complaints(complaints, day, model)
                     + _from_red_list(red_list_entries, day, model))
    contributions.sort(key=lambda c: (SOURCES.index(c.source), c.counted, c.since, c.code))
    total = model.base + sum((c.counted for c in contributions), Decimal(0))
    if model.floor is not None:
        total = max(total, model.floor)
    if model.ceiling is not None:
        total = min(total, model.ceiling)
    total = _tenth(total)
    return ScoreResult(model.base, total, grade_for(total, bands), tuple(contributions), bands)


def distribution(totals: Iterable[Decimal], table: Iterable[ScoreBand]) -> dict[str, int]:
    """How many of ``totals`` fall in each grade of ``table``, highest band first."""
    bands = sorted_bands(table)
    found = Counter(grade_for(t, bands) for t in totals)
    return {b.grade: found.get(b.grade, 0) for b in bands}
