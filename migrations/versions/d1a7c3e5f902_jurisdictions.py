"""jurisdictions: the bureaus on one portal, staff membership, a jurisdiction on every record

Seeds one jurisdiction per profile the data names (and the configured ``PORTAL_PROFILE``), from
the profile's names and authority, and the configured contact; every existing member of staff
works for all of them (as before: one deployment, one bureau). Every case, filing, letter, import
batch, grade finding, red-list proposal and entry, integration client and public record gets
the jurisdiction of its profile (filings: their case's); audit events of a case or filing get
theirs.

Revision ID: d1a7c3e5f902
Revises: 7e2b9c4d1a60
Create Date: 2026-12-06 10:30:00

"""
import datetime as dt

import sqlalchemy as sa
from alembic import op
from flask import current_app

revision = 'd1a7c3e5f902'
down_revision = '7e2b9c4d1a60'
branch_labels = None
depends_on = None

#: Tables whose rows name their profile: the jurisdiction seeded from it is theirs.
WITH_PROFILE = ("cases", "published_entries", "removal_notices", "publication_withdrawals",
                "red_list_entries", "grade_findings", "red_list_proposals", "letters",
                "import_batches")
INDEXED = {"cases", "published_entries", "removal_notices", "publication_withdrawals",
           "red_list_entries", "grade_findings", "red_list_proposals", "import_batches"}


def _seed(conn, default_profile: str) -> list[str]:
    from portal.rules.profiles import UnknownProfile, load_profile

    codes = {default_profile}
    for table in WITH_PROFILE:
        codes |= set(conn.execute(sa.text(f"SELECT DISTINCT profile FROM {table}")).scalars())
    contact = current_app.config.get("PORTAL_DEPARTMENT_CONTACT", "") or ""
    now = dt.datetime.now(dt.timezone.utc)
    table = sa.table("jurisdictions", sa.column("departments", sa.JSON), *(sa.column(c) for c in (
        "code", "name_zh", "name_en", "authority_zh", "authority_en", "profile",
        "contact_zh", "contact_en", "position", "active", "created_at", "updated_at")))
    seeded = []
    for position, code in enumerate(sorted(codes, key=lambda c: (c != default_profile, c))):
        try:
            profile = load_profile(code)
        except UnknownProfile:
            continue
        conn.execute(table.insert().values(
            code=code, name_zh=profile.name.zh, name_en=profile.name.en,
            authority_zh=profile.authority.zh, authority_en=profile.authority.en, profile=code,
            departments=[{"zh": profile.authority.zh, "en": profile.authority.en}],
            contact_zh=contact, contact_en=contact, position=position, active=True,
            created_at=now, updated_at=now))
        seeded.append(code)
    return seeded


def upgrade():
    op.create_table(
        "jurisdictions",
        sa.Column("code", sa.String(20), nullable=False),
        sa.Column("name_zh", sa.String(100), nullable=False),
        sa.Column("name_en", sa.String(200), nullable=False),
        sa.Column("authority_zh", sa.String(200), nullable=False),
        sa.Column("authority_en", sa.String(300), nullable=False),
        sa.Column("profile", sa.String(20), nullable=False),
        sa.Column("parent_code", sa.String(20), nullable=True),
        sa.Column("departments", sa.JSON(), nullable=False),
        sa.Column("contact_zh", sa.String(200), nullable=False),
        sa.Column("contact_en", sa.String(300), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["parent_code"], ["jurisdictions.code"],
                                name=op.f("fk_jurisdictions_parent_code_jurisdictions")),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_jurisdictions")),
    )
    op.create_index(op.f("ix_jurisdictions_parent_code"), "jurisdictions", ["parent_code"])
    op.create_table(
        "staff_jurisdictions",
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("jurisdiction_code", sa.String(20), nullable=False),
        sa.ForeignKeyConstraint(["jurisdiction_code"], ["jurisdictions.code"],
                                name=op.f("fk_staff_jurisdictions_jurisdiction_code_jurisdictions")),
        sa.ForeignKeyConstraint(["staff_id"], ["staff_users.id"], ondelete="CASCADE",
                                name=op.f("fk_staff_jurisdictions_staff_id_staff_users")),
        sa.PrimaryKeyConstraint("staff_id", "jurisdiction_code", name=op.f("pk_staff_jurisdictions")),
    )
    op.create_index(op.f("ix_staff_jurisdictions_jurisdiction_code"), "staff_jurisdictions",
                    ["jurisdiction_code"])

    for table in (*WITH_PROFILE, "submissions", "api_clients", "audit_events"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("jurisdiction", sa.String(20), nullable=True))

    conn = op.get_bind()
    default = current_app.config.get("PORTAL_PROFILE", "jiamusi")
    seeded = _seed(conn, default)
    for table in WITH_PROFILE:
        conn.execute(sa.text(f"UPDATE {table} SET jurisdiction = profile"))
    conn.execute(sa.text(
        "UPDATE submissions SET jurisdiction = COALESCE("
        "(SELECT cases.jurisdiction FROM cases WHERE cases.id = submissions.case_id), :d)"),
        {"d": default})
    conn.execute(sa.text("UPDATE api_clients SET jurisdiction = :d"), {"d": default})
    conn.execute(sa.text(
        "UPDATE audit_events SET jurisdiction = (SELECT cases.jurisdiction FROM cases "
        "WHERE cases.case_no = audit_events.entity_id) WHERE entity_type = 'case'"))
    conn.execute(sa.text(
        "UPDATE audit_events SET jurisdiction = (SELECT submissions.jurisdiction FROM submissions "
        "WHERE submissions.receipt_no = audit_events.entity_id) WHERE entity_type = 'submission'"))
    staff = sa.table("staff_jurisdictions", sa.column("staff_id"), sa.column("jurisdiction_code"))
    for staff_id in conn.execute(sa.text("SELECT id FROM staff_users")).scalars():
        for code in seeded:
            conn.execute(staff.insert().values(staff_id=staff_id, jurisdiction_code=code))

    for table in (*WITH_PROFILE, "submissions", "api_clients"):
        with op.batch_alter_table(table) as batch:
            batch.alter_column("jurisdiction", existing_type=sa.String(20), nullable=False)
    for table in (*INDEXED, "submissions", "audit_events"):
        op.create_index(op.f(f"ix_{table}_jurisdiction"), table, ["jurisdiction"])


def downgrade():
    for table in (*INDEXED, "submissions", "audit_events"):
        op.drop_index(op.f(f"ix_{table}_jurisdiction"), table_name=table)
    for table in (*WITH_PROFILE, "submissions", "api_clients", "audit_events"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("jurisdiction")
    op.drop_index(op.f("ix_staff_jurisdictions_jurisdiction_code"), table_name="staff_jurisdictions")
    op.drop_table("staff_jurisdictions")
    op.drop_index(op.f("ix_jurisdictions_parent_code"), table_name="jurisdictions")
    op.drop_table("jurisdictions")
