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
  and checks the accessibility of every page visited: the smoke checks
  (``<html lang>``, an ``<h1>``) and axe-core's WCAG 2.0/2.1 A and AA rules, with
  zero violations. At teardown the fixture fails a test that visited a page
  without checking it.
* axe-core is the npm package pinned in ``package.json`` (``npm ci`` installs it
  into ``node_modules``; never a CDN). The test serves ``axe.min.js`` to the page
  from that file under a same-origin address, so the portal's Content-Security-
  Policy (``script-src 'self'``) stays on as in production. Without it the tests
  skip outside CI and fail with ``CI=true``, like chromium.
* ``viewport``: the journeys run at a desktop size (1366×900) and a phone size
  (390×844, touch); see :data:`VIEWPORTS`.

All browser tests carry ``pytestmark = BROWSER`` (the ``browser`` marker and one
xdist group), so under ``-n auto --dist loadgroup`` a single worker runs them and
launches chromium once.
"""
from __future__ import annotations

import dataclasses
import itertools
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

ROOT = Path(__file__).resolve().parents[2]
AXE = Path(os.environ.get("PORTAL_TEST_AXE", ROOT / "node_modules" / "axe-core" / "axe.min.js"))
#: Where the page loads axe from: an address of the app itself, answered by the test (route).
AXE_PATH = "/__test__/axe.min.js"
#: The rules run on every page: WCAG 2.0 and 2.1, levels A and AA.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
#: A folder: every checked page is also kept as a screenshot there, to look at.
SHOTS = os.environ.get("PORTAL_TEST_SCREENSHOTS")
_SHOT_NUMBERS = itertools.count(1)

#: The two sizes every journey runs at: a laptop and a phone.
VIEWPORTS = {
    "desktop": {"viewport": {"width": 1366, "height": 900}},
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True,
              "device_scale_factor": 3},
}


def _missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if not shutil.which(CHROMIUM):          # an absolute path is checked as an executable file
        return f"chromium not found at {CHROMIUM} (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[test]')"
    if not AXE.is_file():
        return f"axe-core not found at {AXE} (npm ci --no-audit --no-fund)"
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
        self.unchecked: list[str] = []          # navigations not yet checked, in order
        self.checked: set[str] = set()
        self.axe_runs = 0
        self.shot_prefix = ""                   # names this test's screenshots (SHOTS)
        context.route(f"{base_url}{AXE_PATH}",
                      lambda route: route.fulfill(path=str(AXE), content_type="text/javascript"))
        context.on("console", self._console)
        context.on("weberror", lambda error: self.problems.append(f"page error: {error.error}"))
        context.on("requestfailed", self._failed)
        context.on("response", self._response)
        context.on("page", self._page)

    def _page(self, page) -> None:
        page.on("framenavigated", lambda frame: self._navigated(page, frame))

    def _navigated(self, page, frame) -> None:
        if frame is page.main_frame and frame.url.startswith(self.base):
            self.visited.append(frame.url)
            self.unchecked.append(frame.url)

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
        """The accessibility of the page now shown: a language, a heading and no axe violation."""
        page.wait_for_load_state("load")
        lang = page.evaluate("document.documentElement.getAttribute('lang')")
        assert lang in ("zh-CN", "en"), f"{page.url}: <html lang={lang!r}>"
        if h1:
            headings = page.locator("h1")
            assert headings.count() >= 1, f"{page.url}: no <h1>"
            assert headings.first.inner_text().strip(), f"{page.url}: empty <h1>"
        # A page fits the screen: nothing pushes it sideways (a phone would zoom out on it).
        overflow = page.evaluate("""() => {
            const width = document.documentElement.clientWidth;
            return [...document.querySelectorAll('body *')]
              .filter(el => el.getBoundingClientRect().right > width + 1
                            && getComputedStyle(el).position !== 'fixed'
                            && !el.closest('details:not([open]), .table-scroll, [hidden]'))
              .slice(0, 3).map(el => el.tagName.toLowerCase()
                + (el.className ? '.' + String(el.className).split(' ').join('.') : '')
                + ': ' + (el.textContent || '').trim().slice(0, 40));
        }""")
        assert overflow == [], f"{page.url}: wider than the screen: {overflow}"
        violations = axe(page)
        self.axe_runs += 1
        assert violations == [], f"{page.url}: axe found {len(violations)} violation(s):\n" + \
            "\n".join(violations)
        self.checked.add(page.url)
        if SHOTS:
            size = page.viewport_size or {"width": 0}
            name = f"{size['width']}-{next(_SHOT_NUMBERS):03d}-" + \
                "".join(c if c.isalnum() else "_" for c in page.url.split("/", 3)[-1])[:60]
            page.screenshot(path=os.path.join(SHOTS, f"{self.shot_prefix}{name}.png"),
                            full_page=True)
        self.unchecked = [url for url in self.unchecked if url != page.url]

    def assert_all_checked(self) -> None:
        """Every page visited (each navigation, in every tab) was checked."""
        assert self.unchecked == [], f"pages visited without the accessibility check: {self.unchecked}"

    def assert_clean(self) -> None:
        """No console error or failed request, and every page visited was checked."""
        assert self.problems == [], "\n".join(self.problems)
        self.assert_all_checked()


def axe(page) -> list[str]:
    """axe-core's WCAG 2.0/2.1 A+AA violations on ``page``, one line per element affected."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.add_script_tag(url=AXE_PATH)
        page.wait_for_function("typeof window.axe === 'object'")
    result = page.evaluate(
        """tags => axe.run(document, {runOnly: {type: 'tag', values: tags},
                                      resultTypes: ['violations']})
                     .then(r => r.violations.map(v => ({
                        id: v.id, impact: v.impact, help: v.help, url: v.helpUrl,
                        nodes: v.nodes.map(n => ({target: n.target.join(' '),
                                                  summary: n.failureSummary,
                                                  html: n.html.slice(0, 160)}))})))""",
        AXE_TAGS)
    return [f"  [{v['impact']}] {v['id']}: {v['help']} ({v['url']})\n"
            f"      at {n['target']}: {n['html']}\n"
            f"      {' '.join((n['summary'] or '').split())}"
            for v in result for n in v["nodes"]]


