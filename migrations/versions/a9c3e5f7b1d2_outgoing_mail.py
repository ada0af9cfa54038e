"""outgoing mail: e-mail to filers leaves the request; the worker sends it with retries

A filing step writes a row in its own transaction; the worker sends the due rows, tries a
failed one again with a growing pause, and marks it failed after the last attempt (staff
see it at /admin/mail). Nothing to backfill: mail of earlier filings went out already.

Revision ID: a9c3e5f7b1d2
Revises: e3b5d7f9a1c2
Create Date: 2026-12-08 12:00:00

"""
from alembic import op
import sqlalchemy as sa

revision = 'a9c3e5f7b1d2'
down_revision = 'b8d2f4a6c1e3'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "outgoing_mail",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event", sa.String(length=30), nullable=False),
        sa.Column("recipient", sa.String(length=200), nullable=False),
        sa.Column("jurisdiction", sa.String(length=20), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("locale", sa.String(length=10), nullable=False),
        sa.Column("status", sa.Enum("pending", "sent", "failed", name="mailstatus",
                                    native_enum=False, length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=80), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outgoing_mail")),
    )
    with op.batch_alter_table("outgoing_mail") as batch:
        batch.create_index("ix_outgoing_mail_due", ["status", "next_attempt_at"], unique=False)


def downgrade():
    with op.batch_alter_table("outgoing_mail") as batch:
        batch.drop_index("ix_outgoing_mail_due")
    op.drop_table("outgoing_mail")
