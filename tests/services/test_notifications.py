"""E-mail to filers: a row written with the step it reports, sent by the worker to a real local
SMTP server (aiosmtpd), tried again with a growing pause, given up visibly."""
import asyncio
import datetime as dt
import email
import email.policy
import socket
import threading
import time

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from portal import clock
from portal.models import MailStatus, OutgoingMail, Role
from portal.rules.profiles import load_profile
from portal.rules.workflow import SubmissionKind
from portal.services import mail_queue, notifications, submissions
from portal.services.calendar import load_calendar
from portal.services.submissions import Filing
from tests.factories import listed_case, make_staff

D = dt.date
MINUTE = dt.timedelta(minutes=1)


class Inbox:
    """What the local server received; ``refuse``: addresses it answers 550 for; ``delay``:
    seconds it takes over each message (a slow server)."""

    def __init__(self, refuse=(), delay: float = 0.0):
        self.messages = []
        self.refuse, self.delay = set(refuse), delay

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((envelope.rcpt_tos, message))
        return "250 OK"

    def wait(self, count: int, timeout: float = 5.0):
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.messages


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(app, inbox: Inbox, port: int | None = None) -> Controller:
    controller = Controller(inbox, hostname="127.0.0.1", port=port or free_port())
    controller.start()
    app.config.update(PORTAL_SMTP_HOST="127.0.0.1", PORTAL_SMTP_PORT=controller.port)
    return controller


@pytest.fixture
def smtp_server(app):
    """A local SMTP server; the app is configured to send to it."""
    inbox = Inbox()
    controller = start_server(app, inbox)
    yield inbox
    controller.stop()


@pytest.fixture
def smtp_down(app):
    """A mail server configured at a port where nothing answers (yet): its port."""
    port = free_port()
    app.config.update(PORTAL_SMTP_HOST="127.0.0.1", PORTAL_SMTP_PORT=port)
    return port


def deliver(app, session, now=None, **kwargs) -> mail_queue.DeliveryResult:
    """One round of the worker's job, committed."""
    result = mail_queue.deliver_due(session, app.config, now or clock.now(), **kwargs)
    session.commit()
    return result


def rows(session) -> list[OutgoingMail]:
    session.expire_all()
    return session.execute(sa.select(OutgoingMail).order_by(OutgoingMail.id)).scalars().all()


