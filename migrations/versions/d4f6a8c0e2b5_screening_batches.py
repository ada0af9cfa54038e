"""screening_batches and screening_chunks: uploaded files of batch screening, in progress
and their sealed results until the retention ends

Revision ID: d4f6a8c0e2b5
Revises: c9e4f2a8d6b3
Create Date: 2026-12-06 19:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'd4f6a8c0e2b5'
down_revision = 'c9e4f2a8d6b3'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "screening_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("status", sa.Enum("queued", "running", "done", "failed", name="batchstatus",
                                    native_enum=False, length=16, create_constraint=False),
                  nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("processed", sa.Integer(), nullable=False),
        sa.Column("matched", sa.Integer(), nullable=False),
        sa.Column("invalid", sa.Integer(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("jurisdiction", sa.String(length=40), nullable=True),
        sa.Column("codes", sa.Text(), nullable=True),
        sa.Column("rows", sa.LargeBinary(), nullable=True),
        sa.Column("leased_by", sa.String(length=100), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("publication_version", sa.Integer(), nullable=True),
        sa.Column("failure", sa.String(length=40), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_screening_batches")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_screening_batches_token_hash")),
    )
    op.create_index(op.f("ix_screening_batches_status"), "screening_batches", ["status"])
    op.create_index(op.f("ix_screening_batches_expires_at"), "screening_batches", ["expires_at"])
    op.create_table(
        "screening_chunks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("start", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("results", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["batch_id"], ["screening_batches.id"], ondelete="CASCADE",
                                name=op.f("fk_screening_chunks_batch_id_screening_batches")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_screening_chunks")),
        sa.UniqueConstraint("batch_id", "start", name=op.f("uq_screening_chunks_batch_id")),
    )
    op.create_index(op.f("ix_screening_chunks_batch_id"), "screening_chunks", ["batch_id"])


def downgrade():
    op.drop_index(op.f("ix_screening_chunks_batch_id"), table_name="screening_chunks")
    op.drop_table("screening_chunks")
    op.drop_index(op.f("ix_screening_batches_expires_at"), table_name="screening_batches")
    op.drop_index(op.f("ix_screening_batches_status"), table_name="screening_batches")
    op.drop_table("screening_batches")
