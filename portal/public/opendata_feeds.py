"""The Atom feed of additions and removals, and the XML sitemaps.

The feed is built with ElementTree (escaping is the library's job, never
string concatenation of names). Sitemaps hold only canonical URLs made of
``PORTAL_BASE_URL`` and public ids, escaped all the same, and are streamed.
"""
from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

import sqlalchemy as sa
from flask import current_app, url_for
from flask_babel import format_date, get_locale
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from portal import labels
from portal.models import PublicationWithdrawal, PublishedEntry, RemovalNotice
from portal.services import serializers
from portal.services.public_queries import LISTED, notice_public, within

ATOM = "http://www.w3.org/2005/Atom"
#: RFC 6721: an entry that left the feed's source is announced by a tombstone
TOMBSTONES = "http://purl.org/atompub/tombstones/1.0"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
FEED_SIZE = 50
#: The sitemap protocol allows 50,000 URLs per file; beyond that, a sitemap index.
SITEMAP_MAX_URLS = 50_000
#: List pages of the public site, included in the sitemap when the route exists.
SITEMAP_PAGES = ("/", "/entries", "/removals", "/redlist", "/stats")
#: Fixed date of the tag: URIs (RFC 4151) that identify feed entries.
TAG_DATE = "2026"


# --------------------------------------------------------------------------
# Atom
# --------------------------------------------------------------------------

def latest_changes(session: Session, limit: int = FEED_SIZE, codes=None) -> list:
    """The newest additions (publication date) and removals (removal date) of the
    jurisdictions ``codes`` (None: all): one UNION query."""
    def columns(model, kind: str, day, reason, entry_public_id, last_day, leaves_on):
        return (sa.literal_column(f"'{kind}'").label("kind"), model.public_id.label("public_id"),
                model.profile.label("profile"), model.name.label("name"),
                model.subject_kind.label("subject_kind"), model.code_display.label("code"),
                model.ground_code.label("ground_code"), model.ground_text.label("ground_text"),
                model.department.label("department"), model.listed_on.label("listed_on"),
                day.label("day"), model.updated_at.label("stamp"), reason.label("reason"),
                entry_public_id.label("entry_public_id"), last_day.label("term_last_day"),
                leaves_on.label("leaves_list_on"))

    additions = (
        sa.select(*columns(PublishedEntry, "addition", PublishedEntry.published_on,
                           sa.cast(sa.null(), sa.String(30)), PublishedEntry.public_id,
                           PublishedEntry.term_last_day, PublishedEntry.leaves_list_on))
        .where(LISTED, within(PublishedEntry.jurisdiction, codes))
        .order_by(PublishedEntry.published_on.desc(), PublishedEntry.id.desc())
        .limit(limit).subquery()
    )
    removals = (
        sa.select(*columns(RemovalNotice, "removal", RemovalNotice.removed_on,
                           RemovalNotice.reason, RemovalNotice.entry_public_id,
                           sa.cast(sa.null(), sa.Date), sa.cast(sa.null(), sa.Date)))
        .where(notice_public(), within(RemovalNotice.jurisdiction, codes))
        .order_by(RemovalNotice.removed_on.desc(), RemovalNotice.id.desc())
        .limit(limit).subquery()
    )
    both = sa.union_all(sa.select(additions), sa.select(removals)).subquery()
    return session.execute(
        sa.select(both).order_by(both.c.day.desc(), both.c.stamp.desc(), both.c.public_id).limit(limit)
    ).all()


def latest_withdrawals(session: Session, limit: int = FEED_SIZE,
                       codes=None) -> list[PublicationWithdrawal]:
    """The newest withdrawals from publication (tombstones of entries and removal notices)."""
    return session.execute(
        sa.select(PublicationWithdrawal).where(within(PublicationWithdrawal.jurisdiction, codes))
        .order_by(PublicationWithdrawal.withdrawn_at.desc(), PublicationWithdrawal.id.desc())
        .limit(limit)
    ).scalars().all()


