"""Evidence files kept in the database (``PORTAL_UPLOAD_STORAGE=database``).

One row per file, under the random name its attachment row refers to. The row is
written in the same transaction as the attachment rows, so a rollback leaves nothing.
The bytes are read in slices (``substr``) so a download never loads a whole file.
"""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from portal import clock
from portal.models.base import Base, Timestamp


class StoredFile(Base):
    __tablename__ = "stored_files"

    name: Mapped[str] = mapped_column(sa.String(80), primary_key=True)
    data: Mapped[bytes] = mapped_column(sa.LargeBinary, deferred=True)
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(sa.String(64))
    # when the file got this name (a file kept across a form round is renamed): the sweep's age
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=clock.now, index=True)


# PostgreSQL: keep the bytes uncompressed out of line (PDF, JPEG, PNG and OFD are compressed
# already), so reading a slice fetches only that slice's TOAST chunks.
EXTERNAL_STORAGE = "ALTER TABLE stored_files ALTER COLUMN data SET STORAGE EXTERNAL"
sa.event.listen(StoredFile.__table__, "after_create",
                sa.DDL(EXTERNAL_STORAGE).execute_if(dialect="postgresql"))
