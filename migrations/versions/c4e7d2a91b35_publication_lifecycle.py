"""publication lifecycle: corrected facts, tombstones of withdrawn public records

Revision ID: c4e7d2a91b35
Revises: c4e1d2a7b9f3
Create Date: 2026-12-05 20:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c4e7d2a91b35'
down_revision = 'c4e1d2a7b9f3'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('publication_withdrawals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('topic', sa.String(length=10), nullable=False),
    sa.Column('public_id', sa.String(length=20), nullable=False),
    sa.Column('profile', sa.String(length=20), nullable=False),
    sa.Column('withdrawn_on', sa.Date(), nullable=False),
    sa.Column('reason', sa.String(length=30), nullable=False),
    sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_publication_withdrawals')),
    sa.UniqueConstraint('topic', 'public_id', name=op.f('uq_publication_withdrawals_topic'))
    )
    with op.batch_alter_table('publication_withdrawals', schema=None) as batch_op:
        batch_op.create_index('ix_publication_withdrawals_withdrawn', ['withdrawn_on', 'id'], unique=False)
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('corrected_on', sa.Date(), nullable=True))
    with op.batch_alter_table('published_entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('corrected_on', sa.Date(), nullable=True))


def downgrade():
    with op.batch_alter_table('published_entries', schema=None) as batch_op:
        batch_op.drop_column('corrected_on')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('corrected_on')
    with op.batch_alter_table('publication_withdrawals', schema=None) as batch_op:
        batch_op.drop_index('ix_publication_withdrawals_withdrawn')
    op.drop_table('publication_withdrawals')
