"""query_certificates: signed, hash-chained certificates of /check answers (查询结果证明)

A certificate is never changed after issue: on PostgreSQL a trigger refuses UPDATE
and DELETE on the table.

Revision ID: c9e4f2a8d6b3
Revises: 6b1e9d0c4f27
Create Date: 2026-12-06 18:00:00

"""
import sqlalchemy as sa
from alembic import op


revision = 'c9e4f2a8d6b3'
down_revision = '6b1e9d0c4f27'
branch_labels = None
depends_on = None

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


def upgrade():
    op.create_table(
        "query_certificates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=24), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("publication_version", sa.Integer(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("subject_hash", sa.String(length=64), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("chain_hash", sa.String(length=64), nullable=False),
        sa.Column("signature", sa.String(length=100), nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_query_certificates")),
        sa.UniqueConstraint("number", name=op.f("uq_query_certificates_number")),
        sa.UniqueConstraint("seq", name=op.f("uq_query_certificates_seq")),
        sa.UniqueConstraint("prev_hash", name=op.f("uq_query_certificates_prev_hash")),
    )
    op.create_index(op.f("ix_query_certificates_issued_at"), "query_certificates", ["issued_at"])
    op.create_index(op.f("ix_query_certificates_subject_hash"), "query_certificates",
                    ["subject_hash"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(IMMUTABLE_FUNCTION)
        op.execute(IMMUTABLE_TRIGGER)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS query_certificates_immutable ON query_certificates")
        op.execute("DROP FUNCTION IF EXISTS query_certificates_immutable()")
    op.drop_index(op.f("ix_query_certificates_subject_hash"), table_name="query_certificates")
    op.drop_index(op.f("ix_query_certificates_issued_at"), table_name="query_certificates")
    op.drop_table("query_certificates")
