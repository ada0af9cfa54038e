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


def test_jurisdictions_are_backfilled_from_the_data_of_the_revision_before(empty_database_url,
                                                                          tmp_path):
    """Upgrading a portal with data: a case gets the jurisdiction of its profile, a filing its
    case's (a complaint: the configured profile's), an audit event of a case or filing theirs,
    and every member of staff works for every jurisdiction seeded."""
    app = create_app(config.testing(empty_database_url, tmp_path))
    now, day = "2026-05-01 08:00:00", "2026-05-01"
    rows = [
        "INSERT INTO staff_users (id, username, display_name, role, password_hash, active, "
        "failed_logins, created_at) VALUES (1, 'clerk1', 'c', 'clerk', 'x', TRUE, 0, :now), "
        "(2, 'admin1', 'a', 'admin', 'x', TRUE, 0, :now)",
        "INSERT INTO subjects (id, kind, name, created_at) VALUES (1, 'organisation', '甲公司', :now), "
        "(2, 'organisation', '乙公司', :now)",
        *(f"INSERT INTO cases (id, case_no, profile, subject_id, ground, severity, state, origin, "
          f"prior_listings, facts, reasons, department, department_contact, opened_on, "
          f"deadlines_provisional, created_at, updated_at) VALUES ({i}, '{no}', '{p}', {i}, "
          f"'{g}', 'serious', 'opened', 'inspection', 0, 'f', '', '', '', :day, FALSE, :now, :now)"
          for i, no, p, g in ((1, "JIA-2026-000001", "jiamusi", "J1"),
                              (2, "CHI-2026-000001", "chizhou", "C1"))),
        *(f"INSERT INTO submissions (id, receipt_no, kind, state, case_id, query_code_hash, "
          f"anonymous, body, details, received_on, due_provisional, created_at) VALUES ({i}, "
          f"'{no}', '{k}', 'received', {case}, 'h', FALSE, 'b', '{{}}', :day, FALSE, :now)"
          for i, no, k, case in ((1, "O20260501-AAAAAA", "objection", 2),
                                 (2, "T20260501-BBBBBB", "complaint", "NULL"))),
        *(f"INSERT INTO audit_events (id, seq, at, actor_label, action, entity_type, entity_id, "
          f"data, prev_hash, hash) VALUES ({i}, {i}, :now, 'x', 'a', '{t}', '{e}', '{{}}', 'p', 'h{i}')"
          for i, t, e in ((1, "case", "JIA-2026-000001"), (2, "case", "CHI-2026-000001"),
                          (3, "submission", "O20260501-AAAAAA"),
                          (4, "submission", "T20260501-BBBBBB"), (5, "staff", "clerk1"))),
    ]
    with app.app_context():
        upgrade(revision="7e2b9c4d1a60")
        with db.engine.begin() as conn:
            for sql in rows:
                conn.execute(sa.text(sql), {"now": now, "day": day})
        upgrade(revision="d1a7c3e5f902")
        with db.engine.connect() as conn:
            def pairs(sql):
                return {tuple(r) for r in conn.execute(sa.text(sql))}

            assert pairs("SELECT code, profile FROM jurisdictions") == {
                ("jiamusi", "jiamusi"), ("chizhou", "chizhou")}
            assert pairs("SELECT case_no, jurisdiction FROM cases") == {
                ("JIA-2026-000001", "jiamusi"), ("CHI-2026-000001", "chizhou")}
            assert pairs("SELECT receipt_no, jurisdiction FROM submissions") == {
                ("O20260501-AAAAAA", "chizhou"), ("T20260501-BBBBBB", "jiamusi")}
            assert pairs("SELECT entity_id, jurisdiction FROM audit_events") == {
                ("JIA-2026-000001", "jiamusi"), ("CHI-2026-000001", "chizhou"),
                ("O20260501-AAAAAA", "chizhou"), ("T20260501-BBBBBB", "jiamusi"),
                ("clerk1", None)}
            assert pairs("SELECT staff_id, jurisdiction_code FROM staff_jurisdictions") == {
                (1, "jiamusi"), (1, "chizhou"), (2, "jiamusi"), (2, "chizhou")}
        upgrade()
        downgrade(revision="d1a7c3e5f902")
        db.engine.dispose()
