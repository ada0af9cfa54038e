"""Staff see the e-mail to filers that was not sent (/admin/mail, the admin's desk, /healthz)
and send a failed one again: admins only, with the CSRF token, audited."""
import re

import pytest
import sqlalchemy as sa

from portal import clock
from portal.models import AuditEvent, MailStatus, OutgoingMail, Role
from portal.services import mail_queue
from tests.services.test_notifications import (
    Inbox,
    _complaint,
    deliver,
    rows,
    smtp_down,  # noqa: F401  (fixture)
    start_server,
)
from tests.web.admin_support import english, fast_passwords, login, staff, text  # noqa: F401

pytestmark = pytest.mark.usefixtures("fast_passwords")


def _failed(app, session, address="zhang.san@example.com") -> OutgoingMail:
    """A message tried until it was given up (the mail server never answered)."""
    receipt = _complaint(session, email_address=address)
    session.commit()
    now = clock.now()
    for attempt in range(1, mail_queue.MAX_ATTEMPTS + 1):
        deliver(app, session, now)
        now += mail_queue.pause_after(attempt)
    [row] = [r for r in rows(session) if r.receipt_no == receipt.submission.receipt_no]
    assert row.status is MailStatus.FAILED
    return row


def test_the_admin_sees_failed_and_waiting_mail_masked(app, session, client, smtp_down):  # noqa: F811
    failed = _failed(app, session)
    waiting = _complaint(session, email_address="li.si@example.cn").submission
    session.commit()
    english(client)
    login(client, staff(session, Role.ADMIN, "admin.zhou"))
    page = client.get("/admin/mail/")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    body, html = text(page), page.get_data(as_text=True)
    assert "Not sent: 1 · waiting: 1 · sent: 0" in body
    failed_part = html[html.index('id="failed"'):html.index('id="pending"')]
    assert failed.receipt_no in failed_part and "z***@example.com" in failed_part
    assert "ConnectionRefusedError" in failed_part and "Receipt of the filing" in failed_part
    assert f'action="/admin/mail/{failed.id}/send-again"' in failed_part
    pending_part = html[html.index('id="pending"'):]
    assert waiting.receipt_no in pending_part and "l***@example.cn" in pending_part
    assert "send-again" not in pending_part                    # only a failed one is sent again
    assert "zhang.san" not in html and "li.si" not in html     # never the whole address
    desk = client.get("/admin/").get_data(as_text=True)
    line = re.search(r'<li data-waiting="mail_failed">(.*?)</li>', desk, re.S).group(1)
    assert re.search(r">\s*1\s*<", line) and 'href="/admin/mail/"' in line


def test_sending_again_needs_the_token_is_audited_and_goes_out(app, session, client,
                                                               smtp_down):  # noqa: F811
    row = _failed(app, session)
    login(client, staff(session, Role.ADMIN, "admin.zhou"))
    app.config["WTF_CSRF_ENABLED"] = True
    assert client.post(f"/admin/mail/{row.id}/send-again").status_code == 400
    page = client.get("/admin/mail/").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    again = client.post(f"/admin/mail/{row.id}/send-again", data={"csrf_token": token})
    assert again.status_code == 302 and again.headers["Location"] == "/admin/mail/"
    [row] = rows(session)
    assert (row.status, row.attempts) == (MailStatus.PENDING, 0)
    event = session.execute(sa.select(AuditEvent).where(
        AuditEvent.action == "mail.send_again")).scalar_one()
    assert event.actor_label == "staff:admin.zhou" and event.entity_id == str(row.id)
    assert event.data["attempts"] == mail_queue.MAX_ATTEMPTS
    assert event.data["last_error"] == "ConnectionRefusedError"
    assert event.jurisdiction == "jiamusi" and "example.com" not in str(event.data)
    # a second time: it has not failed (any more), nothing changes
    twice = client.post(f"/admin/mail/{row.id}/send-again", data={"csrf_token": token})
    assert twice.status_code == 302
    assert session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "mail.send_again")) == 1
    inbox = Inbox()
    controller = start_server(app, inbox, port=smtp_down)
    try:
        assert deliver(app, session).sent == 1
    finally:
        controller.stop()
    [(to, _message)] = inbox.messages
    assert to == ["zhang.san@example.com"]
    english(client)
    audit_page = text(client.get("/admin/audit/?action=mail.send_again"))
    assert (f"had the e-mail of filing {row.receipt_no} (Receipt of the filing) sent again "
            f"(e-mail no. {row.id}; 8 attempts had failed, the last with "
            "ConnectionRefusedError)") in audit_page


@pytest.mark.parametrize("role", [Role.CLERK, Role.REVIEWER, Role.APPROVER])
def test_other_roles_neither_see_nor_send_again(app, session, client, smtp_down, role):  # noqa: F811
    row = _failed(app, session)
    login(client, staff(session, role))
    assert client.get("/admin/mail/").status_code == 403
    assert client.post(f"/admin/mail/{row.id}/send-again").status_code == 403
    assert rows(session)[0].status is MailStatus.FAILED


def test_an_unknown_message_is_not_found(app, session, client):
    login(client, staff(session, Role.ADMIN))
    assert client.post("/admin/mail/987654/send-again").status_code == 404


def test_healthz_reports_failed_mail_without_failing(app, session, client, smtp_down):  # noqa: F811
    from portal.search import get_index
    from portal.worker import Worker

    _failed(app, session)
    Worker(get_index(app), interval=0).round()                 # index and heartbeat: healthy
    health = client.get("/healthz")
    assert health.status_code == 200, health.get_json()
    assert health.get_json()["mail"] == {"pending": 0, "failed": 1}
    assert health.get_json()["status"] == "ok"
