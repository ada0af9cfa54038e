"""API clients: the bureau's own business systems that call ``/api/v1/integration``.

A client authenticates with a bearer token shown once when an admin creates
it. Only a SHA-256 digest of the token is stored (tokens carry 256 random
bits, so a fast hash is enough: there is nothing to brute-force), with its
first characters for recognising it in lists and logs.
"""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from portal import clock
from portal.models.base import Base, Timestamp


class ApiClient(Base):
    __tablename__ = "api_clients"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(60), unique=True)       # audit actor "api:<name>"
    token_prefix: Mapped[str] = mapped_column(sa.String(16))             # "isk_AbCd1234"
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)  # SHA-256 hex of the token
    scopes: Mapped[list] = mapped_column(sa.JSON, default=list)          # e.g. ["status:read"]
    #: The bureau whose cases it reads and files (integration clients act for one).
    jurisdiction: Mapped[str] = mapped_column(sa.String(20))
    active: Mapped[bool] = mapped_column(default=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=clock.now)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)

    @property
    def usable(self) -> bool:
        return bool(self.active) and self.revoked_at is None
