"""Credit scores of subjects (Zhengzhou §三 ¶1), computed on read from the current records.

A score is never stored: it is computed from the subject's findings, red-list admissions and
complaint outcomes each time it is asked for (:func:`credit_score_of`), so it is right the
moment a finding is recorded, withdrawn or annulled, or a unit enters or leaves the red list,
in the same transaction that changed them. The rule is ``portal.rules.credit_score``; the
model is the jurisdiction's profile's (``Profile.score``), the score → grade table the one the
jurisdiction has in force (``portal.services.score_tables``), else the provisional one.

* :func:`credit_score_of` — one subject (the rows an identifier found), as the integration
  status answer and the webhooks report it (:func:`summary`);
* :func:`backtest` — the grade distribution over every subject the bureau holds records of,
  under the table in force and under candidate tables (the approver's page, the command
  ``flask grades backtest``).
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from portal.models import FindingSource, FindingStatus, GradeFinding, RedListEntry, Submission
from portal.rules import credit_score as rules
from portal.rules import grades
from portal.rules.profiles import Profile, ScoreBand, UnknownProfile
from portal.services import rules_of, score_tables
from portal.services.scope import Scope

#: A complaint's finding source -> the outcome the score counts.
OUTCOME_OF = {FindingSource.COMPLAINT: "verified", FindingSource.FALSE_COMPLAINT: "found_false"}
_FINDING_COLUMNS = (GradeFinding.subject_id, GradeFinding.finding_no, GradeFinding.behaviour_code,
                    GradeFinding.grade, GradeFinding.found_on, GradeFinding.status,
                    GradeFinding.source, GradeFinding.submission_id)


@dataclass(frozen=True)
class SubjectScore:
    jurisdiction: str
    profile: str
    result: rules.ScoreResult
    table: score_tables.TableInForce

    @property
    def total(self) -> Decimal:
        return self.result.total

    @property
    def grade(self) -> str:
        return self.result.grade


def scored_profile(session: Session, jurisdiction: str | None) -> Profile | None:
    """The profile of ``jurisdiction`` when it has a score model (None: no score there)."""
    if not jurisdiction:
        return None
    try:
        profile = rules_of.jurisdiction(session, jurisdiction)
    except (UnknownProfile, ValueError):
        return None
    return profile if profile.score is not None else None


def complaints_from(findings: Iterable, receipts: Mapping[int, str] | None = None
                    ) -> list[rules.ComplaintOutcome]:
    """One outcome per complaint and subject, from the findings recorded from complaints: it
    counts while its deciding finding does (the live one of the worst grade, the earliest)."""
    by_complaint: dict[tuple, list] = defaultdict(list)
    for f in findings:
        if f.source in OUTCOME_OF and f.submission_id is not None:
            by_complaint[(f.submission_id, f.subject_id, f.source)].append(f)
    out = []
    for (submission_id, _subject, source), found in by_complaint.items():
        found.sort(key=lambda f: (f.status is not FindingStatus.LIVE, -grades.rank(f.grade),
                                  f.found_on))
        deciding = found[0]
        out.append(rules.ComplaintOutcome(
            (receipts or {}).get(submission_id), OUTCOME_OF[source], deciding.found_on,
            deciding.grade, deciding.status))
    return out


def _findings(session: Session, scope: Scope, subject_ids: Iterable[int] | None = None):
    query = sa.select(*_FINDING_COLUMNS).where(scope.where(GradeFinding.jurisdiction))
    if subject_ids is not None:
        query = query.where(GradeFinding.subject_id.in_(sorted(subject_ids)))
    return session.execute(query).all()


def _entries(session: Session, scope: Scope, subject_ids: Iterable[int] | None = None):
    query = sa.select(RedListEntry.subject_id, RedListEntry.public_id, RedListEntry.criteria,
                      RedListEntry.admitted_on, RedListEntry.valid_until,
                      RedListEntry.removed_on).where(scope.where(RedListEntry.jurisdiction))
    if subject_ids is not None:
        query = query.where(RedListEntry.subject_id.in_(sorted(subject_ids)))
    return session.execute(query).all()


def receipts_of(session: Session, findings) -> dict[int, str]:
    ids = sorted({f.submission_id for f in findings if f.submission_id is not None})
    if not ids:
        return {}
    return dict(session.execute(sa.select(Submission.id, Submission.receipt_no)
                                .where(Submission.id.in_(ids))).all())


def credit_score_of(session: Session, subject_ids: Iterable[int], today: dt.date, scope: Scope,
                    jurisdiction: str | None) -> SubjectScore | None:
    """The score of one subject (``subject_ids``: the register rows of it, e.g. its USCC row
    and an old row under its organisation code) under ``jurisdiction``'s model and table, from
    the records ``scope`` reads. None: no such subject, or no score in that jurisdiction."""
    subject_ids = set(subject_ids)
    profile = scored_profile(session, jurisdiction)
    if profile is None or not subject_ids:
        return None
    findings = _findings(session, scope, subject_ids)
    entries = _entries(session, scope, subject_ids)
    table = score_tables.table_for(session, jurisdiction, profile.score)
    result = rules.score(findings, entries, complaints_from(findings, receipts_of(session, findings)),
                         today, profile.score, table.bands)
    return SubjectScore(jurisdiction, profile.code, result, table)


def summary(found: SubjectScore | None) -> dict | None:
    """The score as the integration API and the webhooks answer it: total, grade, the table
    (its number, or ``provisional``) and the contributions summed per source and code."""
    if found is None:
        return None
    parts: dict[tuple[str, str], list] = {}
    for c in found.result.contributions:
        item = parts.setdefault((c.source, c.code), [0, Decimal(0)])
        item[0] += 1
        item[1] += c.counted
    return {
        "score": float(found.total), "grade": found.grade, "base": float(found.result.base),
        "table": found.table.version, "provisional": found.table.provisional,
        "profile": found.profile,
        "contributions": [{"source": source, "code": code, "count": n, "points": float(points)}
                          for (source, code), (n, points) in parts.items()],
    }


# --------------------------------------------------------------------------
# Back-test
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class Backtest:
    jurisdiction: str
    day: dt.date
    subjects: int
    totals: tuple[Decimal, ...]
    current: score_tables.TableInForce
    #: label -> grade -> number of subjects, the table in force first (label ``current``)
    distributions: dict[str, dict[str, int]]


def totals(session: Session, profile: Profile, scope: Scope, today: dt.date) -> list[Decimal]:
    """The score of every subject with a finding or a red-list admission that ``scope`` reads."""
    findings, entries = _findings(session, scope), _entries(session, scope)
    by_subject: dict[int, tuple[list, list]] = defaultdict(lambda: ([], []))
    for f in findings:
        by_subject[f.subject_id][0].append(f)
    for e in entries:
        by_subject[e.subject_id][1].append(e)
    return [rules.score(fs, es, complaints_from(fs), today, profile.score).total
            for fs, es in by_subject.values()]


def backtest(session: Session, jurisdiction: str, today: dt.date, scope: Scope,
             candidates: Mapping[str, Iterable[ScoreBand]] | None = None) -> Backtest:
    """The grade distribution over the current data of ``jurisdiction`` under its table in
    force (``current``) and each candidate table. Raises ``ScoreTableError('no_score')``."""
    profile = scored_profile(session, jurisdiction)
    if profile is None:
        raise score_tables.ScoreTableError("no_score")
    current = score_tables.table_for(session, jurisdiction, profile.score)
    found = totals(session, profile, scope, today)
    tables = {"current": current.bands, **(candidates or {})}
    return Backtest(jurisdiction, today, len(found), tuple(found), current,
                    {label: rules.distribution(found, bands) for label, bands in tables.items()})
