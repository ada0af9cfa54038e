"""/stats: the list in numbers, from GROUP BY queries on the projection, charts as inline SVG."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask import Blueprint, render_template
from flask_babel import get_locale
from flask_babel import gettext as _

from portal import clock, labels
from portal import public_scope as jurisdiction
from portal.caching import aggregates as cache
from portal.caching import conditional
from portal.extensions import db
from portal.public import aggregates as agg
from portal.public import charts
from portal.services import listing_counts
from portal.services.calendar import load_calendar
from portal.web import ground_label

MONTHS = 24


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/stats", "stats", stats)


@dataclass(frozen=True)
class Figures:
    """Locale-independent results, cached per publication version, profile and day."""

    by_ground: dict[str, int]
    months: list[str]
    flows: dict[str, dict[str, int]]
    reasons: dict[str, int]
    processing: agg.ProcessingTime
    timeliness: listing_counts.Timeliness


def _add(into: dict, more: dict) -> dict:
    for key, n in more.items():
        into[key] = into.get(key, 0) + n
    return into


def _merged(parts: list[listing_counts.Timeliness]) -> listing_counts.Timeliness:
    """The timeliness of several profiles' decisions together."""
    if len(parts) == 1:
        return parts[0]
    counts = {name: sum(getattr(p, name) for p in parts)
              for name in ("on_time", "published_late", "overdue_unpublished",
                           "removed_unpublished_late", "pending")}
    delays, working = {}, {}
    for part in parts:
        _add(delays, dict(part.delays))
        _add(working, dict(part.working_delays))
    return listing_counts.Timeliness(**counts, delays=tuple(sorted(delays.items())),
                                     working_delays=tuple(sorted(working.items())))


def compute(profiles, today: dt.date, codes=None) -> Figures:
    """The figures of the jurisdictions ``codes`` (None: all): the current list from the
    projection; the counts over time from the decisions of their profiles."""
    session = db.session
    since = agg.month_start(today, MONTHS - 1)
    if not isinstance(profiles, (list, tuple)):
        profiles = [profiles]
    calendar = load_calendar(session)
    # From the cases, as counts only: the decisions still unpublished past their due date
    # count as late, and listings and removals whose publication has ended still count.
    timely = _merged([listing_counts.publication_timeliness(session, p, since, today, calendar)
                      for p in profiles])
    flows: dict[str, dict[str, int]] = {"added": {}, "removed": {}}
    reasons: dict[str, int] = {}
    for p in profiles:
        for flow, counts in listing_counts.monthly_flows(session, p, since).items():
            _add(flows.setdefault(flow, {}), counts)
        _add(reasons, listing_counts.removal_reasons(session, p))
    return Figures(
        by_ground=agg.listed_by_ground(session, codes, by_profile=len(profiles) > 1),
        months=agg.months(today, MONTHS),
        flows=flows,
        reasons=reasons,
        processing=agg.processing_time(timely.delays, timely.working_delays),
        timeliness=timely,
    )


def _number(value: float | None) -> str:
    if value is None:
        return "–"
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def stats():
    scope = jurisdiction.scope()
    profiles = scope.profiles()
    profile = scope.profile
    today = clock.today()

    def render():
        figures = cache.get(("stats", tuple(p.code for p in profiles), scope.codes, today),
                            lambda: compute(profiles, today, scope.codes))
        locale = str(get_locale())
        if len(profiles) == 1:
            profile_ = profiles[0]
            codes = [g.code for g in profile_.grounds if g.public or g.code in figures.by_ground]
            codes += sorted(set(figures.by_ground) - set(codes))
            grounds = [(ground_label(code, locale, profile_), figures.by_ground.get(code, 0))
                       for code in codes]
        else:              # several rules: a ground is its profile's (the same code differs)
            grounds = [(ground_label(ground, locale, code), n)
                       for (code, ground), n in sorted(figures.by_ground.items())]
        listed = sum(figures.by_ground.values())
        reasons = [(labels.label(labels.REMOVAL_REASONS, r), figures.reasons.get(r, 0))
                   for r in labels.REMOVAL_REASONS]
        reasons += [(r, n) for r, n in sorted(figures.reasons.items()) if r not in labels.REMOVAL_REASONS]
        added = [figures.flows["added"].get(m, 0) for m in figures.months]
        removed = [figures.flows["removed"].get(m, 0) for m in figures.months]
        months = list(zip(figures.months, added, removed))
        first, last = figures.months[0], figures.months[-1]
        table_note = _("The table below gives the same numbers.")
        ground_chart = charts.bar_chart(
            "chart-grounds", _("Currently listed entries by ground"),
            _("Bar chart of the %(total)s currently listed entries by ground.", total=listed)
            + " " + table_note, grounds) if listed else None
        flow_series = [charts.Series(_("Added to the list"), "added", added),
                       charts.Series(_("Removed from the list"), "removed", removed)]
        flow_description = (_("Column chart of the entries added to and removed from the list "
                              "in each month from %(first)s to %(last)s.", first=first, last=last)
                            + " " + table_note)
        flowing = any(added) or any(removed)
        flow_chart = charts.column_chart(
            "chart-months", _("Additions and removals by month"), flow_description,
            figures.months, flow_series) if flowing else None
        flow_bars = charts.month_bars(
            "chart-months-narrow", _("Additions and removals by month"),
            _("Bar chart of the entries added to and removed from the list in each month from "
              "%(first)s to %(last)s.", first=first, last=last) + " " + table_note,
            figures.months, flow_series) if flowing else None
        removed_total = sum(n for _label, n in reasons)
        reason_chart = charts.bar_chart(
            "chart-reasons", _("Removals by reason"),
            _("Bar chart of the %(total)s published removals by reason.", total=removed_total)
            + " " + table_note, reasons) if removed_total else None
        processing = figures.processing
        deadline = (profile or profiles[0]).deadline("publication")
        return render_template(
            "public/stats.html", profile=profile, today=today, listed=listed, grounds=grounds,
            months=months, first=first, last=last, reasons=reasons, removed_total=removed_total,
            ground_chart=ground_chart, flow_chart=flow_chart, flow_bars=flow_bars,
            reason_chart=reason_chart,
            processing=processing, deadline=deadline.label().get(locale),
            timely=figures.timeliness,
            share=(f"{figures.timeliness.on_time_share * 100:.1f}%" if figures.timeliness.due
                   else "–"),
            number=_number, window=MONTHS,
        )

    return conditional(render, day=today)
