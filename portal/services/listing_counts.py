"""Counts of the listing procedure for the public ``/stats`` page: counts only.

The public projection knows only what is published *now*: a statistic built from it alone
reports "100 % on time" while decisions wait unpublished past their due date, and forgets
the listings and removals whose publication ended (credit repair, revocation, the end of
the removal notice period, Order 36). These aggregates read the cases but return nothing
except counts and histograms: no name, number, case or single date of a decision leaves
them. Only listings that the public list is meant to show count (a ground that is
published, and a person only where the profile publishes persons:
``publication.is_visible``).

Timeliness (:func:`publication_timeliness`): a decision counts once its publication is due
(Jiamusi art. 8: 7 working days):

- published on or before its due date → on time;
- published after it → late;
- still unpublished and the due date has passed (as of the bureau's ``today``) → late;
- taken off before publication, after the due date had passed → late;
- still unpublished and not yet due, or withdrawn before it was due → not counted yet.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from portal.models import Case, Subject, SubjectKind
from portal.rules import terms
from portal.rules.calendar import WorkCalendar
from portal.rules.profiles import Profile
from portal.rules.workflow import EVER_LISTED_STATES, CaseState
from portal.services.publication import is_visible


@dataclass(frozen=True)
class Timeliness:
    on_time: int = 0
    published_late: int = 0
    overdue_unpublished: int = 0       # still unpublished, due date passed
    removed_unpublished_late: int = 0  # taken off unpublished after the due date
    pending: int = 0                   # unpublished, not yet due
    delays: tuple[tuple[int, int], ...] = ()          # (calendar days, count), published ones
    working_delays: tuple[tuple[int, int], ...] = ()  # (working days, count)

    @property
    def due(self) -> int:
        """Decisions whose publication was due: the denominator of the share."""
        return self.on_time + self.late

    @property
    def late(self) -> int:
        return self.published_late + self.overdue_unpublished + self.removed_unpublished_late

    @property
    def on_time_share(self) -> float | None:
        return self.on_time / self.due if self.due else None


def publication_timeliness(session: Session, profile: Profile, since: dt.date, today: dt.date,
                           calendar: WorkCalendar) -> Timeliness:
    """Decisions of ``profile`` taken on or after ``since``, as of the bureau's ``today``."""
    rows = session.execute(
        sa.select(Case.ground, Subject.kind, Case.state, Case.decided_on, Case.publish_due_on,
                  Case.published_on, Case.removed_on, sa.func.count())
        .join(Subject, Subject.id == Case.subject_id)
        .where(Case.profile == profile.code, Case.decided_on.is_not(None),
               Case.decided_on >= since,
               Case.state.in_(EVER_LISTED_STATES))
        .group_by(Case.ground, Subject.kind, Case.state, Case.decided_on, Case.publish_due_on,
                  Case.published_on, Case.removed_on)
    ).all()
    counts = {"on_time": 0, "published_late": 0, "overdue_unpublished": 0,
              "removed_unpublished_late": 0, "pending": 0}
    delays: dict[int, int] = {}
    working: dict[int, int] = {}
    for ground, kind, state, decided, due, published, removed, n in rows:
        if not _published_kind(profile, ground, kind):
            continue
        due = due or terms.deadline(profile, "publication", decided, calendar).due
        if published is not None:
            counts["on_time" if published <= due else "published_late"] += n
            days = (published - decided).days
            delays[days] = delays.get(days, 0) + n
            wd = calendar.working_days_between(decided, published)
            working[wd] = working.get(wd, 0) + n
        elif state is CaseState.REMOVED:
            if removed is not None and removed > due:
                counts["removed_unpublished_late"] += n
        elif today > due:
            counts["overdue_unpublished"] += n
        else:
            counts["pending"] += n
    return Timeliness(**counts, delays=tuple(sorted(delays.items())),
                      working_delays=tuple(sorted(working.items())))


def _month(day: dt.date) -> str:
    return day.strftime("%Y-%m")


def monthly_flows(session: Session, profile: Profile, since: dt.date) -> dict[str, dict[str, int]]:
    """Listings published (by month of the decision) and removals of published listings (by
    month of removal) since ``since``, whether or not they are still published today."""
    flows: dict[str, dict[str, int]] = {"added": {}, "removed": {}}
    for flow, day in (("added", Case.decided_on), ("removed", Case.removed_on)):
        where = [Case.profile == profile.code, Case.published_on.is_not(None), day >= since]
        if flow == "removed":
            where.append(Case.state == CaseState.REMOVED)
        rows = session.execute(
            sa.select(day, Case.ground, Subject.kind, sa.func.count())
            .join(Subject, Subject.id == Case.subject_id).where(*where)
            .group_by(day, Case.ground, Subject.kind)
        ).all()
        for value, ground, kind, n in rows:
            if _published_kind(profile, ground, kind):
                flows[flow][_month(value)] = flows[flow].get(_month(value), 0) + n
    return flows


def removal_reasons(session: Session, profile: Profile) -> dict[str, int]:
    """Removals of published listings by reason (every removal notice ever published)."""
    rows = session.execute(
        sa.select(Case.removal_reason, Case.ground, Subject.kind, sa.func.count())
        .join(Subject, Subject.id == Case.subject_id)
        .where(Case.profile == profile.code, Case.state == CaseState.REMOVED,
               Case.published_on.is_not(None))
        .group_by(Case.removal_reason, Case.ground, Subject.kind)
    ).all()
    reasons: dict[str, int] = {}
    for reason, ground, kind, n in rows:
        if reason is not None and _published_kind(profile, ground, kind):
            reasons[reason.value] = reasons.get(reason.value, 0) + n
    return reasons


def _published_kind(profile: Profile, ground: str, kind: SubjectKind) -> bool:
    try:
        return is_visible(profile, ground, kind)
    except KeyError:        # a ground no longer in the profile: not on the public list
        return False