def _date(value: dt.date) -> str:
    if str(get_locale()).startswith("zh"):
        return f"{value.year}年{value.month}月{value.day}日"
    return format_date(value, "medium")


def _tag(host: str, specific: str) -> str:
    return f"tag:{host},{TAG_DATE}:{specific}"


def _sub(parent, name: str, text: str | None = None, **attrs) -> ET.Element:
    element = ET.SubElement(parent, name, {k: v for k, v in attrs.items() if v is not None})
    if text is not None:
        element.text = text
    return element


def atom_feed(rows: list, changed_at: dt.datetime | None, language: str, self_url: str,
              withdrawals: list = (), site=None, scope: str | None = None) -> bytes:
    """Atom 1.0 (RFC 4287) document of ``rows`` from :func:`latest_changes`, with an RFC 6721
    tombstone (``at:deleted-entry``) for each record in ``withdrawals`` (no longer published).
    ``site``: who the feed speaks for (``portal.public_scope.Site``; default: the
    portal's profile); ``scope``: the jurisdiction's code of a feed of one jurisdiction."""
    if site is None:
        from portal.public_scope import Site
        from portal.web import active_profile

        site = Site(profile=active_profile())
    urls = serializers.Urls()
    host = urlsplit(urls.base).hostname or "localhost"
    kinds = {k: str(v) for k, v in labels.SUBJECT_KINDS.items()}
    reasons = {k: str(v) for k, v in labels.REMOVAL_REASONS.items()}
    english = language == "en"
    removals_page = _page_url(urls, "/removals")
    if english:                    # a department as decided (Chinese) in English, where known
        from portal.public_scope import current_directory, department_label
        from portal.rules.profiles import load_profile

        bureaus = current_directory().items

        def department(row) -> str:
            return department_label(row.department, language, bureaus, [load_profile(row.profile)])
    else:
        def department(row) -> str:
            return row.department

    feed = ET.Element("feed", {"xmlns": ATOM, "xmlns:at": TOMBSTONES,
                               XML_LANG: "en" if english else "zh-CN"})
    _sub(feed, "id", _tag(host, f"changes:{scope}" if scope else "changes"))
    _sub(feed, "title", _("Social Insurance Serious Dishonesty List: additions and removals"))
    _sub(feed, "subtitle", site.authority(language))
    stamps = [serializers.iso(row.stamp) for row in rows]
    _sub(feed, "updated", serializers.iso(changed_at) or max(stamps, default=None)
         or "1970-01-01T00:00:00Z")
    _sub(feed, "link", rel="self", type="application/atom+xml", href=self_url)
    _sub(feed, "link", rel="alternate", type="text/html", href=urls.absolute(url_for("public.home")))
    if scope:
        _sub(feed, "category", term=f"jurisdiction:{scope}")
    author = _sub(feed, "author")
    _sub(author, "name", site.authority(language))

    for row, stamp in zip(rows, stamps):
        ground = (serializers.ground_text_en(row.profile, row.ground_code, row.ground_text)
                  if english else row.ground_text)
        kind = kinds.get(row.subject_kind, row.subject_kind)
        entry = _sub(feed, "entry")
        if row.kind == "addition":
            _sub(entry, "id", _tag(host, f"entry:{row.public_id}"))
            _sub(entry, "title", _("Added to the list: %(name)s", name=row.name))
            summary = _("%(kind)s %(code)s was put on the list by %(department)s on %(date)s. "
                        "Ground: %(ground)s", kind=kind, code=row.code, department=department(row),
                        date=_date(row.listed_on), ground=ground)
            summary = _("%(first)s. %(second)s.", first=summary, second=_(
                "Listed until %(last)s (inclusive); leaves the list on %(leaves)s",
                last=_date(row.term_last_day), leaves=_date(row.leaves_list_on)))
            link = urls.entry(row.public_id)
        else:
            _sub(entry, "id", _tag(host, f"removal:{row.public_id}"))
            _sub(entry, "title", _("Removed from the list: %(name)s", name=row.name))
            summary = _("%(kind)s %(code)s was removed from the list on %(date)s. Reason: %(reason)s",
                        kind=kind, code=row.code, date=_date(row.day),
                        reason=reasons.get(row.reason, row.reason))
            link = urls.entry(row.entry_public_id) or removals_page
        _sub(entry, "updated", stamp)
        _sub(entry, "link", rel="alternate", type="text/html", href=link)
        _sub(entry, "category", term=row.kind)
        _sub(entry, "summary", summary, type="text")
    withdrawn = {k: str(v) for k, v in labels.WITHDRAWAL_REASONS.items()}
    for gone in withdrawals:
        tomb = _sub(feed, "at:deleted-entry", ref=_tag(host, f"{gone.topic}:{gone.public_id}"),
                    when=serializers.iso(gone.withdrawn_at))
        _sub(tomb, "at:comment", _("No longer published since %(date)s. Reason: %(reason)s",
                                   date=_date(gone.withdrawn_on),
                                   reason=withdrawn.get(gone.reason, gone.reason)))
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


