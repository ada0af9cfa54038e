"""An entry says which rules it was decided under, with their validity (Shanghai: 2018-08-01
to 2023-07-31, seed 002 art. 12), on its page and in its API body."""
import datetime as dt

import sqlalchemy as sa

from portal.models import PublishedEntry
from tests.factories import published_case

SHANGHAI = "依据《上海市社会保险失信信息管理办法》（沪人社规〔2018〕30号）（2018年8月1日至2023年7月31日有效）作出。"


def _entry_id(session, case) -> str:
    return session.execute(sa.select(PublishedEntry.public_id)
                           .where(PublishedEntry.case_id == case.id)).scalar_one()


def test_a_shanghai_entry_names_its_rules_and_their_validity(app, session, client):
    case = published_case(session, app, profile_code="shanghai", decided_on=dt.date(2026, 3, 16))
    session.commit()
    entry_id = _entry_id(session, case)
    page = client.get(f"/entries/{entry_id}").get_data(as_text=True)
    assert SHANGHAI in page and "该决定作出时，上述规定已超过有效期。" in page
    rules = client.get(f"/api/v1/entries/{entry_id}").get_json()["data"]["decided_under"]
    assert rules["statement"].startswith(SHANGHAI)
    assert (rules["valid_from"], rules["valid_until"], rules["in_force_on_decision"]) == (
        "2018-08-01", "2023-07-31", False)
    assert "in force from August 1, 2018 to July 31, 2023" in rules["statement_en"]
    client.get("/lang/en")
    english = client.get(f"/entries/{entry_id}").get_data(as_text=True)
    assert "Shanghai Measures for the Management of Social Insurance Dishonesty Information" in english
    assert "after these rules had expired" in english


def test_an_entry_decided_while_its_rules_are_in_force_says_so_without_a_warning(app, session, client):
    case = published_case(session, app, decided_on=dt.date(2026, 3, 16))
    session.commit()
    entry_id = _entry_id(session, case)
    page = client.get(f"/entries/{entry_id}").get_data(as_text=True)
    assert "依据《佳木斯市社会保险领域严重失信人名单管理暂行办法》（自2020年6月23日起施行）作出。" in page
    assert "已超过有效期" not in page
    rules = client.get(f"/api/v1/entries/{entry_id}").get_json()["data"]["decided_under"]
    assert rules["in_force_on_decision"] is True and rules["valid_until"] is None
