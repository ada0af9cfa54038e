"""Subjects: the organisations and persons a case is about (SPEC §2).

Full identifiers live here, in the write model, and nowhere public; the
public projection only carries masked forms and keyed hashes.
"""
from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal import clock
from portal.models.base import Base, Timestamp, enum_column


class SubjectKind(str, enum.Enum):
    ORGANISATION = "organisation"
    PERSON = "person"


class PersonRole(str, enum.Enum):
    LEGAL_REPRESENTATIVE = "legal_representative"  # 法定代表人 / 单位负责人
    RESPONSIBLE = "responsible"                    # 相关责任人


class Subject(Base):
    __tablename__ = "subjects"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[SubjectKind] = mapped_column(enum_column(SubjectKind), index=True)
    name: Mapped[str] = mapped_column(sa.String(200), index=True)
    uscc: Mapped[str | None] = mapped_column(sa.String(18), unique=True)     # 统一社会信用代码
    org_code: Mapped[str | None] = mapped_column(sa.String(9), index=True)   # 组织机构代码
    reg_no: Mapped[str | None] = mapped_column(sa.String(15), index=True)    # 工商注册号
    id_number: Mapped[str | None] = mapped_column(sa.String(18))             # persons: 居民身份证号码
    id_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)  # keyed hash of id_number
    address: Mapped[str | None] = mapped_column(sa.String(300))
    # organisations: the kind of unit behaviours are found against (Zhengzhou §四):
    # employer | medical_institution | pharmacy (None: not stated, an ordinary employer)
    unit_kind: Mapped[str | None] = mapped_column(sa.String(30))
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=clock.now)

    people: Mapped[list[RelatedPerson]] = relationship(
        back_populates="subject", cascade="all, delete-orphan", order_by="RelatedPerson.id"
    )

    @property
    def legal_representative(self) -> RelatedPerson | None:
        return next((p for p in self.people if p.role is PersonRole.LEGAL_REPRESENTATIVE), None)

    @property
    def primary_code(self) -> str | None:
        return self.uscc or self.org_code or self.reg_no or self.id_number


class RelatedPerson(Base):
    """Legal representative or responsible person of an organisation (Jiamusi art. 7(一))."""

    __tablename__ = "related_persons"

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_id: Mapped[int] = mapped_column(sa.ForeignKey("subjects.id", ondelete="CASCADE"), index=True)
    role: Mapped[PersonRole] = mapped_column(enum_column(PersonRole))
    name: Mapped[str] = mapped_column(sa.String(100))
    id_number: Mapped[str | None] = mapped_column(sa.String(18))
    id_hash: Mapped[str | None] = mapped_column(sa.String(64), index=True)

    subject: Mapped[Subject] = relationship(back_populates="people")
