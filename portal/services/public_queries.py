"""Read-only queries on the public projection (one indexed query each).

Shared by the public pages, the public API and the open-data exports.
"""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from portal.models import (
    Jurisdiction,
    PublicationState,
    PublicationWithdrawal,
    PublishedEntry,
    RedListEntry,
    RemovalNotice,
)
from portal.paging import Window

LISTED = (PublishedEntry.status == "listed") & PublishedEntry.visible.is_(True)


def within(column, codes) -> sa.ColumnElement:
    """SQL condition: the row belongs to one of ``codes`` (None: every jurisdiction)."""
    return sa.true() if codes is None else column.in_(sorted(codes))


def home_summary(session: Session, latest: int = 8, codes=None) -> dict:
    entries, notices = within(PublishedEntry.jurisdiction, codes), within(RemovalNotice.jurisdiction, codes)
    counts = session.execute(
        sa.select(
            sa.select(sa.func.count()).select_from(PublishedEntry).where(LISTED, entries)
            .scalar_subquery(),
            sa.select(sa.func.count()).select_from(RemovalNotice).where(notice_public(), notices)
            .scalar_subquery(),
        )
    ).one()
    additions = session.execute(
        sa.select(PublishedEntry).where(LISTED, entries)
        .order_by(PublishedEntry.listed_on.desc(), PublishedEntry.id.desc()).limit(latest)
    ).scalars().all()
    removals = session.execute(
        sa.select(RemovalNotice).where(notice_public(), notices)
        .order_by(RemovalNotice.removed_on.desc(), RemovalNotice.id.desc()).limit(latest)
    ).scalars().all()
    return {"listed": counts[0], "removed": counts[1], "additions": additions, "removals": removals}


def listed_by_jurisdiction(session: Session) -> dict[str, int]:
    """Listed entries per jurisdiction (the province-wide home page)."""
    rows = session.execute(sa.select(PublishedEntry.jurisdiction, sa.func.count()).where(LISTED)
                           .group_by(PublishedEntry.jurisdiction)).all()
    return {code: n for code, n in rows}


def entry_by_public_id(session: Session, public_id: str,
                       with_names: bool = False) -> PublishedEntry | None:
    """A visible entry; ``with_names``: with its jurisdiction's names (the same statement)."""
    stmt = sa.select(PublishedEntry).where(PublishedEntry.public_id == public_id,
                                           PublishedEntry.visible.is_(True))
    if not with_names:
        return session.execute(stmt).scalar_one_or_none()
    found = attach_names(session.execute(named(stmt, PublishedEntry)).all())
    return found[0] if found else None


def entry_with_jurisdiction(session: Session, public_id: str) -> tuple | None:
    """(entry, its Jurisdiction row or None) of a visible entry: one statement."""
    return session.execute(
        sa.select(PublishedEntry, Jurisdiction)
        .outerjoin(Jurisdiction, Jurisdiction.code == PublishedEntry.jurisdiction)
        .where(PublishedEntry.public_id == public_id, PublishedEntry.visible.is_(True))
    ).one_or_none()


def withdrawal(session: Session, topic: str, public_id: str) -> PublicationWithdrawal | None:
    """The tombstone of a public record that is no longer published (topic: entry | removal)."""
    return session.execute(
        sa.select(PublicationWithdrawal).where(PublicationWithdrawal.topic == topic,
                                               PublicationWithdrawal.public_id == public_id)
    ).scalar_one_or_none()


def removal_for_entry(session: Session, entry_public_id: str) -> RemovalNotice | None:
    return session.execute(
        sa.select(RemovalNotice).where(RemovalNotice.entry_public_id == entry_public_id)
    ).scalar_one_or_none()


#: Active jurisdictions (a single-city portal is one: ``portal.public_scope``).
ACTIVE_QUERY = sa.select(sa.func.count()).select_from(Jurisdiction).where(Jurisdiction.active)
#: (version, changed_at, active jurisdictions) of the projection: Core, not an ORM query (a 304
#: is this statement and little else); read by the request cache and the front cache.
VERSION_QUERY = sa.select(PublicationState.version, PublicationState.changed_at,
                          ACTIVE_QUERY.scalar_subquery())


def publication_version(session: Session) -> tuple[int, object]:
    row = session.execute(VERSION_QUERY).first()
    return (row[0], row[1]) if row else (0, None)


