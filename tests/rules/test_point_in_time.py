"""The point-in-time rule: "was this code listed on day D?" from its published listings."""
import datetime as dt

from portal.rules.point_in_time import Listing, Verdict, answer

D = dt.date
TODAY = D(2026, 12, 6)


DECIDED = D(2026, 3, 16)


def listing(start=DECIDED, until=None, reason=None, pid="E1", published=None, **kw):
    return Listing(public_id=pid, jurisdiction="jiamusi", profile="jiamusi",
                   subject_kind="organisation", ground_code="J1", listed_from=start,
                   published_on=published or start + dt.timedelta(days=2), listed_until=until,
                   removal_reason=reason, **kw)


def test_a_listing_counts_from_its_listing_day_to_the_day_before_its_removal():
    rectified = listing(until=D(2026, 5, 20), reason="rectified")
    ask = lambda day: answer([rectified], day, TODAY, D(2026, 3, 16))
    assert ask(D(2026, 3, 16)).verdict is Verdict.LISTED          # the decision day itself
    assert ask(D(2026, 3, 17)).listing.published_on == D(2026, 3, 18)   # before publication too
    assert ask(D(2026, 5, 19)).verdict is Verdict.LISTED
    removed = ask(D(2026, 5, 20))
    assert removed.verdict is Verdict.REMOVED and removed.listing is rectified
    assert ask(TODAY).verdict is Verdict.REMOVED
    assert answer([rectified], D(2026, 3, 20), TODAY, D(2025, 1, 1)).listed


def test_before_the_listing_not_listed_and_without_any_never():
    assert answer([listing()], D(2026, 3, 15), TODAY, D(2025, 1, 1)).verdict is Verdict.NOT_LISTED
    assert answer([], D(2026, 3, 15), TODAY, D(2025, 1, 1)).verdict is Verdict.NEVER
    assert answer([], D(2026, 3, 15), TODAY, None).verdict is Verdict.NEVER


def test_days_before_the_records_and_after_today_are_not_answered_as_not_listed():
    before = answer([listing()], D(2024, 12, 31), TODAY, D(2025, 1, 1))
    assert before.verdict is Verdict.BEFORE_RECORDS and before.records_begin == D(2025, 1, 1)
    assert before.listings == ()
    future = answer([listing()], TODAY + dt.timedelta(days=1), TODAY, D(2025, 1, 1))
    assert future.verdict is Verdict.FUTURE and future.listings == ()
    assert answer([listing()], TODAY, TODAY, D(2025, 1, 1)).verdict is Verdict.LISTED


def test_a_listing_defeated_by_an_objection_or_revoked_never_counts():
    for reason in ("objection_upheld", "revoked"):
        void = listing(until=D(2026, 6, 4), reason=reason)
        shown = answer([void], D(2026, 5, 1), TODAY, D(2025, 1, 1))
        assert shown.verdict is Verdict.WITHDRAWN and not shown.listed
        assert shown.listing.published_over(D(2026, 5, 1)) and not shown.listing.shows_ground
        later = answer([void], D(2026, 7, 1), TODAY, D(2025, 1, 1))
        assert later.verdict is Verdict.WITHDRAWN and not later.listing.published_over(D(2026, 7, 1))
        assert answer([void], D(2026, 3, 1), TODAY, D(2025, 1, 1)).verdict is Verdict.NOT_LISTED


def test_a_credit_repair_keeps_the_dates_and_withholds_the_ground():
    repaired = listing(until=D(2026, 9, 1), reason="credit_repaired")
    during = answer([repaired], D(2026, 8, 1), TODAY, D(2025, 1, 1))
    assert during.listed and not during.listing.shows_ground
    assert answer([repaired], D(2026, 9, 1), TODAY, None).verdict is Verdict.REMOVED
    assert listing(until=D(2026, 9, 1), reason="term_expired").shows_ground


def test_overlapping_and_successive_listings():
    first = listing(D(2022, 1, 10), D(2023, 1, 11), "term_expired", pid="E1")
    void = listing(D(2023, 3, 1), D(2023, 4, 1), "revoked", pid="E2")
    second = listing(D(2024, 2, 1), None, pid="E3")
    other_ground = listing(D(2024, 6, 1), D(2024, 9, 1), "rectified", pid="E4")
    every = [first, void, second, other_ground]
    both = answer(every, D(2024, 7, 1), TODAY, D(2022, 1, 10))
    assert both.verdict is Verdict.LISTED and [x.public_id for x in both.listings] == ["E4", "E3"]
    assert answer(every, D(2023, 2, 1), TODAY, None).listing is first          # removed
    assert answer(every, D(2023, 3, 15), TODAY, None).verdict is Verdict.WITHDRAWN
    gap = answer(every, D(2023, 12, 1), TODAY, None)
    assert gap.verdict is Verdict.WITHDRAWN and gap.listing is void           # the latest end
    assert answer(every, D(2024, 10, 1), TODAY, None).listings == (second,)


def test_corrections_known_by_a_day():
    corrected = listing(corrected_on=(D(2026, 6, 4), D(2026, 4, 2)))
    assert corrected.corrections_by(D(2026, 5, 1)) == (D(2026, 4, 2),)
    assert corrected.corrections_by(TODAY) == (D(2026, 4, 2), D(2026, 6, 4))
