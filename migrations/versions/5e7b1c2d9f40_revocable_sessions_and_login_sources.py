"""revocable sessions: staff session version, party-area session records, login failures by source

Revision ID: 5e7b1c2d9f40
Revises: c4e1f0a7b2d9
Create Date: 2026-12-05 20:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = '5e7b1c2d9f40'
down_revision = 'c4e1f0a7b2d9'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('staff_users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_version', sa.Integer(), nullable=False,
                                      server_default='0'))
    op.create_table('staff_login_failures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('failed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['staff_users.id'], name=op.f('fk_staff_login_failures_user_id_staff_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_login_failures'))
    )
    with op.batch_alter_table('staff_login_failures', schema=None) as batch_op:
        batch_op.create_index('ix_staff_login_failures_user_at', ['user_id', 'failed_at'], unique=False)
    op.create_table('party_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_party_sessions_case_id_cases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_party_sessions')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_party_sessions_token_hash'))
    )
    with op.batch_alter_table('party_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_party_sessions_expires_at'), ['expires_at'], unique=False)


def downgrade():
    with op.batch_alter_table('party_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_party_sessions_expires_at'))
    op.drop_table('party_sessions')
    with op.batch_alter_table('staff_login_failures', schema=None) as batch_op:
        batch_op.drop_index('ix_staff_login_failures_user_at')
    op.drop_table('staff_login_failures')
    with op.batch_alter_table('staff_users', schema=None) as batch_op:
        batch_op.drop_column('session_version')
