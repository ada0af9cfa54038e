"""What the integration API answers: the case opened, the warning (预警), the case events,
the webhooks and their deliveries.

Described in ``/api/v1/integration/openapi.json`` (spectree, :mod:`portal.api.contract`).
"""
from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field

from portal.api import contract
from portal.api import views as public
from portal.api.contract import Resource
from portal.models import CaseOrigin
from portal.rules.profiles import SEVERITIES, SUBJECT_KINDS
from portal.rules.workflow import CaseState, RemovalReason
from portal.services.webhooks import EVENT_TYPES
from portal.services.integration import SCOPES

STATES = tuple(s.value for s in CaseState)
ORIGINS = tuple(o.value for o in CaseOrigin)
EVENTS = ("opened", "pre_notice_served", "defence_filed", "reviewed", "listing_proposed",
          "sent_back", "listing_decided", "dropped", "published", "shared", "removed",
          "removal_shared")
_LAST_DAY = ("The last day of the term: the subject is still on the list on this day (the "
             "same day of the month N years after the decision).")
_LEAVES = "The day the subject leaves the list when the term ends: the day after term_last_day."


class IntegrationSubject(Resource):
    kind: Literal[tuple(SUBJECT_KINDS)]
    name: str
    code: str = Field(description="USCC (or old code) of an organisation; a person's ID number "
                      "masked (first 4 and last 4).")


class ExternalRefOut(Resource):
    system: str
    record_id: str


class CaseOpened(Resource):
    case_no: str
    state: Literal[STATES]
    origin: Literal[ORIGINS]
    created: bool = Field(description="false: the case opened earlier for this external "
                          "reference.")
    ground_code: str
    severity: Literal[tuple(SEVERITIES)]
    opened_on: dt.date
    external_ref: ExternalRefOut
    subject: IntegrationSubject


class IntegrationCase(Resource):
    data: CaseOpened


class StatusQueryEcho(Resource):
    kind: Literal["uscc", "org_code", "reg_no", "ric"]
    code_masked: str


class _CaseBase(Resource):
    case_no: str
    state: Literal[STATES]
    ground_code: str
    ground_text: str
    severity: Literal[tuple(SEVERITIES)]
    subject: IntegrationSubject


class Listing(_CaseBase):
    decided_on: dt.date
    published_on: dt.date | None
    term_start: dt.date = Field(description="Date of the listing decision: the term runs from "
                                "the day after it.")
    term_last_day: dt.date = Field(description=_LAST_DAY)
    leaves_list_on: dt.date = Field(description=_LEAVES)
    measures: list[str] = Field(description="Codes of the profile's measures that apply (see "
                                "the entry page).")


class Pending(_CaseBase):
    opened_on: dt.date
    pre_notice_served_on: dt.date | None
    defence_due_on: dt.date | None


class RecentRemoval(_CaseBase):
    removed_on: dt.date
    term_last_day: dt.date | None = Field(description=_LAST_DAY)
    leaves_list_on: dt.date | None = Field(description=_LEAVES)
    removal_reason: Literal[tuple(r.value for r in RemovalReason)]


class RelatedListing(_CaseBase):
    role: Literal["legal_representative", "responsible"]
    term_last_day: dt.date | None = Field(description=_LAST_DAY)
    leaves_list_on: dt.date | None = Field(description=_LEAVES)


class CreditGrade(Resource):
    grade: Literal[tuple(SEVERITIES)]
    profile: str
    until: dt.date | None
    behaviours: list[str] = Field(description="Catalogue codes of the findings that count today.")


class ScoreContribution(Resource):
    source: Literal["finding", "complaint", "red_list"]
    code: str = Field(description="Behaviour code (finding), complaint outcome (verified / "
                      "found_false) or red-list criterion code.")
    count: int = Field(description="How many records of this source and code count today.")
    points: float = Field(description="The points they add today (negative: deducted), after "
                          "their decay.")


class CreditScore(Resource):
    score: float = Field(description="Base points plus the contributions, one decimal.")
    grade: str = Field(description="The grade of the score under the score → grade table.")
    base: float
    table: str = Field(description="Number of the score → grade table the bureau has in force "
                       "(e.g. ZHE-T2026-000001), or `provisional`: the profile's default table "
                       "applies because the bureau has not set one yet.")
    provisional: bool
    profile: str
    contributions: list[ScoreContribution]


class RedListed(Resource):
    public_id: str
    name: str
    code: str
    criteria: list[str]
    admitted_on: dt.date
    valid_until: dt.date | None


