"""Fixtures: the app on SQLite and on the PostgreSQL server of this machine.

Every database test runs on both backends (``backend`` is parametrised).
Each pytest worker creates its own PostgreSQL database and drops it at the
end. With ``CI=true`` an unreachable PostgreSQL fails the run instead of
skipping.
"""
from __future__ import annotations

import os
import shutil
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
    _reuse_url_builders()
    # pytest-xdist registers this marker itself; `-p no:xdist` with --strict-markers needs it too.
    config.addinivalue_line("markers", "xdist_group(name): run the group on one xdist worker")


def _reuse_url_builders() -> None:
    """Every test makes its own app, and each app compiled its ~160 URL rules' builders
    again: Werkzeug writes two small Python functions per rule (an AST and ``compile``),
    ~0.1 s of each test's set-up and minutes over the suite. A builder depends only on the
    rule's text, its parsed parts, its defaults and its converters' kinds, and takes the rule
    as its first argument, so one compiled for the same rule in an earlier app is the same
    function: keep it. (A production process makes one app; nothing there changes.)"""
    from werkzeug.routing.rules import Rule

    compile_builder = Rule._compile_builder
    if getattr(compile_builder, "reused", False):
        return
    built: dict = {}

    def reused(self, append_unknown: bool = True):
        # the rule's text names its converters and their arguments; the map says which class
        # each name is
        key = (append_unknown, self.rule, tuple(self._trace),
               tuple(type(c) for c in self._converters.values()),
               repr(self.defaults) if self.defaults else None)
        found = built.get(key)
        if found is None:
            found = built[key] = compile_builder(self, append_unknown)
        return found

    reused.reused = True
    Rule._compile_builder = reused


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
def app(database_url, tmp_path, upload_storage, tmp_path_factory):
    if database_url.startswith("sqlite:///"):
        _sqlite_schema(database_url.removeprefix("sqlite:///"), tmp_path_factory)
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
        for thread in threading.enumerate():        # the worker's export builds and webhook
            if thread.name in ("exports", "webhook-delivery"):      # sends (daemon threads)
                thread.join(timeout=120)
        _db.session.remove()
        index = app.extensions.pop("portal_search", None)
        if index is not None:
            index.close()
        _db.engine.dispose()


def _sqlite_schema(path: str, tmp_path_factory) -> None:
    """Give a test's new SQLite file the schema by copying this process's empty one: creating
    ~180 tables and indexes statement by statement (each its own synced transaction) took
    ~0.17 s per test. ``create_all`` then finds every table there."""
    global _sqlite_template
    if os.path.exists(path):
        return
    if _sqlite_template is None:
        template = tmp_path_factory.mktemp("schema") / "empty.db"
        engine = sa.create_engine(f"sqlite:///{template}")
        try:
            _db.metadata.create_all(engine)
        finally:
            engine.dispose()
        _sqlite_template = str(template)
    shutil.copyfile(_sqlite_template, path)


_sqlite_template: str | None = None


#: Tables whose rows a trigger keeps from DELETE (emptied by TRUNCATE when they hold any).
_TRUNCATED = ("query_certificates",)


def _truncate_all() -> None:
    """Empty every table and restart every sequence between two PostgreSQL tests.

    A test leaves a few rows: DELETE in dependency order takes ~10 ms where one TRUNCATE of
    every table takes ~330 ms (a new file for each table and index), which over the suite's
    PostgreSQL tests was minutes. Should the order ever not fit the foreign keys, the
    TRUNCATE still does it."""
    tables = list(reversed(_db.metadata.sorted_tables))
    try:
        for name in _TRUNCATED:
            if _db.session.execute(sa.text(f'SELECT 1 FROM "{name}" LIMIT 1')).first():
                _db.session.execute(sa.text(f'TRUNCATE "{name}" RESTART IDENTITY CASCADE'))
        for table in tables:
            if table.name not in _TRUNCATED:
                _db.session.execute(table.delete())
        _db.session.execute(sa.text(
            "SELECT setval(c.oid, 1, false) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind = 'S' AND n.nspname = current_schema()"))
        _db.session.commit()
    except sa.exc.DBAPIError:
        _db.session.rollback()
        names = ", ".join(f'"{t.name}"' for t in tables)
        _db.session.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        _db.session.commit()


@pytest.fixture
def session(app):
    return _db.session


@pytest.fixture
def client(app):
    return app.test_client()
