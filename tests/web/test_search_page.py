"""/search through the test client and the real search index, fed by the outbox."""
import datetime as dt

import pytest

from portal.models import SubjectKind
from portal.search import get_index
from portal.services import indexer
from tests.factories import make_subject, published_case


def _publish(session, app, names):
    made = []
    for i, name in enumerate(names):
        subject = make_subject(session, name=name)
        made.append(published_case(session, app, subject=subject, ground="J1" if i % 2 else "J2",
                                   decided_on=dt.date(2025 + i % 2, 3, 16)))
    session.commit()
    assert indexer.sync(session, get_index(app)) == len(names)
    session.commit()
    return made


NAMES = ["佳木斯市恒达建筑工程有限公司", "佳木斯市向阳区康宁大药房有限责任公司", "桦南县宏图劳务派遣有限公司"]


def test_partial_name_pinyin_and_code(app, session, client):
    cases = _publish(session, app, NAMES)
    html = client.get("/search?q=恒达").get_data(as_text=True)
    assert "<mark>恒达</mark>" in html and "共1条结果" in html
    assert "康宁" in client.get("/search?q=kangning").get_data(as_text=True)
    assert "宏图" in client.get("/search?q=htlw").get_data(as_text=True)
    uscc = cases[2].subject.uscc
    exact = client.get(f"/search?q={uscc}").get_data(as_text=True)
    assert "代码精确匹配" in exact and "宏图" in exact


def test_facets_filter_and_count(app, session, client):
    _publish(session, app, NAMES)
    html = client.get("/search?q=公司").get_data(as_text=True)   # 有限公司 is not inside 有限责任公司
    assert "共3条结果" in html
    filtered = client.get("/search?q=公司&year=2026").get_data(as_text=True)
    assert "共1条结果" in filtered and "康宁" in filtered


def test_the_pager_stops_where_the_pages_stop(app, session, client, monkeypatch):
    import search_index.engine as engine

    _publish(session, app, NAMES)
    monkeypatch.setattr(engine, "RESULT_WINDOW", 40)   # two pages of 20
    monkeypatch.setattr("portal.public.views.PER_PAGE", 1)
    get_index(app).clear_cache()
    first = client.get("/search?q=公司").get_data(as_text=True)
    assert "共3条结果" in first and "第1页" in first and "仅可翻阅" not in first
    last = client.get("/search?q=公司&page=3").get_data(as_text=True)
    assert "仅可翻阅前 3 条结果" not in last     # three of three: nothing hidden
    monkeypatch.setattr(engine, "RESULT_WINDOW", 2)
    get_index(app).clear_cache()
    capped = client.get("/search?q=公司&page=2").get_data(as_text=True)
    assert "仅可翻阅前 2 条结果" in capped and "下一页" not in capped


def test_outbox_is_applied_and_nothing_private_is_indexed(app, session, client):
    case = published_case(session, app, kind=SubjectKind.PERSON)
    session.commit()
    indexer.sync(session, get_index(app))
    session.commit()
    assert indexer.pending(session, indexer.position_of(get_index(app))) == 0
    full = case.subject.id_number
    assert full not in client.get(f"/search?q={case.subject.name}").get_data(as_text=True)
    assert get_index(app).search(full).total == 0


def test_empty_and_hostile_queries_do_not_fail(app, session, client):
    _publish(session, app, NAMES[:1])
    for q in ("", "   ", "%%%", "<script>alert(1)</script>", "恒" * 500):
        page = client.get("/search", query_string={"q": q})
        assert page.status_code == 200
        assert "<script>alert(1)</script>" not in page.get_data(as_text=True)


def test_search_runs_with_the_configured_time_budget(app):
    app.config["PORTAL_SEARCH_TIME_LIMIT_S"] = 0.25
    assert get_index(app).time_limit == 0.25
    app.extensions.pop("portal_search").close()
    app.config["PORTAL_SEARCH_TIME_LIMIT_S"] = 0   # no limit
    assert get_index(app).time_limit is None


def test_a_search_over_budget_raises_search_timeout(app, session, client, monkeypatch):
    import search_index.deadline
    from portal.search import SearchTimeout

    _publish(session, app, NAMES)
    ticks = iter(range(10**6))
    monkeypatch.setattr(search_index.deadline.time, "monotonic", lambda: float(next(ticks)) * 10)
    with pytest.raises(SearchTimeout):
        get_index(app).search("恒达建筑")
