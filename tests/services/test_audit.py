"""The hash-chained audit log detects changed, removed and reordered rows."""
import sqlalchemy as sa

from portal.models import AuditEvent, AuditHead
from portal.services import audit


def _chain(session, n=5):
    for i in range(n):
        audit.record(session, audit.SYSTEM, "test.step", "case", f"C{i}", {"i": i, "名": "张三"})
    session.commit()


def test_an_untouched_chain_verifies(session):
    _chain(session)
    assert audit.verify(session) == []
    events = session.execute(sa.select(AuditEvent).order_by(AuditEvent.seq)).scalars().all()
    assert [e.seq for e in events] == [1, 2, 3, 4, 5]
    assert events[0].prev_hash == audit.GENESIS
    assert all(b.prev_hash == a.hash for a, b in zip(events, events[1:]))
    assert session.get(AuditHead, 1).hash == events[-1].hash


def test_a_changed_row_is_detected(session):
    _chain(session)
    session.execute(sa.update(AuditEvent).where(AuditEvent.seq == 3).values(data={"i": 99}))
    session.commit()
    problems = audit.verify(session)
    assert [p.seq for p in problems] == [3]
    assert "changed" in problems[0].message


def test_a_changed_actor_is_detected(session):
    _chain(session)
    session.execute(sa.update(AuditEvent).where(AuditEvent.seq == 2).values(actor_label="staff:x"))
    session.commit()
    assert [p.seq for p in audit.verify(session)] == [2]


def test_a_removed_row_is_detected(session):
    _chain(session)
    session.execute(sa.delete(AuditEvent).where(AuditEvent.seq == 2))
    session.commit()
    problems = audit.verify(session)
    assert problems and problems[0].seq == 3
    assert "removed or reordered" in problems[0].message


def test_a_removed_tail_is_detected(session):
    _chain(session)
    session.execute(sa.delete(AuditEvent).where(AuditEvent.seq == 5))
    session.commit()
    problems = audit.verify(session)
    assert len(problems) == 1 and "head" in problems[0].message


def test_reordered_rows_are_detected(session):
    _chain(session)
    first, second = session.execute(
        sa.select(AuditEvent).where(AuditEvent.seq.in_([2, 3])).order_by(AuditEvent.seq)
    ).scalars().all()
    first_vals = (first.action, first.entity_id, first.data)
    first.action, first.entity_id, first.data = second.action, second.entity_id, second.data
    second.action, second.entity_id, second.data = first_vals
    session.commit()
    assert {p.seq for p in audit.verify(session)} == {2, 3}


def test_cli_verify_reports_tampering(app, session):
    _chain(session, 3)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0 and "intact: 3 events" in result.output
    session.execute(sa.update(AuditEvent).where(AuditEvent.seq == 1).values(action="case.drop"))
    session.commit()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and "BROKEN" in result.output
