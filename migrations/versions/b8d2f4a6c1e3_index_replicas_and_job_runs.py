"""index replicas tail the outbox; once-only jobs

Every host's search index keeps its own position in the outbox (inside the index), so
the outbox no longer records one "processed" time for everyone: ``processed_at`` and
its index go. ``index_replicas`` lists each host's index as its worker reports it (for
pruning and health); ``job_runs`` records when a job that runs once for all hosts last
ran. ``ix_outbox_record`` finds the later rows of one record (pruning).

Revision ID: b8d2f4a6c1e3
Revises: e3b5d7f9a1c2
Create Date: 2026-12-06 16:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'b8d2f4a6c1e3'
down_revision = 'e3b5d7f9a1c2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'index_replicas',
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('pending', sa.Integer(), nullable=False),
        sa.Column('seen_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_index_replicas')),
    )
    op.create_table(
        'job_runs',
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('last_day', sa.Date(), nullable=True),
        sa.Column('last_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('host', sa.String(length=100), nullable=True),
        sa.Column('mark', sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_job_runs')),
    )
    with op.batch_alter_table('outbox') as batch:
        batch.drop_index('ix_outbox_pending')
        batch.drop_column('processed_at')
        batch.create_index('ix_outbox_record', ['topic', 'public_id', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('outbox') as batch:
        batch.drop_index('ix_outbox_record')
        batch.add_column(sa.Column('processed_at', sa.DateTime(timezone=True), nullable=True))
        batch.create_index('ix_outbox_pending', ['processed_at', 'id'], unique=False)
    op.drop_table('job_runs')
    op.drop_table('index_replicas')