def _page_url(urls: serializers.Urls, path: str) -> str:
    """The absolute URL of a public list page, or of the home page while it does not exist."""
    return urls.absolute(path if _has_page(path) else url_for("public.home"))


def _has_page(path: str) -> bool:
    return any(rule.rule == path and "GET" in (rule.methods or ()) and not rule.arguments
               for rule in current_app.url_map.iter_rules())


# --------------------------------------------------------------------------
# Sitemaps
# --------------------------------------------------------------------------

SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"


def sitemap_pages() -> list[str]:
    return [path for path in SITEMAP_PAGES if _has_page(path)]


def listed_count(session: Session) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(PublishedEntry).where(LISTED)) or 0


def sitemap_count(session: Session) -> tuple[int, int]:
    """(number of URLs, number of numbered sitemaps needed)."""
    total = len(sitemap_pages()) + listed_count(session)
    return total, max(1, -(-total // SITEMAP_MAX_URLS))


def sitemap_index(count: int) -> Iterator[str]:
    urls = serializers.Urls()
    yield f'<?xml version="1.0" encoding="UTF-8"?>\n<sitemapindex xmlns="{SITEMAP_NS}">\n'
    for number in range(1, count + 1):
        loc = urls.absolute(url_for("opendata.sitemap_part", number=number))
        yield f"<sitemap><loc>{escape(loc)}</loc></sitemap>\n"
    yield "</sitemapindex>\n"


def urlset(session: Session, number: int = 1, chunk: int = 2000) -> Iterator[str]:
    """URLs ``(number-1)*MAX`` to ``number*MAX`` of [list pages…, listed entries by id…]."""
    urls = serializers.Urls()
    start = (number - 1) * SITEMAP_MAX_URLS
    pages = sitemap_pages()[start:start + SITEMAP_MAX_URLS]
    remaining = SITEMAP_MAX_URLS - len(pages)
    offset = max(0, start - len(sitemap_pages()))
    yield f'<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="{SITEMAP_NS}">\n'
    for path in pages:
        yield f"<url><loc>{escape(urls.absolute(path))}</loc></url>\n"
    stmt = sa.select(PublishedEntry.id, PublishedEntry.public_id, PublishedEntry.updated_at) \
        .where(LISTED).order_by(PublishedEntry.id)
    query, last = stmt.offset(offset), None
    while remaining > 0:
        if last is not None:
            query = stmt.where(PublishedEntry.id > last)
        rows = session.execute(query.limit(min(chunk, remaining))).all()
        parts = []
        for row in rows:
            lastmod = serializers.iso(row.updated_at)[:10] if row.updated_at else None
            parts.append(f"<url><loc>{escape(urls.entry(row.public_id))}</loc>"
                         + (f"<lastmod>{lastmod}</lastmod>" if lastmod else "") + "</url>\n")
        yield "".join(parts)
        remaining -= len(rows)
        if len(rows) < chunk:
            break
        last = rows[-1].id
    yield "</urlset>\n"
