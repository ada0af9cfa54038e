"""/stats: the list in numbers, from GROUP BY queries on the projection, charts as inline SVG."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask import Blueprint, render_template
from flask_babel import get_locale
from flask_babel import gettext as _

from portal import clock, labels
from portal.caching import aggregates as cache
from portal.caching import conditional
from portal.extensions import db
from portal.public import aggregates as agg
from portal.public import charts
from portal.services import listing_counts
from portal.services.calendar import load_calendar
from portal.web import active_profile, ground_label

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


def compute(profile, today: dt.date) -> Figures:
    session = db.session
    since = agg.month_start(today, MONTHS - 1)
    # From the cases, as counts only: the decisions still unpublished past their due date
    # count as late, and listings and removals whose publication has ended still count.
    timely = listing_counts.publication_timeliness(session, profile, since, today,
                                                   load_calendar(session))
    return Figures(
        by_ground=agg.listed_by_ground(session),
        months=agg.months(today, MONTHS),
        flows=listing_counts.monthly_flows(session, profile, since),
        reasons=listing_counts.removal_reasons(session, profile),
        processing=agg.processing_time(timely.delays, timely.working_delays),
        timeliness=timely,
    )


def _number(value: float | None) -> str:
    if value is None:
        return "–"
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def stats():
    profile = active_profile()
    today = clock.today()

    def render():
        figures = cache.get(("stats", profile.code, today), lambda: compute(profile, today))
        locale = str(get_locale())
        codes = [g.code for g in profile.grounds if g.public or g.code in figures.by_ground]
        codes += sorted(set(figures.by_ground) - set(codes))
        grounds = [(ground_label(code, locale), figures.by_ground.get(code, 0)) for code in codes]
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
        flow_chart = charts.column_chart(
            "chart-months", _("Additions and removals by month"),
            _("Column chart of the entries added to and removed from the list in each month "
              "from %(first)s to %(last)s.", first=first, last=last) + " " + table_note,
            figures.months, [charts.Series(_("Added to the list"), "added", added),
                             charts.Series(_("Removed from the list"), "removed", removed)]) \
            if any(added) or any(removed) else None
        removed_total = sum(n for _label, n in reasons)
        reason_chart = charts.bar_chart(
            "chart-reasons", _("Removals by reason"),
            _("Bar chart of the %(total)s published removals by reason.", total=removed_total)
            + " " + table_note, reasons) if removed_total else None
        processing = figures.processing
        deadline = profile.deadline("publication")
        return render_template(
            "public/stats.html", profile=profile, today=today, listed=listed, grounds=grounds,
            months=months, first=first, last=last, reasons=reasons, removed_total=removed_total,
            ground_chart=ground_chart, flow_chart=flow_chart, reason_chart=reason_chart,
            processing=processing, deadline=deadline.label().get(locale),
            timely=figures.timeliness,
            share=(f"{figures.timeliness.on_time_share * 100:.1f}%" if figures.timeliness.due
                   else "–"),
            number=_number, window=MONTHS,
        )

    return conditional(render, day=today)
