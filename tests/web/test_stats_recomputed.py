"""Every figure on /stats, recomputed here from the raw data (cases and projection).

The defect this guards against: the page said "100 % published on time" while five
decisions were unpublished and overdue, because it only looked at published entries.
"""
import datetime as dt
import math
import re
import statistics
from collections import Counter

import pytest
import sqlalchemy as sa
import time_machine

from portal.models import Case, PublishedEntry, SubjectKind
from portal.public import aggregates
from portal.rules.profiles import load_profile
from portal.rules.workflow import CaseState, RemovalReason
from portal.services import publication
from portal.services.calendar import load_calendar
from tests.factories import listed_case, make_subject, published_case, remove_published

TODAY = dt.date(2026, 11, 16)                 # a Monday, the bureau's day
NOW = dt.datetime(2026, 11, 16, 2, 0, tzinfo=dt.UTC)   # 10:00 in Beijing
JIAMUSI = load_profile("jiamusi")


@pytest.fixture
def history(app, session):
    key = app.config["PORTAL_LOOKUP_KEY"]
    for delay in (1, 2, 40):
        published_case(session, app, ground="J2", decided_on=dt.date(2026, 9, 1),
                       published_on=dt.date(2026, 9, 1) + dt.timedelta(days=delay))
    person = make_subject(session, SubjectKind.PERSON, name="李秀英")
    published_case(session, app, ground="J3", subject=person, kind=SubjectKind.PERSON,
                   decided_on=dt.date(2026, 6, 1), published_on=dt.date(2026, 6, 5))
    rectified = published_case(session, app, ground="J1", decided_on=dt.date(2026, 8, 3))
    remove_published(session, rectified, RemovalReason.RECTIFIED, dt.date(2026, 9, 15), key)
    revoked = published_case(session, app, ground="J1", decided_on=dt.date(2026, 7, 1))
    remove_published(session, revoked, RemovalReason.REVOKED, dt.date(2026, 8, 20), key)
    expired = published_case(session, app, ground="J1", decided_on=dt.date(2025, 3, 3))
    remove_published(session, expired, RemovalReason.TERM_EXPIRED, expired.leaves_list_on, key)
    # its notice and entry are no longer published (3 months): it still counts on /stats
    assert publication.end_expired_publication(session, load_profile, TODAY)
    old = published_case(session, app, ground="J2", decided_on=dt.date(2023, 5, 4))   # before the window
    assert old.state is CaseState.PUBLISHED
    for day in (5, 6, 7, 8, 9):                 # five decisions, unpublished and overdue
        listed_case(session, app, ground="J1", decided_on=dt.date(2026, 10, day), publish=False)
    listed_case(session, app, ground="J1", decided_on=dt.date(2026, 11, 13), publish=False)  # not yet due
    session.commit()


def _expected(session) -> dict:
    """The page's figures from the raw rows, computed independently of the page's code."""
    since = aggregates.month_start(TODAY, 23)
    entries = session.execute(sa.select(PublishedEntry)).scalars().all()
    listed = [e for e in entries if e.status == "listed" and e.visible]
    shown = [c for c in session.execute(sa.select(Case)).scalars()      # public grounds, persons too
             if c.decided_on and JIAMUSI.ground(c.ground).public]
    published = [c for c in shown if c.published_on is not None]
    removed = [c for c in published if c.state is CaseState.REMOVED]
    added = Counter(c.decided_on.strftime("%Y-%m") for c in published if c.decided_on >= since)
    removals = Counter(c.removed_on.strftime("%Y-%m") for c in removed if c.removed_on >= since)
    calendar = load_calendar(session)
    on_time = late = overdue = pending = 0
    delays, working = [], []
    for case in shown:
        if case.decided_on < since:
            continue
        due = case.publish_due_on
        if case.published_on is not None:
            delays.append((case.published_on - case.decided_on).days)
            working.append(calendar.working_days_between(case.decided_on, case.published_on))
            if case.published_on <= due:
                on_time += 1
            else:
                late += 1
        elif case.state is CaseState.DECIDED:
            if TODAY > due:
                overdue += 1
            else:
                pending += 1

    def p90(values):
        return sorted(values)[math.ceil(0.9 * len(values)) - 1]

    return {
        "listed": len(listed),
        "removals": len(removed),
        "by_ground": Counter(e.ground_code for e in listed),
        "reasons": Counter(c.removal_reason.value for c in removed),
        "added": added, "removed": removals,
        "due": on_time + late + overdue, "on_time": on_time, "late": late, "overdue": overdue,
        "pending": pending,
        "share": f"{on_time / (on_time + late + overdue) * 100:.1f}%",
        "published": len(delays),
        "median": (statistics.median(delays), statistics.median(working)),
        "p90": (p90(delays), p90(working)),
    }


