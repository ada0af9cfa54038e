"""Data sets of N entries for the bench, built once and reused.

A data set lives in ``bench/data/<backend>-<N>-<migration head>/`` (gitignored):
the portal's instance directory (keys, heartbeat, anchors), the search index,
``dataset.json`` (how long the seed and the index build took) and, on SQLite,
``portal.db``; on PostgreSQL the database ``bench_<N>_<head>`` on 127.0.0.1.
It is built with the portal's own commands — ``init-db``, ``seed-demo --count
N`` (deterministic), ``expire`` (the daily job up to the machine's day), ``index rebuild`` — so a second run with the same N and
schema reuses it.  ``dataset.json`` is written last: a run that stopped half
way builds again.

The runs change a data set slightly: publish-to-searchable adds a few entries,
and the worker ends the terms that expired between the demo's "today" and the
machine's.  ``--fresh`` builds it again.
"""
from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from alembic.script import ScriptDirectory

from bench.procs import BIN, ROOT

DATA = ROOT / "bench" / "data"
PG = {"host": "127.0.0.1", "port": "5432", "user": "postgres"}
#: Fixed keys: public ids and hashes of the seeded rows depend on the lookup key.
KEYS = {"PORTAL_LOOKUP_KEY": "bench-lookup-key", "PORTAL_SECRET_KEY": "bench-secret-key",
        "PORTAL_ANCHOR_KEY": "bench-anchor-key", "PORTAL_CERT_SIGNING_KEY": "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA="}


def migration_head() -> str:
    return ScriptDirectory(str(ROOT / "migrations")).get_current_head()


@dataclass
class DataSet:
    backend: str
    count: int
    head: str

    @property
    def dir(self) -> Path:
        return DATA / f"{self.backend}-{self.count}-{self.head}"

    @property
    def pg_name(self) -> str:
        return f"bench_{self.count}_{self.head}".lower()

    @property
    def sqlite_file(self) -> Path:
        return self.dir / "portal.db"

    @property
    def url(self) -> str:
        if self.backend == "sqlite":
            return f"sqlite:///{self.sqlite_file}"
        return f"postgresql+psycopg://{PG['user']}@{PG['host']}:{PG['port']}/{self.pg_name}"

    @property
    def index_dir(self) -> Path:
        return self.dir / "index"

    @property
    def marker(self) -> Path:
        return self.dir / "dataset.json"

    def env(self, redis_url: str | None = None) -> dict:
        instance = self.dir / "instance"
        env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
        env.update(KEYS)
        env.update({
            "PORTAL_INSTANCE_DIR": str(instance), "PORTAL_DATABASE_URL": self.url,
            "PORTAL_INDEX_DIR": str(self.index_dir), "PORTAL_UPLOAD_DIR": str(instance / "uploads"),
            "PORTAL_HEARTBEAT_FILE": str(instance / "worker-heartbeat.json"),
            "PORTAL_AUDIT_ANCHORS": str(instance / "audit-anchors.jsonl"),
            "PORTAL_COOKIE_SECURE": "false", "PYTHONUNBUFFERED": "1",
        })
        if redis_url:
            env["PORTAL_REDIS_URL"] = redis_url
        return env

    def info(self) -> dict | None:
        try:
            return json.loads(self.marker.read_text())
        except (OSError, ValueError):
            return None


def _psql(sql: str, db: str = "postgres") -> str:
    return subprocess.run(["psql", "-h", PG["host"], "-p", PG["port"], "-U", PG["user"], "-d", db,
                           "-Atc", sql], check=True, capture_output=True, text=True).stdout.strip()


def _pg_exists(name: str) -> bool:
    return _psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'") == "1"


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _flask(env: dict, *args: str, log: Path, timeout: float) -> tuple[float, float]:
    """Run one ``flask --app wsgi`` command; its wall time and CPU time (user + system) in seconds.

    The CPU time is the steadier figure on a machine shared with other work.
    """
    started, cpu = time.perf_counter(), _cpu()
    with open(log, "ab") as out:
        out.write(f"\n$ flask {' '.join(args)}\n".encode())
        out.flush()
        subprocess.run([str(BIN / "flask"), "--app", "wsgi", *args], cwd=ROOT, env=env,
                       stdout=out, stderr=subprocess.STDOUT, check=True, timeout=timeout)
    return time.perf_counter() - started, _cpu() - cpu


def ensure(ds: DataSet, fresh: bool, echo, timeout: float) -> dict:
    """The data set's facts (built now or reused), including seed and index build seconds."""
    info = ds.info()
    usable = info is not None and not fresh and (
        ds.sqlite_file.exists() if ds.backend == "sqlite" else _pg_exists(ds.pg_name))
    if usable:
        echo(f"{ds.backend}: reusing the data set of {ds.count:,} entries in {ds.dir}")
        return {**info, "reused": True}
    echo(f"{ds.backend}: building a data set of {ds.count:,} entries in {ds.dir}")
    shutil.rmtree(ds.dir, ignore_errors=True)
    (ds.dir / "instance").mkdir(parents=True)
    if ds.backend == "postgresql":
        _psql(f'DROP DATABASE IF EXISTS "{ds.pg_name}"')
        _psql(f'CREATE DATABASE "{ds.pg_name}"')
    env, log = ds.env(), ds.dir / "build.log"
    _flask(env, "init-db", log=log, timeout=600)
    seed, seed_cpu = _flask(env, "seed-demo", "--count", str(ds.count), log=log, timeout=timeout)
    echo(f"{ds.backend}: seeded {ds.count:,} entries in {seed:.1f}s ({seed_cpu:.1f} CPU-s)")
    # The seed's terms end on the demo's dates; the daily job ends those that expired up to
    # the machine's day now, before the index is built, so the worker starts on a current list.
    catch_up, _ = _flask(env, "expire", log=log, timeout=timeout)
    echo(f"{ds.backend}: ended the terms expired by today in {catch_up:.1f}s")
    index, index_cpu = _flask(env, "index", "rebuild", log=log, timeout=timeout)
    echo(f"{ds.backend}: index rebuilt in {index:.1f}s ({index_cpu:.1f} CPU-s)")
    info = {"backend": ds.backend, "count": ds.count, "migration_head": ds.head,
            "seed_seconds": round(seed, 1), "seed_cpu_seconds": round(seed_cpu, 1),
            "catch_up_seconds": round(catch_up, 1), "index_seconds": round(index, 1), "index_cpu_seconds": round(index_cpu, 1),
            "index_bytes": sum(p.stat().st_size for p in ds.index_dir.rglob("*") if p.is_file())}
    ds.marker.write_text(json.dumps(info, indent=2))
    return {**info, "reused": False}
