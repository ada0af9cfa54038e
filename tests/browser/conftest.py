"""Browser tests: the real app on a loopback port, driven by Debian's chromium through Playwright.

* ``live``: a fresh SQLite database in ``tmp_path`` (schema by ``create_all``, like
  ``tests/conftest.py``), the app served by werkzeug in a background thread on
  127.0.0.1 with a free port, CSRF protection on as in production. The test seeds
  what it needs through ``live.session`` (services and factories) and commits.
* ``browser``: one headless chromium per worker (``/usr/bin/chromium``; Playwright's
  own browser builds are never downloaded). Without chromium or the ``playwright``
  package the tests skip outside CI and fail with ``CI=true``.
* ``web``: a fresh browser context on the live app plus a :class:`Watch` that
  collects console errors, uncaught page errors and failed requests to the app,
  and the accessibility smoke checks (``<html lang>``, an ``<h1>``) of every page
  visited.

All browser tests carry ``pytestmark = BROWSER`` (the ``browser`` marker and one
xdist group), so under ``-n auto --dist loadgroup`` a single worker runs them and
launches chromium once.
"""
from __future__ import annotations

import dataclasses
import os
import shutil
import threading
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from portal import create_app, security
from portal.config import testing
from portal.extensions import db as _db

CHROMIUM = os.environ.get("PORTAL_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update"]
IN_CI = os.environ.get("CI", "").lower() == "true"
HOST = "127.0.0.1"

BROWSER = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def pytest_configure(config):
    # pytest-xdist registers this marker itself; `-p no:xdist` with --strict-markers needs it too.
    config.addinivalue_line("markers", "xdist_group(name): run the group on one xdist worker")


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """Make ``--dist loadgroup`` see the group of the browser tests.

    pytest-xdist 3.8 groups by appending ``@<group>`` to ``item._nodeid``; pytest 9.2 keeps
    the id in ``item._id`` instead, so that write is lost and the tests would spread over
    all workers (each launching chromium). Only browser tests are touched, and only while
    their id still lacks the suffix: with a fixed xdist this does nothing.
    """
    if not getattr(config.option, "loadgroup", False):
        return
    for item in items:
        mark = item.get_closest_marker("xdist_group")
        if item.get_closest_marker("browser") is None or mark is None or "@" in item.nodeid:
            continue
        group = mark.args[0] if mark.args else mark.kwargs.get("name", "default")
        grouped = f"{item.nodeid}@{group}"
        if hasattr(item, "_id"):
            from _pytest.nodeid import coerce_node_id
            item._id = coerce_node_id(grouped)
        else:
            item._nodeid = grouped


def _missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if not shutil.which(CHROMIUM):          # an absolute path is checked as an executable file
        return f"chromium not found at {CHROMIUM} (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[test]')"
    return None


@pytest.fixture(scope="session")
def browser():
    problem = _missing()
    if problem:
        if IN_CI:
            pytest.fail(f"browser tests are required in CI: {problem}")
        pytest.skip(problem)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


# --------------------------------------------------------------------------
# The live app
# --------------------------------------------------------------------------

@dataclasses.dataclass
class Live:
    app: object
    url: str
    tmp: Path

    @property
    def session(self):
        return _db.session


@pytest.fixture
def live(browser, tmp_path, monkeypatch):
    """The app on a fresh SQLite database, served on 127.0.0.1:<free port> in a thread."""
    from werkzeug.serving import make_server

    # A light Argon2 profile for the staff passwords the tests set (behaviour, not cost).
    monkeypatch.setattr(security, "_password_hasher",
                        PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1))
    config = testing(f"sqlite:///{tmp_path / 'portal.db'}", tmp_path)
    config["WTF_CSRF_ENABLED"] = True         # a real browser carries the tokens: test them
    app = create_app(config)
    with app.app_context():
        _db.create_all()
        from portal.services import jurisdictions

        jurisdictions.ensure_seeded(_db.session, app.config["PORTAL_PROFILE"],
                                    app.config["PORTAL_DEPARTMENT_CONTACT"])
        _db.session.commit()
    server = make_server(HOST, 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-portal", daemon=True)
    thread.start()
    context = app.app_context()
    context.push()
    try:
        yield Live(app=app, url=f"http://{HOST}:{server.server_port}", tmp=tmp_path)
    finally:
        _db.session.remove()
        context.pop()
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        with app.app_context():
            index = app.extensions.pop("portal_search", None)
            if index is not None:
                index.close()
            _db.engine.dispose()


# --------------------------------------------------------------------------
# The browser context and what it watches
# --------------------------------------------------------------------------

class Watch:
    """Console errors, page errors and failed requests of one context; pages checked."""

    def __init__(self, context, base_url: str):
        self.base = base_url
        self.problems: list[str] = []
        self.visited: list[str] = []
        self.checked: set[str] = set()
        context.on("console", self._console)
        context.on("weberror", lambda error: self.problems.append(f"page error: {error.error}"))
        context.on("requestfailed", self._failed)
        context.on("response", self._response)
        context.on("page", self._page)

    def _page(self, page) -> None:
        page.on("framenavigated",
                lambda frame: frame is page.main_frame and frame.url.startswith(self.base)
                and self.visited.append(frame.url))

    def _console(self, message) -> None:
        # Chromium asks every site for /favicon.ico on its own; the portal has none (a 404 that
        # no page requested). Only that one message is let through; reported, not an app error.
        if message.location.get("url", "").endswith("/favicon.ico"):
            return
        if message.type == "error":
            self.problems.append(f"console error on {message.page.url if message.page else '?'}: "
                                 f"{message.text}")

    def _failed(self, request) -> None:
        if request.url.startswith(self.base):
            self.problems.append(
                f"request failed: {request.method} {request.url}: {request.failure}")

    def _response(self, response) -> None:
        if response.url.startswith(self.base) and response.status >= 400:
            self.problems.append(
                f"HTTP {response.status}: {response.request.method} {response.url}")

    def check(self, page, *, h1: bool = True) -> None:
        """The accessibility smoke of the page now shown: a language and a heading."""
        page.wait_for_load_state("load")
        lang = page.evaluate("document.documentElement.getAttribute('lang')")
        assert lang in ("zh-CN", "en"), f"{page.url}: <html lang={lang!r}>"
        if h1:
            headings = page.locator("h1")
            assert headings.count() >= 1, f"{page.url}: no <h1>"
            assert headings.first.inner_text().strip(), f"{page.url}: empty <h1>"
        self.checked.add(page.url)

    def assert_clean(self) -> None:
        """No console error or failed request, and every page visited was checked."""
        assert self.problems == [], "\n".join(self.problems)
        unchecked = [url for url in self.visited if url not in self.checked]
        assert unchecked == [], f"pages visited without the accessibility check: {unchecked}"


@dataclasses.dataclass
class Web:
    context: object
    page: object
    watch: Watch
    url: str


@pytest.fixture
def web(browser, live):
    context = browser.new_context(base_url=live.url, locale="zh-CN",
                                  viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    watch = Watch(context, live.url)
    page = context.new_page()
    try:
        yield Web(context=context, page=page, watch=watch, url=live.url)
    finally:
        context.close()
