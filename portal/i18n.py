"""The templates' gettext: the request's translations resolved once, not at every ``_()``.

Flask-Babel's own template callables ask ``get_translations()`` for every message
(domain, context, locale and a catalogue look-up each time), which was a fifth
of the CPU of the entry page.  Here the catalogue is kept on ``g`` next to the
locale object it was resolved for: a new request (``refresh()``), a language
switch or ``force_locale`` give another locale object, hence a fresh look-up.
"""
from __future__ import annotations

from flask import Flask, g
from flask_babel import get_locale, get_translations

_KEY = "_portal_translations"


def translations():
    """The gettext catalogue of the current locale, resolved once per request and locale."""
    locale = get_locale()
    held = g.get(_KEY)
    if held is not None and held[0] is locale:
        return held[1]
    catalogue = get_translations()
    setattr(g, _KEY, (locale, catalogue))
    return catalogue


def install(app: Flask) -> None:
    """Replace the template callables Flask-Babel installed (same ``newstyle`` behaviour)."""
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: translations().ugettext(s),
        ngettext=lambda s, p, n: translations().ungettext(s, p, n),
        pgettext=lambda c, s: translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: translations().unpgettext(c, s, p, n),
        newstyle=True,
    )