def _number(value) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def _table(html: str, caption: str) -> dict[str, str]:
    body = html.split(f"<caption>{caption}", 1)[1].split("</table>", 1)[0]
    return dict(re.findall(r'<tr><th scope="row">([^<]*)</th><td class="num">(\d+)</td>', body))


def test_every_figure_on_stats_is_recomputed_from_the_raw_data(history, session, client):
    expected = _expected(session)
    assert expected["overdue"] == 5 and expected["pending"] == 1     # the scenario itself
    with time_machine.travel(NOW, tick=False):
        client.get("/lang/en")
        html = client.get("/stats").get_data(as_text=True)
    html = re.sub(r"\s+", " ", html)

    assert "Figures as of 16 Nov 2026" in html or "Figures as of Nov 16, 2026" in html
    assert f"<strong>{expected['listed']}</strong> currently listed" in html
    assert f"<strong>{expected['removals']}</strong> removals published" in html

    grounds = _table(html, "Currently listed entries by ground")
    by_label = {JIAMUSI.ground(code).text.en: n for code, n in expected["by_ground"].items()}
    shown = {label.rstrip("…"): int(n) for label, n in grounds.items() if int(n)}
    assert len(shown) == len(by_label)
    for label, n in shown.items():
        assert by_label[next(full for full in by_label if full.startswith(label))] == n

    months = dict((m, (int(a), int(r))) for m, a, r in re.findall(
        r'<tr><th scope="row">(\d{4}-\d{2})</th><td class="num">(\d+)</td><td class="num">(\d+)</td></tr>',
        html))
    assert len(months) == 24
    assert {m: a for m, (a, _r) in months.items() if a} == dict(expected["added"])
    assert {m: r for m, (_a, r) in months.items() if r} == dict(expected["removed"])

    reasons = {label: int(n) for label, n in _table(html, "Removals by reason").items()}
    assert reasons["Rectified in time"] == expected["reasons"]["rectified"]
    assert reasons["Listing decision revoked by reconsideration or court"] == expected["reasons"]["revoked"]
    assert reasons["Term expired"] == expected["reasons"]["term_expired"] == 1   # no longer published
    assert sum(reasons.values()) == expected["removals"]

    timeliness = re.search(
        r'<p id="timeliness">As of ([^<]+?), ([\d.]+%) of the (\d+) decisions due for publication were '
        r'published within the deadline: (\d+) on time, (\d+) published late, '
        r'(\d+) not published by their due date\.</p>', html)
    assert timeliness, html[html.index('id="h-processing"'):][:1500]
    assert timeliness.group(2) == expected["share"] != "100.0%"
    assert [int(timeliness.group(i)) for i in (3, 4, 5, 6)] == [
        expected["due"], expected["on_time"], expected["late"], expected["overdue"]]
    assert timeliness.group(1) in ("16 Nov 2026", "Nov 16, 2026")    # the bureau's day
    assert f"{expected['pending']} further decisions are not yet due" in html
    assert f"Time from decision to publication ({expected['published']} published decisions)" in html
    assert re.search(r'<th scope="row">Median</th><td class="num">' + re.escape(_number(expected["median"][0]))
                     + r'</td><td class="num">' + re.escape(_number(expected["median"][1])) + "</td>", html)
    assert re.search(r'<th scope="row">90th percentile</th><td class="num">' + str(expected["p90"][0])
                     + r'</td><td class="num">' + str(expected["p90"][1]) + "</td>", html)


def test_a_new_decision_shows_on_stats_at_once(history, app, session, client):
    with time_machine.travel(NOW, tick=False):
        before = client.get("/stats")
        listed_case(session, app, ground="J1", decided_on=dt.date(2026, 11, 13), publish=False)
        session.commit()
        after = client.get("/stats", headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200
    assert "2 further decisions are not yet due" in after.get_data(as_text=True) or \
        "另有2项决定尚未到公示期限" in after.get_data(as_text=True)
