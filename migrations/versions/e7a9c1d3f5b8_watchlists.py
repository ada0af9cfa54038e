"""subscribers, their sessions, watchlists, watched codes (keyed hashes) and their alerts

Revision ID: e7a9c1d3f5b8
Revises: e8c2a4f6b1d3
Create Date: 2026-12-06 23:10:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'e7a9c1d3f5b8'
down_revision = 'e8c2a4f6b1d3'
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade():
    op.create_table(
        "subscribers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=200), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("locale", sa.String(length=10), nullable=False),
        sa.Column("email_verified_at", TS, nullable=True),
        sa.Column("verify_token_hash", sa.String(length=64), nullable=True),
        sa.Column("verify_sent_at", TS, nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("last_login_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscribers")),
        sa.UniqueConstraint("email", name=op.f("uq_subscribers_email")),
        sa.UniqueConstraint("verify_token_hash", name=op.f("uq_subscribers_verify_token_hash")),
    )
    op.create_table(
        "subscriber_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("subscriber_id", sa.Integer(), nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["subscriber_id"], ["subscribers.id"], ondelete="CASCADE",
                                name=op.f("fk_subscriber_sessions_subscriber_id_subscribers")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscriber_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_subscriber_sessions_token_hash")),
    )
    op.create_index(op.f("ix_subscriber_sessions_subscriber_id"), "subscriber_sessions",
                    ["subscriber_id"])
    op.create_index(op.f("ix_subscriber_sessions_expires_at"), "subscriber_sessions",
                    ["expires_at"])
    op.create_table(
        "watchlists",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subscriber_id", sa.Integer(), nullable=True),
        sa.Column("api_client_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("feed_token_hash", sa.String(length=64), nullable=False),
        sa.Column("feed_token_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("email_alerts", sa.Boolean(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.CheckConstraint("(subscriber_id IS NULL) <> (api_client_id IS NULL)",
                           name=op.f("ck_watchlists_one_owner")),
        sa.ForeignKeyConstraint(["subscriber_id"], ["subscribers.id"], ondelete="CASCADE",
                                name=op.f("fk_watchlists_subscriber_id_subscribers")),
        sa.ForeignKeyConstraint(["api_client_id"], ["api_clients.id"], ondelete="CASCADE",
                                name=op.f("fk_watchlists_api_client_id_api_clients")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_watchlists")),
        sa.UniqueConstraint("feed_token_hash", name=op.f("uq_watchlists_feed_token_hash")),
    )
    op.create_index(op.f("ix_watchlists_subscriber_id"), "watchlists", ["subscriber_id"])
    op.create_index(op.f("ix_watchlists_api_client_id"), "watchlists", ["api_client_id"])
    op.create_table(
        "watch_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("watchlist_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("code_masked", sa.String(length=40), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=True),
        sa.Column("added_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["watchlist_id"], ["watchlists.id"], ondelete="CASCADE",
                                name=op.f("fk_watch_items_watchlist_id_watchlists")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_watch_items")),
        sa.UniqueConstraint("watchlist_id", "code_hash",
                            name=op.f("uq_watch_items_watchlist_id")),
    )
    op.create_index(op.f("ix_watch_items_watchlist_id"), "watch_items", ["watchlist_id"])
    op.create_index(op.f("ix_watch_items_code_hash"), "watch_items", ["code_hash"])
    op.create_table(
        "watch_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("watchlist_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("event", sa.String(length=20), nullable=False),
        sa.Column("public_id", sa.String(length=20), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("mailed", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["watchlist_id"], ["watchlists.id"], ondelete="CASCADE",
                                name=op.f("fk_watch_alerts_watchlist_id_watchlists")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_watch_alerts")),
        sa.UniqueConstraint("watchlist_id", "position", "public_id",
                            name=op.f("uq_watch_alerts_watchlist_id")),
    )
    op.create_index(op.f("ix_watch_alerts_watchlist_id"), "watch_alerts", ["watchlist_id"])
    op.create_index(op.f("ix_watch_alerts_created_at"), "watch_alerts", ["created_at"])
    op.create_table(
        "watch_seen",
        sa.Column("public_id", sa.String(length=20), nullable=False),
        sa.Column("code_hashes", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("under_objection", sa.Boolean(), nullable=False),
        sa.Column("corrected_on", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("public_id", name=op.f("pk_watch_seen")),
    )
    op.create_table(
        "watch_progress",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_watch_progress")),
    )


def downgrade():
    op.drop_table("watch_progress")
    op.drop_table("watch_seen")
    op.drop_index(op.f("ix_watch_alerts_created_at"), table_name="watch_alerts")
    op.drop_index(op.f("ix_watch_alerts_watchlist_id"), table_name="watch_alerts")
    op.drop_table("watch_alerts")
    op.drop_index(op.f("ix_watch_items_code_hash"), table_name="watch_items")
    op.drop_index(op.f("ix_watch_items_watchlist_id"), table_name="watch_items")
    op.drop_table("watch_items")
    op.drop_index(op.f("ix_watchlists_api_client_id"), table_name="watchlists")
    op.drop_index(op.f("ix_watchlists_subscriber_id"), table_name="watchlists")
    op.drop_table("watchlists")
    op.drop_index(op.f("ix_subscriber_sessions_expires_at"), table_name="subscriber_sessions")
    op.drop_index(op.f("ix_subscriber_sessions_subscriber_id"), table_name="subscriber_sessions")
    op.drop_table("subscriber_sessions")
    op.drop_table("subscribers")
