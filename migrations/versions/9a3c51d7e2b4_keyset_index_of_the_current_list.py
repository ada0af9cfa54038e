"""keyset index of the current list: (status, visible, listed_on, id)

The public list, its API and its feeds read ``WHERE status = 'listed' AND
visible ORDER BY listed_on DESC, id DESC`` from a cursor (keyset pagination).
With this index both databases read a page as one index range in list order;
without it SQLite sorted every listed row for each page.

Revision ID: 9a3c51d7e2b4
Revises: 5c1d0e7a3f42
Create Date: 2026-12-05 22:30:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '9a3c51d7e2b4'
down_revision = '5c1d0e7a3f42'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_published_entries_status_listed", "published_entries",
                    ["status", "visible", "listed_on", "id"])


def downgrade():
    op.drop_index("ix_published_entries_status_listed", table_name="published_entries")