def entries_by_public_ids(session: Session, public_ids: list[str]) -> dict[str, PublishedEntry]:
    """The listed entries among ``public_ids`` (one indexed IN query), keyed by public id."""
    if not public_ids:
        return {}
    rows = session.execute(
        sa.select(PublishedEntry).where(PublishedEntry.public_id.in_(public_ids), LISTED)
    ).scalars()
    return {row.public_id: row for row in rows}


# --------------------------------------------------------------------------
# Removal notices: which ones may be shown
# --------------------------------------------------------------------------

def notice_public():
    """SQL condition: the removal notice may be shown publicly (set by the publication service)."""
    return RemovalNotice.visible.is_(True)


def notice_is_public(notice: RemovalNotice) -> bool:
    """The Python twin of :func:`notice_public` for one loaded notice."""
    return bool(notice.visible)


# --------------------------------------------------------------------------
# Lists: /entries, /removals, /redlist
# --------------------------------------------------------------------------

ENTRY_FACETS = ("ground", "subject_kind", "severity", "department", "year", "jurisdiction")
_ENTRY_COLUMNS = {
    "ground": PublishedEntry.ground_code, "subject_kind": PublishedEntry.subject_kind,
    "severity": PublishedEntry.severity, "department": PublishedEntry.department,
    "year": PublishedEntry.listing_year, "jurisdiction": PublishedEntry.jurisdiction,
}


def entry_facet_groups(session: Session) -> list[tuple]:
    """Counts of listed entries per (ground, kind, severity, department, year, jurisdiction):
    one GROUP BY.

    Small (a few hundred groups per jurisdiction) however many entries there are; the list
    page derives its filter options, their counts and its total from it, for every scope.
    """
    columns = [_ENTRY_COLUMNS[name] for name in ENTRY_FACETS]
    return [tuple(row) for row in session.execute(
        sa.select(*columns, sa.func.count()).where(LISTED).group_by(*columns)
    ).all()]


def named(stmt, model):
    """``stmt`` with the names of each row's jurisdiction (an outer join: the same statement);
    :func:`attach_names` puts them on the rows."""
    return stmt.add_columns(Jurisdiction.name_zh, Jurisdiction.name_en).outerjoin(
        Jurisdiction, Jurisdiction.code == model.jurisdiction)


def attach_names(rows) -> list:
    """The records of ``named`` rows, each with ``jurisdiction_names`` (zh, en) set (the code
    when the jurisdiction is not in the directory)."""
    out = []
    for record, zh, en in rows:
        record.jurisdiction_names = (zh or record.jurisdiction, en or zh or record.jurisdiction)
        out.append(record)
    return out
def in_scope(groups: list[tuple], codes) -> list[tuple]:
    """The facet groups of the jurisdictions shown (the jurisdiction is a group's last key)."""
    if codes is None:
        return groups
    position = ENTRY_FACETS.index("jurisdiction")
    return [row for row in groups if row[position] in codes]


def facet_counts(groups: list[tuple], filters: dict) -> tuple[dict[str, dict], int]:
    """Per filter, the count of each value given the *other* filters; and the filtered total."""
    names = ENTRY_FACETS
    counts: dict[str, dict] = {name: {} for name in names}
    total = 0
    for row in groups:
        values, n = dict(zip(names, row[:-1])), row[-1]
        misses = [name for name, wanted in filters.items() if values[name] != wanted]
        if not misses:
            total += n
        for name in names:
            known = counts[name].setdefault(values[name], 0)   # every known value is an option
            if not misses or misses == [name]:
                counts[name][values[name]] = known + n
    return counts, total


def entries_page(session: Session, filters: dict, oldest_first: bool,
                 window: Window, codes=None, with_names: bool = False) -> list[PublishedEntry]:
    """One page of the current list (indexed on listed_on, id): see :func:`read_window`;
    ``with_names``: each with its jurisdiction's names (the API)."""
    stmt = sa.select(PublishedEntry).where(LISTED, within(PublishedEntry.jurisdiction, codes))
    if with_names:
        stmt = named(stmt, PublishedEntry)
    for name, value in filters.items():
        stmt = stmt.where(_ENTRY_COLUMNS[name] == value)
    if "year" in filters:
        # listing_year is the year of listed_on: the range lets the (listed_on, id) index start
        # at that year instead of filtering its way back from the newest entries.
        year = filters["year"]
        stmt = stmt.where(PublishedEntry.listed_on.between(dt.date(year, 1, 1), dt.date(year, 12, 31)))
    return read_window(session, stmt, PublishedEntry.listed_on, PublishedEntry.id,
                       not oldest_first, window, with_names)


