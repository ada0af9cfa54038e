"""What the integration API's watchlist endpoints take and answer (``/watchlists…``).

A watched code is sent in full in a body (never in an address) and answered masked only: a
resident ID number as ``2308**********1234``, an organisation's code as it is published.
Names and labels are the client's own words; like a case's facts, they must not contain a
resident ID number (422 ``contains_id_number``), and one kept before is answered masked.
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, ClassVar, Literal

from pydantic import AfterValidator, BeforeValidator, Field

from portal.api.contract import Body, Query, Resource, integer, problem
from portal.api.integration_requests import _no_id, _no_nul, text
from portal.services import watch_alerts, watchlists

MAX_CODES = watchlists.MAX_ITEMS
#: 10,000 lines with labels of 200 characters of Chinese written as UTF-8 fit (~6.4 MB)
MAX_WATCH_BODY = 8 * 1024 * 1024


def _whole_number(low: int, high: int):
    """A whole number of ASCII digits (anything else is out of range, as the integration API
    reads its numbers)."""
    def parse(value):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if not re.fullmatch(r"[0-9]{1,10}", str(value)):
            raise problem("out_of_range", minimum=low, maximum=high)
        return int(str(value))
    return BeforeValidator(parse)


# --------------------------------------------------------------------------
# Requests
# --------------------------------------------------------------------------

class NewWatchlistRequest(Body):
    name: text(100, "The client's name for the watchlist. Must not contain a resident ID "
               "number (refused: `contains_id_number`).", _no_id)


_CODE = Annotated[str, Field(max_length=64, description=(
    "USCC, old organisation code, old business registration number or resident ID number, "
    "in full (check character verified when it is added; answered masked).")),
    AfterValidator(_no_nul)]


class WatchCode(Body):
    code: _CODE
    label: text(200, "The client's name for this line (e.g. the counterparty's name); must not "
                "contain a resident ID number (refused: `contains_id_number`). Given again for "
                "a code already watched, it replaces the line's label.", _no_id) = None


class AddCodesRequest(Body):
    max_body: ClassVar[int] = MAX_WATCH_BODY
    codes: Annotated[list[WatchCode], Field(min_length=1, max_length=MAX_CODES, description=(
        f"1 to {MAX_CODES:,} lines. Each is added, already watched, over the watchlist's limit "
        f"of {MAX_CODES:,} codes, or in `errors` (its code is not valid)."))]


class RemoveCodesRequest(Body):
    max_body: ClassVar[int] = MAX_WATCH_BODY
    codes: Annotated[list[_CODE], Field(min_length=1, max_length=MAX_CODES, description=(
        "The codes to stop watching, in full; codes not watched (or not valid) are passed "
        "over."))]


class CodesQuery(Query):
    offset: integer(0, MAX_CODES - 1, "Lines to skip (in the order they were added).",
                    strict=True) = 0
    limit: integer(1, 1000, "Lines to answer.", strict=True) = 100


class AlertsQuery(Query):
    after: Annotated[int, Field(ge=0, le=2**31 - 1, description=(
        "Answer the alerts after this one: 0 (or none) from the first, then the `next_after` "
        "of the previous answer.")), _whole_number(0, 2**31 - 1)] = 0
    limit: integer(1, 1000, "Alerts to answer.", strict=True) = 100


# --------------------------------------------------------------------------
# Answers
# --------------------------------------------------------------------------

class WatchlistOut(Resource):
    id: int
    name: str
    codes: int = Field(description="Codes watched.")
    listed_today: int = Field(description="Watched codes on the public list today.")
    feed_url: str | None = Field(description=(
        "The watchlist's private Atom feed (its address is its key: keep it secret); null if "
        "the portal's secret key changed since the watchlist was made."))
    created_at: dt.datetime


class WatchlistAnswer(Resource):
    data: WatchlistOut


class WatchlistList(Resource):
    data: list[WatchlistOut]
    max_watchlists: int = Field(description="How many watchlists a client may keep.")
    max_codes: int = Field(description="How many codes a watchlist may hold.")


class CodeProblem(Resource):
    index: int = Field(description="Position of the line in `codes` (from 0).")
    code_masked: str = Field(description="The code as sent, masked like a resident ID number.")
    error: Literal["required", "invalid_length", "invalid_format", "invalid_check_digit",
                   "invalid_birth_date", "invalid_region", "invalid_identifier"]
    message: str = Field(description="Translated explanation.")


class CodesAdded(Resource):
    added: int
    already: int = Field(description="Lines whose code was watched already (also a code given "
                         "twice).")
    over_limit: int = Field(description="Valid lines not added: the watchlist is full.")
    errors: list[CodeProblem]


class CodesRemoved(Resource):
    removed: int
    not_watched: int = Field(description="Codes given that were not on the watchlist (or not "
                             "valid).")


class WatchedCode(Resource):
    code_masked: str
    label: str | None
    listed_public_id: str | None = Field(description="Public id of the entry listing this code "
                                         "today; null: not on the list.")
    added_at: dt.datetime


class WatchedCodePage(Resource):
    data: list[WatchedCode]
    total: int
    offset: int
    limit: int


class AlertFacts(Resource):
    """The public facts of the entry when the alert was written (those it has)."""

    public_id: str | None = None
    url: str | None = None
    name: str | None = None
    subject_kind: str | None = None
    code: str | None = Field(None, description="As published (a person's ID number masked).")
    ground_code: str | None = None
    ground_text: str | None = None
    ground_text_en: str | None = None
    severity: str | None = None
    listed_on: str | None = None
    term_last_day: str | None = None
    leaves_list_on: str | None = None
    jurisdiction: str | None = None
    under_objection: bool | None = None
    corrected_on: str | None = None
    status: str | None = Field(None, description="listed, removed, or withdrawn (no longer "
                               "published).")
    removed_on: str | None = None
    removal_reason: str | None = None
    removal_reason_text: str | None = None
    removal_reason_text_en: str | None = None
    withdrawn_on: str | None = None


class WatchAlertOut(Resource):
    id: int
    event: Literal[watch_alerts.EVENTS]
    public_id: str
    label: str | None = Field(description="The label of the watched line when it was told.")
    facts: AlertFacts
    created_at: dt.datetime


class WatchAlertPage(Resource):
    data: list[WatchAlertOut]
    next_after: int = Field(description="Pass as `after` to read on (the id of the last alert "
                            "answered, else the `after` asked).")
    has_more: bool = Field(description="false: no more alerts now; ask again later.")
