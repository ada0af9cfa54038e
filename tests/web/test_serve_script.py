"""`make run`'s server script: the web server stays up when the worker dies, and the worker
is started again (127.0.0.1 only, bounded in time)."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEADLINE = 60.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except (urllib.error.URLError, OSError):             # not listening (yet)
        return 0, b""


def _until(predicate, what: str, timeout: float = DEADLINE):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


def _worker_pids(instance: Path) -> set[int]:
    found = set()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().split(b"\0")
            env = (proc / "environ").read_bytes()
        except OSError:
            continue
        if b"worker" in cmd and any(c.endswith(b"flask") for c in cmd) \
                and f"PORTAL_INSTANCE_DIR={instance}".encode() in env:
            found.add(int(proc.name))
    return found


@pytest.mark.skipif(not (ROOT / ".venv" / "bin" / "gunicorn").exists(), reason="needs the project's .venv")
def test_the_web_server_survives_the_worker_and_the_worker_comes_back(tmp_path):
    port = _free_port()
    env = {**os.environ, "PORT": str(port), "PORTAL_INSTANCE_DIR": str(tmp_path),
           "PORTAL_DATABASE_URL": f"sqlite:///{tmp_path / 'portal.db'}", "WEB_CONCURRENCY": "1",
           "PORTAL_SECRET_KEY": "serve-test", "PORTAL_LOOKUP_KEY": "serve-test"}
    env.pop("PORTAL_REDIS_URL", None)
    subprocess.run([str(ROOT / ".venv/bin/flask"), "--app", "wsgi", "init-db"], cwd=ROOT, env=env,
                   check=True, capture_output=True, timeout=120)
    server = subprocess.Popen(["bash", "scripts/serve.sh"], cwd=ROOT, env=env, start_new_session=True,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        first = _until(lambda: _worker_pids(tmp_path), "the worker")
        _until(lambda: _get(f"{base}/healthz")[0] == 200, "a healthy portal")
        for pid in first:
            os.kill(pid, signal.SIGKILL)                     # the worker dies
        assert _get(f"{base}/")[0] == 200                    # the web server does not
        again = _until(lambda: _worker_pids(tmp_path) - first, "a new worker")
        assert again and not (again & first)
        status, body = _until(lambda: (r := _get(f"{base}/healthz"))[0] == 200 and r, "health again")
        assert json.loads(body)["checks"]["worker"]["status"] == "ok"
    finally:
        server.send_signal(signal.SIGINT)            # Ctrl-C reaches the script's own trap
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            raise
    assert not _worker_pids(tmp_path), "Ctrl-C stops the worker too"
