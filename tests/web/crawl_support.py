"""A small same-site crawler for the public surfaces: pages, exports, feeds, API bodies."""
from __future__ import annotations

import io
import json
import re
import zipfile
from collections import deque
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

#: Machine-readable routes and public pages, fetched whether or not a page links to them.
PUBLIC_START = ["/", "/entries", "/removals", "/redlist", "/stats", "/check", "/sitemap.xml",
                "/robots.txt", "/feeds/changes.atom", "/exports/entries.csv",
                "/exports/entries.xlsx", "/exports/entries.json", "/exports/removals.csv",
                "/exports/removals.xlsx", "/exports/removals.json", "/api/v1/entries",
                "/api/v1/removals", "/api/v1/changes", "/api/v1/openapi.json", "/submit", "/track"]
LINK = re.compile(r'(?:href|src|action)="([^"]+)"|https?://localhost(/[^\s"<>\\,]*)|'
                  r'"(/(?:api|entries|removals|exports|redlist|search|feeds|sitemap|submit|track)'
                  r'[^"\s\\]*)"')


def body_text(response) -> str:
    """The text of a response: XLSX unzipped, JSON re-encoded without ``\\u`` escapes."""
    if response.mimetype and "spreadsheetml" in response.mimetype:
        with zipfile.ZipFile(io.BytesIO(response.get_data())) as book:
            return "".join(book.read(name).decode("utf-8", "replace") for name in book.namelist())
    text = response.get_data(as_text=True)
    if response.mimetype and response.mimetype.endswith("json"):
        try:
            return json.dumps(json.loads(text), ensure_ascii=False)
        except ValueError:
            return text
    return text


def links(body: str, skip: tuple[str, ...]) -> set[str]:
    found = set()
    for groups in LINK.findall(body):
        raw = next((g for g in groups if g), "").replace("&amp;", "&")
        parts = urlsplit(raw)
        if parts.netloc and parts.netloc != "localhost":
            continue
        if parts.path.startswith("/") and not parts.path.startswith(skip) and "{" not in raw:
            found.add(parts.path + (f"?{parts.query}" if parts.query else ""))
    return found


def first_pages(url: str, last: int = 2) -> bool:
    """Paged lists: the first pages are enough to see every kind of row text."""
    pages = parse_qs(urlsplit(url).query).get("page", ["1"])
    return not pages[0].isdigit() or int(pages[0]) <= last


def crawl(client, start: list[str], skip: tuple[str, ...], keep: Callable[[str], bool],
          limit: int = 3000) -> tuple[dict[str, str], dict[str, int]]:
    """Breadth-first GET of every same-site link ``keep`` accepts: bodies, other statuses."""
    bodies, statuses = {}, {}
    queue, seen = deque(start), set(start)
    while queue and len(bodies) < limit:
        url = queue.popleft()
        response = client.get(url)
        if response.status_code == 410:           # withdrawn: its page says why, and is read too
            bodies[url] = body_text(response)
            continue
        if response.status_code != 200:
            statuses[url] = response.status_code
            continue
        bodies[url] = body = body_text(response)
        for link in links(body, skip):
            if url.startswith("/search") and link.startswith("/search"):
                continue
            if link not in seen and keep(link):
                seen.add(link)
                queue.append(link)
    return bodies, statuses


@contextmanager
def demo_city(tmp: Path, profile: str | None = None):
    """An app on a fresh SQLite file with the profile's demo city seeded and indexed."""
    from portal import create_app
    from portal.config import testing as settings_for_tests
    from portal.extensions import db
    from portal.search import get_index
    from portal.services import indexer
    from tests import demo_cache

    config = settings_for_tests(f"sqlite:///{tmp / 'demo.db'}", tmp)
    if profile:
        config["PORTAL_PROFILE"] = profile
    demo_cache.seeded_copy(tmp, config["PORTAL_PROFILE"])       # the run's seeding, copied
    app = create_app(config)
    with app.app_context():
        indexer.rebuild(db.session, get_index(app))
        db.session.commit()
        yield app
        db.session.remove()
        index = app.extensions.pop("portal_search", None)
        if index is not None:
            index.close()
        db.engine.dispose()
