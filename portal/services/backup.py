"""Backups that restore: the database, the evidence files and a manifest with checksums.

A backup directory holds

- ``database.sqlite3`` (SQLite's online backup API: a consistent copy while the
  portal runs) or ``database.pgdump`` (``pg_dump`` custom format, taken in the
  snapshot whose counts and audit head the manifest records);
- ``uploads/``: every evidence file of the upload directory (partial ``.part`` uploads are
  left out; with ``PORTAL_UPLOAD_STORAGE=database`` the files are rows of the database copy);
- ``manifest.json``: backend, Alembic revision, row counts of every table, the
  audit chain's head (position and hash) and the SHA-256 and size of every file.

Restore checks every checksum before it touches anything, refuses a database
or upload directory that already holds data unless forced, loads the copy and
then compares the restored counts and audit head with the manifest.  The
search index is not backed up: it is rebuilt from the projection.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from portal import clock
from portal.models.base import Base

MANIFEST = "manifest.json"
UPLOADS = "uploads"
DUMPS = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}
FORMAT = 1
_CHUNK = 1024 * 1024


class BackupError(Exception):
    """The backup or restore cannot go on; the message says why (no data in it)."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def snapshot_facts(conn: Connection) -> dict:
    """Counts of every table, the Alembic revision and the audit head, read on ``conn``."""
    existing = set(sa.inspect(conn).get_table_names())
    counts = {t.name: conn.scalar(sa.select(sa.func.count()).select_from(t))
              for t in Base.metadata.sorted_tables if t.name in existing}
    revision = None
    if "alembic_version" in existing:
        revision = conn.scalar(sa.text("SELECT version_num FROM alembic_version"))
    head = {"seq": 0, "hash": "0" * 64}
    if "audit_head" in existing:
        row = conn.execute(sa.text("SELECT seq, hash FROM audit_head WHERE id = 1")).first()
        if row is not None:
            head = {"seq": int(row.seq), "hash": row.hash}
    return {"alembic_revision": revision, "counts": counts, "audit_head": head}


def is_empty(engine: Engine) -> bool:
    """True when no table of the database holds a row (an empty schema counts as empty)."""
    with engine.connect() as conn:
        for name in sa.inspect(conn).get_table_names():
            if name == "alembic_version":
                continue
            if conn.execute(sa.select(sa.literal(1)).select_from(sa.table(name)).limit(1)).first():
                return False
    return True


def _libpq(engine: Engine) -> tuple[str, dict]:
    """A libpq URL for pg_dump/pg_restore, the password passed in the environment."""
    url = engine.url.set(drivername="postgresql")
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
        url = url.set(password=None)
    return url.render_as_string(hide_password=False), env


def _run(args: list[str], env: dict) -> None:
    binary = shutil.which(args[0])
    if binary is None:
        raise BackupError(f"{args[0]} not found on PATH (install the PostgreSQL client)")
    done = subprocess.run([binary, *args[1:]], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"{args[0]} failed: {done.stderr.strip()[-2000:]}")


def _copy_file(src: Path, dst: Path) -> str:
    """Copy ``src`` to ``dst`` (fsynced), returning the SHA-256 of what was written."""
    digest = hashlib.sha256()
    with open(src, "rb") as fin, open(dst, "wb") as fout:
        while chunk := fin.read(_CHUNK):
            digest.update(chunk)
            fout.write(chunk)
        fout.flush()
        os.fsync(fout.fileno())
    os.chmod(dst, 0o600)
    return digest.hexdigest()


def _upload_files(upload_dir: Path) -> list[Path]:
    if not upload_dir.is_dir():
        return []
    return sorted(p for p in upload_dir.iterdir() if p.is_file() and not p.name.endswith(".part"))


def backup(engine: Engine, upload_dir: Path | str, target: Path | str) -> dict:
    """Write a backup of the database and the evidence files to ``target`` (new or empty)."""
    target, upload_dir = Path(target), Path(upload_dir)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise BackupError(f"{target} exists and is not empty; choose a new directory")
    target.mkdir(parents=True, exist_ok=True)
    os.chmod(target, 0o700)
    backend = engine.dialect.name
    if backend not in DUMPS:
        raise BackupError(f"unsupported database backend {backend}")
    dump = target / DUMPS[backend]
    facts = _backup_sqlite(engine, dump) if backend == "sqlite" else _backup_postgresql(engine, dump)
    (target / UPLOADS).mkdir(mode=0o700)
    files = {dump.name: {"sha256": sha256_of(dump), "size": dump.stat().st_size}}
    # After the database: every row of the copy has its file (files are stored before their rows).
    for src in _upload_files(upload_dir):
        dst = target / UPLOADS / src.name
        files[f"{UPLOADS}/{src.name}"] = {"sha256": _copy_file(src, dst), "size": dst.stat().st_size}
    manifest = {"format": FORMAT, "created_at": clock.now().isoformat(timespec="seconds"),
                "backend": backend, **facts, "files": files}
    tmp = target / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True), encoding="utf-8")
    os.chmod(tmp, 0o600)
    tmp.replace(target / MANIFEST)
    return manifest


