"""one meaning of the term: term_last_day and leaves_list_on; provisional dates of an entry

``cases.term_end`` and ``published_entries.term_end`` held the day the subject
leaves the list; they are renamed ``leaves_list_on``.  The projection also
stores the term's last day (``term_last_day``, the day before) and the names of
its dates that rest on a provisional calendar year (``dates_provisional``,
empty after the upgrade: ``flask --app wsgi verify publication --fix`` sets it).

Revision ID: c4e1d2a7b9f3
Revises: a9131e0e2dce
Create Date: 2026-12-05 20:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c4e1d2a7b9f3'
down_revision = 'a9131e0e2dce'
branch_labels = None
depends_on = None


def _day_before(column: str) -> str:
    if op.get_bind().dialect.name == "sqlite":
        return f"date({column}, '-1 day')"
    return f"{column} - 1"


def upgrade():
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_state_term_end')
        batch_op.alter_column('term_end', new_column_name='leaves_list_on')
    op.create_index('ix_cases_state_leaves_list_on', 'cases', ['state', 'leaves_list_on'], unique=False)

    with op.batch_alter_table('published_entries', schema=None) as batch_op:
        batch_op.alter_column('term_end', new_column_name='leaves_list_on')
        batch_op.add_column(sa.Column('term_last_day', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('dates_provisional', sa.JSON(), server_default='[]', nullable=False))
    op.execute(f"UPDATE published_entries SET term_last_day = {_day_before('leaves_list_on')}")
    with op.batch_alter_table('published_entries', schema=None) as batch_op:
        batch_op.alter_column('term_last_day', existing_type=sa.Date(), nullable=False)


def downgrade():
    with op.batch_alter_table('published_entries', schema=None) as batch_op:
        batch_op.drop_column('dates_provisional')
        batch_op.drop_column('term_last_day')
        batch_op.alter_column('leaves_list_on', new_column_name='term_end')

    op.drop_index('ix_cases_state_leaves_list_on', table_name='cases')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.alter_column('leaves_list_on', new_column_name='term_end')
    op.create_index('ix_cases_state_term_end', 'cases', ['state', 'term_end'], unique=False)
