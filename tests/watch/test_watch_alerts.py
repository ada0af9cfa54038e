"""The watch job: a watched code's listing, correction, objection and removal become alerts of
every watchlist holding it — once, with public facts only — and an e-mail to a verified owner."""
import datetime as dt

import sqlalchemy as sa

from portal import clock
from portal.models import OutgoingMail, SubjectKind, WatchAlert, WatchProgress
from portal.rules.workflow import RemovalReason
from portal.services import publication, subscribers, watch_alerts, watchlists
from tests.factories import make_subject, published_case, remove_published

SETTLE = dt.timedelta(seconds=60)


def _run(app, session):
    told = []
    while True:
        count, more = watch_alerts.run(
            session, app.config["PORTAL_LOOKUP_KEY"], SETTLE, clock.now(),
            lambda s, alerts: told.extend(alerts) or watch_alerts.notify(s, alerts, clock.now(),
                                                                        mail=True))
        session.commit()
        if not more:
            return told


def _watching(app, session, codes, name="供应商"):
    owner, _token = subscribers.register(session, "某银行", f"{name}@bank.example", "long enough pw",
                                         "zh_CN", clock.now())
    owner.email_verified_at = clock.now()
    watchlist = watchlists.create(session, app.config["SECRET_KEY"], name,
                                  subscriber_id=owner.id, now=clock.now())
    result = watchlists.add_codes(session, app.config["PORTAL_LOOKUP_KEY"], watchlist,
                                  [(i + 1, code, f"标签{i}") for i, code in enumerate(codes)],
                                  clock.today(), clock.now())
    session.commit()
    return watchlist, result


def test_a_new_portal_starts_at_the_end_of_the_change_log(app, session):
    published_case(session, app)
    session.commit()
    assert _run(app, session) == []
    assert session.get(WatchProgress, 1).position > 0


def test_listing_correction_objection_and_removal_reach_every_watchlist_once(app, session):
    _run(app, session)                                  # start at the end
    subject = make_subject(session, SubjectKind.ORGANISATION)
    other = make_subject(session, SubjectKind.ORGANISATION)
    mine, added = _watching(app, session, [subject.uscc, "91230800MA1234567X", ""], "mine")
    theirs, _ = _watching(app, session, [subject.uscc.lower()], "theirs")
    # a wrong code, and a label without a code, are refused (not kept)
    assert added.added == 1 and [n for n, _, _ in added.errors] == [2, 3]

    case = published_case(session, app, subject=subject)
    published_case(session, app, subject=other)           # nobody watches it
    session.commit()
    told = _run(app, session)
    assert sorted((a.watchlist_id, a.event) for a in told) == [(mine.id, "listed"),
                                                               (theirs.id, "listed")]
    alert = told[0]
    assert alert.payload["code"] == subject.uscc and alert.payload["name"] == subject.name
    assert alert.label in ("标签0",) and "facts" not in alert.payload
    assert _run(app, session) == []                     # nothing twice

    publication.set_objection_marker(session, case, True)
    session.commit()
    assert [a.event for a in _run(app, session)] == ["under_objection"] * 2
    publication.set_objection_marker(session, case, False)
    session.commit()
    assert [a.event for a in _run(app, session)] == ["objection_closed"] * 2

    remove_published(session, case, RemovalReason.CREDIT_REPAIRED, clock.today(),
                     app.config["PORTAL_LOOKUP_KEY"])
    session.commit()
    assert [a.event for a in _run(app, session)] == ["removed"] * 2
    assert session.scalar(sa.select(sa.func.count()).select_from(WatchAlert)) == 8
    mails = session.scalars(sa.select(OutgoingMail).where(OutgoingMail.event == "watch_alert")).all()
    assert len(mails) == 8 and {m.recipient for m in mails} == {"mine@bank.example",
                                                                "theirs@bank.example"}


def test_a_person_is_watched_by_id_number_and_never_shown_in_full(app, session):
    _run(app, session)
    person = make_subject(session, SubjectKind.PERSON)
    watchlist, added = _watching(app, session, [person.id_number])
    assert added.added == 1
    item, _entry = watchlists.items(session, watchlist)[0]
    assert person.id_number not in item.code_masked and "*" in item.code_masked
    assert person.id_number not in str(item.code_hash)
    published_case(session, app, subject=person, kind=SubjectKind.PERSON)
    session.commit()
    told = _run(app, session)
    for alert in told:
        assert person.id_number not in str(alert.payload)


def test_the_limit_of_codes_per_watchlist(app, session, monkeypatch):
    monkeypatch.setattr(watchlists, "MAX_ITEMS", 2)
    codes = [make_subject(session, SubjectKind.ORGANISATION).uscc for _ in range(3)]
    watchlist, added = _watching(app, session, codes)
    assert (added.added, added.over_limit) == (2, 1)
    again = watchlists.add_codes(session, app.config["PORTAL_LOOKUP_KEY"], watchlist,
                                 [(1, codes[0], "新标签")], clock.today(), clock.now())
    assert again.already == 1 and again.added == 0
    labels = {i.label for i, _ in watchlists.items(session, watchlist)}
    assert "新标签" in labels
