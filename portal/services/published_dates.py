"""Keep every published date equal to what the rules and today's calendar say.

One function computes an entry's dates (:func:`portal.rules.terms.entry_dates`);
publication writes them (``publication.entry_values``), :func:`refresh` rewrites
them after the holiday calendar changed, and :func:`differences` (the command
``flask --app wsgi verify publication``) compares what is published with a
fresh computation.  Functions flush and never commit.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from portal import clock
from portal.models import Case, PublishedEntry, RemovalNotice
from portal.rules import terms
from portal.rules.calendar import WorkCalendar
from portal.rules.profiles import Profile
from portal.services import audit, publication

#: Projection columns written from :class:`~portal.rules.terms.EntryDates`.
ENTRY_FIELDS = (*terms.EntryDates.FIELDS, "dates_provisional")
#: Case deadlines of a decided case checked against the calendar: field, profile deadline name.
CASE_DUES = (("publish_due_on", "publication"), ("share_due_on", "sharing"))
_CHUNK = 1000


@dataclass(frozen=True)
class Difference:
    """A published (or stored) date that differs from the rules and the current calendar."""

    kind: str                 # "entry" | "case" | "removal"
    label: str                # public id or case number
    field: str
    published: object
    expected: object

    def line(self) -> str:
        return f"{self.kind} {self.label}: {self.field} is {_text(self.published)}, " \
               f"expected {_text(self.expected)}"


def _text(value) -> str:
    if isinstance(value, (list, tuple, set, frozenset)):
        return "[" + ", ".join(sorted(str(v) for v in value)) + "]"
    return "—" if value is None else str(value)


def expected_entry_values(case: Case, profile: Profile, calendar: WorkCalendar) -> dict:
    """The projection's date columns as the rules compute them today."""
    dates = terms.entry_dates(profile, case.ground, case.decided_on, case.prior_listings, calendar)
    return publication.published_dates(dates)


def _entry_rows(session: Session, where=None, *, release: bool = False
                ) -> Iterator[tuple[PublishedEntry, Case]]:
    """(entry, case) pairs in id order, in chunks (the projection may hold a million rows).

    ``release``: read-only callers let go of each chunk once read (bounded memory)."""
    last = 0
    while True:
        stmt = (sa.select(PublishedEntry, Case).join(Case, Case.id == PublishedEntry.case_id)
                .where(PublishedEntry.id > last).order_by(PublishedEntry.id).limit(_CHUNK))
        if where is not None:
            stmt = stmt.where(where)
        rows = session.execute(stmt).all()
        if not rows:
            return
        last = rows[-1][0].id
        yield from rows
        if release:
            session.expunge_all()
        if len(rows) < _CHUNK:
            return


def _normal(field: str, value):
    return sorted(value or []) if field == "dates_provisional" else value


def refresh(session: Session, actor: audit.Actor, calendar: WorkCalendar,
            profile_for: Callable[[str], Profile], since: dt.date | None = None) -> list[tuple]:
    """Recompute the dates of published entries with ``calendar``; write what moved.

    ``since``: only entries with a calendar-dependent date on or after that day (the first
    day of the year whose calendar changed) can move; ``None`` checks every entry.  Each
    changed entry gets a new version, an outbox event (search index, feeds, change API)
    and an audit event with the old and new dates; the case's stored term follows; the
    publication version is bumped once.  Returns ``(entry, case, field, old, new, provisional)``.
    """
    where = None
    if since is not None:
        where = sa.or_(PublishedEntry.rectification_closes_on >= since,
                       PublishedEntry.repair_opens_on >= since)
    changes: list[tuple] = []
    for entry, case in list(_entry_rows(session, where)):
        fresh = expected_entry_values(case, profile_for(case.profile), calendar)
        moved = {f: (_normal(f, getattr(entry, f)), v) for f, v in fresh.items()
                 if _normal(f, getattr(entry, f)) != v}
        if not moved:
            continue
        for field, (_old, new) in moved.items():
            setattr(entry, field, new)
        case.leaves_list_on = entry.leaves_list_on
        entry.version += 1
        entry.updated_at = clock.now()
        publication.enqueue(session, "entry", "upsert", entry.public_id)
        audit.record(session, actor, "calendar.recompute", "entry", entry.public_id,
                     {"case_no": case.case_no, **{f: [o, n] for f, (o, n) in moved.items()}})
        provisional = set(entry.dates_provisional or [])
        changes.extend((entry, case, f, o, n, f in provisional) for f, (o, n) in moved.items())
    if changes:
        publication.bump_version(session)
    session.flush()
    return changes


def differences(session: Session, calendar: WorkCalendar,
                profile_for: Callable[[str], Profile]) -> tuple[list[Difference], int]:
    """Every published date that differs from a fresh computation; and how many entries were read.

    Checked: the projection's term, leaves-the-list day, rectification and repair dates and
    their provisional flags; the case's stored leaves-the-list day and its publication and
    sharing due dates; the removal day of a removal at the end of the term.
    """
    found: list[Difference] = []
    count = 0
    for entry, case in _entry_rows(session, release=True):
        count += 1
        profile = profile_for(case.profile)
        fresh = expected_entry_values(case, profile, calendar)
        for field, value in fresh.items():
            if _normal(field, getattr(entry, field)) != value:
                found.append(Difference("entry", entry.public_id, field,
                                        getattr(entry, field), value))
        if case.leaves_list_on != fresh["leaves_list_on"]:
            found.append(Difference("case", case.case_no, "leaves_list_on", case.leaves_list_on,
                                    fresh["leaves_list_on"]))
        if entry.listed_on != case.decided_on:
            found.append(Difference("entry", entry.public_id, "listed_on", entry.listed_on,
                                    case.decided_on))
        for field, name in CASE_DUES:
            stored = getattr(case, field)
            if stored is not None:
                due = terms.deadline(profile, name, case.decided_on, calendar).due
                if stored != due:
                    found.append(Difference("case", case.case_no, field, stored, due))
        if (entry.status == "removed" and entry.removal_reason == "term_expired"
                and entry.removed_on != fresh["leaves_list_on"]):
            found.append(Difference("entry", entry.public_id, "removed_on", entry.removed_on,
                                    fresh["leaves_list_on"]))
    notices = session.execute(
        sa.select(RemovalNotice, Case).join(Case, Case.id == RemovalNotice.case_id)
        .where(RemovalNotice.reason == "term_expired").order_by(RemovalNotice.id)).all()
    for notice, case in notices:
        expected = terms.listing_term(profile_for(case.profile), case.ground, case.decided_on,
                                      case.prior_listings).expires_on
        if notice.removed_on != expected:
            found.append(Difference("removal", notice.public_id, "removed_on", notice.removed_on,
                                    expected))
    return found, count
