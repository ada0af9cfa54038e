"""The server-side record of one browser's session in the party area (/submit, /track)."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base, Timestamp


class PartySession(Base):
    """A party's sign-in, or the filings a browser may follow, exist while this row does.

    The browser's signed cookie carries a random token; only its SHA-256 is stored.
    Signing out deletes the row, so a copy of the cookie opens nothing afterwards.
    """

    __tablename__ = "party_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    #: The case signed in for (listed party); None while the browser only follows filings.
    case_id: Mapped[int | None] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"))
    expires_at: Mapped[dt.datetime] = mapped_column(Timestamp, index=True)
