"""The public lists: current entries (/entries), removal notices (/removals), red list (/redlist).

Each page is the publication-version query, one cached GROUP BY (filter
options, counts and the total) and one indexed page query on the projection.
"""
from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from portal import clock, labels, paging
from portal import public_scope as jurisdiction
from portal.caching import aggregates, conditional
from portal.extensions import db
from portal.paging import Page
from portal.rules.grades import red_list_rules
from portal.rules.profiles import SEVERITIES, load_profile
from portal.services import public_queries as queries
from portal.web import ground_label

_MAX_FILTER_LENGTH = 200


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/entries", "entries", entries)
    bp.add_url_rule("/removals", "removals", removals)
    bp.add_url_rule("/redlist", "redlist", redlist)


# ---------------------------------------------------------------- /entries

#: The filters of the list's query string (the jurisdiction is the page's scope, not a filter).
FILTERS = tuple(name for name in queries.ENTRY_FACETS if name != "jurisdiction")


def entry_filters(args, profile, groups: list[tuple]) -> dict:
    """The valid filters of the query string; anything else is ignored (never a 400).
    ``profile`` None: the listings shown follow several profiles, whose ground codes mean
    different things; there is no ground filter."""
    raw = {name: (args.get(name) or "").strip()[:_MAX_FILTER_LENGTH] for name in FILTERS}
    filters: dict = {}
    if profile is not None and raw["ground"] in {g.code for g in profile.grounds}:
        filters["ground"] = raw["ground"]
    if raw["subject_kind"] in labels.SUBJECT_KINDS:
        filters["subject_kind"] = raw["subject_kind"]
    if raw["severity"] in SEVERITIES:
        filters["severity"] = raw["severity"]
    if raw["department"] and raw["department"] in {row[3] for row in groups}:
        filters["department"] = raw["department"]
    if raw["year"].isdigit() and len(raw["year"]) == 4:
        filters["year"] = int(raw["year"])
    return filters



def _entry_options(profile, counts: dict[str, dict], locale: str,
                   department=lambda name: name) -> dict[str, list]:
    """(value, label, count) options of every filter, in a stable, meaningful order;
    ``department``: a department's name in the reader's language."""
    grounds = [(g.code, ground_label(g.code, locale, profile), counts["ground"].get(g.code, 0))
               for g in profile.grounds if g.public or g.code in counts["ground"]] if profile else []
    kinds = [(k, labels.label(labels.SUBJECT_KINDS, k), counts["subject_kind"].get(k, 0))
             for k in labels.SUBJECT_KINDS]
    public = profile.public_severities if profile else SEVERITIES
    severities = [(s, labels.label(labels.SEVERITIES, s), counts["severity"].get(s, 0))
                  for s in SEVERITIES if s in public or s in counts["severity"]]
    departments = sorted(counts["department"].items(), key=lambda item: (-item[1], item[0]))
    years = sorted(counts["year"].items(), reverse=True)
    return {
        "ground": grounds, "subject_kind": kinds, "severity": severities,
        "department": [(d, department(d), n) for d, n in departments],
        "year": [(y, str(y), n) for y, n in years],
    }


def _chips(endpoint: str, args: dict, options: dict[str, list], titles: dict[str, str]) -> list:
    """Selected filters as (title, label, URL without that filter)."""
    chips = []
    for name, value in args.items():
        if name not in titles:
            continue
        label = next((lbl for v, lbl, _n in options.get(name, ()) if str(v) == str(value)), str(value))
        rest = {k: v for k, v in args.items() if k != name}
        chips.append((titles[name], label, url_for(endpoint, **rest)))
    return chips


def _cursor():
    """(cursor or None, None) — or (None, a redirect to the first page) for a cursor the
    portal did not make: the same list without it, answered before any query."""
    raw = request.args.get("cursor")
    if raw is None:
        return None, None
    found = paging.decode_cursor(raw.strip())
    if found is not None:
        return found, None
    rest = {k: v for k, v in request.args.items() if k not in ("cursor", "page")}
    return None, redirect(url_for(request.endpoint, **rest))


