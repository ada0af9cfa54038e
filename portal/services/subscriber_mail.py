"""E-mail to registered organisations: the link that verifies their address, the link that
sets a forgotten password, and the alerts
of their watchlists (one message per watchlist and round of the watch job).

Rows go through the same queue as the filers' messages (``OutgoingMail``: sent by the
worker, tried again, visible to staff when given up); the whole message is masked once
more when it is built (:func:`portal.services.notifications.build`).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from flask import render_template
from flask_babel import force_locale
from flask_babel import gettext as _

from portal import labels
from portal.models import MailStatus, OutgoingMail, Subscriber, WatchAlert, Watchlist

EVENTS = ("subscriber_verify", "subscriber_reset", "watch_alert")
#: alerts listed in one message (the rest are counted, and in the feed)
MAX_LISTED = 50


def _row(subscriber: Subscriber, event: str, payload: dict, now: dt.datetime) -> OutgoingMail:
    return OutgoingMail(event=event, recipient=subscriber.email, jurisdiction=None,
                        payload=payload, locale=subscriber.locale or "zh_CN",
                        status=MailStatus.PENDING, attempts=0, created_at=now, next_attempt_at=now)


def queue_verification(session, subscriber: Subscriber, token: str, now: dt.datetime) -> OutgoingMail:
    """The link's token travels in the row until it is sent (then the row is cut down)."""
    row = _row(subscriber, "subscriber_verify", {"name": subscriber.name, "token": token}, now)
    session.add(row)
    return row


def queue_reset(session, subscriber: Subscriber, token: str, now: dt.datetime) -> OutgoingMail:
    """The one-time link to set a forgotten password (its token cut from the row once sent)."""
    row = _row(subscriber, "subscriber_reset", {"name": subscriber.name, "token": token}, now)
    session.add(row)
    return row


def queue_alerts(session, subscriber: Subscriber, watchlist: Watchlist,
                 alerts: list[WatchAlert], now: dt.datetime) -> OutgoingMail:
    listed = [{"event": a.event, "label": a.label, **{k: a.payload.get(k) for k in (
        "public_id", "url", "name", "code", "ground_text", "ground_text_en", "listed_on",
        "leaves_list_on", "removed_on", "corrected_on", "withdrawn_on")}}
        for a in alerts[:MAX_LISTED]]
    row = _row(subscriber, "watch_alert", {"watchlist": watchlist.name,
                                            "watchlist_id": watchlist.id,
                                            "alerts": listed, "count": len(alerts)}, now)
    session.add(row)
    return row


def render(item: dict, config: Mapping) -> tuple[str, str]:
    base = config["PORTAL_BASE_URL"].rstrip("/")
    with force_locale(item["locale"]):
        if item["event"] == "subscriber_verify":
            subject = _("Confirm your e-mail address for watchlist alerts")
            body = render_template("email/subscriber_verify.txt", item=item,
                                   link=f"{base}/watch/verify/{item.get('token', '')}")
            return str(subject), body
        if item["event"] == "subscriber_reset":
            subject = _("Reset the password of your watchlist account")
            body = render_template("email/subscriber_reset.txt", item=item,
                                   link=f"{base}/watch/reset/{item.get('token', '')}")
            return str(subject), body
        events = {key: str(text) for key, text in labels.WATCH_EVENTS.items()}
        subject = _("%(count)s change(s) on your watchlist %(name)s",
                    count=item.get("count", 0), name=item.get("watchlist", ""))
        body = render_template("email/watch_alert.txt", item=item, events=events,
                               en=item["locale"].startswith("en"),
                               page=f"{base}/watch/lists/{item.get('watchlist_id', '')}")
        return str(subject), body
