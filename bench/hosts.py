"""Several portal hosts on one PostgreSQL, side by side on this machine (127.0.0.1 only).

Each host is what a server of a production set-up runs: gunicorn with the project's
``gunicorn.conf.py`` and a worker (``flask --app wsgi worker``), with its own instance
directory, search index, export files, heartbeat and audit anchors; all hosts share the
database, the keys, Redis and the evidence directory (the shared mount of the README's
recipe). Used by ``tests/hosts`` (the two-host test) and ``bench/far_host.py``.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import requests
import sqlalchemy as sa

from bench import procs

PG_ADMIN = os.environ.get("PORTAL_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
KEYS = {"PORTAL_SECRET_KEY": "test-secret", "PORTAL_LOOKUP_KEY": "test-lookup-key",
        "PORTAL_ANCHOR_KEY": "test-anchor-key", "PORTAL_CERT_SIGNING_KEY": "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA="}
CSRF = re.compile(r'name="([\w-]*csrf_token)"[^>]*value="([^"]+)"')


@dataclass
class Host:
    name: str
    port: int
    root: Path
    env: dict
    web: subprocess.Popen | None = None
    worker: subprocess.Popen | None = None
    browser: requests.Session = field(default_factory=requests.Session)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    @property
    def worker_log(self) -> Path:
        return self.root / "worker.log"

    def start_web(self) -> None:
        self.web = procs.gunicorn("wsgi:app", self.port, self.env, self.root / "web.log")

    def start_worker(self) -> None:
        self.worker = procs.start([str(procs.BIN / "flask"), "--app", "wsgi", "worker",
                                   "--interval", self.env.get("WORKER_INTERVAL", "0.25")],
                                  self.env, self.worker_log)

    def kill_worker(self) -> None:
        """As a crash would: SIGKILL, no clean-up."""
        if self.worker is not None and self.worker.poll() is None:
            os.killpg(self.worker.pid, signal.SIGKILL)
            self.worker.wait(10)
        self.worker = None

    def wait_ready(self, timeout: float = 180.0) -> None:
        procs.wait_http(self.url("/healthz"), self.web, timeout)

    def get(self, path: str, **kwargs) -> requests.Response:
        return requests.get(self.url(path), timeout=10, **kwargs)

    def sign_in(self, username: str, password: str, browser: requests.Session | None = None):
        browser = browser or self.browser
        page = browser.get(self.url("/admin/login"), timeout=10)
        token = dict(CSRF.findall(page.text))["csrf_token"]
        answer = browser.post(self.url("/admin/login"), timeout=10, allow_redirects=False,
                              data={"csrf_token": token, "username": username,
                                    "password": password})
        if answer.status_code != 302 or "/admin/login" in answer.headers.get("Location", ""):
            raise RuntimeError(f"{self.name}: sign-in refused ({answer.status_code})")
        return browser

    def post_step(self, case_id: int, step: str, browser: requests.Session | None = None,
                  **fields) -> requests.Response:
        """A case step through the back-office form, as a clerk's browser sends it."""
        browser = browser or self.browser
        page = browser.get(self.url(f"/admin/cases/{case_id}"), timeout=10)
        tokens = dict(CSRF.findall(page.text))
        data = {f"{step}-{k}": v for k, v in fields.items()}
        data[f"{step}-csrf_token"] = tokens.get(f"{step}-csrf_token") or tokens["csrf_token"]
        return browser.post(self.url(f"/admin/cases/{case_id}/step/{step}"), data=data,
                            timeout=30, allow_redirects=False)

    def stop(self) -> None:
        for proc in (self.worker, self.web):
            if proc is not None:
                procs.stop(proc)
        self.web = self.worker = None


class Cluster:
    """``names`` hosts on a fresh PostgreSQL database of their own (dropped at the end)."""

    def __init__(self, root: Path, names=("a", "b"), redis_url: str = "redis://127.0.0.1:6379/13",
                 extra_env: dict | None = None):
        self.root = Path(root)
        self.database = f"portal_hosts_{uuid.uuid4().hex[:10]}"
        base = PG_ADMIN.rsplit("/", 1)[0]
        self.database_url = f"{base}/{self.database}"
        self.redis_url = redis_url
        shared = self.root / "shared-uploads"
        common = {**os.environ, **KEYS, "PORTAL_DATABASE_URL": self.database_url,
                  "PORTAL_REDIS_URL": redis_url, "PORTAL_PROFILE": "jiamusi",
                  "PORTAL_UPLOAD_DIR": str(shared), "WEB_CONCURRENCY": "2",
                  "GUNICORN_THREADS": "4", **(extra_env or {})}
        common.pop("PORTAL_INSTANCE_DIR", None)
        self.hosts: dict[str, Host] = {}
        for name in names:
            port = procs.free_port()
            home = self.root / f"host-{name}"
            env = {**common, "PORT": str(port), "PORTAL_INSTANCE_DIR": str(home),
                   "PORTAL_INDEX_DIR": str(home / "index"),
                   "PORTAL_EXPORT_DIR": str(home / "exports"),
                   "PORTAL_HEARTBEAT_FILE": str(home / "worker-heartbeat.json"),
                   "PORTAL_AUDIT_ANCHORS": str(home / "audit-anchors.jsonl"),
                   "PORTAL_REPLICA_NAME": f"host-{name}",
                   "PORTAL_BASE_URL": f"http://127.0.0.1:{port}"}
            self.hosts[name] = Host(name, port, home, env)

    def __getitem__(self, name: str) -> Host:
        return self.hosts[name]

    def _admin(self, statement: str) -> None:
        engine = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(sa.text(statement))
        finally:
            engine.dispose()

    def create(self) -> None:
        """The database, its schema, a clean Redis database; no process yet."""
        import redis

        if os.environ.get("PORTAL_HOSTS_SIGNALS"):
            procs.install_cleanup()
        shutil.rmtree(self.root, ignore_errors=True)
        for host in self.hosts.values():
            host.root.mkdir(parents=True)
        self._admin(f'CREATE DATABASE "{self.database}"')
        first = next(iter(self.hosts.values()))
        subprocess.run([str(procs.BIN / "flask"), "--app", "wsgi", "init-db"], cwd=procs.ROOT,
                       env=first.env, check=True, capture_output=True, timeout=300)
        redis.Redis.from_url(self.redis_url).flushdb()

    def start(self, workers: bool = True) -> None:
        for host in self.hosts.values():
            host.start_web()
            if workers:
                host.start_worker()
        for host in self.hosts.values():
            host.wait_ready()

    def close(self) -> None:
        import redis

        for host in self.hosts.values():
            host.stop()
        try:
            self._admin(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
        except sa.exc.DBAPIError:
            pass
        try:
            redis.Redis.from_url(self.redis_url).flushdb()
        except redis.RedisError:
            pass

    def __enter__(self) -> Cluster:
        try:
            self.create()
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def wait_for(predicate, timeout: float, every: float = 0.05):
    """Poll *predicate* until it returns a true value; (value, seconds taken) or (None, timeout)."""
    started = time.monotonic()
    while True:
        value = predicate()
        if value:
            return value, time.monotonic() - started
        if time.monotonic() - started >= timeout:
            return None, timeout
        time.sleep(every)
