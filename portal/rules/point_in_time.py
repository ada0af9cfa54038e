""""Was this subject listed on day D?" answered from the publication history.

Pure: the published listings of one code (:class:`Listing`), the day asked, the bureau's
today and the day the portal's records begin in; an :class:`Answer` out.

How a day is read (README "Publication lifecycle", "Point-in-time check"):

* A listing counts from the day its publication names as the listing day (列入日期: the
  day of the listing decision, ``published_entries.listed_on``; the term runs from it,
  ``terms.entry_dates``) up to the day before its removal: the subject leaves the list on the
  removal day (a term that ends leaves it on ``leaves_list_on``, which is the removal day
  the daily job records). The day the decision was *published* is given beside it: a day
  between the decision and its publication was a listed day, which the public list showed
  only from the publication day.
* A listing whose removal says it should never have stood — an upheld objection that
  defeated it ("列入信息已撤销") or a decision revoked by reconsideration or a court — is
  not a listing on any day: the answer says it was withdrawn, and on which day, and gives
  neither its ground nor any other content (Shanghai art. 9: the contested text is
  published nowhere again).
* After a credit repair the listing's content is no longer published (NDRC Order 36):
  the answer still says truthfully whether the day fell within the listing and when it
  ended, without the ground.
* A day after the bureau's today is not answered; a day before the records begin is
  answered as such ("no record before …"), never as "not listed".
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date

#: Removals that defeat the listing itself (it is treated as never validly listed).
VOIDING_REASONS = frozenset({"objection_upheld", "revoked"})
#: Removals after which the answer gives the dates only, not the ground.
CONTENT_WITHHELD_REASONS = VOIDING_REASONS | {"credit_repaired"}


class Verdict(str, enum.Enum):
    LISTED = "listed"                  # a listing was in force on the day
    REMOVED = "removed"                # not listed: the last listing ended on or before the day
    WITHDRAWN = "withdrawn"            # not listed: a listing published then withdrawn as void
    NOT_LISTED = "not_listed"          # not listed: the code's listings all began later
    NEVER = "never"                    # no listing of this code in the records at all
    BEFORE_RECORDS = "before_records"  # the day precedes the portal's records
    FUTURE = "future"                  # the day is after the bureau's today


@dataclass(frozen=True)
class Listing:
    """One published listing interval of a code (a row of ``publication_history``)."""

    public_id: str
    jurisdiction: str
    profile: str
    subject_kind: str
    ground_code: str
    listed_from: date                   # the listing day the publication names (decision day)
    published_on: date                  # the day the entry was first published
    listed_until: date | None = None    # the removal day (first day off the list), or None
    removal_reason: str | None = None
    corrected_on: tuple[date, ...] = ()
    #: False for a natural person a profile does not publish (found by exact look-up only)
    visible: bool = True
    #: the entry is still on the public pages (the answer may link to it)
    entry_public: bool = False

    @property
    def void(self) -> bool:
        return self.removal_reason in VOIDING_REASONS

    @property
    def shows_ground(self) -> bool:
        return self.removal_reason not in CONTENT_WITHHELD_REASONS

    def in_force_on(self, day: date) -> bool:
        return (not self.void and self.listed_from <= day
                and (self.listed_until is None or day < self.listed_until))

    def published_over(self, day: date) -> bool:
        """The public list showed this listing on ``day`` (published, not yet taken off)."""
        return self.published_on <= day and (self.listed_until is None or day < self.listed_until)

    def corrections_by(self, day: date) -> tuple[date, ...]:
        return tuple(sorted(c for c in self.corrected_on if c <= day))


@dataclass(frozen=True)
class Answer:
    """The answer for ``day``. ``listings``: LISTED — the listings in force that day (latest
    first); REMOVED / WITHDRAWN — the one listing the verdict is about; otherwise empty."""

    day: date
    verdict: Verdict
    listings: tuple[Listing, ...] = field(default=())
    records_begin: date | None = None

    @property
    def listed(self) -> bool:
        return self.verdict is Verdict.LISTED

    @property
    def listing(self) -> Listing | None:
        return self.listings[0] if self.listings else None


def answer(listings, day: date, today: date, records_begin: date | None) -> Answer:
    """The answer for ``day`` from the published ``listings`` of one code.

    ``records_begin``: the first listing day in the portal's records (in the scope asked),
    None when there are none."""
    if day > today:
        return Answer(day, Verdict.FUTURE, records_begin=records_begin)
    if records_begin is not None and day < records_begin:
        return Answer(day, Verdict.BEFORE_RECORDS, records_begin=records_begin)
    listings = list(listings)
    in_force = sorted((x for x in listings if x.in_force_on(day)),
                      key=lambda x: (x.listed_from, x.public_id), reverse=True)
    if in_force:
        return Answer(day, Verdict.LISTED, tuple(in_force), records_begin)
    begun = [x for x in listings if x.listed_from <= day]
    if begun:
        # Every valid listing begun by then has ended (or it would be in force): the one that
        # ended last is the news; a void one still open on the day ends after it.
        last = max(begun, key=lambda x: (x.listed_until or date.max, x.listed_from, x.public_id))
        verdict = Verdict.WITHDRAWN if last.void else Verdict.REMOVED
        return Answer(day, verdict, (last,), records_begin)
    if listings:
        return Answer(day, Verdict.NOT_LISTED, records_begin=records_begin)
    return Answer(day, Verdict.NEVER, records_begin=records_begin)
