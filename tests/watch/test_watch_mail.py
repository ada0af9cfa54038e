"""A watchlist's alerts and an account's confirmation link reach a real local SMTP server
through the mail queue, in the owner's language, without a full ID number."""
import sqlalchemy as sa

from portal import clock
from portal.models import OutgoingMail, SubjectKind
from portal.services import mail_queue, subscriber_mail, subscribers, watch_alerts, watchlists
from tests.factories import make_subject, published_case
from tests.services.test_notifications import smtp_server  # noqa: F401 - the fixture



def _send(app, session):
    result = mail_queue.deliver_due(session, app.config, clock.now())
    session.commit()
    return result


def test_the_confirmation_link_and_the_alerts_are_mailed(app, session, smtp_server):  # noqa: F811
    import datetime as dt

    owner, token = subscribers.register(session, "某银行", "hr@bank.example", "long enough pw",
                                        "en", clock.now())
    subscriber_mail.queue_verification(session, owner, token, clock.now())
    session.commit()
    assert _send(app, session).sent == 1
    (_to, message), = smtp_server.wait(1)
    assert f"/watch/verify/{token}" in message.get_content()
    row = session.scalar(sa.select(OutgoingMail))
    assert "token" not in row.payload            # cut down once sent

    owner.email_verified_at = clock.now()
    watchlist = watchlists.create(session, app.config["SECRET_KEY"], "Suppliers",
                                  subscriber_id=owner.id, now=clock.now())
    person = make_subject(session, SubjectKind.PERSON)
    org = make_subject(session, SubjectKind.ORGANISATION)
    watchlists.add_codes(session, app.config["PORTAL_LOOKUP_KEY"], watchlist,
                         [(1, org.uscc, f"supplier A {person.id_number}"), (2, person.id_number, None)],
                         clock.today(), clock.now())
    session.commit()
    watch_alerts.run(session, app.config["PORTAL_LOOKUP_KEY"], dt.timedelta(seconds=60), clock.now())
    session.commit()
    published_case(session, app, subject=org)
    session.commit()
    watch_alerts.run(session, app.config["PORTAL_LOOKUP_KEY"], dt.timedelta(seconds=60), clock.now(),
                     lambda s, alerts: watch_alerts.notify(s, alerts, clock.now(), mail=True))
    session.commit()
    assert _send(app, session).sent == 1
    (to, message) = smtp_server.wait(2)[1]
    body = message.get_content()
    assert to == ["hr@bank.example"] and "Suppliers" in message["Subject"]
    assert "Listed" in body and org.name in body and org.uscc in body
    assert "/watch/lists/" in body and "supplier A" in body
    assert person.id_number not in body and person.id_number not in message["Subject"]
    labels = [item.label for item, _entry in watchlists.items(session, watchlist)]
    assert all(person.id_number not in (label or "") for label in labels)
