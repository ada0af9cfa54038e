"""The templates' gettext: the request's translations resolved once, not at every ``_()``.

Flask-Babel's own template callables ask ``get_translations()`` for every message
(domain, context, locale and a catalogue look-up each time), which was a fifth
of the CPU of the entry page.  Here the catalogue is kept on ``g`` next to the
locale object it was resolved for: a new request (``refresh()``), a language
switch or ``force_locale`` give another locale object, hence a fresh look-up.
Each render puts it into the template context, so that a ``_()`` in a template
is a dictionary look-up and the catalogue's own.
"""
from __future__ import annotations

from flask import Flask, g
from flask_babel import get_locale, get_translations
from jinja2 import pass_context

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


def _catalogue(context):
    """The catalogue the render put into the template context; a macro imported without
    context (``{% import "_term.html" as t %}``) falls back to the request's."""
    return context.get(_KEY) or translations()


@pass_context
def _gettext(context, string):
    return _catalogue(context).ugettext(string)


@pass_context
def _ngettext(context, singular, plural, n):
    return _catalogue(context).ungettext(singular, plural, n)


@pass_context
def _pgettext(context, message_context, string):
    return _catalogue(context).upgettext(message_context, string)


@pass_context
def _npgettext(context, message_context, singular, plural, n):
    return _catalogue(context).unpgettext(message_context, singular, plural, n)


def install(app: Flask) -> None:
    """Replace the template callables Flask-Babel installed (same ``newstyle`` behaviour);
    each render looks the catalogue up once and puts it into the template context."""
    app.jinja_env.install_gettext_callables(gettext=_gettext, ngettext=_ngettext,
                                            pgettext=_pgettext, npgettext=_npgettext,
                                            newstyle=True)
    app.jinja_env.globals["_"] = app.jinja_env.globals["gettext"]   # no alias hop per call
    app.context_processor(lambda: {_KEY: translations()})
