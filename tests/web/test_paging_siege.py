"""Deep pages and pathological requests, fired concurrently at a real server, leave /healthz
answering within a second (the portal as production runs it: gunicorn, gthread, 127.0.0.1).

Liveness, not speed: every answer must come, and /healthz must never wait behind the
attack. A few thousand entries are enough for lists hundreds of pages long (deep pages
exist beyond 2 × NUMBERED_PAGES pages); the whole test stays well under a minute.
"""
from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote

import pytest

from portal import config as portal_config
from portal import create_app, paging
from portal.demo.bulk import seed_bulk
from portal.extensions import db

ROOT = Path(__file__).resolve().parents[2]
ENTRIES = 6000
#: More clients than server threads (gunicorn.conf.py: 4), each asking the next request as soon
#: as its answer comes: deep pages that walked the list used to occupy every thread.
ATTACKERS = 6
SEARCHERS = 1           # of which asking pathological searches
ATTACK_SECONDS = 6.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def served_portal(tmp_path):
    """A seeded SQLite portal with its search index, served by gunicorn on 127.0.0.1."""
    url = f"sqlite:///{tmp_path / 'portal.db'}"
    app = create_app(portal_config.testing(url, tmp_path))
    with app.app_context():
        from portal.search import get_index
        from portal.services import indexer

        db.create_all()
        seed_bulk(db.session, app.config, ENTRIES, seed=5, echo=lambda _line: None)
        indexer.rebuild(db.session, get_index())
        get_index().close()
        db.session.remove()
        db.engine.dispose()
    port = _free_port()
    env = {**os.environ, "PORTAL_DATABASE_URL": url, "PORTAL_INSTANCE_DIR": str(tmp_path),
           "PORTAL_SECRET_KEY": "siege-secret", "PORTAL_LOOKUP_KEY": "test-lookup-key",
           "PORTAL_ANCHOR_KEY": "siege-anchor",
           "PORTAL_CERT_SIGNING_KEY": portal_config.TEST_CERT_SIGNING_KEY, "PORTAL_INDEX_DIR": str(tmp_path / "index"),
           "PORTAL_UPLOAD_DIR": str(tmp_path / "uploads"),
           "PORTAL_AUDIT_ANCHORS": str(tmp_path / "anchors.jsonl"),
           "PORTAL_HEARTBEAT_FILE": str(tmp_path / "heartbeat.json"),
           "PORTAL_REDIS_URL": "", "HOST": "127.0.0.1", "PORT": str(port)}
    env.pop("WEB_CONCURRENCY", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "--access-logfile",
         os.devnull, "wsgi:app"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE)
    try:
        started = time.monotonic()
        while time.monotonic() - started < 30:
            try:
                if _get(port, "/healthz", timeout=2)[0]:
                    break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("the server did not start: " + server.stderr.read1(4000).decode())
        yield port
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _get(port: int, path: str, timeout: float = 10) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def _attack_urls(port: int) -> list[str]:
    status, body = _get(port, f"/entries?page={paging.NUMBERED_PAGES}")
    assert status == 200
    deep = body.decode().split('rel="next" href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    assert "cursor=" in deep
    pages = -(-ENTRIES // paging.PER_PAGE)
    long_name = quote("佳木斯市有限公司" * 40)
    return [
        f"/entries?page={pages // 2}",                        # between the numbered ends
        f"/entries?page={pages + 5}", "/entries?page=99999999999999999999", "/entries?page=-7",
        "/entries?page=400&sort=oldest", deep, deep + "&sort=oldest",
        "/entries?cursor=k1.AAAAAAAAAAAAAAAAAAAA",           # tampered
        "/entries?ground=J1&subject_kind=person&severity=serious&year=2019&sort=oldest"
        "&department=" + quote("人力资源和社会保障局" * 10) + "&page=3",
        "/removals?page=60", "/redlist?page=99999",
        "/api/v1/entries?per_page=100&page=50", "/api/v1/entries?per_page=100&cursor="
        + deep.split("cursor=", 1)[1],
        "/api/v1/removals?per_page=100&page=50&year=2020",
        f"/search?q={long_name}", "/search?q=" + quote("%_%_*?~\\\"'()[]{}:^!") + "&page=999999",
        "/search?q=" + quote("公司") + "&page=99999999", "/search?q=" + quote("有限 公司 佳木 斯市 " * 10),
        "/search?q=" + quote("ㄅ" * 200), "/search?q=" + quote("𠀀😀\u200b" * 60),
    ]


def test_healthz_answers_within_a_second_while_the_lists_are_attacked(served_portal):
    port = served_portal
    urls = _attack_urls(port)
    stop = threading.Event()
    answers: list[int] = []
    probes: list[tuple[float, int, bytes]] = []
    timing: dict = {}

    lists = [n for n, url in enumerate(urls) if not url.startswith("/search")]
    searches = [n for n, url in enumerate(urls) if url.startswith("/search")]

    def attacker(offset: int) -> None:
        mine = searches if offset < SEARCHERS else lists
        i = offset
        while not stop.is_set():
            began = time.perf_counter()
            n = mine[i % len(mine)]
            status, _body = _get(port, urls[n], timeout=30)
            answers.append(status)
            timing.setdefault(n, []).append((time.perf_counter() - began, status))
            i += 1

    def prober() -> None:
        while not stop.is_set():
            started = time.perf_counter()
            status, body = _get(port, "/healthz", timeout=30)
            probes.append((time.perf_counter() - started, status, body))
            time.sleep(0.1)

    threads = [threading.Thread(target=attacker, args=(n,)) for n in range(ATTACKERS)]
    threads.append(threading.Thread(target=prober))
    for thread in threads:
        thread.start()
    time.sleep(ATTACK_SECONDS)
    stop.set()
    for thread in threads:
        thread.join(timeout=40)
    assert not any(thread.is_alive() for thread in threads), "a request never came back"

    assert len(answers) >= len(urls), answers
    assert all(status < 500 or status == 503 for status in answers), sorted(set(answers))
    assert len(probes) >= 10
    slow = [(round(seconds, 2), status) for seconds, status, _ in probes if seconds >= 1.0]
    slowest = {urls[n][:80]: round(max(t for t, _ in seen), 2) for n, seen in timing.items()}
    assert not slow, f"/healthz waited: {slow}; slowest answers of the attack: {slowest}"
    assert all(b'"database":{"status":"ok"}' in body.replace(b" ", b"").replace(b"\n", b"")
               for _s, _status, body in probes)
