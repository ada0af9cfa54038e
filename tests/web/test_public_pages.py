"""The public lists and the statistics through the test client (/check: test_public_check.py)."""
import datetime as dt
import re

import pytest
import sqlalchemy as sa
from markupsafe import escape

from portal import clock
from portal.models import PublishedEntry, RemovalNotice, Role, SubjectKind
from portal.public import aggregates, charts
from portal.rules import identifiers
from portal.rules.calendar import WorkCalendar
from portal.rules.profiles import load_profile
from portal.rules.workflow import RemovalReason
from portal.services import cases, listing_counts, publication
from tests.factories import make_staff, make_subject, published_case, red_list_entry

TODAY = clock.today()
ROW_LINK = re.compile(r'<td data-label="[^"]*"><a href="/entries/(E\w+)">([^<]+)</a>')
ROW_TEXT = re.compile(r'<tr>\s*<td data-label="[^"]*">(?:<a href="[^"]*">)?([^<]+)')

A_NAME, B_NAME, C_NAME = "佳木斯市甲建筑工程有限公司", "佳木斯市乙物流有限公司", "李秀英"
B_DEPARTMENT = "佳木斯市医疗保险服务中心"


def names(html: str) -> list[str]:
    """Names of the rows of a list page, in page order."""
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in html else ""
    return ROW_TEXT.findall(body)


def english(client):
    client.get("/lang/en")
    return client


def remove(session, app, case, reason, on, profile_code="jiamusi"):
    cases.remove_case(session, make_staff(session, Role.APPROVER), case, load_profile(profile_code),
                      app.config["PORTAL_LOOKUP_KEY"], reason, on)


@pytest.fixture
def three(app, session):
    """A: organisation, 2025, ground J2; B: organisation, 2026, J6, own department; C: person, 2026, J3."""
    a = published_case(session, app, subject=make_subject(session, name=A_NAME), ground="J2",
                       decided_on=dt.date(2025, 3, 10))
    b = published_case(session, app, subject=make_subject(session, name=B_NAME), ground="J6",
                       decided_on=dt.date(2026, 2, 2), department=B_DEPARTMENT)
    c = published_case(session, app, subject=make_subject(session, SubjectKind.PERSON, name=C_NAME),
                       kind=SubjectKind.PERSON, ground="J3", decided_on=dt.date(2026, 5, 6))
    session.commit()
    return a, b, c


# ------------------------------------------------------------------ /entries

def test_entries_lists_the_current_entries_newest_first(three, client):
    a, b, c = three
    page = client.get("/entries")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert names(html) == [C_NAME, B_NAME, A_NAME]
    assert "2026年5月6日" in html and "2025年3月10日" in html          # listing dates
    assert f"{a.leaves_list_on.year}年{a.leaves_list_on.month}月{a.leaves_list_on.day}日" in html  # term end
    assert identifiers.mask_ric(c.subject.id_number) in html and c.subject.id_number not in html
    assert b.subject.uscc in html                                         # organisations' codes are public
    assert "Total: 3" in english(client).get("/entries").get_data(as_text=True)


def test_entries_oldest_first(three, client):
    html = client.get("/entries?sort=oldest").get_data(as_text=True)
    assert names(html) == [A_NAME, B_NAME, C_NAME]
    assert '<option value="oldest" selected>' in html