def _backup_sqlite(engine: Engine, dump: Path) -> dict:
    source = engine.url.database
    if not source or source == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    with contextlib.closing(sqlite3.connect(source)) as src, \
            contextlib.closing(sqlite3.connect(dump)) as dst:
        src.backup(dst)
    os.chmod(dump, 0o600)
    copy = sa.create_engine(f"sqlite:///{dump}")
    try:
        with copy.connect() as conn:
            return snapshot_facts(conn)
    finally:
        copy.dispose()


def _backup_postgresql(engine: Engine, dump: Path) -> dict:
    url, env = _libpq(engine)
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn:
        with conn.begin():
            snapshot = conn.scalar(sa.text("SELECT pg_export_snapshot()"))
            facts = snapshot_facts(conn)
            # pg_dump reads the same snapshot while this transaction stays open.
            _run(["pg_dump", "--format=custom", f"--snapshot={snapshot}", "--no-owner",
                  "--no-privileges", f"--file={dump}", f"--dbname={url}"], env)
    os.chmod(dump, 0o600)
    return facts


def read_manifest(source: Path | str) -> dict:
    """The manifest of a backup, after checking the checksum of every file it lists."""
    source = Path(source)
    try:
        manifest = json.loads((source / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BackupError(f"no readable {MANIFEST} in {source}: {exc}") from exc
    if manifest.get("format") != FORMAT or manifest.get("backend") not in DUMPS:
        raise BackupError(f"{MANIFEST}: unknown format or backend")
    if DUMPS[manifest["backend"]] not in manifest.get("files", {}):
        raise BackupError(f"{MANIFEST}: the database copy is not listed")
    for rel, meta in manifest["files"].items():
        parts = Path(rel).parts
        if Path(rel).is_absolute() or ".." in parts or len(parts) > 2 or (
                len(parts) == 2 and parts[0] != UPLOADS):
            raise BackupError(f"{MANIFEST}: unexpected path {rel!r}")
        path = source / rel
        if not path.is_file():
            raise BackupError(f"{rel}: listed in the manifest but missing")
        if sha256_of(path) != meta["sha256"]:
            raise BackupError(f"{rel}: checksum does not match the manifest (backup damaged)")
    return manifest


def restore(engine: Engine, upload_dir: Path | str, source: Path | str, force: bool = False) -> dict:
    """Load a backup into the configured database and upload directory; return the manifest.

    The caller disposes of its sessions first; afterwards it runs the audit check and
    rebuilds the search index.
    """
    source, upload_dir = Path(source), Path(upload_dir)
    manifest = read_manifest(source)
    backend = engine.dialect.name
    if manifest["backend"] != backend:
        raise BackupError(f"backup of a {manifest['backend']} database, configured database is {backend}")
    existing_uploads = _upload_files(upload_dir)
    if not force and not is_empty(engine):
        raise BackupError("the database already holds data; restore only into an empty one (or --force)")
    if not force and existing_uploads:
        raise BackupError(f"{upload_dir} already holds files; restore only into an empty one (or --force)")
    engine.dispose()
    dump = source / DUMPS[backend]
    if backend == "sqlite":
        _restore_sqlite(engine, dump)
    else:
        _restore_postgresql(engine, dump)
    engine.dispose()
    _restore_uploads(manifest, source, upload_dir, existing_uploads)
    with engine.connect() as conn:
        facts = snapshot_facts(conn)
    for field in ("counts", "audit_head", "alembic_revision"):
        if facts[field] != manifest[field]:
            raise BackupError(f"restored {field} differ from the manifest: "
                              f"{facts[field]!r} != {manifest[field]!r}")
    return manifest


def _restore_sqlite(engine: Engine, dump: Path) -> None:
    target = engine.url.database
    if not target or target == ":memory:":
        raise BackupError("cannot restore into an in-memory SQLite database")
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    with contextlib.closing(sqlite3.connect(f"file:{dump}?mode=ro", uri=True)) as src, \
            contextlib.closing(sqlite3.connect(target)) as dst:
        src.backup(dst)     # replaces every page of the target


def _restore_postgresql(engine: Engine, dump: Path) -> None:
    url, env = _libpq(engine)
    with engine.connect() as conn:
        has_tables = bool(sa.inspect(conn).get_table_names())
    engine.dispose()
    args = ["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction"]
    if has_tables:
        args += ["--clean", "--if-exists"]
    _run([*args, f"--dbname={url}", str(dump)], env)


def _restore_uploads(manifest: dict, source: Path, upload_dir: Path, existing: list[Path]) -> None:
    upload_dir.mkdir(parents=True, exist_ok=True)
    wanted = {rel.split("/", 1)[1]: meta for rel, meta in manifest["files"].items()
              if rel.startswith(UPLOADS + "/")}
    for path in existing:
        if path.name not in wanted:
            path.unlink()
    for name, meta in wanted.items():
        dst = upload_dir / name
        if _copy_file(source / UPLOADS / name, dst) != meta["sha256"]:
            raise BackupError(f"{UPLOADS}/{name}: copy does not match its checksum")
