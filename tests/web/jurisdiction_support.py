"""Two bureaus on one portal for the cross-jurisdiction tests: Jiamusi (under a province) and
Chizhou, with a Jiamusi record of every kind the back office and the integration API touch."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa

from portal import clock
from portal.models import (
    AuditEvent,
    DeliveryStatus,
    ImportBatch,
    ImportStatus,
    Jurisdiction,
    LetterKind,
    MailStatus,
    OutgoingMail,
    Role,
)
from portal.rules.profiles import load_profile
from portal.rules.profiles import ScoreBand
from portal.services import integration, jurisdictions, letters, score_tables, webhooks
from portal.services.publication import bump_version
from tests import grades_support
from tests.factories import make_staff, make_subject, pre_noticed_case, published_case

TODAY = dt.date(2026, 10, 12)
PROVINCE = "heilongjiang"
WEBHOOK_HOST = "jiamusi-hooks.example.cn"


@dataclass
class JiamusiRecords:
    pre_noticed: object
    published: object
    complaint: object
    letter: object
    finding: object
    proposal: object
    entry: object
    batch: object
    client: object
    token: str
    mail: object
    table: object
    webhook: object
    delivery: object

    def ids(self) -> dict:
        """URL parameter -> the id of the Jiamusi record it names."""
        return {"case_id": self.published.id, "submission_id": self.complaint.id,
                "finding_id": self.finding.id, "proposal_id": self.proposal.id,
                "entry_id": self.entry.id, "batch_id": self.batch.id,
                "client_id": self.client.id, "mail_id": self.mail.id, "code": "jiamusi",
                "table_id": self.table.id,
                "endpoint_id": self.webhook.id, "delivery_id": self.delivery.id}

    def marks(self) -> list[str]:
        """Texts that name a Jiamusi record (no page of another bureau may show them)."""
        return [self.pre_noticed.case_no, self.published.case_no, self.complaint.receipt_no,
                self.finding.finding_no, self.proposal.proposal_no, self.client.name,
                self.table.table_no, WEBHOOK_HOST]


def jiamusi_records(session, app) -> JiamusiRecords:
    """Every kind of record, made while Jiamusi is the portal's only bureau."""
    pre = pre_noticed_case(session)[0]
    published = published_case(session, app)
    complaint = grades_support.complaint(session, granted=True, reported="佳木斯市某医院")
    complaint.jurisdiction = "jiamusi"
    clerk = make_staff(session, Role.CLERK)
    letter = letters.issue(session, clerk, published, load_profile("jiamusi"),
                           LetterKind.LISTING_DECISION, TODAY)
    finding = grades_support.finding(session, make_subject(session))
    finding.jurisdiction = "jiamusi"
    proposal = grades_support.proposal(session)
    proposal.jurisdiction = "jiamusi"
    entry = grades_support.admitted(session)
    entry.jurisdiction = "jiamusi"
    batch = ImportBatch(profile="jiamusi", jurisdiction="jiamusi", kind="monthly",
                        filename="jiamusi.csv", sha256="0" * 64, uploaded_by_id=clerk.id,
                        status=ImportStatus.STAGED, rows=[], unknown_headers=[], row_count=0,
                        error_count=0)
    session.add(batch)
    client, token = integration.create_client(session, make_staff(session, Role.ADMIN),
                                              "jiamusi-sbjf", list(integration.SCOPES),
                                              clock.now(), jurisdiction="jiamusi")
    mail = OutgoingMail(event="received", recipient="filer@example.cn", jurisdiction="jiamusi",
                        payload={"receipt_no": complaint.receipt_no}, locale="zh_CN",
                        status=MailStatus.FAILED, attempts=8, last_error="ConnectionRefusedError")
    session.add(mail)
    table = score_tables.propose(session, make_staff(session, Role.REVIEWER), "zhengzhou",
                                 (ScoreBand("A", 90), ScoreBand("B", 0)), "试行", TODAY)
    table.jurisdiction = "jiamusi"
    webhook, _secret = webhooks.register(
        session, integration.api_actor(client), f"https://{WEBHOOK_HOST}/in", ["published"],
        secret_key=app.config["SECRET_KEY"], now=clock.now(), client=client)
    delivery = webhooks.enqueue(session, webhook, "published", "subject:1", {}, 1)
    delivery.status, delivery.attempts = DeliveryStatus.DEAD, 30
    session.commit()
    return JiamusiRecords(pre, published, complaint, letter, finding, proposal, entry, batch,
                          client, token, mail, table, webhook, delivery)


def add_bureaus(session) -> None:
    """Chizhou beside Jiamusi, and a province above Jiamusi: the portal has several bureaus."""
    jurisdictions.ensure_seeded(session, "chizhou", "0566-1234567")
    session.add(Jurisdiction(code=PROVINCE, name_zh="黑龙江省人力资源和社会保障厅",
                             name_en="Heilongjiang Provincial Department", profile="jiamusi",
                             departments=[{"zh": "黑龙江省人社厅", "en": "Heilongjiang"}],
                             position=9))
    session.flush()
    session.get(Jurisdiction, "jiamusi").parent_code = PROVINCE
    bump_version(session)
    session.commit()


def refusals(session, after: int) -> list[AuditEvent]:
    return session.execute(sa.select(AuditEvent).where(
        AuditEvent.seq > after, AuditEvent.action == "jurisdiction.refused")
        .order_by(AuditEvent.seq)).scalars().all()


def last_seq(session) -> int:
    return session.scalar(sa.select(sa.func.max(AuditEvent.seq))) or 0
