"""Figures beside the wrk runs: export, search quality, publish-to-searchable, RSS."""
from __future__ import annotations

import json
import re
import statistics
import subprocess
import time
from pathlib import Path

from bench import procs
from bench.probes import get

#: The columns and rows of /exports/entries.csv (portal.services.opendata_formats), for sqlite3 -csv.
EXPORT_SQL = (
    "SELECT public_id, name, subject_kind, code_display, ground_code, ground_text, ground_text_en, "
    "severity, listed_on, term_start, term_last_day, leaves_list_on, department, under_objection "
    "FROM published_entries WHERE status = 'listed' AND visible = 1 ORDER BY id")


def export_csv(base: str, sqlite_file: Path | None, repeats: int) -> dict:
    """Median time and bytes of /exports/entries.csv, and of ``sqlite3 -csv`` for the same rows."""
    portal = [get(base + "/exports/entries.csv", timeout=300) for _ in range(repeats)]
    result = {"status": portal[0]["status"], "bytes": len(portal[0]["body"]),
              "seconds": statistics.median(p["seconds"] for p in portal)}
    if sqlite_file and sqlite_file.exists():
        times, size = [], 0
        for _ in range(repeats):
            started = time.perf_counter()
            out = subprocess.run(["sqlite3", "-csv", "-header", str(sqlite_file), EXPORT_SQL],
                                 capture_output=True, check=True, timeout=300).stdout
            times.append(time.perf_counter() - started)
            size = len(out)
        result.update(sqlite3_seconds=statistics.median(times), sqlite3_bytes=size)
    return result


def search_quality(url: str, index_dir: Path, out: Path, limit: int | None, timeout: float) -> dict:
    """bench/search_quality.py (labelled queries: portal vs FTS5 trigram vs LIKE), if present."""
    script = procs.ROOT / "bench" / "search_quality.py"
    if not script.exists():
        return {"missing": "not measured: no bench/search_quality.py in this checkout"}
    argv = [str(procs.BIN / "python"), str(script), "--database-url", url,
            "--index-dir", str(index_dir), "--json", str(out)]
    if limit:
        argv += ["--limit-queries", str(limit)]
    done = subprocess.run(argv, cwd=procs.ROOT, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0 or not out.exists():
        return {"failed": f"exit {done.returncode}: {done.stderr.strip()[-400:]}"}
    return json.loads(out.read_text())


_MEDIAN = re.compile(r"median ([\d.]+) s, max ([\d.]+) s over (\d+) rounds")


def publish_to_search(env: dict, port: int, rounds: int, timeout: float) -> dict:
    """bench/publish_to_search.py against the running portal and worker."""
    argv = [str(procs.BIN / "python"), "bench/publish_to_search.py", "--rounds", str(rounds),
            "--port", str(port)]
    done = subprocess.run(argv, cwd=procs.ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)
    found = _MEDIAN.search(done.stdout)
    if done.returncode != 0 or not found:
        return {"failed": f"exit {done.returncode}: {(done.stderr or done.stdout).strip()[-400:]}"}
    return {"median_s": float(found.group(1)), "max_s": float(found.group(2)),
            "rounds": int(found.group(3))}


def wait_worker_round(heartbeat: Path, proc, timeout: float) -> bool:
    """Until the worker's heartbeat reports a completed round."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if json.loads(heartbeat.read_text()).get("round_at"):
                return True
        except (OSError, ValueError):
            pass
        time.sleep(0.5)
    return False


def wait_exports(url: str, folder: Path, proc, timeout: float, files: int = 15) -> dict:
    """Until the worker has built every export file of the current publication version (3 data
    sets × CSV in 2 languages, JSON, XLSX in 2 languages), so that no build runs under wrk.

    Returns how long that took and whether it completed."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.connect() as connection:
        version = connection.execute(sa.text("SELECT version FROM publication_state")).scalar()
    engine.dispose()
    started = time.monotonic()
    built = []
    while time.monotonic() - started < timeout and proc.poll() is None:
        built = sorted(path.name for path in folder.glob(f"*-v{version}.*")
                       if not path.name.startswith("."))      # not a file still being written
        if len(built) >= files:
            break
        time.sleep(1.0)
    return {"version": version, "files": len(built), "complete": len(built) >= files,
            "seconds": round(time.monotonic() - started, 1)}


def gunicorn_rss(master_pid: int) -> dict:
    """Current and peak RSS (MB) of each gunicorn worker process."""
    workers = procs.children(master_pid)
    sizes = [procs.rss_mb(pid) for pid in workers]
    return {"workers": len(workers), "rss_mb": [round(s[0], 1) for s in sizes],
            "peak_mb": [round(s[1], 1) for s in sizes]}
