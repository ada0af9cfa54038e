"""letter numbers per jurisdiction: the 文书编号 sequence is the bureau's, not the profile's

Two bureaus under one profile (a city and its county bureaus) number their letters each in
its own sequence. Every existing letter has the jurisdiction of its profile (the previous
revision), so the sequences and numbers of a jurisdiction seeded from a profile go on as before.

Revision ID: e3b5d7f9a1c2
Revises: d1a7c3e5f902
Create Date: 2026-12-06 12:00:00

"""
from alembic import op

revision = 'e3b5d7f9a1c2'
down_revision = 'd1a7c3e5f902'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("letters") as batch:
        batch.drop_constraint("uq_letters_profile", type_="unique")
        batch.create_unique_constraint("uq_letters_jurisdiction",
                                       ["jurisdiction", "year", "kind", "seq"])


def downgrade():
    with op.batch_alter_table("letters") as batch:
        batch.drop_constraint("uq_letters_jurisdiction", type_="unique")
        batch.create_unique_constraint("uq_letters_profile", ["profile", "year", "kind", "seq"])
