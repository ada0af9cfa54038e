"""A real receiving HTTP server on 127.0.0.1 for the webhook tests.

``Receiver`` listens on an ephemeral port in a thread of its own and answers each request
as its current ``mode`` says: ``"ok"`` (204), ``"fail"`` (500), ``"slow"`` (waits
``slow_seconds`` — beyond the sender's timeout — then 200), ``"redirect"`` (307 to itself).
Every request that reached it is kept (headers, body, the mode it met, the monotonic time),
and :meth:`wait_for` waits, bounded, until a condition holds.
"""
from __future__ import annotations

import contextlib
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    headers: dict
    body: bytes
    mode: str
    at: float                       # time.monotonic() when the request arrived

    @property
    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class Receiver:
    mode: str = "ok"
    slow_seconds: float = 2.0
    requests: list[Received] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)
    _server: ThreadingHTTPServer | None = None

    def __enter__(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):                                  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                mode = receiver.mode
                with receiver._lock:
                    receiver.requests.append(Received(dict(self.headers), body, mode,
                                                      time.monotonic()))
                if mode == "slow":
                    receiver._stop.wait(receiver.slow_seconds)
                status = {"ok": 204, "fail": 500, "slow": 200, "redirect": 307}[mode]
                try:
                    self.send_response(status)
                    if mode == "redirect":
                        self.send_header("Location", receiver.url)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:                 # the sender gave up waiting (timeout)
                    pass

            def log_message(self, *args):       # quiet
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="webhook-receiver",
                         kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hook"

    def accepted(self) -> list[Received]:
        """The requests answered 2xx (what the receiver took)."""
        with self._lock:
            return [r for r in self.requests if r.mode in ("ok", "slow_ok")]

    def count(self) -> int:
        with self._lock:
            return len(self.requests)

    def wait_for(self, condition, timeout: float = 10.0) -> bool:
        """Poll ``condition()`` until it holds or ``timeout`` seconds passed."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return True
            time.sleep(0.02)
        return bool(condition())


@contextlib.contextmanager
def worker_running(app, replica: str):
    """The real worker loop (every job, a quarter-second rounds) in a thread of its own, for
    the end-to-end tests; stopped, with its delivery thread, when the block ends."""
    from portal.search import get_index
    from portal.worker import Worker

    worker = Worker(get_index(app), interval=0.25, replica=replica)

    def loop():
        with app.app_context():
            worker.run()

    running = threading.Thread(target=loop, name="worker-loop", daemon=True)
    running.start()
    try:
        yield worker
    finally:
        worker.stop()
        running.join(timeout=30)
        worker.webhooks.join(timeout=30)
    assert not running.is_alive()
