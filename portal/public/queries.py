"""Read-only queries on the public projection (one indexed query each)."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from portal.models import PublicationState, PublishedEntry, RemovalNotice

LISTED = (PublishedEntry.status == "listed") & PublishedEntry.visible.is_(True)


def home_summary(session: Session, latest: int = 8) -> dict:
    counts = session.execute(
        sa.select(
            sa.select(sa.func.count()).select_from(PublishedEntry).where(LISTED).scalar_subquery(),
            sa.select(sa.func.count()).select_from(RemovalNotice).scalar_subquery(),
        )
    ).one()
    additions = session.execute(
        sa.select(PublishedEntry).where(LISTED)
        .order_by(PublishedEntry.listed_on.desc(), PublishedEntry.id.desc()).limit(latest)
    ).scalars().all()
    removals = session.execute(
        sa.select(RemovalNotice).order_by(RemovalNotice.removed_on.desc(), RemovalNotice.id.desc())
        .limit(latest)
    ).scalars().all()
    return {"listed": counts[0], "removed": counts[1], "additions": additions, "removals": removals}


def entry_by_public_id(session: Session, public_id: str) -> PublishedEntry | None:
    return session.execute(
        sa.select(PublishedEntry).where(PublishedEntry.public_id == public_id,
                                        PublishedEntry.visible.is_(True))
    ).scalar_one_or_none()


def removal_for_entry(session: Session, entry_public_id: str) -> RemovalNotice | None:
    return session.execute(
        sa.select(RemovalNotice).where(RemovalNotice.entry_public_id == entry_public_id)
    ).scalar_one_or_none()


def publication_version(session: Session) -> tuple[int, object]:
    row = session.execute(sa.select(PublicationState.version, PublicationState.changed_at)).first()
    return (row[0], row[1]) if row else (0, None)


def entries_by_public_ids(session: Session, public_ids: list[str]) -> dict[str, PublishedEntry]:
    """The listed entries among ``public_ids`` (one indexed IN query), keyed by public id."""
    if not public_ids:
        return {}
    rows = session.execute(
        sa.select(PublishedEntry).where(PublishedEntry.public_id.in_(public_ids), LISTED)
    ).scalars()
    return {row.public_id: row for row in rows}