class IntegrationStatus(Resource):
    query: StatusQueryEcho
    warning: Literal["block", "flag", "none"] = Field(description=(
        "block: the subject is on the list now (listing decided or published, term running): "
        "refuse or restrict the business (限制业务经办或待遇支付). flag: not listed, but a listing "
        "procedure is running or the person is the legal representative / a responsible person "
        "of a listed organisation, or it has a credit grade from a finding that still counts "
        "(Zhengzhou §四): handle with care and follow up. none: none of these."))
    warning_reasons: list[Literal["listed", "pending_procedure",
                                  "related_person_of_listed_subject", "credit_grade"]]
    listed: bool
    known_subject: bool = Field(description="The bureau has a record of this subject (any case).")
    listings: list[Listing]
    pending: list[Pending]
    recently_removed: list[RecentRemoval] = Field(description=(
        "Removed within the bureau's recent period (365 days unless it sets another); annulled "
        "listings (objection upheld, decision revoked) are not reported."))
    related_listings: list[RelatedListing] = Field(description=(
        "ID numbers only: listed organisations this person represents or is responsible for."))
    credit_grade: CreditGrade | None = Field(description=(
        "The worst grade among the subject's findings that count today (一般 / 较重 / 严重); "
        "null: no finding counts."))
    credit_score: CreditScore | None = Field(description=(
        "The credit score (Zhengzhou §三) under the rules of the calling client's bureau: "
        "points from findings that count (fading over the period they count), complaint "
        "outcomes and red-list criteria, and its grade. Computed from the current records. "
        "null: the bureau's rules define no credit score, or the subject is unknown."))
    red_list: list[RedListed]
    checked_on: dt.date


class IntegrationChange(Resource):
    position: int
    case_no: str
    event: Literal[EVENTS]
    state: Literal[STATES] | None = Field(description="State after the event; null: the event "
                                          "changes no state.")
    date: dt.date = Field(description="The day the event takes effect.")
    recorded_at: dt.datetime
    ground_code: str
    severity: Literal[tuple(SEVERITIES)]
    origin: Literal[ORIGINS]
    external_ref: str | None = Field(description="`<system>:<record_id>` of a case the calling "
                                     "client opened; null for every other case.")
    subject: IntegrationSubject
    term_last_day: dt.date | None = Field(None, description=_LAST_DAY)
    leaves_list_on: dt.date | None = Field(None, description=_LEAVES)
    removal_reason: str | None = None


class IntegrationChangePage(Resource):
    data: list[IntegrationChange]
    next_cursor: str
    has_more: bool


class Webhook(Resource):
    id: int
    url: str
    event_types: list[Literal[EVENT_TYPES]]
    active: bool = Field(description="false: removed; nothing more is queued or sent to it.")
    cursor: int = Field(description="The last feed position queued for it (a replay moves it "
                        "back).")
    secret_prefix: str = Field(description="The first characters of its signing secret.")
    created_at: dt.datetime
    pending: int = Field(description="Deliveries waiting for their (next) attempt.")
    dead: int = Field(description="Deliveries given up after the last attempt.")


class WebhookCreated(Webhook):
    secret: str = Field(description="The signing secret (whsec_…), shown this once: "
                        "X-Portal-Signature is v1=hex(HMAC-SHA256(secret, timestamp + '.' + "
                        "body)).")


class WebhookOne(Resource):
    data: Webhook


class WebhookCreatedOne(Resource):
    data: WebhookCreated


class WebhookList(Resource):
    data: list[Webhook]


class WebhookAttemptOut(Resource):
    at: dt.datetime
    status_code: int | None = Field(description="The receiver's answer; null: none (timeout, "
                                    "connection refused …).")
    duration_ms: int
    error: str | None = Field(description="The error's kind, e.g. UnexpectedStatus, Redirect, "
                              "ReadTimeout, ConnectError; null: delivered.")


class WebhookDeliveryOut(Resource):
    id: int = Field(description="X-Portal-Delivery of its requests.")
    event_id: str = Field(description="The event's id (the body's `id`): the same on every "
                          "attempt and replay.")
    event_type: str
    position: int | None
    status: Literal["pending", "delivered", "dead", "withdrawn"]
    attempts: int
    next_attempt_at: dt.datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: dt.datetime
    delivered_at: dt.datetime | None
    log: list[WebhookAttemptOut] = Field(description="The latest attempts, oldest first.")


class WebhookDeliveryPage(Resource):
    data: list[WebhookDeliveryOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for older deliveries; null: "
                                    "none.")
    has_more: bool


class WebhookReplay(Resource):
    from_position: int
    cursor: int = Field(description="The endpoint's cursor now: the events after it are queued "
                        "again within seconds.")


class WebhookReplayOne(Resource):
    data: WebhookReplay


def document(spec, base_url: str, grounds: list[str]) -> dict:
    """The public API's document (``/api/v1/openapi.json``) with the integration endpoints,
    their schemas (those of ``spec``) and the bearer ``securityScheme``."""
    doc = public.document(base_url, grounds, [])
    own = contract.document(spec, base_url)
    doc["info"]["title"] += " (with the integration API)"
    doc["info"]["description"] += (
        " Integration endpoints (/integration/…) are for the bureau's business systems: each "
        "call carries `Authorization: Bearer <token>` of an API client that an administrator "
        "created (back office → API clients), and each endpoint needs one scope. Every call is "
        "audited; ID numbers never appear in answers, addresses or the audit log.")
    doc["paths"].update(own["paths"])
    doc["components"]["schemas"].update(own["components"]["schemas"])
    request_schema = doc["components"]["schemas"]["IntegrationCaseRequest"]["properties"]
    request_schema["ground"] = {**request_schema["ground"], "enum": list(grounds)}
    doc["components"]["securitySchemes"] = {"bearerToken": {
        "type": "http", "scheme": "bearer", "description": "Token of an API client (isk_…), "
        "shown once when it is created. Scopes: " + ", ".join(SCOPES) + "."}}
    doc["tags"] = [{"name": "integration", "description": "For the bureau's own systems."}]
    return doc
