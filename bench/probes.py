"""What the bench asks the portal for: the URLs of each figure, and single-request probes.

The pages are found from the data set and from the portal's own HTML: a
listed organisation in the middle of the list (its entry page, its ETag, six
ways of searching for it) and the deepest list page a visitor can reach by
the pager's own links.
"""
from __future__ import annotations

import html
import math
import re
import time
import urllib.error
import urllib.parse
import urllib.request

import sqlalchemy as sa
from pypinyin import Style, lazy_pinyin

SUFFIXES = ("股份有限公司", "有限责任公司", "有限公司")
PLACE = "佳木斯"
PAGE_SIZE = 20
_LINK = re.compile(r"<a\b([^>]*)>(.*?)</a>", re.S)
_HREF = re.compile(r'href="([^"]*)"')
_PAGES = re.compile(r"(?:共\s*([\d,]+)\s*页|Page\s+[\d,]+\s+of\s+([\d,]+))")
LAST_WORDS = ("Last page", "最后一页", "末页", "尾页")


def get(url: str, headers: dict | None = None, timeout: float = 60.0) -> dict:
    """One GET (no retries): status, headers, body bytes and seconds."""
    request = urllib.request.Request(url, headers=headers or {})
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
            status, head = response.status, dict(response.headers)
    except urllib.error.HTTPError as error:
        body, status, head = error.read(), error.code, dict(error.headers)
    except OSError as error:   # a timeout or a reset connection
        return {"status": None, "error": type(error).__name__, "seconds": time.perf_counter() - started,
                "headers": {}, "body": b""}
    return {"status": status, "headers": head, "body": body, "seconds": time.perf_counter() - started}


def sample_entry(url: str) -> dict:
    """A listed organisation from the middle of the list, named like most (佳木斯…有限公司)."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            where = ("status = 'listed' AND visible AND subject_kind = 'organisation' "
                     "AND name LIKE :like AND name NOT LIKE :paren")
            like = {"like": PLACE + "%有限公司", "paren": "%(%"}
            total = conn.execute(sa.text(f"SELECT count(*) FROM published_entries WHERE {where}"),
                                 like).scalar()
            row = conn.execute(sa.text(
                f"SELECT public_id, name, code_display FROM published_entries WHERE {where} "
                "ORDER BY id LIMIT 1 OFFSET :skip"), {**like, "skip": total // 2}).one()
            listed = conn.execute(sa.text(
                "SELECT count(*) FROM published_entries WHERE status = 'listed' AND visible")).scalar()
    finally:
        engine.dispose()
    return {"public_id": row[0], "name": row[1], "uscc": row[2], "listed": listed}


def sample_entries(url: str, count: int = 2000) -> list[dict]:
    """``count`` listed entries spread evenly over the list (every k-th by id): driven in turn,
    they show the pages that no cache holds yet, not one page served from memory."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            where = "status = 'listed' AND visible"
            total = conn.execute(sa.text(f"SELECT count(*) FROM published_entries WHERE {where}"))
            step = max(1, total.scalar() // count)
            rows = conn.execute(sa.text(
                f"SELECT public_id, name FROM published_entries WHERE {where} ORDER BY id"))
            found = [{"public_id": r[0], "name": r[1]} for i, r in enumerate(rows) if i % step == 0]
    finally:
        engine.dispose()
    return found[:count]


def varied_searches(entries: list[dict]) -> list[str]:
    """One search per entry, alternately its full name and its name without the company
    form: each a query no result cache has seen."""
    queries = []
    for i, entry in enumerate(entries):
        name = entry["name"]
        bare = next((name[: -len(s)] for s in SUFFIXES if name.endswith(s)), name)
        queries.append(name if i % 2 == 0 else bare)
    return queries


def search_queries(entry: dict) -> dict[str, str]:
    """Six ways people type the organisation: full name, 2 characters, pinyin, initials, USCC,
    the name without its company-form suffix."""
    name = entry["name"]
    rest = name[len(PLACE):].removeprefix("市")
    brand = rest[:2]
    bare = next((name[: -len(s)] for s in SUFFIXES if name.endswith(s)), name)
    return {
        "full name": name,
        "2-char": brand,
        "pinyin": "".join(lazy_pinyin(brand)),
        "initials": "".join(lazy_pinyin(PLACE + brand, style=Style.FIRST_LETTER)),
        "USCC": entry["uscc"],
        "suffix-less": bare,
    }


def search_path(query: str) -> str:
    return "/search?" + urllib.parse.urlencode({"q": query})


def _links(page: str) -> list[tuple[str, str, str]]:
    """(href, rel, text) of every link to the list itself."""
    found = []
    for attrs, text in _LINK.findall(page):
        href = _HREF.search(attrs)
        if not href:
            continue
        target = html.unescape(href.group(1))
        if not target.startswith("/entries?"):
            continue
        rel = re.search(r'rel="([^"]*)"', attrs)
        found.append((target, rel.group(1) if rel else "", re.sub(r"<[^>]+>", "", text).strip()))
    return found


def _page_number(href: str) -> int | None:
    value = urllib.parse.parse_qs(urllib.parse.urlsplit(href).query).get("page")
    return int(value[0]) if value and value[0].isdigit() else None


def deepest_page(base: str, listed: int, max_hops: int = 30) -> dict:
    """The deepest list page reachable through the pager's links, and what ``?page=<last>`` answers.

    A "last" link (rel="last" or its words) wins; else the highest page number linked;
    else "next" is followed up to ``max_hops`` times.
    """
    first = get(base + "/entries")
    page = first["body"].decode("utf-8", "replace")
    links = _links(page)
    how, deep = "", None
    for href, rel, text in links:
        if rel == "last" or text in LAST_WORDS:
            how, deep = "last link", href
    if deep is None:
        numbered = [(n, href) for href, _, _ in links if (n := _page_number(href))]
        if numbered and max(numbered)[0] > 1:
            how, deep = "highest page linked", max(numbered)[1]
    if deep is None:
        current, hops = page, 0
        while hops < max_hops:
            nxt = next((h for h, rel, _ in _links(current) if rel == "next"), None)
            if not nxt:
                break
            deep, hops = nxt, hops + 1
            current = get(base + nxt)["body"].decode("utf-8", "replace")
        how = f"followed next {hops}×"
    shown = _PAGES.search(page)
    pages_shown = int((shown.group(1) or shown.group(2)).replace(",", "")) if shown else None
    last_by_number = pages_shown or max(1, math.ceil(listed / PAGE_SIZE))
    probe = get(base + f"/entries?page={last_by_number}", timeout=60)
    reached = get(base + deep, timeout=60) if deep else None
    return {"path": deep or "/entries", "found_by": how, "page_number": _page_number(deep or ""),
            "status": reached["status"] if reached else None,
            "single_client_ms": round(reached["seconds"] * 1000, 1) if reached else None,
            "last_by_number": last_by_number, "pages_shown": pages_shown,
            "last_by_number_status": probe["status"],
            "last_by_number_single_client_ms": round(probe["seconds"] * 1000, 1)}
