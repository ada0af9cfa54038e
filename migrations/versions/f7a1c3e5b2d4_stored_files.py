"""stored_files: evidence files kept in the database

With ``PORTAL_UPLOAD_STORAGE=database`` every evidence file is a row of this table,
written in the same transaction as its attachment row (no shared upload directory is
needed when the portal runs on several hosts). On PostgreSQL the bytes are stored
out of line without compression, so a download reads them slice by slice.

Revision ID: f7a1c3e5b2d4
Revises: e3b5d7f9a1c2
Create Date: 2026-12-08 10:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'f7a1c3e5b2d4'
down_revision = 'a9c3e5f7b1d2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "stored_files",
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_stored_files")),
    )
    op.create_index(op.f("ix_stored_files_created_at"), "stored_files", ["created_at"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE stored_files ALTER COLUMN data SET STORAGE EXTERNAL")


def downgrade():
    op.drop_index(op.f("ix_stored_files_created_at"), table_name="stored_files")
    op.drop_table("stored_files")
