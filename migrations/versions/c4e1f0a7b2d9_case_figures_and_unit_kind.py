"""figures for thresholds on cases and findings; the kind of unit of a subject

Revision ID: c4e1f0a7b2d9
Revises: c4e7d2a91b35
Create Date: 2026-12-05 20:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c4e1f0a7b2d9'
down_revision = 'c4e7d2a91b35'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('months', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('person_times', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('alternative_met', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
    with op.batch_alter_table('subjects', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unit_kind', sa.String(length=30), nullable=True))
    with op.batch_alter_table('grade_findings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=True))
        batch_op.add_column(sa.Column('months', sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table('grade_findings', schema=None) as batch_op:
        batch_op.drop_column('months')
        batch_op.drop_column('amount')
    with op.batch_alter_table('subjects', schema=None) as batch_op:
        batch_op.drop_column('unit_kind')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('alternative_met')
        batch_op.drop_column('person_times')
        batch_op.drop_column('months')