@dataclasses.dataclass
class Web:
    context: object
    page: object
    watch: Watch
    url: str
    _open: object = None
    others: list = dataclasses.field(default_factory=list)

    def another(self):
        """A second person at another computer (same size): ``(page, watch)`` of a fresh context."""
        context, watch = self._open()
        self.others.append((context, watch))
        return context.new_page(), watch


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test (the ``web`` teardown reads the call's outcome)."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(params=list(VIEWPORTS))
def viewport(request) -> dict:
    """The size of the browser window (with touch for the phone); a journey runs at each."""
    return VIEWPORTS[request.param]


@pytest.fixture
def web(request, browser, live):
    size = (request.getfixturevalue("viewport") if "viewport" in request.fixturenames
            else {"viewport": {"width": 1280, "height": 900}})

    def open_context():
        context = browser.new_context(base_url=live.url, locale="zh-CN", **size)
        context.set_default_timeout(10_000)
        watch = Watch(context, live.url)
        watch.shot_prefix = "".join(c if c.isalnum() else "_" for c in request.node.name)[:70] + "-"
        return context, watch

    context, watch = open_context()
    found = Web(context=context, page=context.new_page(), watch=watch, url=live.url,
                _open=open_context)
    try:
        yield found
        call = getattr(request.node, "report_call", None)
        if call is not None and call.passed:    # "every page visited" is checked, even if not asked
            for each in [watch] + [w for _c, w in found.others]:
                each.assert_all_checked()
    finally:
        for other, _w in found.others:
            other.close()
        context.close()
