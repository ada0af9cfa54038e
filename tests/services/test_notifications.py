"""E-mail notifications reach a real local SMTP server (aiosmtpd), only after the commit."""
import datetime as dt
import email
import email.policy
import socket
import time

import pytest
from aiosmtpd.controller import Controller

from portal.models import Role
from portal.rules.profiles import load_profile
from portal.rules.workflow import SubmissionKind
from portal.services import notifications, submissions
from portal.services.calendar import load_calendar
from portal.services.submissions import Filing
from tests.factories import listed_case, make_staff

D = dt.date


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
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


@pytest.fixture
def smtp_server(app):
    """A local SMTP server; the app is configured to send to it."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    app.config.update(PORTAL_SMTP_HOST="127.0.0.1", PORTAL_SMTP_PORT=controller.port)
    yield inbox
    controller.stop()


def _body(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def _complaint(session, email_address="reporter@example.cn", locale="zh_CN", on=None):
    filing = Filing(kind=SubmissionKind.COMPLAINT, body="某公司未给职工参保", reported_name="某公司",
                    filer_name="张三", filer_contact="13800000000", filer_email=email_address,
                    details={"locale": locale})
    return submissions.file(session, load_profile("jiamusi"), load_calendar(session), filing,
                            on or D(2026, 5, 6))


def test_receipt_mail_is_sent_after_the_commit(app, session, smtp_server):
    receipt = _complaint(session)
    assert smtp_server.messages == []                          # nothing before the commit
    session.commit()
    [(to, message)] = smtp_server.wait(1)
    assert to == ["reporter@example.cn"]
    assert receipt.submission.receipt_no in message["Subject"]
    assert message["From"] == "noreply@portal.invalid"
    body = _body(message)
    assert receipt.submission.receipt_no in body
    assert "2026年5月26日" in body                               # due date, Chinese format
    assert "http://localhost/track" in body
    assert receipt.query_code not in body and receipt.query_code.replace("-", "") not in body


def test_english_filers_get_english_mail(app, session, smtp_server):
    _complaint(session, locale="en")
    session.commit()
    [(_to, message)] = smtp_server.wait(1)
    assert message["Subject"].startswith("We received your filing")
    assert "May 26, 2026" in _body(message)


def test_a_rollback_sends_nothing(app, session, smtp_server):
    _complaint(session)
    assert len(notifications.pending(session)) == 1
    session.rollback()
    session.commit()
    time.sleep(0.2)
    assert smtp_server.messages == []


def test_no_address_no_mail(app, session, smtp_server):
    _complaint(session, email_address=None)
    assert notifications.pending(session) == []
    session.commit()


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
    messages = smtp_server.wait(3)
    assert len(messages) == 3
    request, decision = _body(messages[1][1]), _body(messages[2][1])
    assert "2026年6月17日" in request and "授权书" in request
    assert "异议成立" in decision and "2026年6月8日" in decision
    for _to, message in messages:
        text = message.as_string() + _body(message)
        assert rid not in text and rid[6:14] not in text        # full number and birth date never sent
    assert rid[:4] + "*" * 10 + rid[-4:] in request


def test_an_unreachable_mail_server_does_not_break_the_filing(app, session):
    app.config.update(PORTAL_SMTP_HOST="127.0.0.1", PORTAL_SMTP_PORT=free_port())
    receipt = _complaint(session)
    session.commit()                                           # no exception
    assert receipt.submission.id is not None


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
    messages = smtp_server.wait(2)
    assert len(messages) == 2
    decision = _body(messages[1][1])
    assert "均非该单位职工" in decision
    assert full_width_x not in decision and "１９７９０１０２" not in decision
    assert "8503-0712" not in decision and "2308**********123X" in decision