def read_window(session: Session, stmt, day, row_id, newest_first: bool, window: Window,
                with_names: bool = False) -> list:
    """The rows of ``window`` in the list's order (``day``, ``row_id``; newest first or not).

    From a cursor: the rows after (or before) its key, by a range on the (day, id)
    index, never an OFFSET; ``from_end``: by position counted from the end (read
    backwards, then turned round). The key condition is spelt ``day <= d AND
    (day < d OR id < i)`` rather than as a row value so both databases start the
    index range at ``d``.
    """
    cursor = window.cursor
    backwards = window.from_end or (cursor is not None and not cursor.after)
    descending = newest_first != backwards
    if cursor is not None:
        if descending:
            stmt = stmt.where(day <= cursor.day, (day < cursor.day) | (row_id < cursor.id))
        else:
            stmt = stmt.where(day >= cursor.day, (day > cursor.day) | (row_id > cursor.id))
    order = (day.desc(), row_id.desc()) if descending else (day.asc(), row_id.asc())
    stmt = stmt.order_by(*order).limit(window.limit)
    if window.offset:
        stmt = stmt.offset(window.offset)
    result = session.execute(stmt)
    rows = attach_names(result.all()) if with_names else result.scalars().all()
    return rows[::-1] if backwards else rows


def removal_reason_counts(session: Session) -> dict[tuple[str, str], int]:
    """Published removal notices per (reason, jurisdiction): every scope counts from it."""
    rows = session.execute(
        sa.select(RemovalNotice.reason, RemovalNotice.jurisdiction, sa.func.count())
        .where(notice_public()).group_by(RemovalNotice.reason, RemovalNotice.jurisdiction)
    ).all()
    return {(reason, code): n for reason, code, n in rows}


def removals_page(session: Session, reason: str | None, window: Window,
                  codes=None) -> list[RemovalNotice]:
    stmt = sa.select(RemovalNotice).where(notice_public(), within(RemovalNotice.jurisdiction, codes))
    if reason:
        stmt = stmt.where(RemovalNotice.reason == reason)
    return read_window(session, stmt, RemovalNotice.removed_on, RemovalNotice.id, True, window)


def _red_list_current(today: dt.date):
    return RedListEntry.removed_on.is_(None) & (
        RedListEntry.valid_until.is_(None) | (RedListEntry.valid_until >= today))


def red_list_count(session: Session, today: dt.date, codes=None) -> int:
    return session.scalar(
        sa.select(sa.func.count()).select_from(RedListEntry)
        .where(_red_list_current(today), within(RedListEntry.jurisdiction, codes))
    ) or 0


def red_list_page(session: Session, today: dt.date, window: Window,
                  codes=None) -> list[RedListEntry]:
    stmt = sa.select(RedListEntry).where(_red_list_current(today),
                                         within(RedListEntry.jurisdiction, codes))
    return read_window(session, stmt, RedListEntry.admitted_on, RedListEntry.id, True, window)


# --------------------------------------------------------------------------
# /check: exact look-up by keyed hash
# --------------------------------------------------------------------------

def check_entries(session: Session, code_hash: str, codes=None) -> list[PublishedEntry]:
    """Current listings of the code: public ones and natural persons the profile does not
    publish (each with its jurisdiction's names)."""
    return attach_names(session.execute(
        named(sa.select(PublishedEntry), PublishedEntry).where(
            PublishedEntry.code_hash == code_hash, PublishedEntry.status == "listed",
            PublishedEntry.visible.is_(True) | (PublishedEntry.subject_kind == "person"),
            within(PublishedEntry.jurisdiction, codes),
        ).order_by(PublishedEntry.listed_on.desc(), PublishedEntry.id.desc())
    ).all())


def check_removals(session: Session, code_hash: str, codes=None) -> list[RemovalNotice]:
    """Removal notices of the code (public ones, and those of natural persons)."""
    return session.execute(
        sa.select(RemovalNotice).where(
            RemovalNotice.code_hash == code_hash,
            notice_public() | (RemovalNotice.subject_kind == "person"),
            within(RemovalNotice.jurisdiction, codes),
        ).order_by(RemovalNotice.removed_on.desc(), RemovalNotice.id.desc())
    ).scalars().all()
