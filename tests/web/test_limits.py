"""Limits that hold: shared by every worker process (Redis), refused without it; no identifier
in a limiter key."""
from __future__ import annotations

import multiprocessing
import os
import runpy
import subprocess
import sys
import uuid
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest
import redis

from portal import config as portal_config
from portal import create_app, ratelimit
from portal.extensions import db
from tests.web import limits_worker

ROOT = Path(__file__).resolve().parents[2]
PROBE = ROOT / "scripts" / "redis_probe.py"
REDIS_URL = os.environ.get("PORTAL_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
IN_CI = os.environ.get("CI", "").lower() == "true"
ID_NUMBER = "11010519850307123X"        # typed into the case-number field
ADDRESS = "198.51.100.23"


@pytest.fixture
def shared_redis():
    """The machine's Redis, with a key prefix of this test's own (removed afterwards)."""
    server = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        server.ping()
    except redis.RedisError as exc:
        if IN_CI:
            pytest.fail(f"Redis is required in CI but unreachable: {exc}")
        pytest.skip(f"Redis unreachable: {exc}")
    prefix = f"portal-test-{uuid.uuid4().hex[:10]}"
    yield server, prefix
    for key in server.scan_iter(match=f"*{prefix}*"):
        server.delete(key)
    server.close()


@pytest.fixture
def sqlite_url(tmp_path):
    """A database with the schema (the limits do not depend on the database kind)."""
    url = f"sqlite:///{tmp_path / 'portal.db'}"
    app = create_app(portal_config.testing(url, tmp_path))
    with app.app_context():
        db.create_all()
        db.engine.dispose()
    return url


def _in_worker_process(*args):
    with ProcessPoolExecutor(max_workers=1,
                             mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(limits_worker.serve, *args).result(timeout=120)


def test_a_limit_holds_across_two_worker_processes(shared_redis, sqlite_url, tmp_path):
    _server, prefix = shared_redis
    check = ("/check", {"code": "91230800MA1B2C3D4E"}, ADDRESS)
    pid_a, first = _in_worker_process(sqlite_url, str(tmp_path), REDIS_URL, prefix, [check] * 2)
    pid_b, second = _in_worker_process(sqlite_url, str(tmp_path), REDIS_URL, prefix, [check] * 2)
    assert pid_a != pid_b
    assert 429 not in first
    assert second[0] != 429 and second[1] == 429   # 3 per minute in all, not 3 per process


def test_no_limiter_key_holds_the_identifier_or_the_address(shared_redis, sqlite_url, tmp_path):
    server, prefix = shared_redis
    posts = [("/submit/party", {"case_no": ID_NUMBER, "access_code": "2345-6789-AB",
                                "identifier": ID_NUMBER}, ADDRESS),
             ("/track", {"receipt_no": ID_NUMBER, "query_code": "2345-6789-AB"}, ADDRESS),
             ("/check", {"code": ID_NUMBER}, ADDRESS),
             ("/api/v1/integration/cases", {}, ADDRESS)]
    _pid, statuses = _in_worker_process(sqlite_url, str(tmp_path), REDIS_URL, prefix, posts)
    assert 429 not in statuses and 500 not in statuses
    keys = [k.decode() for k in server.scan_iter(match=f"*{prefix}*")]
    assert len(keys) >= 4                   # the limits were counted in Redis
    for key in keys:
        assert ID_NUMBER not in key.upper() and ID_NUMBER[:17] not in key
        assert ADDRESS not in key


# --------------------------------------------------------------------------
# Without Redis: one worker process, or none
# --------------------------------------------------------------------------

def _gunicorn_settings(monkeypatch, **env) -> dict:
    for name in ("PORTAL_REDIS_URL", "WEB_CONCURRENCY"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(ROOT / "gunicorn.conf.py"))


def test_gunicorn_runs_one_worker_without_redis(monkeypatch):
    assert _gunicorn_settings(monkeypatch)["workers"] == 1
    assert _gunicorn_settings(monkeypatch, PORTAL_REDIS_URL=REDIS_URL)["workers"] == 2


def test_more_workers_without_redis_are_refused(monkeypatch):
    with pytest.raises(ratelimit.SharedStorageMissing, match="PORTAL_REDIS_URL"):
        ratelimit.check_workers(3, None)
    ratelimit.check_workers(3, REDIS_URL)
    ratelimit.check_workers(1, None)


def test_gunicorn_refuses_to_start_two_workers_without_redis(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PORTAL_", "GUNICORN_"))}
    env.update(PORTAL_INSTANCE_DIR=str(tmp_path), WEB_CONCURRENCY="2", PORT="0",
               PORTAL_DATABASE_URL=f"sqlite:///{tmp_path / 'portal.db'}")
    done = subprocess.run([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "PORTAL_REDIS_URL" in done.stderr


def test_the_redis_probe_names_a_redis_that_answers(shared_redis):
    found = subprocess.run([sys.executable, str(PROBE), REDIS_URL],
                           capture_output=True, text=True, timeout=30)
    assert found.returncode == 0 and found.stdout.strip() == REDIS_URL
    closed = subprocess.run([sys.executable, str(PROBE), "redis://127.0.0.1:1/0"],
                            capture_output=True, text=True, timeout=30)
    assert closed.returncode == 1 and closed.stdout == ""
