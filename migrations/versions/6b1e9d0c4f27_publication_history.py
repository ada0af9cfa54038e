"""publication_history: every published listing interval, kept after publication ends

One row per published listing (keyed hash of the code, jurisdiction, entry id, listing day,
publication day, removal day and reason, correction days, the day the entry stopped being
published); it answers "was this code listed on day D?" on /check.

Backfill (best effort): every case that was published (``cases.published_on`` set) gets its
row, from its projection rows where they still exist (the entry, else the removal notice) and
from the case itself where both have been withdrawn. The keyed hash and the entry id of a
case with neither row need the portal's lookup key: the migration takes it from the running
application (``PORTAL_LOOKUP_KEY``); without it such cases are left out. Only the last
correction of a case is known (``cases.corrected_on``), and a withdrawn case's
``unpublished_on`` comes from its tombstone where the public could see it.

Revision ID: 6b1e9d0c4f27
Revises: e3b5d7f9a1c2
Create Date: 2026-12-06 17:00:00

"""
import datetime as dt

import sqlalchemy as sa
from alembic import op

from portal.rules.profiles import load_profile
from portal.security import lookup_hash, public_id

revision = '6b1e9d0c4f27'
down_revision = 'f7a1c3e5b2d4'
branch_labels = None
depends_on = None

CHUNK = 1000

_cases = sa.table(
    "cases", sa.column("id", sa.Integer), sa.column("case_no", sa.String),
    sa.column("profile", sa.String), sa.column("jurisdiction", sa.String),
    sa.column("subject_id", sa.Integer), sa.column("ground", sa.String),
    sa.column("decided_on", sa.Date), sa.column("published_on", sa.Date),
    sa.column("removed_on", sa.Date), sa.column("removal_reason", sa.String),
    sa.column("corrected_on", sa.Date))
_subjects = sa.table(
    "subjects", sa.column("id", sa.Integer), sa.column("kind", sa.String),
    sa.column("uscc", sa.String), sa.column("org_code", sa.String),
    sa.column("reg_no", sa.String), sa.column("id_number", sa.String))
_entries = sa.table(
    "published_entries", sa.column("case_id", sa.Integer), sa.column("public_id", sa.String),
    sa.column("code_hash", sa.String), sa.column("visible", sa.Boolean),
    sa.column("listed_on", sa.Date), sa.column("published_on", sa.Date),
    sa.column("ground_code", sa.String))
_notices = sa.table(
    "removal_notices", sa.column("case_id", sa.Integer), sa.column("code_hash", sa.String),
    sa.column("visible", sa.Boolean), sa.column("listed_on", sa.Date),
    sa.column("ground_code", sa.String))
_tombs = sa.table(
    "publication_withdrawals", sa.column("topic", sa.String), sa.column("public_id", sa.String),
    sa.column("withdrawn_on", sa.Date))
_history = sa.table(
    "publication_history", sa.column("case_id", sa.Integer), sa.column("public_id", sa.String),
    sa.column("profile", sa.String), sa.column("jurisdiction", sa.String),
    sa.column("code_hash", sa.String), sa.column("subject_kind", sa.String),
    sa.column("visible", sa.Boolean), sa.column("ground_code", sa.String),
    sa.column("listed_from", sa.Date), sa.column("published_on", sa.Date),
    sa.column("listed_until", sa.Date), sa.column("removal_reason", sa.String),
    sa.column("corrected_on", sa.JSON), sa.column("unpublished_on", sa.Date),
    sa.column("updated_at", sa.DateTime(timezone=True)))


def _visible(profile_code: str, ground: str, kind: str) -> bool:
    """publication.is_visible from the profile; unknown profile or ground: not answered."""
    try:
        profile = load_profile(profile_code)
        return bool(profile.ground(ground).public
                    and (kind != "person" or profile.publish_individuals))
    except (KeyError, ValueError, FileNotFoundError):
        return False