def _body(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def _complaint(session, email_address="reporter@example.cn", locale="zh_CN", on=None):
    filing = Filing(kind=SubmissionKind.COMPLAINT, body="某公司未给职工参保", reported_name="某公司",
                    filer_name="张三", filer_contact="13800000000", filer_email=email_address,
                    details={"locale": locale})
    return submissions.file(session, load_profile("jiamusi"), load_calendar(session), filing,
                            on or D(2026, 5, 6))


# ------------------------------------------------------------------ written, then sent

def test_a_filing_writes_a_pending_row_and_the_worker_sends_it(app, session, smtp_server):
    receipt = _complaint(session)
    session.commit()
    [row] = rows(session)
    assert smtp_server.messages == []                          # nothing sent with the filing
    assert (row.status, row.attempts, row.event) == (MailStatus.PENDING, 0, "received")
    assert row.recipient == "reporter@example.cn" and row.jurisdiction == "jiamusi"
    assert row.payload["received_on"] == "2026-05-06" and "received_on" in row.payload["dates"]
    assert row.next_attempt_at is not None
    assert notifications.item_of(row)["received_on"] == D(2026, 5, 6)      # restored
    result = deliver(app, session)
    assert (result.sent, result.retrying, result.failed, result.unreachable) == (1, 0, 0, False)
    [(to, message)] = smtp_server.messages
    assert to == ["reporter@example.cn"]
    assert receipt.submission.receipt_no in message["Subject"]
    assert message["From"] == "noreply@portal.invalid"
    body = _body(message)
    assert receipt.submission.receipt_no in body
    assert "2026年5月26日" in body                               # due date, Chinese format
    assert "http://localhost/track" in body
    assert receipt.query_code not in body and receipt.query_code.replace("-", "") not in body
    [row] = rows(session)
    assert (row.status, row.attempts, row.last_error) == (MailStatus.SENT, 1, None)
    assert row.sent_at is not None and row.next_attempt_at is None
    assert row.payload == {"receipt_no": receipt.submission.receipt_no}    # what was said: gone
    assert deliver(app, session).tried == 0                    # sent once, never again
    assert len(smtp_server.messages) == 1


def test_english_filers_get_english_mail(app, session, smtp_server):
    _complaint(session, locale="en")
    session.commit()
    deliver(app, session)
    [(_to, message)] = smtp_server.messages
    assert message["Subject"].startswith("We received your filing")
    assert "May 26, 2026" in _body(message)


def test_a_rollback_leaves_no_row(app, session, smtp_server):
    _complaint(session)
    assert len([o for o in session.new if isinstance(o, OutgoingMail)]) == 1
    session.rollback()
    session.commit()
    assert rows(session) == []
    assert deliver(app, session).tried == 0 and smtp_server.messages == []


def test_no_address_no_mail(app, session, smtp_server):
    _complaint(session, email_address=None)
    session.commit()
    assert rows(session) == []


def test_without_a_mail_server_nothing_is_written(app, session):
    """The documented choice: a portal without PORTAL_SMTP_HOST keeps no mail that would
    wait for ever."""
    assert not app.config["PORTAL_SMTP_HOST"]
    _complaint(session)
    session.commit()
    assert rows(session) == []
    result = deliver(app, session)
    assert not result.configured and result.tried == 0


def test_material_request_and_decision_mails_mask_id_numbers(app, session, smtp_server):
    case, _code = listed_case(session, app)
    rid = case.subject.legal_representative.id_number
    profile, calendar = load_profile("jiamusi"), load_calendar(session)
    sub = submissions.file(session, profile, calendar,
                           Filing(kind=SubmissionKind.OBJECTION, body="主体有误", case=case, category="identity",
                                  filer_email="hr@example.cn", details={"locale": "zh_CN"}), D(2026, 6, 1)).submission
    session.commit()
    clerk, approver = make_staff(session, Role.CLERK), make_staff(session, Role.APPROVER)
    submissions.accept_for_review(session, clerk, sub, profile, calendar, D(2026, 6, 2))
    submissions.request_material(session, clerk, sub, f"请提交法定代表人（身份证号{rid}）的授权书。",
                                 D(2026, 6, 3), profile, calendar)
    session.commit()
    submissions.reply_material(session, sub, "已提交", D(2026, 6, 5), profile, calendar)
    submissions.decide(session, approver, sub, True, f"经核查，{rid}与被列入主体不一致，异议成立。",
                       profile, calendar, "test-lookup-key", D(2026, 6, 8),
                       outcome=submissions.ObjectionOutcome(listing_fell=True))
    session.commit()
    stored = str([r.payload for r in rows(session)])
    assert rid not in stored and rid[6:14] not in stored      # masked when written
    assert deliver(app, session).sent == 3
    messages = smtp_server.messages
    assert len(messages) == 3
    request, decision = _body(messages[1][1]), _body(messages[2][1])
    assert "2026年6月17日" in request and "授权书" in request
    assert "异议成立" in decision and "2026年6月8日" in decision
    for _to, message in messages:
        text = message.as_string() + _body(message)
        assert rid not in text and rid[6:14] not in text        # full number and birth date never sent
    assert rid[:4] + "*" * 10 + rid[-4:] in request


def test_an_id_number_in_a_snapshot_is_masked_again_when_the_message_is_built(app, session,
                                                                            smtp_server):
    """A row written before the detector knew a shape (or by hand) still sends no number."""
    rid = "23080319790102123X"
    _complaint(session)
    session.commit()
    [row] = rows(session)
    row.payload = {**row.payload, "receipt_no": f"T-{rid}"}
    session.commit()
    deliver(app, session)
    [(_to, message)] = smtp_server.messages
    assert rid not in message.as_string() + _body(message)


def test_full_width_and_separated_id_numbers_never_reach_an_inbox(app, session, smtp_server):
    full_width_x = "２３０８０３１９７９０１０２１２３Ｘ"
    profile, calendar = load_profile("jiamusi"), load_calendar(session)
    receipt = _complaint(session)
    session.commit()
    clerk, approver = make_staff(session, Role.CLERK), make_staff(session, Role.APPROVER)
    sub = receipt.submission
    submissions.accept_for_review(session, clerk, sub, profile, calendar, D(2026, 5, 7))
    submissions.decide(session, approver, sub, False,
                       f"被举报人{full_width_x}与 1101-0519-8503-0712-30 均非该单位职工。",
                       profile, calendar, "test-lookup-key", D(2026, 5, 8))
    session.commit()
    deliver(app, session)
    messages = smtp_server.messages
    assert len(messages) == 2
    decision = _body(messages[1][1])
    assert "均非该单位职工" in decision
    assert full_width_x not in decision and "１９７９０１０２" not in decision
    assert "8503-0712" not in decision and "2308**********123X" in decision


# ------------------------------------------------------------------ failures and back-off

def test_the_pause_doubles_from_a_minute_up_to_an_hour():
    assert [mail_queue.pause_after(n) // MINUTE for n in range(1, 10)] == \
        [1, 2, 4, 8, 16, 32, 60, 60, 60]


def test_an_unreachable_mail_server_does_not_break_the_filing(app, session, smtp_down):
    receipt = _complaint(session)
    session.commit()                                           # no exception
    assert receipt.submission.id is not None
    [row] = rows(session)
    assert row.status is MailStatus.PENDING


def test_a_server_that_is_down_gets_the_message_once_it_is_up(app, session, smtp_down):
    _complaint(session, email_address="a@example.cn")
    _complaint(session, email_address="b@example.cn")
    session.commit()
    now = clock.now()
    result = deliver(app, session, now)
    assert result.unreachable and (result.sent, result.retrying, result.failed) == (0, 2, 0)
    for row in rows(session):
        assert (row.status, row.attempts) == (MailStatus.PENDING, 1)
        assert row.last_error == "ConnectionRefusedError"     # the type, never the text
        assert clock.local(row.next_attempt_at) == clock.local(now + MINUTE)
    # no spinning: nothing is due until the pause is over (no connection is even tried)
    assert deliver(app, session, now).tried == 0
    assert deliver(app, session, now + 30 * dt.timedelta(seconds=1)).tried == 0
    inbox = Inbox()
    controller = start_server(app, inbox, port=smtp_down)
    try:
        result = deliver(app, session, now + MINUTE)
    finally:
        controller.stop()
    assert (result.sent, result.unreachable) == (2, False)
    assert sorted(to[0] for to, _m in inbox.messages) == ["a@example.cn", "b@example.cn"]
    assert {(r.status, r.attempts) for r in rows(session)} == {(MailStatus.SENT, 2)}


def test_an_unreachable_server_counts_for_one_round_of_rows_only(app, session, smtp_down):
    for i in range(3):
        _complaint(session, email_address=f"r{i}@example.cn")
    session.commit()
    result = deliver(app, session, limit=2)
    assert (result.retrying, result.unreachable) == (2, True)
    assert [r.attempts for r in rows(session)] == [1, 1, 0]


def test_after_the_last_attempt_the_message_is_failed(app, session, smtp_down):
    _complaint(session)
    session.commit()
    now = clock.now()
    for attempt in range(1, mail_queue.MAX_ATTEMPTS + 1):
        result = deliver(app, session, now)
        [row] = rows(session)
        assert row.attempts == attempt
        if attempt < mail_queue.MAX_ATTEMPTS:
            assert result.retrying == 1 and row.status is MailStatus.PENDING
            now += mail_queue.pause_after(attempt)
    assert result.failed == 1
    assert (row.status, row.next_attempt_at, row.last_error) == (
        MailStatus.FAILED, None, "ConnectionRefusedError")
    assert deliver(app, session, now + dt.timedelta(days=1)).tried == 0     # given up
    assert mail_queue.counts(session) == {"pending": 0, "sent": 0, "failed": 1}


def test_an_address_the_server_refuses_for_good_fails_at_once(app, session):
    inbox = Inbox(refuse={"nobody@example.cn"})
    controller = start_server(app, inbox)
    try:
        _complaint(session, email_address="nobody@example.cn")
        _complaint(session, email_address="somebody@example.cn")
        session.commit()
        result = deliver(app, session)
    finally:
        controller.stop()
    assert (result.sent, result.failed) == (1, 1)
    refused, sent = rows(session)
    assert (refused.status, refused.attempts, refused.last_error) == (
        MailStatus.FAILED, 1, "SMTPRecipientsRefused")
    assert sent.status is MailStatus.SENT and [to for to, _m in inbox.messages] == [
        ["somebody@example.cn"]]


def test_a_message_that_cannot_be_rendered_waits_and_the_others_go(app, session, smtp_server):
    _complaint(session, email_address="a@example.cn")
    _complaint(session, email_address="b@example.cn")
    session.commit()
    broken = rows(session)[0]
    broken.payload = {"receipt_no": "T1"}                      # no kind, no state
    session.commit()
    result = deliver(app, session)
    assert (result.sent, result.retrying) == (1, 1)
    broken, fine = rows(session)
    assert (broken.status, broken.last_error) == (MailStatus.PENDING, "KeyError")
    assert fine.status is MailStatus.SENT


def test_sent_rows_are_deleted_after_their_time(app, session, smtp_server):
    _complaint(session)
    session.commit()
    deliver(app, session)
    now = clock.now()
    assert mail_queue.prune_sent(session, now) == 0
    assert mail_queue.prune_sent(session, now + mail_queue.SENT_KEPT + MINUTE) == 1
    session.commit()
    assert rows(session) == []


# ------------------------------------------------------------------ two hosts at once

@pytest.mark.parametrize("per_row", [True, False], ids=["commit-per-row", "one-commit"])
def test_two_senders_at_once_never_send_a_message_twice(app, session, backend, per_row):
    """Two workers' rounds on two hosts: FOR UPDATE SKIP LOCKED gives each row to one."""
    if backend != "postgresql":
        pytest.skip("needs concurrent transactions (SQLite has one writer; the lease serialises)")
    inbox = Inbox(delay=0.005)
    controller = start_server(app, inbox)
    try:
        for i in range(24):
            _complaint(session, email_address=f"r{i:02}@example.cn")
        session.commit()
        engine, now = session.get_bind(), clock.now()
        start, results, errors = threading.Barrier(2), [], []

        def sender():
            try:
                with app.app_context(), sa.orm.Session(engine) as own:
                    start.wait(10)
                    results.append(mail_queue.deliver_due(
                        own, app.config, now, limit=50,
                        after_each=own.commit if per_row else None))
                    own.commit()
            except Exception as error:          # reported below
                errors.append(error)

        threads = [threading.Thread(target=sender) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    finally:
        controller.stop()
    assert errors == []
    assert sum(r.sent for r in results) == 24
    received = sorted(to[0] for to, _m in inbox.messages)
    assert received == sorted(f"r{i:02}@example.cn" for i in range(24))   # each exactly once
    assert {(r.status, r.attempts) for r in rows(session)} == {(MailStatus.SENT, 1)}


# ------------------------------------------------------------------ the commands

def test_mail_send_and_status_commands(app, session, smtp_down):
    _complaint(session)
    session.commit()
    runner = app.test_cli_runner()
    status = runner.invoke(args=["mail", "status"])
    assert status.exit_code == 0 and status.output.strip() == "pending=1 sent=0 failed=0 due=1"
    down = runner.invoke(args=["mail", "send"])
    assert down.exit_code == 1 and "retrying=1" in down.output
    assert "reporter" not in down.output                       # counts only, never an address
    assert runner.invoke(args=["mail", "status"]).output.strip() == \
        "pending=1 sent=0 failed=0 due=0"
    inbox = Inbox()
    controller = start_server(app, inbox, port=smtp_down)
    try:
        rows(session)[0].next_attempt_at = clock.now()
        session.commit()
        up = runner.invoke(args=["mail", "send"])
    finally:
        controller.stop()
    assert up.exit_code == 0 and "sent=1" in up.output and len(inbox.messages) == 1
    assert runner.invoke(args=["mail", "status"]).output.strip() == \
        "pending=0 sent=1 failed=0 due=0"


def test_the_workers_of_two_hosts_send_a_message_once(app, session, smtp_server, tmp_path):
    from portal.search import get_index
    from portal.worker import Worker
    from search_index import SearchIndex

    _complaint(session)
    session.commit()
    host_a = Worker(get_index(app), interval=0, replica="host-a")
    host_b = Worker(SearchIndex(tmp_path / "index-b", refresh_interval=0), interval=0,
                    replica="host-b")
    host_a.round()
    host_b.round()
    assert len(smtp_server.wait(1)) == 1
    [row] = rows(session)
    assert row.status is MailStatus.SENT and row.attempts == 1
    host_b.round()
    assert len(smtp_server.messages) == 1
