"""The contract of the public API's look-ups beyond ``/check``: the answer for a past day
(``/check/on-day``) and batch screening (``POST /screen``)."""
from __future__ import annotations

import datetime as dt
from typing import Annotated, ClassVar, Literal

from flask_babel import lazy_gettext as _l
from pydantic import BeforeValidator, Field, WithJsonSchema, model_validator

from portal.api.contract import Body, Resource, merged, problem, text
from portal.api.resources import REASONS, CheckQuery, CheckQueryEcho, Kind, Url
from portal.rules.point_in_time import Verdict
from portal.services import screening


def _day(value) -> dt.date:
    text = str(value).strip()
    try:
        if len(text) == 10:
            return dt.date.fromisoformat(text)
    except ValueError:
        pass
    raise problem("invalid_date", _l("%(name)s must be a date written as YYYY-MM-DD.",
                                     name="date"))


class OnDayQuery(CheckQuery):
    missing: ClassVar[dict] = {**CheckQuery.missing,
                               "date": _l("Give the day to check in the parameter date.")}
    date: Annotated[dt.date, BeforeValidator(_day), WithJsonSchema({
        "type": "string", "format": "date", "description": (
            "The day asked about (YYYY-MM-DD), today or earlier in the bureau's time zone "
            "(a later day: 400 date_in_future).")})]


class HistoryListing(Resource):
    jurisdiction: str
    listed_from: dt.date = Field(description="The listing day its publication gives (the day "
                                 "of the decision): the listing counts from it.")
    published_on: dt.date = Field(description="The day the listing was first published.")
    listed_until: dt.date | None = Field(description="The removal day (the first day off the "
                                         "list), or null while listed.")
    removal_reason: Literal[tuple(REASONS)] | None
    removal_reason_text: str | None
    removal_reason_text_en: str | None
    ground_code: str | None = Field(description="null after a credit repair or a withdrawal "
                                    "(the ground is no longer published).")
    ground_text: str | None
    ground_text_en: str | None
    corrected_on: list[dt.date] = Field(description="Days the published facts or reasons were "
                                        "corrected after an objection (the listing stood).")
    shown_on_the_day: bool = Field(description="The public list showed this listing on the day "
                                   "asked (published and not yet taken off).")
    entry_url: Url = Field(description="The entry's page while it is still published.")


class OnDay(Resource):
    query: CheckQueryEcho
    date: dt.date
    listed: bool = Field(description="On the list on that day.")
    verdict: Literal[tuple(v.value for v in Verdict if v is not Verdict.FUTURE)] = Field(
        description="listed; removed (a listing had ended by then); withdrawn (the listing "
        "was withdrawn as void: treated as never in force); not_listed (listings began "
        "later); never (no listing on record); before_records (the day precedes the "
        "portal's records: no answer either way).")
    records_begin: dt.date | None = Field(description="The first listing day on record.")
    listings: list[HistoryListing] = Field(description="listed: the listings in force that "
                                           "day; removed / withdrawn: the one it is about.")


class ScreenRecord(Body):
    name: text(200, "Name of an organisation or person (compared by characters, words and "
                    "pinyin, legal forms removed).") = None
    code: text(64, "USCC, old organisation code, registration number or resident ID number "
                   "(matched exactly, through its keyed hash).") = None

    @model_validator(mode="after")
    def _something_to_screen(self):
        """A record screens a name, a code or both: one with neither is refused."""
        if self.name is None and self.code is None:
            raise merged(ScreenRecord, [{"loc": ("name",), "type": "required", "ctx": {
                "message": _l("Give a name, a code or both.")}}])
        return self


class ScreenRequest(Body):
    #: 1,000 records with names: far more than the usual 64 KiB
    max_body: ClassVar[int] = 512 * 1024
    records: Annotated[list[ScreenRecord], Field(
        min_length=1, max_length=screening.MAX_RECORDS_PER_CALL, description=(
            f"Up to {screening.MAX_RECORDS_PER_CALL} records, each with a name, a code or "
            "both; results come back in the same order."))]
    threshold: Annotated[float, Field(
        strict=True, ge=screening.MIN_THRESHOLD, le=1.0, description=(
        "The score a name match needs (default "
        f"{screening.DEFAULT_THRESHOLD}; lower finds more, with more false alarms)."))] = \
        screening.DEFAULT_THRESHOLD


class Reason(Resource):
    code: str = Field(description="exact_code, same_name, legal_form_stripped, traditional, "
                      "full_width, punctuation, pinyin, place_omitted, word_order, typo, "
                      "homophone, other_trade_name, former_name.")
    label: str


class ScreenMatch(Resource):
    public_id: str
    jurisdiction: str
    subject_kind: Kind
    name: str = Field(description="As the public list shows it (a person not published: "
                      "masked).")
    code_masked: str
    listed_on: dt.date
    ground_code: str
    ground_text: str
    ground_text_en: str
    term_last_day: dt.date
    leaves_list_on: dt.date
    entry_url: Url = Field(description="null for a person a profile does not publish.")
    how: Literal["code", "name"]
    score: float = Field(description="1 for a code; 0–1 for a name.")
    reasons: list[Reason]


class ScreenError(Resource):
    code: str = Field(description="<kind>:<reason>, e.g. uscc:checksum, ric:birth_date, "
                      "any:length.")
    message: str


class ScreenItem(Resource):
    index: int = Field(description="Position of the record in the request, from 0.")
    code_masked: str | None = Field(description="The record's code, masked (never in full).")
    error: ScreenError | None = Field(description="The code is not valid (the name, if any, "
                                      "was still screened).")
    matches: list[ScreenMatch]


class ScreenAnswer(Resource):
    threshold: float
    publication_version: int
    screened_at: dt.datetime
    results: list[ScreenItem]