def backfill(conn, key: str | None, now: dt.datetime) -> int:
    """Rows for every published case that has none yet; returns how many were written."""
    written, last = 0, 0
    done = sa.select(_history.c.case_id).where(_history.c.case_id == _cases.c.id).exists()
    while True:
        rows = conn.execute(
            sa.select(_cases, _subjects.c.kind, _subjects.c.uscc, _subjects.c.org_code,
                      _subjects.c.reg_no, _subjects.c.id_number,
                      _entries.c.public_id.label("e_public_id"),
                      _entries.c.code_hash.label("e_hash"), _entries.c.visible.label("e_visible"),
                      _entries.c.listed_on.label("e_listed_on"),
                      _entries.c.published_on.label("e_published_on"),
                      _entries.c.ground_code.label("e_ground"),
                      _notices.c.code_hash.label("n_hash"), _notices.c.visible.label("n_visible"),
                      _notices.c.listed_on.label("n_listed_on"),
                      _notices.c.ground_code.label("n_ground"))
            .join(_subjects, _subjects.c.id == _cases.c.subject_id)
            .outerjoin(_entries, _entries.c.case_id == _cases.c.id)
            .outerjoin(_notices, _notices.c.case_id == _cases.c.id)
            .where(_cases.c.published_on.is_not(None), _cases.c.decided_on.is_not(None),
                   _cases.c.id > last, ~done)
            .order_by(_cases.c.id).limit(CHUNK)
        ).mappings().all()
        if not rows:
            return written
        last = rows[-1]["id"]
        values = [v for v in (_values(row, key, now) for row in rows) if v is not None]
        withdrawn = dict(conn.execute(
            sa.select(_tombs.c.public_id, _tombs.c.withdrawn_on)
            .where(_tombs.c.topic == "entry", _tombs.c.public_id.in_([v["public_id"] for v in values]))
        ).all()) if values else {}
        for v in values:
            v["unpublished_on"] = withdrawn.get(v["public_id"])
        if values:
            conn.execute(sa.insert(_history), values)
            written += len(values)


def _values(row, key: str | None, now: dt.datetime) -> dict | None:
    code = row["uscc"] or row["org_code"] or row["reg_no"] or row["id_number"]
    code_hash = row["e_hash"] or row["n_hash"] or (lookup_hash(key, code) if key and code else None)
    entry_id = row["e_public_id"] or (public_id(key, "E", row["case_no"]) if key else None)
    if code_hash is None or entry_id is None:
        return None
    if row["e_visible"] is not None:
        visible = bool(row["e_visible"])
    elif row["n_visible"] is not None:
        visible = bool(row["n_visible"])
    else:
        visible = _visible(row["profile"], row["ground"], row["kind"])
    corrected = row["corrected_on"]
    return {
        "case_id": row["id"], "public_id": entry_id, "profile": row["profile"],
        "jurisdiction": row["jurisdiction"], "code_hash": code_hash, "subject_kind": row["kind"],
        "visible": visible, "ground_code": row["e_ground"] or row["n_ground"] or row["ground"],
        "listed_from": row["e_listed_on"] or row["n_listed_on"] or row["decided_on"],
        "published_on": row["e_published_on"] or row["published_on"],
        "listed_until": row["removed_on"] if row["removal_reason"] else None,
        "removal_reason": row["removal_reason"],
        "corrected_on": [corrected.isoformat()] if corrected else [],
        "unpublished_on": None, "updated_at": now,
    }


def _lookup_key() -> str | None:
    try:
        from flask import current_app

        return current_app.config.get("PORTAL_LOOKUP_KEY")
    except RuntimeError:       # run outside the application: rows that need the key wait
        return None


def upgrade():
    op.create_table(
        "publication_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=20), nullable=False),
        sa.Column("profile", sa.String(length=20), nullable=False),
        sa.Column("jurisdiction", sa.String(length=20), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=True),
        sa.Column("subject_kind", sa.String(length=20), nullable=False),
        sa.Column("visible", sa.Boolean(), nullable=False),
        sa.Column("ground_code", sa.String(length=20), nullable=False),
        sa.Column("listed_from", sa.Date(), nullable=False),
        sa.Column("published_on", sa.Date(), nullable=False),
        sa.Column("listed_until", sa.Date(), nullable=True),
        sa.Column("removal_reason", sa.String(length=30), nullable=True),
        sa.Column("corrected_on", sa.JSON(), server_default="[]", nullable=False),
        sa.Column("unpublished_on", sa.Date(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"],
                                name=op.f("fk_publication_history_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_publication_history")),
        sa.UniqueConstraint("case_id", name=op.f("uq_publication_history_case_id")),
        sa.UniqueConstraint("public_id", name=op.f("uq_publication_history_public_id")),
    )
    with op.batch_alter_table("publication_history", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_publication_history_code_hash"), ["code_hash"],
                              unique=False)
        batch_op.create_index("ix_publication_history_jurisdiction_listed",
                              ["jurisdiction", "listed_from"], unique=False)
    backfill(op.get_bind(), _lookup_key(), dt.datetime.now(dt.UTC))


def downgrade():
    with op.batch_alter_table("publication_history", schema=None) as batch_op:
        batch_op.drop_index("ix_publication_history_jurisdiction_listed")
        batch_op.drop_index(batch_op.f("ix_publication_history_code_hash"))
    op.drop_table("publication_history")
