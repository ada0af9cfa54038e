"""index of removal_notices.entry_public_id

Withdrawing an entry (its publication period ended, a credit repair, a revoked
decision) unlinks the removal notices that point to it. Without an index each
withdrawal read every notice: the first daily run over a million entries, with
160,000 removed rows past their publication period, spent hours scanning.

Revision ID: 7e2b9c4d1a60
Revises: 9a3c51d7e2b4
Create Date: 2026-12-06 02:10:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '7e2b9c4d1a60'
down_revision = '9a3c51d7e2b4'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_removal_notices_entry_public_id", "removal_notices", ["entry_public_id"])


def downgrade():
    op.drop_index("ix_removal_notices_entry_public_id", table_name="removal_notices")
