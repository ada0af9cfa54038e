"""Which jurisdiction a public request shows: the one home of that question.

Every public page, list, search, export, feed and API answer takes ``?jurisdiction=<code>``
(stable URLs): a city's page shows its own listings and those of the bureaus below it
(``Directory.below``), under its own name, contact and rules. Without the parameter a request
shows the whole portal: in a portal of several jurisdictions the province-wide view (all
listings, with a jurisdiction facet), in a single-city portal exactly the page it always was.
An unknown or inactive code is a 404.

A single-city portal reads nothing for this: the number of active jurisdictions comes with
the publication version (one statement, :func:`portal.caching.active_jurisdictions`);
the directory itself is read only when a code is asked for or there are several, once per
publication version (an admin's change to a jurisdiction bumps it).
"""
from __future__ import annotations

import re
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from flask import has_request_context, request
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import NotFound

from portal.caching import SCOPE as _SCOPE
from portal.caching import VersionCache, active_jurisdictions
from portal.extensions import db
from portal.rules.profiles import Profile, load_profile
from portal.services import jurisdictions
from portal.services.jurisdictions import Directory, Info

PARAMETER = "jurisdiction"
#: Endpoints whose links keep the scope of the page they are made on (navigation stays in
#: the city); everything else (the language switch, filings, the back office) does not.
SCOPED_BLUEPRINTS = ("public", "opendata")
UNSCOPED_ENDPOINTS = ("public.set_language", "public.healthz", "opendata.sitemap",
                      "opendata.sitemap_part", "opendata.robots")
#: The platform's title when several jurisdictions sit at the top of the tree.
PLATFORM_TITLE = _l("Social insurance credit information platform")

directories = VersionCache(size=8)
#: The directory last read per database (pages that read no publication version use it).
_latest: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class UnknownJurisdiction(NotFound):
    """``?jurisdiction=`` names no active jurisdiction."""


def current_directory() -> Directory:
    """The directory of this publication version (read once per version and process)."""
    active = active_jurisdictions()
    found = directories.get(("directory", active), lambda: jurisdictions.directory(db.session))
    _latest[db.engine] = found
    return found


def latest_directory() -> Directory | None:
    """The directory this process read last for this database, without reading anything."""
    return _latest.get(db.engine)


@dataclass(frozen=True)
class Scope:
    """What a public request shows. ``directory`` is None in a single-city portal asked
    without a code (nothing to read: the page is the city's)."""

    code: str | None = None
    codes: frozenset[str] | None = None        # the jurisdictions shown (None: all)
    directory: Directory | None = None
    info: Info | None = None                   # the jurisdiction asked for

    @property
    def multi(self) -> bool:
        return self.directory is not None and not self.directory.single

    @property
    def province_wide(self) -> bool:
        """Several jurisdictions, none chosen: the facet and the selector are shown."""
        return self.multi and self.code is None

    @property
    def args(self) -> dict:
        return {PARAMETER: self.code} if self.code else {}

    def shown(self) -> list[Info]:
        """The jurisdictions whose listings the request shows (for the facet and the ground
        filter): the active ones of the scope."""
        if self.directory is None:
            return []
        return [item for item in self.directory.active
                if self.codes is None or item.code in self.codes]

    @property
    def profile(self) -> Profile | None:
        """The one profile of the listings shown (grounds and their filter need one), None
        when the jurisdictions shown follow different rules."""
        if self.directory is None:
            return _portal_profile()
        if self.info is not None and all(i.profile == self.info.profile for i in self.shown()):
            return self.info.rules
        profiles = {item.profile for item in self.shown()}
        return load_profile(profiles.pop()) if len(profiles) == 1 else None

    def profiles(self) -> list[Profile]:
        """Every profile of the listings shown (the API accepts the grounds of each)."""
        if self.directory is None:
            return [_portal_profile()]
        codes = sorted({item.profile for item in self.shown()}) or [_portal_profile().code]
        return [load_profile(code) for code in codes]

    def top(self) -> Info | None:
        """The jurisdiction the page speaks for: the one asked for; else the top of the tree
        (None when several jurisdictions share the top: the platform speaks)."""
        if self.info is not None:
            return self.info
        if self.directory is None:
            return None
        roots = [item for item in self.directory.active
                 if item.parent_code is None or self.directory.get(item.parent_code) is None]
        return roots[0] if len(roots) == 1 else None

    def site(self) -> Site:
        if self.directory is None:
            return Site(profile=_portal_profile())
        top = self.top()
        return Site(info=top) if top is not None else Site()


def _portal_profile() -> Profile:
    from portal.web import active_profile

    return active_profile()


@dataclass(frozen=True)
class Site:
    """Who a page speaks for (header, title and footer): a jurisdiction, the portal's profile
    (a single-city portal, as it always was) or, with neither, the platform."""

    info: Info | None = None
    profile: Profile | None = None

    def authority(self, locale) -> str:
        if self.info is not None:
            return self.info.authority(locale) or self.info.name(locale)
        if self.profile is not None:
            return self.profile.authority.get(locale)
        return str(PLATFORM_TITLE)

    def document(self, locale) -> str:
        rules = self.info.rules if self.info is not None else self.profile
        return rules.document.get(locale) if rules is not None else ""

    def contact(self, locale) -> str:
        return self.info.contact(locale) if self.info is not None else ""

    def name(self, locale) -> str:
        return self.info.name(locale) if self.info is not None else ""

    def department(self, department: str, locale) -> str:
        """A deciding department as decided (in Chinese) in the reader's language."""
        rules = self.info.rules if self.info is not None else self.profile
        return department_label(department, locale, [self.info] if self.info else [],
                                [rules] if rules is not None else [])

    def contact_line(self, contact: str, locale) -> str:
        return contact_line(contact, self.info, locale)


