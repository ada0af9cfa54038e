"""The Alembic migrations build exactly the schema the models describe, on both databases."""
import uuid

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from portal import config, create_app
from portal.extensions import db
from tests.conftest import IN_CI, PG_ADMIN_URL, _pg_reachable


@pytest.fixture
def empty_database_url(backend, tmp_path):
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrate.db'}"
        return
    problem = _pg_reachable()
    if problem:
        if IN_CI:
            pytest.fail(f"PostgreSQL is required in CI but unreachable: {problem}")
        pytest.skip(problem)
    name = f"portal_migrate_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_upgrade_matches_the_models_and_downgrades(empty_database_url, tmp_path):
    app = create_app(config.testing(empty_database_url, tmp_path))
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            diffs = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}),
                                     db.metadata)
        assert diffs == [], f"models and migrations differ: {diffs}"
        tables = set(sa.inspect(db.engine).get_table_names())
        assert {"published_entries", "removal_notices", "audit_events", "outbox",
                "holiday_overrides", "red_list_entries"} <= tables
        downgrade(revision="base")
        assert set(sa.inspect(db.engine).get_table_names()) <= {"alembic_version"}
        db.engine.dispose()


def test_published_text_written_before_the_one_detector_is_masked(app, session):
    """The data migration masks what the earlier detector let through, and re-indexes it."""
    import datetime as dt
    import importlib

    from portal.models import OutboxEvent, PublicationState, PublishedEntry
    from tests.factories import published_case

    migration = importlib.import_module(
        "migrations.versions.5c1d0e7a3f42_mask_id_numbers_in_published_text")
    published_case(session, app)
    session.commit()
    entry = session.execute(sa.select(PublishedEntry)).scalar_one()
    entry.facts = "经查，参保人（身份证号1101-0519-8503-0712-30）骗取待遇。"   # as stored before
    entry.reasons = "当事人P110105198503071230"
    session.commit()
    version, published = entry.version, session.get(PublicationState, 1).version
    pending = session.scalar(sa.select(sa.func.count(OutboxEvent.id)))
    with db.engine.begin() as conn:
        assert migration.remask(conn, dt.datetime(2026, 12, 5, tzinfo=dt.timezone.utc)) == 1
        assert migration.remask(conn, dt.datetime(2026, 12, 5, tzinfo=dt.timezone.utc)) == 0
    session.expire_all()
    entry = session.execute(sa.select(PublishedEntry)).scalar_one()
    assert entry.facts == "经查，参保人（身份证号1101**********1230）骗取待遇。"
    assert entry.reasons == "当事人P1101**********1230" and entry.version == version + 1
    assert session.get(PublicationState, 1).version == published + 1
    assert session.scalar(sa.select(sa.func.count(OutboxEvent.id))) == pending + 1
