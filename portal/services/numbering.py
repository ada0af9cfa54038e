"""Numbers of cases, findings and proposals: ``JIA-2026-000001``, ``ZHE-F2026-000001``…"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from portal.services import audit


def next_number(session: Session, column, prefix: str, width: int = 6) -> str:
    """The next number after the highest one with ``prefix`` (numbered acts are audited, so
    the audit head is locked first: concurrent transactions number one after the other)."""
    audit.serialise(session)
    last = session.scalar(sa.select(sa.func.max(column)).where(column.like(prefix + "%")))
    return f"{prefix}{int(last.rsplit('-', 1)[1]) + 1 if last else 1:0{width}d}"