_CHINESE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def has_chinese(text: str | None) -> bool:
    """``text`` has Chinese characters (an English page marks such a text ``lang="zh-CN"``)."""
    return bool(text) and _CHINESE.search(text) is not None


def contact_line(contact: str | None, info: Info | None, locale) -> str:
    """A case's contact line, else its bureau's; on an English page, a line written in
    Chinese gives way to the bureau's English contact (when it has one)."""
    own = info.contact(locale) if info is not None else ""
    if contact and str(locale).startswith("en") and has_chinese(contact) \
            and own and not has_chinese(own):
        return own
    return contact or own


def department_label(department: str, locale, infos: Iterable[Info] = (),
                     profiles: Iterable[Profile] = ()) -> str:
    """A deciding department (stored as decided, in Chinese) in the reader's language: the
    English its jurisdiction gives it (one of its departments, or its authority), else the
    English of a rules profile's authority; the Chinese when no translation is known."""
    if not department or not str(locale).startswith("en"):
        return department
    infos = [info for info in infos if info is not None]
    for info in infos:
        for zh, en in info.departments:
            if zh == department and en:
                return en
        if info.authority_zh == department and info.authority_en:
            return info.authority_en
    for rules in [*profiles, *(info.rules for info in infos)]:
        if rules.authority.zh == department and rules.authority.en:
            return rules.authority.en
    return department


def departments_in(scope: Scope, locale) -> Callable[[str], str]:
    """``department_label`` for the lists of ``scope``: its jurisdictions and rules (a Chinese
    page reads nothing for it)."""
    if not str(locale).startswith("en"):
        return lambda department: department
    directory = scope.directory or current_directory()
    profile = scope.profile
    rules = [profile] if profile is not None else []

    def label(department: str) -> str:
        return department_label(department, locale, directory.items, rules)
    return label


def requested_code() -> str | None:
    value = request.args.get(PARAMETER)
    return value.strip()[:40] if value is not None and value.strip() else None


def resolve(code: str | None) -> Scope | None:
    """The scope of ``code`` (None: the whole portal); None when the code is unknown or
    inactive."""
    if code is None:
        if active_jurisdictions() <= 1:
            return Scope()
        return Scope(directory=current_directory())
    directory = current_directory()
    info = directory.get(code)
    if info is None or not info.active:
        return None
    return Scope(code, frozenset(directory.below([code])), directory, info)


def scope() -> Scope:
    """The scope of this request (a 404 for an unknown code), worked out once."""
    found = request.environ.get(_SCOPE)
    if found is None:
        found = resolve(requested_code())
        if found is None:
            raise UnknownJurisdiction()
        request.environ[_SCOPE] = found
    return found


def resolved() -> Scope | None:
    """The scope if this request has worked it out already (never reads anything)."""
    return request.environ.get(_SCOPE) if has_request_context() else None


def entry_site(row) -> Site:
    """An entry's page speaks for the entry's own jurisdiction (``row``: its Jurisdiction
    row, joined to the entry), else for the portal."""
    if row is not None:
        return Site(info=Directory.of([row]).items[0])
    return Site(profile=_portal_profile())


def site_info() -> Site:
    """Template global: who the page speaks for. Public views set it (the scope, or an
    entry's jurisdiction); other pages (filings, staff, errors) take the scope of the
    directory last read, never reading the database for it."""
    if not has_request_context():
        return Site(profile=_portal_profile())
    chosen = request.environ.get(_SITE)
    if chosen is not None:
        return chosen
    found = resolved()
    if found is not None:
        return found.site()
    latest = latest_directory()
    if latest is None or latest.single:
        return Site(profile=_portal_profile())
    return Scope(directory=latest).site()


_SITE = "portal.public_site"


def speak_for(site: Site) -> None:
    """This request's page speaks for ``site`` (an entry's jurisdiction)."""
    request.environ[_SITE] = site


def keep_scope(endpoint: str, values: dict) -> None:
    """``url_defaults``: a link made on a scoped page keeps its ``jurisdiction``."""
    if PARAMETER in values or not has_request_context():
        return
    if (endpoint or "").split(".")[0] not in SCOPED_BLUEPRINTS or endpoint in UNSCOPED_ENDPOINTS:
        return
    found = resolved()
    if found is not None and found.code:
        values[PARAMETER] = found.code


def init_app(app) -> None:
    app.url_defaults(keep_scope)
    app.jinja_env.globals.update(site_info=site_info, public_scope=resolved, has_chinese=has_chinese,
                                 contact_line=contact_line)


def options(found: Scope, counts: dict[str, int], locale) -> list[tuple[str, str, int]]:
    """(code, name, count) of the jurisdictions of a province-wide page, in their order."""
    return [(item.code, item.name(locale), counts.get(item.code, 0)) for item in found.shown()]


__all__ = ["PARAMETER", "Scope", "Site", "UnknownJurisdiction", "current_directory",
           "contact_line", "department_label", "departments_in", "has_chinese",
           "entry_site", "init_app", "keep_scope", "options", "requested_code", "resolve",
           "resolved", "scope", "site_info", "speak_for"]
