"""Application factory: wiring only (no network, migrations or sleeping)."""
from __future__ import annotations

from pathlib import Path

from flask import Flask, request, session

from portal import clock
from portal import config as settings
from portal.extensions import babel, csrf, db, limiter, login_manager, migrate

ROOT = Path(__file__).resolve().parent.parent


def select_locale() -> str:
    lang = session.get("lang") if request else None
    return lang if lang in ("zh_CN", "en") else "zh_CN"


def create_app(config: dict | None = None) -> Flask:
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=str(settings.INSTANCE),
        instance_relative_config=True,
    )
    app.config.update(settings.BASE)
    app.config.update(config if config is not None else settings.from_environment())
    # One time zone: dates formatted by Babel use the bureau's zone of portal.clock.
    app.config.setdefault("PORTAL_TIMEZONE", "Asia/Shanghai")
    app.config["BABEL_DEFAULT_TIMEZONE"] = clock.check_zone(app.config["PORTAL_TIMEZONE"])
    from portal.services.storage import check_kind

    app.config["PORTAL_UPLOAD_STORAGE"] = check_kind(app.config.get("PORTAL_UPLOAD_STORAGE"))
    app.json.ensure_ascii = False   # Chinese stays readable in JSON (Flask 3 ignores JSON_AS_ASCII)
    from portal import compression, static_files

    compression.install(app)    # first after_request function registered: it runs last
    static_files.install(app)   # /static/ under content-hashed names, kept a year

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale,
                   default_translation_directories=str(Path(__file__).parent / "translations"))
    from portal import i18n

    i18n.install(app)           # the templates' gettext: the catalogue looked up once per request
    login_manager.init_app(app)
    from portal.web import SessionInterface

    app.session_interface = SessionInterface()
    from portal import ratelimit

    app.config.setdefault("RATELIMIT_STORAGE_URI", ratelimit.storage_uri(app.config))
    app.config.setdefault("RATELIMIT_ENABLED", not app.config.get("TESTING", False))
    limiter.init_app(app)

    from portal import cli, input_guard, web

    input_guard.init_app(app)   # NUL bytes and out-of-range ids: 400/404 before any view
    from portal.public.views import bp as public_bp

    app.register_blueprint(public_bp)
    from portal.api.views import bp as api_bp  # noqa: E702
    from portal.public.opendata import bp as opendata_bp
    app.register_blueprint(opendata_bp); app.register_blueprint(api_bp)  # noqa: E702
    from portal.api import integration_webhooks  # noqa: F401  (adds its routes to the blueprint)
    from portal.api.integration import bp as integration_bp
    from portal.api import integration_watchlists  # noqa: F401  its routes, on the same blueprint
    app.register_blueprint(integration_bp)
    from portal.submit.views import bp as submit_bp; app.register_blueprint(submit_bp)  # noqa: E702
    from portal.admin import bp as admin_bp; app.register_blueprint(admin_bp)  # noqa: E702
    web.init_app(app)
    cli.init_app(app)
    from portal import logmask; logmask.install(app)  # noqa: E702  no ID number in any log line
    from portal import front

    front.install(app)          # cookie-less public pages answered whole while their version stands
    if app.config.get("PORTAL_PROXY_HOPS"):
        # Behind a reverse proxy: trust its X-Forwarded-* (client address for rate limits, scheme).
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = int(app.config["PORTAL_PROXY_HOPS"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    return app
