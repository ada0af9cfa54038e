"""Removal notices and removed entries stop being published after the profile's period
(Order 36, ``[publication] removal_notice_period``); the API, exports and feeds say so."""
import datetime as dt
import xml.etree.ElementTree as ET

import pytest
import sqlalchemy as sa

from portal.models import (
    AuditEvent,
    OutboxEvent,
    PublicationWithdrawal,
    PublishedEntry,
    RemovalNotice,
)
from portal.rules import terms
from portal.rules.profiles import SOURCE_PATTERN, available_profiles, load_profile
from portal.rules.workflow import RemovalReason
from portal.services import publication
from tests.factories import listed_case, remove_published

REMOVED = dt.date(2026, 5, 20)
LAST_DAY = dt.date(2026, 8, 20)           # 3 months after the removal (same day number)


@pytest.mark.parametrize("code", available_profiles())
def test_every_profile_sets_the_period_with_its_source(code):
    period = load_profile(code).removal_notice_period
    assert period is not None and period.amount > 0 and period.unit in ("days", "months", "years")
    assert SOURCE_PATTERN.match(period.source)
    assert terms.removal_publication_last_day(load_profile(code), REMOVED) > REMOVED


@pytest.fixture
def removed(app, session):
    case, _code = listed_case(session, app, decided_on=dt.date(2026, 3, 15), ground="J1")
    remove_published(session, case, RemovalReason.RECTIFIED, REMOVED, app.config["PORTAL_LOOKUP_KEY"])
    session.commit()
    entry = session.execute(sa.select(PublishedEntry)).scalar_one()
    notice = session.execute(sa.select(RemovalNotice)).scalar_one()
    assert entry.status == "removed" and notice.entry_public_id == entry.public_id
    return entry.public_id, notice.public_id


def test_the_period_ends_the_publication_of_the_notice_and_the_entry(app, session, removed):
    entry_id, notice_id = removed
    assert terms.removal_publication_last_day(load_profile("jiamusi"), REMOVED) == LAST_DAY
    assert publication.end_expired_publication(session, load_profile, LAST_DAY) == []
    session.commit()
    assert session.scalar(sa.select(sa.func.count(RemovalNotice.id))) == 1
    ended = publication.end_expired_publication(session, load_profile, LAST_DAY + dt.timedelta(days=1))
    session.commit()
    assert sorted(ended) == sorted([entry_id, notice_id])
    assert session.scalar(sa.select(sa.func.count(RemovalNotice.id))) == 0
    assert session.scalar(sa.select(sa.func.count(PublishedEntry.id))) == 0
    tombs = {(t.topic, t.public_id, t.reason, t.withdrawn_on) for t in
             session.execute(sa.select(PublicationWithdrawal)).scalars()}
    assert tombs == {("entry", entry_id, "period_ended", LAST_DAY + dt.timedelta(days=1)),
                     ("removal", notice_id, "period_ended", LAST_DAY + dt.timedelta(days=1))}
    deletes = session.execute(sa.select(OutboxEvent.public_id).where(OutboxEvent.action == "delete")).scalars()
    assert set(deletes) == {entry_id, notice_id}
    audited = session.execute(sa.select(AuditEvent.entity_id).where(
        AuditEvent.action == "publication.withdraw")).scalars().all()
    assert sorted(audited) == sorted([entry_id, notice_id])
    assert publication.end_expired_publication(session, load_profile, LAST_DAY + dt.timedelta(days=9)) == []


