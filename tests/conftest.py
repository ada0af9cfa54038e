"""Fixtures: the app on SQLite and on the PostgreSQL server of this machine.

Every database test runs on both backends (``backend`` is parametrised).
Each pytest worker creates its own PostgreSQL database and drops it at the
end. With ``CI=true`` an unreachable PostgreSQL fails the run instead of
skipping.
"""
from __future__ import annotations

import os
import threading
import uuid

import pytest
import sqlalchemy as sa

from portal import create_app
from portal.config import testing
from portal.extensions import db as _db

PG_ADMIN_URL = os.environ.get("PORTAL_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
IN_CI = os.environ.get("CI", "").lower() == "true"
BACKENDS = os.environ.get("PORTAL_TEST_BACKENDS", "sqlite,postgresql").split(",")


def _pg_reachable() -> str | None:
    try:
        engine = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:  # any driver error means "not reachable"
        return str(exc).splitlines()[0]


@pytest.fixture(scope="session")
def pg_database():
    """A database of our own on the PostgreSQL server, dropped at the end of the session."""
    problem = _pg_reachable()
    if problem:
        if IN_CI:
            pytest.fail(f"PostgreSQL is required in CI but unreachable: {problem}")
        pytest.skip(f"PostgreSQL unreachable: {problem}")
    name = f"portal_test_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}" ENCODING \'UTF8\' TEMPLATE template0'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    yield url
    with admin.connect() as conn:
        conn.execute(sa.text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"), {"n": name})
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def database_url(backend, request, tmp_path) -> str:
    if backend == "postgresql":
        return request.getfixturevalue("pg_database")
    return f"sqlite:///{tmp_path / 'portal.db'}"


_schema_ready: set[str] = set()


def pytest_configure(config):
    from tests import demo_cache

    demo_cache.configure(config)
    # pytest-xdist registers this marker itself; `-p no:xdist` with --strict-markers needs it too.
    config.addinivalue_line("markers", "xdist_group(name): run the group on one xdist worker")


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """Make ``--dist loadgroup`` see the groups (``xdist_group``: the browser tests, suites
    that share one expensive module fixture).

    pytest-xdist 3.8 groups by appending ``@<group>`` to ``item._nodeid``; pytest 9.2 keeps
    the id in ``item._id`` instead, so that write is lost and the tests would spread over
    all workers (each launching chromium, each seeding the module's data). Only ids that
    still lack the suffix are touched: with a fixed xdist this does nothing.
    """
    if not getattr(config.option, "loadgroup", False):
        return
    for item in items:
        mark = item.get_closest_marker("xdist_group")
        if mark is None or "@" in item.nodeid:
            continue
        group = mark.args[0] if mark.args else mark.kwargs.get("name", "default")
        grouped = f"{item.nodeid}@{group}"
        if hasattr(item, "_id"):
            from _pytest.nodeid import coerce_node_id
            item._id = coerce_node_id(grouped)
        else:
            item._nodeid = grouped


@pytest.fixture
def upload_storage() -> str:
    """PORTAL_UPLOAD_STORAGE of the app; upload tests run on both (tests/storage_support.py)."""
    return "directory"


@pytest.fixture
def app(database_url, tmp_path, upload_storage):
    app = create_app({**testing(database_url, tmp_path), "PORTAL_UPLOAD_STORAGE": upload_storage})
    from portal.caching import aggregates, pages
    from portal.services import screening_index

    aggregates.clear()      # per-process caches keyed by the publication version: a test's
    pages.clear()           # fresh database may reach the same version at the same frozen time
    screening_index.clear()
    with app.app_context():
        if database_url.startswith("postgresql"):
            if database_url not in _schema_ready:
                _db.drop_all()
                _db.create_all()
                _schema_ready.add(database_url)
            else:
                _truncate_all()
        else:
            _db.create_all()
        from portal.services import jurisdictions

        jurisdictions.ensure_seeded(_db.session, app.config["PORTAL_PROFILE"],
                                    app.config["PORTAL_DEPARTMENT_CONTACT"])
        _db.session.commit()
        yield app
        for thread in threading.enumerate():        # the worker's export builds (daemon threads)
            if thread.name == "exports":
                thread.join(timeout=120)
        _db.session.remove()
        index = app.extensions.pop("portal_search", None)
        if index is not None:
            index.close()
        _db.engine.dispose()


def _truncate_all() -> None:
    tables = ", ".join(f'"{t.name}"' for t in _db.metadata.sorted_tables)
    _db.session.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    _db.session.commit()


@pytest.fixture
def session(app):
    return _db.session


@pytest.fixture
def client(app):
    return app.test_client()
