"""The Atom feed (RFC 4287) of one watchlist's alerts, built with ElementTree (escaping is the
library's job). Entries hold the public facts of the alert and the owner's own label."""
from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from urllib.parse import urlsplit

from flask_babel import get_locale
from flask_babel import gettext as _

from portal import labels
from portal.models import WatchAlert, Watchlist
from portal.services.serializers import iso

ATOM = "http://www.w3.org/2005/Atom"
TAG_DATE = "2026"
#: characters XML 1.0 cannot carry (a label typed with a control character would break the feed)
NOT_XML = re.compile("[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _clean(text: str) -> str:
    return NOT_XML.sub("", str(text))


def _sub(parent, name: str, text: str | None = None, **attrs) -> ET.Element:
    element = ET.SubElement(parent, name, {k: _clean(v) for k, v in attrs.items()
                                           if v is not None})
    if text is not None:
        element.text = _clean(text)
    return element


def atom(watchlist: Watchlist, alerts: list[WatchAlert], self_url: str,
         now: dt.datetime) -> bytes:
    english = str(get_locale()).startswith("en")
    host = urlsplit(self_url).hostname or "portal"
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    _sub(feed, f"{{{ATOM}}}id", f"tag:{host},{TAG_DATE}:watchlist:{watchlist.id}")
    _sub(feed, f"{{{ATOM}}}title", _("Watchlist %(name)s", name=watchlist.name))
    _sub(feed, f"{{{ATOM}}}updated", iso(alerts[0].created_at if alerts else now))
    _sub(feed, f"{{{ATOM}}}link", rel="self", href=self_url)
    author = _sub(feed, f"{{{ATOM}}}author")
    _sub(author, f"{{{ATOM}}}name", _("Social-insurance credit list portal"))
    for alert in alerts:
        facts = alert.payload or {}
        entry = _sub(feed, f"{{{ATOM}}}entry")
        _sub(entry, f"{{{ATOM}}}id", f"tag:{host},{TAG_DATE}:watch-alert:{alert.id}")
        event = str(labels.WATCH_EVENTS.get(alert.event, alert.event))
        subject = facts.get("name") or alert.public_id
        _sub(entry, f"{{{ATOM}}}title", f"{event}: {subject}")
        _sub(entry, f"{{{ATOM}}}updated", iso(alert.created_at))
        _sub(entry, f"{{{ATOM}}}category", term=alert.event, label=event)
        if facts.get("url"):
            _sub(entry, f"{{{ATOM}}}link", rel="alternate", href=facts["url"])
        lines = []
        if facts.get("code"):
            lines.append(_("Code: %(code)s", code=facts["code"]))
        if alert.label:
            lines.append(_("Your label: %(label)s", label=alert.label))
        ground = facts.get("ground_text_en") if english else facts.get("ground_text")
        if ground:
            lines.append(ground)
        for key, text in (("listed_on", _("Listed on")), ("leaves_list_on", _("Leaves the list on")),
                          ("corrected_on", _("Corrected on")), ("removed_on", _("Removed on")),
                          ("withdrawn_on", _("Withdrawn from publication on"))):
            if facts.get(key):
                lines.append(f"{text}: {facts[key]}")
        _sub(entry, f"{{{ATOM}}}summary", "\n".join(lines))
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)
