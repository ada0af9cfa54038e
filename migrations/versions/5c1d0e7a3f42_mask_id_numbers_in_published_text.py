"""mask resident ID numbers the earlier detector missed in published text

Facts, reasons and legal text of published entries written before the one
ID detector (numbers with separators, full-width, glued to letters or digits)
are masked; each changed entry gets a new version and an outbox event, so
the worker re-indexes it, and the publication version moves (ETags).
No schema change; masking cannot be undone, so the downgrade does nothing.

Revision ID: 5c1d0e7a3f42
Revises: 5e7b1c2d9f40
Create Date: 2026-12-05 20:50:00

"""
import datetime as dt

import sqlalchemy as sa
from alembic import op

from portal.rules.identifiers import mask_ric_numbers

# revision identifiers, used by Alembic.
revision = '5c1d0e7a3f42'
down_revision = '5e7b1c2d9f40'
branch_labels = None
depends_on = None

FIELDS = ("facts", "reasons", "legal_basis")
_entries = sa.table("published_entries", sa.column("id", sa.Integer),
                    sa.column("public_id", sa.String), sa.column("version", sa.Integer),
                    *(sa.column(name, sa.Text) for name in FIELDS))
_outbox = sa.table("outbox", sa.column("topic", sa.String), sa.column("action", sa.String),
                   sa.column("public_id", sa.String),
                   sa.column("created_at", sa.DateTime(timezone=True)))
_state = sa.table("publication_state", sa.column("id", sa.Integer),
                  sa.column("version", sa.Integer),
                  sa.column("changed_at", sa.DateTime(timezone=True)))


def remask(conn, now: dt.datetime) -> int:
    """Mask ID numbers in the projection's free text; returns how many entries changed."""
    rows = conn.execute(sa.select(_entries)).mappings().all()
    changed = 0
    for row in rows:
        masked = {name: mask_ric_numbers(row[name]) if row[name] else row[name]
                  for name in FIELDS}
        if all(masked[name] == row[name] for name in FIELDS):
            continue
        conn.execute(sa.update(_entries).where(_entries.c.id == row["id"])
                     .values(version=(row["version"] or 0) + 1, **masked))
        conn.execute(sa.insert(_outbox).values(topic="entry", action="upsert",
                                               public_id=row["public_id"], created_at=now))
        changed += 1
    if changed:
        conn.execute(sa.update(_state).where(_state.c.id == 1)
                     .values(version=_state.c.version + 1, changed_at=now))
    return changed


def upgrade():
    remask(op.get_bind(), dt.datetime.now(dt.timezone.utc))


def downgrade():
    pass
