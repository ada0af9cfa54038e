"""Server-side records of party-area sessions, so that signing out really ends them.

The browser's signed cookie holds a random token; the row holds its SHA-256.
A party's sign-in and the filings a browser may follow count only while the
row exists and has not expired; signing out deletes it, so a copy of the
cookie taken before opens nothing afterwards. Functions flush, never commit.
"""
from __future__ import annotations

import datetime as dt
import secrets

import sqlalchemy as sa
from sqlalchemy.orm import Session

from portal import security
from portal.models import PartySession

#: However active, a party-area session ends after this (the cookie's own idle limit is shorter).
MAX_AGE = dt.timedelta(hours=12)


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def open_session(session: Session, now: dt.datetime) -> tuple[str, PartySession]:
    """A new session: (the token for the cookie, its row). Expired rows are swept."""
    session.execute(sa.delete(PartySession).where(PartySession.expires_at <= now))
    token = secrets.token_urlsafe(32)
    row = PartySession(token_hash=security.token_digest(token), expires_at=now + MAX_AGE)
    session.add(row)
    session.flush()
    return token, row


def find(session: Session, token: str | None, now: dt.datetime) -> PartySession | None:
    """The live session of ``token``; None if it was revoked, expired or never existed."""
    if not isinstance(token, str) or not token:
        return None
    row = session.execute(
        sa.select(PartySession).where(PartySession.token_hash == security.token_digest(token))
    ).scalar_one_or_none()
    if row is None or _aware(row.expires_at) <= now:
        return None
    return row


def revoke(session: Session, token: str | None) -> None:
    """End the session of ``token`` (signing out)."""
    if isinstance(token, str) and token:
        session.execute(sa.delete(PartySession).where(PartySession.token_hash == security.token_digest(token)))
        session.flush()
