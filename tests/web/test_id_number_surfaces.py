"""No resident ID number, in any written shape, on a public surface, in the integration API or a log.

The shapes measured leaking (issue 10) first, then hypothesis-written ones: facts and reasons
holding an ID number are published through the projection, indexed and searched; the entry
page, the API body and the search snippet show it masked. The integration API refuses it.
"""
import logging

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal.models import PublishedEntry
from portal.search import get_index
from portal.services import indexer
from tests.factories import published_case
from tests.rules.test_id_detector import MEASURED, id_numbers, squash, written
from tests.web.integration_support import BASE, auth, error_of, new_client, org_body

FULL_WIDTH_X = "２３０８０３１９７９０１０２１２３Ｘ"


def _publish(session, app, text, index=True):
    case = published_case(session, app, facts=f"经查，参保人（身份证号{text}）骗取养老保险待遇。")
    case.reasons = f"当事人{text}未退回"
    session.commit()
    entry = session.execute(sa.select(PublishedEntry).where(PublishedEntry.case_id == case.id)
                            ).scalar_one()
    if index:
        indexer.sync(session, get_index(app))
        session.commit()
    return entry


def _surfaces(client, entry) -> dict[str, str]:
    return {
        "entry page": client.get(f"/entries/{entry.public_id}").get_data(as_text=True),
        "api body": client.get(f"/api/v1/entries/{entry.public_id}").get_data(as_text=True),
        "search": client.get("/search?q=骗取养老保险待遇").get_data(as_text=True),
    }


def _shows(page: str, number: str) -> bool:
    plain = page.replace("<mark>", "").replace("</mark>", "")
    return number in squash(plain) or number[6:14] in squash(plain)


@pytest.mark.parametrize("shape", [*MEASURED, FULL_WIDTH_X])
def test_measured_shapes_are_masked_on_every_public_surface(app, session, client, shape):
    number = squash(FULL_WIDTH_X) if shape == FULL_WIDTH_X else "110105198503071230"
    entry = _publish(session, app, shape)
    assert not _shows(entry.facts, number) and not _shows(entry.reasons, number)
    for name, page in _surfaces(client, entry).items():
        assert "骗取养老保险待遇" in page, name
        assert not _shows(page, number), name
    assert "**********" in _surfaces(client, entry)["search"]     # the snippet is there, masked


@settings(max_examples=4, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_written_id_numbers_never_reach_a_public_surface(app, session, client, data):
    # One publication per example (each takes a second), carrying twelve written numbers; the
    # index document (what search snippets are cut from) instead of a search per example.
    numbers = data.draw(st.lists(id_numbers(), min_size=12, max_size=12))
    shapes = [data.draw(written(number)) for number in numbers]
    entry = _publish(session, app, "；".join(f"第{i}人 {shape}" for i, shape in enumerate(shapes)),
                     index=False)
    surfaces = {
        "entry page": client.get(f"/entries/{entry.public_id}").get_data(as_text=True),
        "api body": client.get(f"/api/v1/entries/{entry.public_id}").get_data(as_text=True),
        "index document": repr(indexer.entry_document(entry)),
    }
    for name, page in surfaces.items():
        assert "第11人" in page, name
        for number in numbers:
            assert not _shows(page, number), name


@pytest.mark.parametrize("field, shape", [
    *[("facts", shape) for shape in [*MEASURED, FULL_WIDTH_X]],
    ("reasons", MEASURED[0]), ("department", MEASURED[1]), ("document_no", FULL_WIDTH_X),
    ("department_contact", MEASURED[2]),
])
def test_integration_api_refuses_every_shape(app, session, client, field, shape):
    _writer, token = new_client(session, ["cases:write"])
    body = org_body(ref=f"R-{field}")
    body[field] = f"身份证{shape}"
    error = error_of(client.post(f"{BASE}/cases", json=body, headers=auth(token)), 422)
    found = {e["field"]: e["code"] for e in error["errors"]}
    assert found == {field: "contains_id_number"}


def test_ordinary_numbers_are_accepted_by_the_integration_api(app, session, client):
    _writer, token = new_client(session, ["cases:write"])
    body = org_body(facts="2026-09-28 稽核，联系电话0454-8888888，案件JIA-2026-000123。",
                    department_contact="0454-8888888")
    response = client.post(f"{BASE}/cases", json=body, headers=auth(token))
    assert response.status_code == 201, response.get_data(as_text=True)


def test_log_records_never_show_an_id_number(app, caplog):
    number = "110105198503071230"
    caplog.set_level(logging.DEBUG)
    for logger in (logging.getLogger("portal.services.anything"), logging.getLogger(),
                   app.logger, logging.getLogger("sqlalchemy.engine")):
        logger.warning("filing from %s: %s", "张三", "1101-0519-8503-0712-30")
        logger.info("P%s", number)
        try:
            raise ValueError(f"bad row ('{FULL_WIDTH_X}', 'x')")
        except ValueError:
            logger.exception("import failed for %s", number + "X")
    messages = [r.getMessage() for r in caplog.records]
    assert messages.count("filing from 张三: 1101**********1230") == 4
    assert messages.count("import failed for 1101**********1230X") == 4
    assert not _shows(caplog.text, number) and not _shows(caplog.text, squash(FULL_WIDTH_X))
    assert "张三" in caplog.text and "1101**********1230" in caplog.text
    assert "ValueError: bad row ('2308**********123X', 'x')" in caplog.text


def test_the_filter_is_on_the_app_and_root_loggers(app):
    from portal.logmask import MaskIdNumbers
    for logger in (app.logger, logging.getLogger()):
        assert any(isinstance(f, MaskIdNumbers) for f in logger.filters)
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "号码 %s", ("110105 19850307 1230",),
                               None)
    MaskIdNumbers().filter(record)
    assert record.getMessage() == "号码 1101**********1230"


def test_dates_phones_and_codes_in_log_lines_stay(app, caplog):
    caplog.set_level(logging.INFO)
    line = "2026-09-28 0454-8888888 JIA-2026-000123 91230800MA1B2C3D4E"
    logging.getLogger("portal.x").info(line)
    assert caplog.records[-1].getMessage() == line