@pytest.mark.parametrize("query, expected", [
    ("ground=J6", [B_NAME]),
    ("subject_kind=person", [C_NAME]),
    ("subject_kind=organisation", [B_NAME, A_NAME]),
    (f"department={B_DEPARTMENT}", [B_NAME]),
    ("year=2025", [A_NAME]),
    ("year=2026&subject_kind=organisation", [B_NAME]),
    ("year=2026&sort=oldest", [B_NAME, C_NAME]),
    ("ground=J2&year=2026", []),
])
def test_each_filter_narrows_the_list(three, client, query, expected):
    page = client.get(f"/entries?{query}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert names(html) == expected
    assert f"Total: {len(expected)}" in english(client).get(f"/entries?{query}").get_data(as_text=True)


def test_severity_filter(three, app, session, client):
    a, _b, _c = three
    session.execute(sa.update(PublishedEntry).where(PublishedEntry.case_id == a.id)
                    .values(severity="general"))
    publication.bump_version(session)
    session.commit()
    assert names(client.get("/entries?severity=general").get_data(as_text=True)) == [A_NAME]
    assert names(client.get("/entries?severity=serious").get_data(as_text=True)) == [C_NAME, B_NAME]


def test_invalid_filters_are_ignored(three, client):
    page = client.get("/entries?ground=XX&year=abc&subject_kind=robot&department=nowhere"
                      "&severity=extreme&sort=sideways&page=abc")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert names(html) == [C_NAME, B_NAME, A_NAME]
    assert 'class="chips"' not in html


def test_selected_filters_are_shown_and_removable(three, client):
    html = english(client).get("/entries?ground=J6&year=2026").get_data(as_text=True)
    # the ground is a choice of whole texts (radio buttons), the others are lists
    assert '<input type="radio" name="ground" value="J6" checked>' in html
    assert load_profile("jiamusi").ground("J6").text.en in html
    assert '<option value="2026" selected>' in html
    chips = html.split('class="chips"', 1)[1].split("</ul>", 1)[0]
    assert 'href="/entries?year=2026"' in chips           # removes the ground, keeps the year
    assert 'href="/entries?ground=J6"' in chips           # removes the year, keeps the ground
    assert "Clear all filters" in chips
    # the option counts respect the other filters: 2026 has one J6 entry, 2025 none
    assert re.search(r'<option value="2025">2025 \(0\)</option>', html)
    assert re.search(r'<option value="2026" selected>2026 \(1\)</option>', html)


def test_pagination_bounds(app, session, client):
    for i in range(21):
        published_case(session, app, subject=make_subject(session, name=f"佳木斯市分页测试{i:02d}有限公司"),
                       decided_on=dt.date(2026, 3, 2) + dt.timedelta(days=i))
    session.commit()
    first = client.get("/entries").get_data(as_text=True)
    assert names(first) == [f"佳木斯市分页测试{i:02d}有限公司" for i in range(20, 0, -1)]
    assert 'rel="next" href="/entries?page=2"' in first
    for same in ("/entries?page=1", "/entries?page=abc", "/entries?page="):
        assert names(client.get(same).get_data(as_text=True)) == names(first)
    last = client.get("/entries?page=2")
    assert last.status_code == 200 and names(last.get_data(as_text=True)) == ["佳木斯市分页测试00有限公司"]
    sorted_last = client.get("/entries?page=2&sort=oldest").get_data(as_text=True)
    assert names(sorted_last) == ["佳木斯市分页测试20有限公司"]
    for beyond in ("/entries?page=3", "/entries?page=0", "/entries?page=-1", "/entries?page=99999999999999"):
        page = client.get(beyond)
        assert page.status_code == 404, beyond
        assert names(page.get_data(as_text=True)) == []
    missing = english(client).get("/entries?page=3&sort=oldest").get_data(as_text=True)
    assert "There is no page 3" in missing and "This list ends at page 2." in missing
    assert 'href="/entries?sort=oldest&amp;page=2"' in missing        # the last page, same order


# ------------------------------------------------------------------ /removals

@pytest.fixture
def removed(app, session):
    """D: removed after rectification (entry kept); E: credit repaired (entry unpublished)."""
    d = published_case(session, app, subject=make_subject(session, name="佳木斯市丁商贸有限公司"),
                       ground="J1", decided_on=dt.date(2026, 3, 16))
    e = published_case(session, app, subject=make_subject(session, name="佳木斯市戊餐饮有限公司"),
                       ground="J1", decided_on=dt.date(2026, 3, 18))
    remove(session, app, d, RemovalReason.RECTIFIED, dt.date(2026, 5, 20))
    remove(session, app, e, RemovalReason.CREDIT_REPAIRED, dt.date(2026, 9, 1))
    session.commit()
    return d, e


def test_removals_newest_first_linking_only_published_entries(removed, session, client):
    d, _e = removed
    page = client.get("/removals")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert names(html) == ["佳木斯市戊餐饮有限公司", "佳木斯市丁商贸有限公司"]
    linked = {name: pid for pid, name in ROW_LINK.findall(html)}
    d_entry = session.execute(sa.select(PublishedEntry.public_id)
                              .where(PublishedEntry.case_id == d.id)).scalar_one()
    assert linked == {"佳木斯市丁商贸有限公司": d_entry}                   # E's entry is no longer published
    assert "2026年9月1日" in html and "信用修复" in html and "按期整改到位" in html
    assert names(client.get("/entries").get_data(as_text=True)) == []


def test_removal_reason_filter(removed, client):
    assert names(client.get("/removals?reason=rectified").get_data(as_text=True)) == ["佳木斯市丁商贸有限公司"]
    assert names(client.get("/removals?reason=credit_repaired").get_data(as_text=True)) == [
        "佳木斯市戊餐饮有限公司"]
    assert names(client.get("/removals?reason=revoked").get_data(as_text=True)) == []
    bogus = client.get("/removals?reason=bogus&page=x")
    assert bogus.status_code == 200 and len(names(bogus.get_data(as_text=True))) == 2
    assert client.get("/removals?page=2").status_code == 404


def test_unpublished_persons_removals_stay_off_the_public_pages(app, session, client):
    """Zhengzhou publishes no natural persons: not their entries, not their removals."""
    app.config["PORTAL_PROFILE"] = "zhengzhou"
    person = make_subject(session, SubjectKind.PERSON, name="赵冒领")
    case = published_case(session, app, profile_code="zhengzhou", kind=SubjectKind.PERSON,
                          subject=person, ground="ZP3", decided_on=dt.date(2026, 3, 16))
    org = published_case(session, app, profile_code="zhengzhou", decided_on=dt.date(2026, 3, 16),
                         subject=make_subject(session, name="郑州市某医药有限公司"))
    remove(session, app, case, RemovalReason.REVOKED, dt.date(2026, 6, 1), "zhengzhou")
    remove(session, app, org, RemovalReason.REVOKED, dt.date(2026, 6, 2), "zhengzhou")
    session.commit()
    for url in ("/", "/removals", "/entries", "/stats"):
        assert "赵冒领" not in client.get(url).get_data(as_text=True), url
    assert names(client.get("/removals").get_data(as_text=True)) == ["郑州市某医药有限公司"]
    answer = client.post("/check", data={"code": person.id_number}).get_data(as_text=True)
    assert "赵**" in answer and "赵冒领" not in answer and "2026年6月1日" in answer


# ------------------------------------------------------------------ /redlist

def test_red_list_shows_current_units_with_the_fallback_criteria(app, session, client):
    red_list_entry(session, app, name="佳木斯市诚信机械有限公司", criteria=("R1", "R4"),
                   admitted_on=TODAY - dt.timedelta(days=30), valid_until=TODAY + dt.timedelta(days=300))
    red_list_entry(session, app, name="佳木斯市长期守信有限公司", criteria=("R2",),
                   admitted_on=TODAY - dt.timedelta(days=60), valid_until=None)
    red_list_entry(session, app, name="佳木斯市过期单位有限公司", admitted_on=TODAY - dt.timedelta(days=400),
                   valid_until=TODAY - dt.timedelta(days=1))
    red_list_entry(session, app, name="佳木斯市撤销单位有限公司", admitted_on=TODAY - dt.timedelta(days=20),
                   valid_until=TODAY + dt.timedelta(days=300), removed_on=TODAY - dt.timedelta(days=2))
    session.commit()
    page = client.get("/redlist")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert names(html) == ["佳木斯市诚信机械有限公司", "佳木斯市长期守信有限公司"]
    zhengzhou = load_profile("zhengzhou")
    assert not load_profile("jiamusi").red_list_criteria          # hence the fallback
    for criterion in zhengzhou.red_list_criteria:
        assert criterion.text.zh in html
    assert zhengzhou.red_list_incentives[0].zh in html
    assert "郑社保办〔2018〕6号" in html                           # the document the criteria come from
    assert "1、4" in html                                          # criteria met, by number
    en = english(client).get("/redlist").get_data(as_text=True)
    assert "The red list follows the criteria of the bureau's red-list rules." in en
    assert zhengzhou.red_list_criteria[1].text.en in en and "No end date" in en
    assert "1, 4" in en


# ------------------------------------------------------------------ /stats

def test_stats_counts_flows_reasons_and_processing_time(app, session, client):
    decided = TODAY - dt.timedelta(days=60)
    for delay, name in ((1, "甲"), (2, "乙"), (40, "丙")):
        published_case(session, app, subject=make_subject(session, name=f"佳木斯市{name}统计有限公司"),
                       ground="J2", decided_on=decided, published_on=decided + dt.timedelta(days=delay))
    gone = published_case(session, app, ground="J1", decided_on=decided)
    remove(session, app, gone, RemovalReason.REVOKED, TODAY - dt.timedelta(days=10))
    session.commit()
    page = client.get("/stats")
    assert page.status_code == 200
    html = english(client).get("/stats").get_data(as_text=True)
    jiamusi = load_profile("jiamusi")
    j2 = jiamusi.ground("J2").text.en
    # the ground's whole text (never cut with "…"), in the table and as the chart's label
    assert re.search(r"<th scope=\"row\">" + re.escape(str(escape(j2))) + r"</th><td class=\"num\">3</td>", html)
    assert f'<span class="hbar-label">{escape(j2)}</span>' in html
    month, removal_month = decided.strftime("%Y-%m"), (TODAY - dt.timedelta(days=10)).strftime("%Y-%m")
    rows = {m: (int(a), int(r)) for m, a, r in re.findall(
        r'<tr><th scope="row">(\d{4}-\d{2})</th><td class="num">(\d+)</td><td class="num">(\d+)</td></tr>',
        html)}
    assert len(rows) == 24 and TODAY.strftime("%Y-%m") in rows
    assert rows[month][0] == 4                                     # four decisions that month
    assert sum(r for _a, r in rows.values()) == 1 and rows[removal_month][1] == 1
    assert re.search(r'<th scope="row">Listing decision revoked by reconsideration or court</th>'
                     r'<td class="num">1</td>', html)
    # processing time: delays 1, 2, 40 and 2 (the revoked one) calendar days
    assert re.search(r'<th scope="row">Median</th><td class="num">2</td>', html)
    assert re.search(r'<th scope="row">90th percentile</th><td class="num">40</td>', html)
    assert "75.0%" in html and "(4 published decisions)" in html and "7 working days" in html
    assert "75.0% of the 4 decisions due for publication" in html
    assert "3 on time, 1 published late, 0 not published by their due date" in html
    calendar = WorkCalendar()
    wd = sorted(calendar.working_days_between(decided, decided + dt.timedelta(days=d)) for d in (1, 2, 2, 40))
    assert re.search(r'<th scope="row">Median</th><td class="num">2</td><td class="num">'
                     + re.escape(_fmt((wd[1] + wd[2]) / 2)) + "</td>", html)
    # the charts: accessible inline SVG
    assert '<div class="hbar-chart" id="chart-grounds" role="img"' in html
    assert 'aria-labelledby="chart-grounds-title' in html
    assert 'id="chart-months-narrow" role="img"' in html         # the months on a narrow screen
    assert '<title id="chart-months-title">Additions and removals by month</title>' in html


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def test_stats_on_an_empty_portal(client):
    page = client.get("/stats")
    assert page.status_code == 200 and "<svg" not in page.get_data(as_text=True)


def test_monthly_flows_count_listings_no_longer_published(app, session):
    published_case(session, app, decided_on=dt.date(2026, 1, 30))
    published_case(session, app, decided_on=dt.date(2026, 1, 5))
    published_case(session, app, decided_on=dt.date(2025, 12, 31))
    session.commit()
    since, jiamusi = dt.date(2025, 12, 1), load_profile("jiamusi")
    flows = listing_counts.monthly_flows(session, jiamusi, since)
    assert flows == {"added": {"2025-12": 1, "2026-01": 2}, "removed": {}}
    repaired = published_case(session, app, decided_on=dt.date(2026, 2, 2))
    cases.remove_case(session, make_staff(session, Role.APPROVER), repaired, jiamusi,
                      app.config["PORTAL_LOOKUP_KEY"], RemovalReason.CREDIT_REPAIRED, dt.date(2026, 5, 11))
    session.commit()
    # the repaired listing's entry is gone, and its notice too after its period: both still
    # count (repair opens after the 3-month rectification window, Jiamusi art. 12, which ends
    # in the Labour Day holidays and moves to the next working day)
    publication.end_expired_publication(session, load_profile, dt.date(2026, 9, 1))
    session.commit()
    assert session.scalar(sa.select(sa.func.count()).select_from(RemovalNotice)) == 0
    flows = listing_counts.monthly_flows(session, jiamusi, since)
    assert flows == {"added": {"2025-12": 1, "2026-01": 2, "2026-02": 1}, "removed": {"2026-05": 1}}
    assert listing_counts.removal_reasons(session, jiamusi) == {"credit_repaired": 1}


def test_median_percentile_and_months():
    assert aggregates.median([(2, 1), (4, 1)]) == 3
    assert aggregates.median([(5, 3), (1, 1)]) == 5
    assert aggregates.percentile([(v, 1) for v in range(1, 11)], 90) == 9
    assert aggregates.percentile([(1, 9), (30, 1)], 90) == 1
    assert aggregates.percentile([(1, 8), (30, 2)], 90) == 30
    assert aggregates.median([]) is None and aggregates.percentile([], 90) is None
    assert aggregates.months(dt.date(2026, 2, 10), 3) == ["2025-12", "2026-01", "2026-02"]
    assert aggregates.month_start(dt.date(2026, 1, 31), 23) == dt.date(2024, 2, 1)


def test_charts_escape_their_text():
    svg = charts.bar_chart("c1", "<b>title</b>", "desc & more", [("<script>x</script>", 3), ("B", 0)])
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "desc &amp; more" in svg
    assert '<span class="visually-hidden" id="c1-title">&lt;b&gt;title&lt;/b&gt;</span>' in svg
    assert '<span class="hbar-label">&lt;script&gt;x&lt;/script&gt;</span>' in svg
    assert 'width="1000"' in svg and 'width="0"' in svg            # the peak fills its track
    narrow = charts.month_bars("c3", "t", "d", ["2026-01", "2026-02"],
                               [charts.Series("A\"", "added", [1, 4])])
    assert '<span class="hbar-label">2026-02</span>' in narrow and 'A&#34;' in narrow
    assert 'width="250"' in narrow and 'width="1000"' in narrow
    columns = charts.column_chart("c2", "t", "d", ["2026-01", "2026-02"],
                                  [charts.Series("A\"", "added", [1, 7])])
    assert 'A&#34;: 7' in columns and columns.count("<rect") == 3    # legend + two bars
    assert charts.nice_ceiling(7) == 10 and charts.nice_ceiling(101) == 200 and charts.nice_ceiling(0) == 1


# ------------------------------------------------------------------ languages and caching

def test_pages_in_english(three, removed, app, session, client):
    red_list_entry(session, app, name="佳木斯市诚信机械有限公司", valid_until=TODAY + dt.timedelta(days=30))
    session.commit()
    english(client)
    for url, heading in (("/entries", "Current serious dishonesty list"), ("/removals", "Removal notices"),
                         ("/redlist", "Red list of trustworthy employers"),
                         ("/check", "Is an employer or person on the list?"),
                         ("/stats", "The list in numbers")):
        html = client.get(url).get_data(as_text=True)
        assert f"<h1>{heading}</h1>" in html and '<html lang="en">' in html, url
        assert 'aria-current="page">' in html
    html = client.get("/entries").get_data(as_text=True)
    assert "May 6, 2026" in html and "2026年5月6日" not in html           # English dates
    assert load_profile("jiamusi").ground("J6").text.en[:20] in html     # English ground label


def test_pages_are_chinese_by_default(three, client):
    """Needs the zh_CN catalogue with /tmp/zh_pages.tsv merged (the lead merges it)."""
    expected = {"/entries": ["当前严重失信人名单", "共 3 条", "按列入日期从新到旧"],
                "/removals": ["移出公告", "移出原因"], "/redlist": ["守信红名单", "认定条件"],
                "/check": ["查询单位或个人是否被列入名单", "统一社会信用代码或居民身份证号码"],
                "/stats": ["名单统计", "在列名单按列入事由统计"]}
    for url, texts in expected.items():
        html = client.get(url).get_data(as_text=True)
        assert '<html lang="zh-CN">' in html
        for text in texts:
            assert text in html, (url, text)


@pytest.mark.parametrize("url", ["/entries", "/entries?ground=J6", "/removals", "/redlist", "/stats"])
def test_conditional_get(three, app, session, client, url):
    first = client.get(url)
    assert first.status_code == 200 and first.headers["Cache-Control"] == "public, max-age=60"
    again = client.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.get_data() == b""
    published_case(session, app, decided_on=dt.date(2026, 6, 1))
    session.commit()
    changed = client.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert changed.status_code == 200 and changed.headers["ETag"] != first.headers["ETag"]


def test_the_entry_lists_only_the_measures_of_its_severity(app, session, client, monkeypatch):
    from flask import g

    monkeypatch.setitem(app.config, "PORTAL_PROFILE", "shanghai")
    g.pop("profile", None)
    general = published_case(session, app, profile_code="shanghai", ground="S1")
    serious = published_case(session, app, profile_code="shanghai", ground="S7")
    session.commit()
    joint = "跨部门联合惩戒措施"          # SM6 applies to serious dishonesty only (002 art. 8 ¶2)

    def page(case):
        pid = session.execute(sa.select(PublishedEntry.public_id)
                              .where(PublishedEntry.case_id == case.id)).scalar_one()
        return client.get(f"/entries/{pid}").get_data(as_text=True)

    assert joint not in page(general)
    assert joint in page(serious)


def test_a_person_entry_lists_no_enterprise_only_measure(app, session, client, monkeypatch):
    """Fuzhou 003 §三: government procurement (六) and land supply (十一) restrict dishonest
    enterprises; a natural person's entry does not list them, an organisation's does."""
    from flask import g

    monkeypatch.setitem(app.config, "PORTAL_PROFILE", "fuzhou")
    g.pop("profile", None)
    person = published_case(session, app, profile_code="fuzhou", ground="F5", kind=SubjectKind.PERSON)
    unit = published_case(session, app, profile_code="fuzhou", ground="F5")
    session.commit()
    procurement, land = "政府采购活动", "政府供应土地"
    state_posts = "国有独资公司法定代表人"      # (十四): where the responsible subject is an individual

    def page(case):
        pid = session.execute(sa.select(PublishedEntry.public_id)
                              .where(PublishedEntry.case_id == case.id)).scalar_one()
        return client.get(f"/entries/{pid}").get_data(as_text=True)

    person_page, unit_page = page(person), page(unit)
    assert procurement not in person_page and land not in person_page
    assert state_posts in person_page
    assert procurement in unit_page and land in unit_page and state_posts not in unit_page
