"""Declarative base with constraint naming (stable Alembic diffs) and shared column types."""
from __future__ import annotations

import enum

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING)


def enum_column(enum_cls: type[enum.Enum], length: int = 32) -> sa.Enum:
    """Store an enum by its value as a plain string (no native ENUM types to migrate)."""
    return sa.Enum(
        enum_cls,
        native_enum=False,
        length=length,
        values_callable=lambda cls: [member.value for member in cls],
        validate_strings=True,
        create_constraint=False,
    )


#: Timestamps are stored timezone-aware (UTC) on both databases.
Timestamp = sa.DateTime(timezone=True)