def test_the_api_exports_and_feeds_emit_the_deletions(app, session, client, removed):
    entry_id, notice_id = removed
    publication.end_expired_publication(session, load_profile, dt.date(2026, 8, 21))
    session.commit()

    changes = client.get("/api/v1/changes?limit=1000").get_json()["data"]
    last = {c["public_id"]: c for c in changes}
    for pid in (entry_id, notice_id):
        assert last[pid]["deleted"] is True and last[pid]["reason"] == "period_ended"
        assert last[pid]["withdrawn_on"] == "2026-08-21" and "data" not in last[pid]
    gone = client.get(f"/api/v1/entries/{entry_id}")
    assert gone.status_code == 410 and gone.get_json()["error"]["reason"] == "period_ended"
    page = client.get(f"/entries/{entry_id}")
    assert page.status_code == 410 and "公示期届满" in page.get_data(as_text=True)
    assert client.get("/api/v1/removals").get_json()["meta"]["total"] == 0
    assert client.get("/exports/removals.json").get_json()["count"] == 0

    withdrawals = client.get("/exports/withdrawals.json").get_json()
    assert sorted((r["type"], r["public_id"], r["reason"], r["withdrawn_on"]) for r in withdrawals["data"]) == \
        sorted([("entry", entry_id, "period_ended", "2026-08-21"),
                ("removal", notice_id, "period_ended", "2026-08-21")])
    csv_text = client.get("/exports/withdrawals.csv?lang=en").get_data(as_text=True)
    assert "Publication period ended" in csv_text and entry_id in csv_text
    assert client.get("/exports/withdrawals.xlsx").status_code == 200

    feed = ET.fromstring(client.get("/feeds/changes.atom").get_data())
    tombs = feed.findall("{http://purl.org/atompub/tombstones/1.0}deleted-entry")
    refs = {t.get("ref").rsplit(":", 2)[-2] + ":" + t.get("ref").rsplit(":", 1)[-1] for t in tombs}
    assert refs == {f"entry:{entry_id}", f"removal:{notice_id}"}
    assert all(t.get("when") for t in tombs)


def test_the_expire_command_ends_publication_after_the_period(app, session, removed):
    runner = app.test_cli_runner()
    early = runner.invoke(args=["expire", "--today", "2026-08-20"])
    assert early.exit_code == 0 and "withdrew 0 " in early.output
    result = runner.invoke(args=["expire", "--today", "2026-08-21"])
    assert result.exit_code == 0 and "withdrew 2 " in result.output
    session.expire_all()
    assert session.scalar(sa.select(sa.func.count(RemovalNotice.id))) == 0


def test_the_removals_page_states_the_period(client):
    page = client.get("/removals").get_data(as_text=True)
    assert "移出公告自移出之日起公示3个月" in page and "/exports/withdrawals.csv" in page


def test_withdrawing_an_entry_finds_its_notices_by_index_not_by_scan(app, session, removed):
    """The first daily run over a million entries withdrew 160,000 removed rows; each read every
    removal notice to find those linking to it (hours). SQLite's plan; PostgreSQL uses the same
    index by statistics."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("SQLite's query plan")
    from portal.extensions import db

    plans = []

    def explain(conn, cursor, statement, parameters, *args):
        if (not statement.startswith("EXPLAIN") and "FROM removal_notices" in statement
                and "entry_public_id =" in statement):
            plans.append(conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all())

    sa.event.listen(db.engine, "before_cursor_execute", explain)
    try:
        entry = session.execute(sa.select(PublishedEntry)).scalar_one()
        publication.withdraw_entry(session, entry, "period_ended", LAST_DAY + dt.timedelta(days=1))
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", explain)
    details = [row[-1] for plan in plans for row in plan]
    assert details and all("ix_removal_notices_entry_public_id" in d for d in details), details
    session.rollback()


def test_a_backlog_is_withdrawn_a_chunk_at_a_time_with_a_commit_after_each(app, session,
                                                                            monkeypatch):
    """A large backlog (a million entries' first daily run) is not one transaction holding the
    database for minutes and every row in memory."""
    for number in range(5):
        case, _code = listed_case(session, app, decided_on=dt.date(2026, 3, 15), ground="J1")
        remove_published(session, case, RemovalReason.RECTIFIED, REMOVED, app.config["PORTAL_LOOKUP_KEY"])
    session.commit()
    monkeypatch.setattr(publication, "END_CHUNK", 2)
    seen = []

    def committed():
        session.commit()
        seen.append(session.scalar(sa.select(sa.func.count(PublicationWithdrawal.id))))

    ended = publication.end_expired_publication(session, load_profile, LAST_DAY + dt.timedelta(days=1),
                                                after_chunk=committed)
    assert len(ended) == 10
    assert seen == [2, 4, 5, 7, 9, 10]         # notices 2+2+1, then entries 2+2+1, each committed
    assert session.scalar(sa.select(sa.func.count(RemovalNotice.id))) == 0
    assert publication.end_expired_publication(session, load_profile, LAST_DAY + dt.timedelta(days=1),
                                               after_chunk=committed) == []
