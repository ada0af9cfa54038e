"""Demo cities seeded once per test run and copied for each test that reads one.

Seeding a city (``portal.demo.seed.seed_city``: ~600 cases through the services) takes
10–25 s. The demo tests, the publication check and the crawls read the same city of each
profile, so each profile is seeded once per run into a shared directory (one lock per
profile across the xdist workers) and every caller gets its own copy of the SQLite file,
free to change. The seeding itself is still what is tested: the copy is byte for byte the
database ``seed_city`` wrote, and the report is the one it returned.
"""
from __future__ import annotations

import pickle
import shutil
from pathlib import Path

from filelock import FileLock


_config = None


def configure(config) -> None:
    """Called by ``tests/conftest.py`` at ``pytest_configure``."""
    global _config
    _config = config


def _root() -> Path:
    """Under the run's base temporary directory, shared by its xdist workers (pytest keeps the
    last few runs' and removes older ones)."""
    base = _config._tmp_path_factory.getbasetemp()
    if hasattr(_config, "workerinput"):         # .../pytest-N/popen-gwK: the run's is above
        base = base.parent
    return base / "demo-cache"


def _seed(target: Path, profile: str) -> dict:
    from portal import create_app
    from portal.config import testing as settings_for_tests
    from portal.demo.seed import seed_city
    from portal.extensions import db

    config = settings_for_tests(f"sqlite:///{target / 'demo.db'}", target)
    config["PORTAL_PROFILE"] = profile
    app = create_app(config)
    with app.app_context():
        db.create_all()
        report = seed_city(db.session, app.config)
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return report


def seeded_copy(dest: Path, profile: str, name: str = "demo.db") -> dict:
    """Copy the seeded demo city of ``profile`` to ``dest / name``; returns its seed report."""
    root = _root()
    root.mkdir(parents=True, exist_ok=True)
    home = root / profile
    with FileLock(str(root / f"{profile}.lock")):
        if not (home / "report.pickle").exists():
            shutil.rmtree(home, ignore_errors=True)
            home.mkdir()
            report = _seed(home, profile)
            (home / "report.pickle").write_bytes(pickle.dumps(report))
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(home / "demo.db", dest / name)
    return pickle.loads((home / "report.pickle").read_bytes())
