"""The worker's heartbeat file: the worker writes it, ``/healthz`` (:mod:`portal.health`) reads it."""
from __future__ import annotations

import datetime as dt
import json
import os
import threading
from pathlib import Path

from flask import current_app

from portal import clock


def heartbeat_path(app=None) -> Path:
    app = app or current_app
    return Path(app.config["PORTAL_HEARTBEAT_FILE"])


def write_heartbeat(path: Path, status: str, error: str | None = None, **extra) -> None:
    """Atomically replace the heartbeat file (``/healthz`` reads it).

    ``at``: when it was written (the process is alive); ``extra``: ``round_at`` (the
    last completed round: the loop is not stuck) and ``index`` (the last comparison
    of the index with the projection).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {"at": clock.now().isoformat(timespec="seconds"), "pid": os.getpid(), "status": status,
            **extra}
    if error:
        body["error"] = error
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    tmp.write_text(json.dumps(body), encoding="utf-8")
    os.replace(tmp, path)


def read_heartbeat(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        data["at"] = dt.datetime.fromisoformat(data["at"])
        if data.get("round_at"):
            data["round_at"] = dt.datetime.fromisoformat(data["round_at"])
        return data
    except (OSError, ValueError, KeyError, TypeError):
        return None
