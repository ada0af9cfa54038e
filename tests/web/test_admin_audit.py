"""The audit viewer: filters, paging, and the chain check."""
import datetime as dt
import re

import pytest
import sqlalchemy as sa

from portal import clock
from portal.models import AuditEvent, Role
from portal.services import audit
from portal.services.audit import Actor
from tests.web.admin_support import english, fast_passwords, login, staff, text  # noqa: F401

pytestmark = pytest.mark.usefixtures("fast_passwords")


@pytest.fixture
def log(session):
    """An admin and a few events by two clerks on two entities."""
    admin = staff(session, Role.ADMIN, "admin.zhou")
    wang, zhao = staff(session, Role.CLERK, "wang.fang"), staff(session, Role.CLERK, "zhao.lei")
    audit.record(session, Actor.staff(wang), "case.open", "case", "JIA-2026-000001", {"ground": "J1"})
    audit.record(session, Actor.staff(wang), "case.pre_notice", "case", "JIA-2026-000001")
    audit.record(session, Actor.staff(zhao), "case.open", "case", "JIA-2026-000002", {"ground": "J2"})
    audit.record(session, Actor.staff(zhao), "subject.reveal_id", "subject", "7", {"case": "JIA-2026-000002"})
    audit.record(session, audit.SYSTEM, "case.remove", "case", "JIA-2025-000009")
    session.commit()
    return admin


def _seqs(response) -> list[int]:
    html = response.get_data(as_text=True)
    return [int(n) for n in re.findall(r'<td data-label="#">(\d+)</td>', html)]


def _actions(session, **where):
    stmt = sa.select(AuditEvent.seq)
    for name, value in where.items():
        stmt = stmt.where(getattr(AuditEvent, name) == value)
    return sorted(session.execute(stmt).scalars().all(), reverse=True)


def test_filters_by_actor_action_entity_and_date(session, client, log):
    login(client, log)
    everything = _seqs(client.get("/admin/audit/"))
    assert everything == sorted(everything, reverse=True) and len(everything) == 6   # + the login
    assert _seqs(client.get("/admin/audit/?actor=zhao.lei")) == _actions(session, actor_label="staff:zhao.lei")
    assert len(_seqs(client.get("/admin/audit/?actor=zhao.lei"))) == 2
    assert _seqs(client.get("/admin/audit/?actor=system")) == _actions(session, actor_label="system")
    assert _seqs(client.get("/admin/audit/?action=case.open")) == _actions(session, action="case.open")
    assert len(_seqs(client.get("/admin/audit/?action=case."))) == 4              # prefix
    assert _seqs(client.get("/admin/audit/?entity_type=case&entity_id=JIA-2026-000001")) == \
        _actions(session, entity_id="JIA-2026-000001")
    assert len(_seqs(client.get("/admin/audit/?actor=wang.fang&action=case.open"))) == 1
    today = clock.today()
    assert len(_seqs(client.get(f"/admin/audit/?date_from={today}&date_to={today}"))) == 6
    tomorrow = today + dt.timedelta(days=1)
    assert _seqs(client.get(f"/admin/audit/?date_from={tomorrow}")) == []
    assert _seqs(client.get(f"/admin/audit/?date_to={today - dt.timedelta(days=1)}")) == []
    assert client.get("/admin/audit/?date_from=not-a-date").status_code == 200   # ignored, not 500


def test_pages_of_fifty_newest_first(session, client, log):
    for i in range(60):
        audit.record(session, audit.SYSTEM, "test.tick", "test", str(i))
    session.commit()
    english(client)
    login(client, log)
    first, second = client.get("/admin/audit/?action=test.tick"), client.get("/admin/audit/?action=test.tick&page=2")
    assert len(_seqs(first)) == 50 and len(_seqs(second)) == 10
    assert min(_seqs(first)) > max(_seqs(second))
    assert "Page 2 of 2" in text(second) and "action=test.tick" in second.get_data(as_text=True)


def test_verify_reports_an_intact_and_then_a_broken_chain(session, client, log):
    english(client)
    login(client, log)
    intact = client.post("/admin/audit/verify")
    assert intact.status_code == 200 and "The chain is intact" in text(intact)
    event = session.execute(sa.select(AuditEvent).where(AuditEvent.action == "case.open")
                            .order_by(AuditEvent.seq)).scalars().first()
    session.execute(sa.update(AuditEvent).where(AuditEvent.id == event.id)
                    .values(data={"ground": "J8"}))
    session.commit()
    broken = client.post("/admin/audit/verify")
    assert "The chain is broken: 1 problem found." in text(broken)
    assert f"Position {event.seq}: content changed (hash mismatch)" in text(broken)
    checks = session.execute(sa.select(AuditEvent.data).where(AuditEvent.action == "audit.verify")
                             .order_by(AuditEvent.seq)).scalars().all()
    assert checks == [{"problems": 0}, {"problems": 1}]


def test_a_clerk_cannot_open_the_audit_viewer_or_verify(session, client, log):
    clerk = session.execute(sa.select(AuditEvent.actor_id).where(
        AuditEvent.actor_label == "staff:wang.fang")).scalars().first()
    from portal.models import StaffUser
    login(client, session.get(StaffUser, clerk))
    assert client.get("/admin/audit/").status_code == 403
    assert client.post("/admin/audit/verify").status_code == 403
    assert not session.execute(sa.select(AuditEvent).where(AuditEvent.action == "audit.verify")).first()