def entries():
    scope = jurisdiction.scope()
    profile = scope.profile
    oldest_first = request.args.get("sort") == "oldest"
    cursor, back = _cursor()
    if back is not None:
        return back

    def render():
        every = aggregates.get("entry-facets", lambda: queries.entry_facet_groups(db.session))
        groups = queries.in_scope(every, scope.codes)
        filters = entry_filters(request.args, profile, groups)
        counts, total = queries.facet_counts(groups, filters)
        page = Page(1, total, key_of=lambda e: (e.listed_on, e.id))
        window = paging.locate(page, request.args.get("page"), cursor)
        if window is not None:
            page.items = queries.entries_page(db.session, filters, oldest_first, window,
                                              scope.codes)
        args = dict(filters, sort="oldest") if oldest_first else dict(filters)
        locale = str(get_locale())
        options = _entry_options(profile, counts, locale, jurisdiction.departments_in(scope, locale))
        titles = {"ground": _("Ground"), "subject_kind": _("Kind"), "severity": _("Severity"),
                  "department": _("Deciding department"), "year": _("Year of listing")}
        places = (jurisdiction.options(scope, places_counts(counts["jurisdiction"], scope), locale)
                  if scope.province_wide else [])
        body = render_template(
            "public/entries.html", page=page, filters=filters, args=args, options=options,
            titles=titles, oldest_first=oldest_first, profile=profile, scope=scope,
            places=places, chips=_chips("public.entries", args, options, titles),
        )
        return body, (200 if page.exists else 404)

    return conditional(render)


# ---------------------------------------------------------------- /removals

def removals():
    cursor, back = _cursor()
    if back is not None:
        return back

    scope = jurisdiction.scope()

    def render():
        grouped = aggregates.get("removal-reasons", lambda: queries.removal_reason_counts(db.session))
        counts: dict[str, int] = {}
        places: dict[str, int] = {}
        for (why, code), n in grouped.items():
            places[code] = places.get(code, 0) + n
            if scope.codes is None or code in scope.codes:
                counts[why] = counts.get(why, 0) + n
        reason = request.args.get("reason", "")
        reason = reason if reason in labels.REMOVAL_REASONS else None
        total = counts.get(reason, 0) if reason else sum(counts.values())
        page = Page(1, total, key_of=lambda r: (r.removed_on, r.id))
        window = paging.locate(page, request.args.get("page"), cursor)
        if window is not None:
            page.items = queries.removals_page(db.session, reason, window, scope.codes)
        options = [(r, labels.label(labels.REMOVAL_REASONS, r), counts.get(r, 0))
                   for r in labels.REMOVAL_REASONS]
        args = {"reason": reason} if reason else {}
        chips = [(_("Reason for removal"), labels.label(labels.REMOVAL_REASONS, reason),
                  url_for("public.removals"))] if reason else []
        places = (jurisdiction.options(scope, places_counts(places, scope), str(get_locale()))
                  if scope.province_wide else [])
        body = render_template("public/removals.html", page=page, reason=reason, args=args,
                               options=options, chips=chips, scope=scope, places=places,
                               profile=scope.profile)
        return body, (200 if page.exists else 404)

    return conditional(render)


# ---------------------------------------------------------------- /redlist


def places_counts(counts: dict[str, int], scope) -> dict[str, int]:
    """Counts per jurisdiction shown on a province-wide page, each with those below it."""
    return {item.code: sum(counts.get(code, 0) for code in scope.directory.below([item.code]))
            for item in scope.shown()}


def _numbered(profile) -> dict:
    criteria = red_list_rules(profile)[0]
    return {c.code: (str(i), c.text) for i, c in enumerate(criteria, start=1)}


def redlist():
    scope = jurisdiction.scope()
    profile = scope.profile
    today = clock.today()
    cursor, back = _cursor()
    if back is not None:
        return back

    def render():
        total = aggregates.get(("red-list", today, scope.codes),
                               lambda: queries.red_list_count(db.session, today, scope.codes))
        page = Page(1, total, key_of=lambda r: (r.admitted_on, r.id))
        window = paging.locate(page, request.args.get("page"), cursor)
        if window is not None:
            page.items = queries.red_list_page(db.session, today, window, scope.codes)
        # The criteria of the rules shown; a province-wide page of several rules numbers each
        # unit's criteria by its own profile.
        criteria, incentives, source = red_list_rules(profile) if profile else ([], [], None)
        numbering: dict[str, dict] = {}

        def criteria_met(row, locale: str) -> tuple[str, list[tuple[str, str]]]:
            """("1, 2, 4" / "1、2、4", [(number, text)]) of the criteria a red-list unit meets."""
            if row.profile not in numbering:
                numbering[row.profile] = _numbered(profile if profile and profile.code == row.profile
                                                   else load_profile(row.profile))
            numbered = numbering[row.profile]
            met = [(numbered[code][0], numbered[code][1].get(locale)) if code in numbered
                   else (code, code) for code in (row.criteria or [])]
            separator = ", " if locale.startswith("en") else "、"
            return separator.join(number for number, _text in met), met

        body = render_template("public/redlist.html", page=page, args={}, criteria=criteria,
                               incentives=incentives, source=source, criteria_met=criteria_met,
                               today=today, scope=scope)
        return body, (200 if page.exists else 404)

    return conditional(render, day=today)
