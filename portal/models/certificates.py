"""Query certificates (查询结果证明): a /check answer as issued, signed and hash-chained.

A row is written once and never changed: ``content`` is the canonical JSON the
Ed25519 ``signature`` covers, ``content_sha256`` its digest, and each row's
``chain_hash`` = SHA-256(``prev_hash`` || ``content_sha256``) (hex strings
concatenated) links it to the certificate issued before it. On PostgreSQL a
trigger refuses every UPDATE and DELETE; ``flask --app wsgi certificates chain``
recomputes the chain (``portal.services.certificates.verify_chain``).
"""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base, Timestamp


class QueryCertificate(Base):
    __tablename__ = "query_certificates"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: ``QC-2026-`` + 10 random base32 characters: printed, typed, in the URL.
    number: Mapped[str] = mapped_column(sa.String(24), unique=True)
    #: Position in the chain, 1-based, no gaps (two issues never share a predecessor).
    seq: Mapped[int] = mapped_column(unique=True)
    issued_at: Mapped[dt.datetime] = mapped_column(Timestamp, index=True)
    publication_version: Mapped[int] = mapped_column()
    #: The canonical JSON text exactly as signed (UTF-8, sorted keys, no spaces).
    content: Mapped[str] = mapped_column(sa.Text)
    content_sha256: Mapped[str] = mapped_column(sa.String(64))
    #: The keyed hash (lookup key) of the code that was checked; the code itself is never stored.
    subject_hash: Mapped[str] = mapped_column(sa.String(64), index=True)
    prev_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    chain_hash: Mapped[str] = mapped_column(sa.String(64))
    signature: Mapped[str] = mapped_column(sa.String(100))     # base64 of 64 bytes
    key_id: Mapped[str] = mapped_column(sa.String(16))


#: PostgreSQL: a certificate can never be changed or removed once issued.
IMMUTABLE_FUNCTION = """
CREATE OR REPLACE FUNCTION query_certificates_immutable() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'query certificates cannot be changed or deleted once issued';
END;
$$ LANGUAGE plpgsql
"""
IMMUTABLE_TRIGGER = """
CREATE TRIGGER query_certificates_immutable BEFORE UPDATE OR DELETE ON query_certificates
FOR EACH ROW EXECUTE FUNCTION query_certificates_immutable()
"""

for _statement in (IMMUTABLE_FUNCTION, IMMUTABLE_TRIGGER):
    sa.event.listen(QueryCertificate.__table__, "after_create",
                    sa.DDL(_statement).execute_if(dialect="postgresql"))
