"""The case-event feed of the integration API (GET /api/v1/integration/changes)."""
import re
import threading

import pytest
import sqlalchemy as sa

from portal.api import integration_reads as reads
from portal.extensions import db
from portal.models import AuditEvent, SubjectKind
from portal.rules import identifiers
from portal.rules.workflow import RemovalReason
from portal.services import audit
from tests.factories import published_case, remove_published
from tests.web.integration_support import BASE, auth, error_of, new_client, org_body


def test_change_feed_pages_with_a_cursor_and_loses_no_event(app, session, client):
    _reader, token = new_client(session, ["changes:read"])
    first = published_case(session, app)
    person = published_case(session, app, kind=SubjectKind.PERSON)
    session.commit()
    expected = session.execute(sa.select(AuditEvent.seq).where(
        AuditEvent.entity_type == "case").order_by(AuditEvent.seq)).scalars().all()
    assert len(expected) == 12                 # 6 steps per case

    seen, cursor, pages = [], None, 0
    while True:
        query = {"limit": 5, **({"cursor": cursor} if cursor else {})}
        body = client.get(f"{BASE}/changes", query_string=query, headers=auth(token)).get_json()
        seen += body["data"]
        cursor, pages = body["next_cursor"], pages + 1
        if not body["has_more"]:
            break
    assert pages == 3 and [e["position"] for e in seen] == expected
    assert [e["event"] for e in seen[:6]] == ["opened", "pre_notice_served", "reviewed",
                                              "listing_proposed", "listing_decided", "published"]
    assert [e["state"] for e in seen[:6]] == ["opened", "pre_noticed", "reviewed", "proposed",
                                              "decided", "published"]
    assert seen[4]["date"] == "2026-03-16" and seen[4]["leaves_list_on"] == first.leaves_list_on.isoformat()
    assert seen[4]["term_last_day"] == first.term_last_day.isoformat()
    assert seen[6]["subject"]["code"] == identifiers.mask_ric(person.subject.id_number)
    assert {e["case_no"] for e in seen} == {first.case_no, person.case_no}
    assert re.fullmatch(r"i1\.[A-Za-z0-9_-]+", cursor)
    empty = client.get(f"{BASE}/changes?cursor={cursor}", headers=auth(token)).get_json()
    assert empty["data"] == [] and empty["next_cursor"] == cursor and empty["has_more"] is False

    # the feed's own audit events (api.call) and staff assignments are not case events
    remove_published(session, first, RemovalReason.TERM_EXPIRED, first.leaves_list_on)
    session.commit()
    body = client.get(f"{BASE}/changes?cursor={cursor}", headers=auth(token)).get_json()
    assert [(e["event"], e["state"], e["removal_reason"]) for e in body["data"]] == [
        ("removed", "removed", "term_expired")]
    everything = client.get(f"{BASE}/changes?limit=1000", headers=auth(token)).get_data(
        as_text=True)
    assert person.subject.id_number not in everything


@pytest.mark.parametrize("query, code, field", [
    ("cursor=42", "invalid_cursor", "cursor"),
    ("cursor=c1.MQ", "invalid_cursor", "cursor"),          # a cursor of the public feed
    ("limit=0", "out_of_range", "limit"),
    ("limit=x", "out_of_range", "limit"),
    ("since=i1.MQ", "unknown_parameter", "since"),
])
def test_change_feed_bad_parameters(app, session, client, query, code, field):
    _reader, token = new_client(session, ["changes:read"])
    error = error_of(client.get(f"{BASE}/changes?{query}", headers=auth(token)), 400)
    assert (error["code"], error["field"]) == (code, field)


def test_change_feed_skips_no_event_of_a_transaction_committing_late(app, session, client,
                                                                      backend):
    """Two writers: the first holds the audit chain until it commits, so the second cannot take
    a later position first, and a reader in between never moves its cursor past either."""
    if backend != "postgresql":
        pytest.skip("needs concurrent writers (SQLite serialises the whole database)")
    _reader, token = new_client(session, ["changes:read"])
    case = published_case(session, app)
    session.commit()
    start = client.get(f"{BASE}/changes?limit=1000", headers=auth(token)).get_json()
    cursor = start["next_cursor"]

    engine = db.engine
    slow = sa.orm.Session(engine)
    audit.record(slow, audit.SYSTEM, "case.share", "case", case.case_no,
                 {"shared_on": "2026-03-20"})
    slow.flush()                                   # holds the chain's head row, not committed
    fast_done = threading.Event()

    def fast_writer():
        with sa.orm.Session(engine) as fast:
            audit.record(fast, audit.SYSTEM, "case.share", "case", case.case_no,
                         {"shared_on": "2026-03-21"})
            fast.commit()
        fast_done.set()

    thread = threading.Thread(target=fast_writer)
    thread.start()
    try:
        assert not fast_done.wait(0.5)             # waits for the first writer
        # A reader in between (the feed's query itself; an HTTP call would also wait, because
        # the call is audited like every other) sees neither event and keeps its position.
        with sa.orm.Session(engine) as reader:
            middle = reads.feed(reader, reads.decode_cursor(cursor), 1000)
        assert middle.items == [] and reads.encode_cursor(middle.position) == cursor
    finally:
        slow.commit()
        slow.close()
        thread.join(10)
    assert fast_done.is_set()
    body = client.get(f"{BASE}/changes?cursor={cursor}", headers=auth(token)).get_json()
    assert [e["date"] for e in body["data"]] == ["2026-03-20", "2026-03-21"]
    assert [e["event"] for e in body["data"]] == ["shared", "shared"]
    assert audit.verify(session) == []


def test_the_feed_shows_a_reference_to_its_own_client_only(app, session, client):
    first, first_token = new_client(session, name="sbjf-a")
    _second, second_token = new_client(session, name="sbjf-b")
    for token in (first_token, second_token):          # the same reference, two clients
        created = client.post(f"{BASE}/cases", json=org_body("R-1"), headers=auth(token))
        assert created.status_code == 201, created.get_data(as_text=True)
    published_case(session, app)                       # no reference at all
    session.commit()

    def refs(token):
        body = client.get(f"{BASE}/changes?limit=1000", headers=auth(token)).get_json()
        return [e["external_ref"] for e in body["data"] if e["event"] == "opened"]

    assert refs(first_token) == ["sbjf:R-1", None, None]
    assert refs(second_token) == [None, "sbjf:R-1", None]
    _reader, reader_token = new_client(session, ["changes:read"], name="neikong")
    assert refs(reader_token) == [None, None, None]
    assert f"{first.id}:sbjf" not in client.get(f"{BASE}/changes?limit=1000",
                                            headers=auth(first_token)).get_data(as_text=True)
