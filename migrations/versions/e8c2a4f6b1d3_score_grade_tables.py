"""score_grade_tables: the score → grade tables of the credit score (Zhengzhou §三 ¶1),
proposed by one member of staff and put in force by another approver

Revision ID: e8c2a4f6b1d3
Revises: d4f6a8c0e2b5
Create Date: 2026-12-10 10:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'e8c2a4f6b1d3'
down_revision = 'd4f6a8c0e2b5'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "score_grade_tables",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("table_no", sa.String(length=40), nullable=False),
        sa.Column("profile", sa.String(length=20), nullable=False),
        sa.Column("jurisdiction", sa.String(length=20), nullable=False),
        sa.Column("bands", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("status", sa.Enum("proposed", "in_force", "rejected", "superseded",
                                    name="scoretablestatus", native_enum=False, length=32,
                                    create_constraint=False), nullable=False),
        sa.Column("proposed_by_id", sa.Integer(), nullable=True),
        sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.Column("in_force_from", sa.Date(), nullable=True),
        sa.Column("superseded_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(["decided_by_id"], ["staff_users.id"],
                                name=op.f("fk_score_grade_tables_decided_by_id_staff_users")),
        sa.ForeignKeyConstraint(["proposed_by_id"], ["staff_users.id"],
                                name=op.f("fk_score_grade_tables_proposed_by_id_staff_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_score_grade_tables")),
        sa.UniqueConstraint("table_no", name=op.f("uq_score_grade_tables_table_no")),
    )
    op.create_index("ix_score_grade_tables_jurisdiction_status", "score_grade_tables",
                    ["jurisdiction", "status"])


def downgrade():
    op.drop_index("ix_score_grade_tables_jurisdiction_status", table_name="score_grade_tables")
    op.drop_table("score_grade_tables")
