"""subscribers.reset_token_hash and reset_sent_at: the one-time link (an hour) by which an
organisation sets a forgotten password

Revision ID: b3d5f7a9c1e4
Revises: a7c9e1b3d5f8
Create Date: 2026-12-07 03:10:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'b3d5f7a9c1e4'
down_revision = 'a7c9e1b3d5f8'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("subscribers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reset_token_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("reset_sent_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_subscribers_reset_token_hash"),
                                          ["reset_token_hash"])


def downgrade():
    with op.batch_alter_table("subscribers", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_subscribers_reset_token_hash"), type_="unique")
        batch_op.drop_column("reset_sent_at")
        batch_op.drop_column("reset_token_hash")
