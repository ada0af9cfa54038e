"""Request-wide wiring: template helpers, security headers, error pages."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import Flask, current_app, g, has_request_context, render_template, request
from flask.sessions import SecureCookieSessionInterface
from flask_babel import format_date, get_locale, refresh

from portal import clock, deadline, labels
from portal.extensions import db
from portal.rules.profiles import load_profile
from portal.rules.profiles.citations import cite
from portal.search import SearchTimeout


def active_profile():
    """The profile of this portal (``PORTAL_PROFILE``), loaded once per request."""
    from flask import current_app

    if "profile" not in g:
        g.profile = load_profile(current_app.config["PORTAL_PROFILE"])
    return g.profile


def ground_label(code: str, locale: str, profile=None) -> str:
    """The text of a ground of ``profile`` (a Profile or its code: the entry's own; the
    portal's profile when not given) in the reader's language, whole: a cut text tells
    nothing (lists and filters wrap it)."""
    try:
        if isinstance(profile, str):
            profile = load_profile(profile)
        ground = (profile or active_profile()).ground(code)
    except (KeyError, ValueError):
        return code
    return ground.text.get(locale)


def legal_basis_text(entry, locale) -> str:
    """An entry's legal basis in the reader's language: the projection keeps the Chinese as
    decided; the English is the profile's translation of that same text (else the Chinese)."""
    if not str(locale).startswith("en"):
        return entry.legal_basis
    try:
        basis = load_profile(entry.profile).ground(entry.ground_code).legal_basis
    except (KeyError, ValueError):
        return entry.legal_basis
    return basis.en if basis.zh == entry.legal_basis else entry.legal_basis


def citation(source: str | None) -> str:
    """A profile ``source`` as staff read it: document and articles in the interface language,
    never the seed number, the specification or the shorthand (see ``citations.cite``)."""
    if not source:
        return ""
    return cite(active_profile(), source).get(get_locale())


def _fmt_date(value: dt.date | None, style: str = "medium") -> str:
    if value is None:
        return ""
    if str(get_locale()).startswith("zh"):
        return f"{value.year}年{value.month}月{value.day}日"
    return format_date(value, style)


def _fmt_moment(value: dt.datetime | None) -> str:
    """A moment at the bureau's local time, to the minute."""
    if value is None:
        return ""
    local = clock.local(value)
    return f"{_fmt_date(local.date())} {local:%H:%M}"


#: The "date" filter of the templates, for a message a view writes.
format_day = _fmt_date


#: Strict-Transport-Security max-age when ``PORTAL_HSTS_SECONDS`` is not set: one year.
HSTS_SECONDS = 365 * 24 * 3600


def no_store(response, *, secret_address: bool = False):
    """A personal answer: never kept by a browser or proxy (it may hold what was asked).
    ``secret_address``: its own address is the key to it (a screening file's results, a
    watchlist's page), so it is not sent on as a referrer nor indexed either."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    response.vary.add("Cookie")
    if secret_address:
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Robots-Tag"] = "noindex"
    return response


def _https() -> bool:
    """This request came over HTTPS (directly, or as the trusted proxy says: PORTAL_PROXY_HOPS)."""
    return has_request_context() and request.is_secure


class SessionInterface(SecureCookieSessionInterface):
    """The signed session cookie, ``Secure`` when served over HTTPS (``PORTAL_COOKIE_SECURE``)."""

    def get_cookie_secure(self, app: Flask) -> bool:
        mode = str(app.config.get("PORTAL_COOKIE_SECURE", "auto")).strip().lower()
        if mode in ("1", "true", "yes", "on"):
            return True
        if mode in ("0", "false", "no", "off"):
            return False
        return _https()


def load_staff(user_id: str):
    """The signed-in staff member, if the session's version is the account's current one.

    The session stores ``<id>.<session_version>`` (``StaffUser.get_id``): logout, a
    password or role change, deactivation and a lockout raise the version, and every
    older session (a copied cookie included) is anonymous from its next request.
    """
    from portal.extensions import db
    from portal.models import StaffUser

    uid, _, version = (user_id or "").partition(".")
    if not (uid.isdigit() and version.isdigit()) or len(uid) > 12 or len(version) > 12:
        return None
    user = db.session.get(StaffUser, int(uid))
    if user is None or (user.session_version or 0) != int(version):
        return None
    return user


#: The blueprints whose requests run under a time budget (portal.deadline): the public site and
#: its API. The back office, the filing forms, the integration API and the exports are not cut.
BUDGETED_BLUEPRINTS = ("public", "api")
#: Seconds a client is asked to wait after a 503.
RETRY_AFTER = "10"


def _start_budget():
    if (request.blueprint or "").split(".")[0] in BUDGETED_BLUEPRINTS:
        config = current_app.config
        deadline.start(int(config.get("PORTAL_PUBLIC_REQUEST_BUDGET_MS", 5000)),
                       int(config.get("PORTAL_PUBLIC_STATEMENT_TIMEOUT_MS", 2000)))


def init_app(app: Flask) -> None:
    from portal.extensions import login_manager

    login_manager.user_loader(load_staff)
    deadline.install()
    # First of all before_request functions: every query of the request runs under the budget.
    app.before_request_funcs.setdefault(None, []).insert(0, _start_budget)
    app.teardown_request(lambda _error: deadline.stop())

    app.jinja_env.filters["date"] = _fmt_date
    app.jinja_env.filters["moment"] = _fmt_moment
    app.jinja_env.filters["citation"] = citation
    app.jinja_env.globals.update(labels=labels, active_profile=active_profile,
                                  ground_label=ground_label, legal_basis_text=legal_basis_text)

    @app.context_processor
    def inject():
        locale = str(get_locale())
        return {"locale": locale, "is_en": locale.startswith("en")}

    @app.before_request
    def fresh_locale():
        # The locale is cached on `g`; a request that shares an app context (tests,
        # CLI-driven rendering) must not inherit the previous request's language.
        refresh()

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "frame-ancestors 'none'; form-action 'self'",
        )
        hsts = int(app.config.get("PORTAL_HSTS_SECONDS", HSTS_SECONDS) or 0)
        if hsts and _https():
            response.headers.setdefault("Strict-Transport-Security",
                                        f"max-age={hsts}; includeSubDomains")
        return response

    for code in (400, 403, 404, 405, 410, 429, 500):
        app.register_error_handler(code, _error_page)
    app.register_error_handler(sa.exc.OperationalError, _database_unavailable)
    app.register_error_handler(sa.exc.InterfaceError, _database_unavailable)
    app.register_error_handler(deadline.Exceeded, over_budget)
    app.register_error_handler(SearchTimeout, over_budget)


def _error_page(error):
    code = getattr(error, "code", 500) or 500
    return render_template("error.html", code=code), code


#: What a database that went away (restart, network, a locked SQLite file) says.
_OUTAGE_WORDS = ("server closed", "terminating connection", "could not connect", "connection refused",
                 "connection is closed", "connection timed out", "no connection", "ssl syscall",
                 "database is locked", "unable to open database", "the database system is")


def _is_outage(error) -> bool:
    if getattr(error, "connection_invalidated", False) or isinstance(error, sa.exc.InterfaceError):
        return True
    text = str(getattr(error, "orig", None) or error).lower()
    return any(word in text for word in _OUTAGE_WORDS)


def _database_unavailable(error):
    """The database went away (restart, network): a friendly 503; the pool reconnects by itself.

    Any other database error (a bug) is logged and answered like every other 500.
    """
    if deadline.is_interruption(error):
        return over_budget(error)
    if not _is_outage(error):
        current_app.log_exception((type(error), error, error.__traceback__))
        try:
            db.session.rollback()
        except sa.exc.SQLAlchemyError:
            pass
        return render_template("error.html", code=500), 500

    current_app.logger.error("database unavailable: %s", type(error).__name__)
    try:
        db.session.rollback()
    except sa.exc.SQLAlchemyError:
        pass
    db.session.remove()
    return _unavailable("unavailable", None, "30")


def over_budget(error):
    """A statement stopped by the statement limit, or a request past its time budget: 503.

    The thread is free again at once; the client is asked to come back shortly (a busy
    moment) or to ask for less (a pathological request). Logged without the query string.
    """
    current_app.logger.warning("request over its time budget: %s %s (%s)", request.method,
                               request.path[:200], type(error).__name__)
    try:
        db.session.rollback()
    except sa.exc.SQLAlchemyError:
        pass
    deadline.stop()       # the error page itself is not cut short
    from flask_babel import lazy_gettext as _l

    return _unavailable("timeout", _l("This request took too long and was stopped. Please try "
                                      "again in a moment, or narrow it (filters, a shorter search)."),
                        RETRY_AFTER)


def _unavailable(code: str, message: str | None, retry_after: str):
    """The 503 answer: JSON under the APIs, the error page elsewhere (never needing the database)."""
    if (request.blueprint or "").split(".")[0] in ("api", "integration"):
        from flask_babel import force_locale
        from flask_babel import gettext as _

        from portal.json_errors import error_response, requested_language

        with force_locale(requested_language()):
            text = str(message) if message else _("The service is temporarily unavailable; "
                                                  "please try again shortly.")
        response = error_response(503, code, text)
        response.headers["Retry-After"] = retry_after
        return response
    try:
        body = render_template("error.html", code=503, message=message)
    except Exception:                         # noqa: BLE001 - the page must not need the database
        body = "Service temporarily unavailable / 服务暂时不可用，请稍后再试。"
    response = current_app.make_response((body, 503))
    response.headers["Retry-After"] = retry_after
    response.headers["Cache-Control"] = "no-store"
    return response
