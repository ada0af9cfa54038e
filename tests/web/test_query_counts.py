"""SQL statements per public request: each page is a couple of indexed queries on the projection."""
import datetime as dt

import pytest
import sqlalchemy as sa

from portal import clock
from portal.extensions import db
from portal.models import PublishedEntry, Role, SubjectKind
from portal.caching import aggregates
from portal.rules.profiles import load_profile
from portal.rules.workflow import RemovalReason
from portal.services import cases
from tests.factories import count_queries, make_staff, make_subject, published_case, red_list_entry


@pytest.fixture
def portal_data(app, session):
    today = clock.today()
    listed = [published_case(session, app, decided_on=today - dt.timedelta(days=40 + i),
                             subject=make_subject(session, name=f"佳木斯市计数{i:02d}有限公司"))
              for i in range(23)]
    person = published_case(session, app, kind=SubjectKind.PERSON, ground="J3",
                            decided_on=today - dt.timedelta(days=70))
    approver = make_staff(session, Role.APPROVER)
    # credit repair opens after the 3-month rectification window (Jiamusi art. 12)
    repaired = published_case(session, app, decided_on=today - dt.timedelta(days=200),
                              subject=make_subject(session, name="佳木斯市计数修复有限公司"))
    for case, reason in ((listed[0], RemovalReason.RECTIFIED), (repaired, RemovalReason.CREDIT_REPAIRED)):
        cases.remove_case(session, approver, case, load_profile("jiamusi"), app.config["PORTAL_LOOKUP_KEY"],
                          reason, today - dt.timedelta(days=3))
    red_list_entry(session, app, admitted_on=today - dt.timedelta(days=10))
    session.commit()
    entry_id = session.execute(sa.select(PublishedEntry.public_id)
                               .where(PublishedEntry.case_id == listed[5].id)).scalar_one()
    removed_id = session.execute(sa.select(PublishedEntry.public_id)
                                 .where(PublishedEntry.case_id == listed[0].id)).scalar_one()
    return {"entry": entry_id, "removed": removed_id, "person": person.subject.id_number,
            "uscc": listed[7].subject.uscc}


BUDGETS = [
    ("/entries", 3),
    ("/entries?page=2&sort=oldest", 3),
    ("/entries?ground=J1&subject_kind=organisation&year=2026", 3),
    ("/entries?page=9", 3),                 # beyond the end: 404 from the same queries
    ("/removals", 3),
    ("/removals?reason=rectified", 3),
    ("/redlist", 3),
    ("/stats", 8),
    ("/", 4),
]


def test_public_pages_stay_within_their_query_budget(portal_data, client):
    """One test per backend (building the data takes seconds): every page, cold and warm."""
    for url, budget in BUDGETS:
        aggregates.clear()                       # the worst case: nothing cached yet
        db.session.expunge_all()
        with count_queries() as statements:
            page = client.get(url)
        assert page.status_code == (404 if "page=9" in url else 200), url
        assert 1 <= len(statements) <= budget, (url, statements)
        with count_queries() as again:                 # aggregates cached for this publication version
            client.get(url)
        assert len(again) <= len(statements), (url, again)

    for key in ("entry", "removed"):
        db.session.expunge_all()
        with count_queries() as statements:
            assert client.get(f"/entries/{portal_data[key]}").status_code == 200
        assert len(statements) <= 3, (key, statements)

    etag = client.get("/stats").headers["ETag"]
    with count_queries() as statements:
        assert client.get("/stats", headers={"If-None-Match": etag}).status_code == 304
    assert len(statements) == 1, statements

    for code in (portal_data["person"], portal_data["uscc"]):
        with count_queries() as statements:
            page = client.post("/check", data={"code": code})
        assert page.status_code == 200 and "已列入" in page.get_data(as_text=True)
        assert len(statements) == 2, statements
        assert all(code not in s for s in statements)     # only the keyed hash, as a parameter
