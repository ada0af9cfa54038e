"""Jurisdictions: the bureaus whose listings the portal publishes, and who works for which.

Jiamusi art. 3–4 make the city bureau and each county (市)区 bureau responsible for the
listings it decides (谁认定、谁负责); a province runs one platform for all its cities. A
jurisdiction has a profile (the rules its cases follow), its departments, its contact and its
place in the tree (``parent_code``: the bureau above). Every case, filing, letter, report
batch, grade finding, red-list unit and integration client carries the code of one.

A deployment with one jurisdiction (the embedded default, seeded from ``PORTAL_PROFILE``)
looks and works as a single-city portal.
"""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from portal import clock
from portal.models.base import Base, Timestamp

#: Length of a jurisdiction code in every table that names one.
CODE_LENGTH = 20


def same_as_profile(context) -> str | None:
    """Column default of ``jurisdiction`` where a row also names its profile: the jurisdiction
    seeded from that profile (whose code is the profile's). Services that know the case's own
    jurisdiction (a county bureau under a city's profile) pass it explicitly."""
    return context.get_current_parameters().get("profile")


def jurisdiction_column(*, index: bool = False, nullable: bool = False):
    return mapped_column(sa.String(CODE_LENGTH), default=same_as_profile, index=index,
                         nullable=nullable)


class Jurisdiction(Base):
    __tablename__ = "jurisdictions"

    code: Mapped[str] = mapped_column(sa.String(CODE_LENGTH), primary_key=True)
    name_zh: Mapped[str] = mapped_column(sa.String(100))
    name_en: Mapped[str] = mapped_column(sa.String(200), default="")
    #: The bureau that decides the listings (the authority letters and pages name).
    authority_zh: Mapped[str] = mapped_column(sa.String(200), default="")
    authority_en: Mapped[str] = mapped_column(sa.String(300), default="")
    #: Code of the rules profile (``portal/rules/profiles/<profile>.toml``) its cases follow.
    profile: Mapped[str] = mapped_column(sa.String(20))
    #: The bureau above (a county under its city, a city under its province); None at the top.
    parent_code: Mapped[str | None] = mapped_column(
        sa.ForeignKey("jurisdictions.code"), index=True)
    #: Departments that prepare cases: [{"zh": ..., "en": ...}], the first is the default.
    departments: Mapped[list] = mapped_column(sa.JSON, default=list)
    #: The public contact line (telephone, address) printed on pages and letters.
    contact_zh: Mapped[str] = mapped_column(sa.String(200), default="")
    contact_en: Mapped[str] = mapped_column(sa.String(300), default="")
    position: Mapped[int] = mapped_column(default=0)               # order in lists and facets
    active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=clock.now)
    updated_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=clock.now)

    def name(self, locale: str) -> str:
        return (self.name_en or self.name_zh) if str(locale).startswith("en") else self.name_zh

    def authority(self, locale: str) -> str:
        if str(locale).startswith("en"):
            return self.authority_en or self.authority_zh
        return self.authority_zh

    def contact(self, locale: str) -> str:
        return (self.contact_en or self.contact_zh) if str(locale).startswith("en") else self.contact_zh


class StaffJurisdiction(Base):
    """A member of staff works for a jurisdiction (and may read the ones below it)."""

    __tablename__ = "staff_jurisdictions"

    staff_id: Mapped[int] = mapped_column(sa.ForeignKey("staff_users.id", ondelete="CASCADE"),
                                          primary_key=True)
    jurisdiction_code: Mapped[str] = mapped_column(sa.ForeignKey("jurisdictions.code"),
                                                   primary_key=True, index=True)
