"""The letter register (文书登记): every letter the bureau issues to a party (两书同达).

One row per issued letter: the case, the kind, its number (文书编号, a sequence
per jurisdiction, year and kind), the day and the member of staff, and the SHA-256
of the first rendering of its content. A letter that carries the party's
access code also keeps a fingerprint of the code's hash, so a re-issued code
(a new letter) is told apart from a reprint of the same letter; the code
itself is never stored. Nor is the verification code every numbered letter prints
for ``/letters/verify``: it is derived from the number, id and date of issue
(``portal.services.letter_verification``).
"""
from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal import clock
from portal.models.base import Base, Timestamp, enum_column
from portal.models.cases import Case
from portal.models.jurisdictions import jurisdiction_column


class LetterKind(str, enum.Enum):
    PRE_NOTICE = "pre_notice"                   # 事先告知书 (Jiamusi art. 7 ¶1)
    LISTING_DECISION = "listing_decision"       # 列入决定书 + 信用修复告知书 (art. 7 ¶2; 两书同达)
    REMOVAL_DECISION = "removal_decision"       # 移出决定书 (arts. 10–14)
    REPAIR_CERTIFICATE = "repair_certificate"   # 信用修复证明 (Shanghai art. 10)


class Letter(Base):
    __tablename__ = "letters"
    __table_args__ = (
        sa.UniqueConstraint("jurisdiction", "year", "kind", "seq"),   # the number sequence
        sa.Index("ix_letters_case_kind", "case_id", "kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"))
    kind: Mapped[LetterKind] = mapped_column(enum_column(LetterKind))
    profile: Mapped[str] = mapped_column(sa.String(20))
    jurisdiction: Mapped[str] = jurisdiction_column()
    year: Mapped[int] = mapped_column()
    seq: Mapped[int] = mapped_column()
    letter_no: Mapped[str] = mapped_column(sa.String(60), unique=True)   # 文书编号
    issued_on: Mapped[dt.date] = mapped_column(sa.Date)
    issued_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_users.id"))
    # sha256 of the access-code hash the letter was issued with (None: the letter carries no code)
    code_fingerprint: Mapped[str | None] = mapped_column(sa.String(64))
    sha256: Mapped[str | None] = mapped_column(sa.String(64))           # of the first rendering
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=clock.now)

    case: Mapped[Case] = relationship()
