"""Typed models, one module per aggregate; importing this registers them all."""
from portal.models.audit import AuditEvent, AuditHead
from portal.models.base import Base
from portal.models.calendar import CalendarYear, HolidayOverride
from portal.models.certificates import QueryCertificate
from portal.models.cases import Case, CaseOrigin
from portal.models.grades import (
    FindingSource,
    FindingStatus,
    GradeFinding,
    ProposalState,
    RedListProposal,
    ScoreGradeTable,
    ScoreTableStatus,
)
from portal.models.imports import CaseReportData, ImportBatch, ImportStatus
from portal.models.integration import ApiClient
from portal.models.jurisdictions import Jurisdiction, StaffJurisdiction
from portal.models.letters import Letter, LetterKind
from portal.models.mail import MailStatus, OutgoingMail
from portal.models.outbox import OutboxEvent
from portal.models.party_session import PartySession
from portal.models.publication import (
    PublicationHistory,
    PublicationState,
    PublicationWithdrawal,
    PublishedEntry,
    RedListEntry,
    RemovalNotice,
)
from portal.models.screening import BatchStatus, ScreeningBatch, ScreeningChunk
from portal.models.staff import Role, StaffLoginFailure, StaffUser
from portal.models.stored_files import StoredFile
from portal.models.subjects import PersonRole, RelatedPerson, Subject, SubjectKind
from portal.models.submissions import Attachment, Submission, SubmissionEvent
from portal.models.watchlists import (
    Subscriber,
    SubscriberSession,
    WatchAlert,
    WatchItem,
    Watchlist,
    WatchProgress,
    WatchSeen,
)
from portal.models.webhooks import (
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from portal.models.workers import IndexReplica, JobRun

__all__ = [
    "FindingSource", "FindingStatus", "GradeFinding", "ProposalState", "RedListProposal",
    "ScoreGradeTable", "ScoreTableStatus",
    "ApiClient", "Jurisdiction", "StaffJurisdiction",
    "CaseReportData", "ImportBatch", "ImportStatus",
    "Attachment", "AuditEvent", "AuditHead", "Base", "CalendarYear", "Case", "CaseOrigin",
    "HolidayOverride", "Letter", "LetterKind", "MailStatus", "OutboxEvent", "OutgoingMail",
    "PersonRole", "PublicationHistory", "PublicationState", "QueryCertificate",
    "PublishedEntry",
    "PartySession", "PublicationWithdrawal", "RedListEntry", "RelatedPerson", "RemovalNotice", "Role",
    "StaffLoginFailure", "StaffUser", "StoredFile", "Subject",
    "SubjectKind", "Submission", "SubmissionEvent", "IndexReplica", "JobRun",
    "BatchStatus", "ScreeningBatch", "ScreeningChunk",
    "Subscriber", "SubscriberSession", "WatchAlert", "WatchItem", "Watchlist", "WatchProgress",
    "WatchSeen",
    "DeliveryStatus", "WebhookAttempt", "WebhookDelivery", "WebhookEndpoint",
]
