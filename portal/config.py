"""Settings from the environment (``PORTAL_*``) and the test settings.

Every setting has a working default for the embedded SQLite set-up that
``make run`` builds under ``instance/``; production overrides them (README).
"""
from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = Path(os.environ.get("PORTAL_INSTANCE_DIR", ROOT / "instance"))


def _persistent_secret(name: str) -> str:
    """A random key kept in ``instance/`` so restarts keep sessions and hashes valid."""
    path = INSTANCE / name
    if path.exists():
        return path.read_text().strip()
    INSTANCE.mkdir(parents=True, exist_ok=True)
    value = secrets.token_hex(32)
    path.write_text(value)
    path.chmod(0o600)
    return value


def _persistent_signing_seed(name: str) -> str:
    """A random Ed25519 seed (32 bytes, base64) kept in ``instance/`` like the other keys."""
    path = INSTANCE / name
    if path.exists():
        return path.read_text().strip()
    INSTANCE.mkdir(parents=True, exist_ok=True)
    value = base64.b64encode(secrets.token_bytes(32)).decode()
    path.write_text(value)
    path.chmod(0o600)
    return value


def _env(name: str, default=None):
    return os.environ.get(f"PORTAL_{name}", default)


#: Keys every host of one database must share: sessions, form tokens, public ids, look-up
#: hashes, the audit anchors' signatures and the query certificates' signing key. A key generated per host would differ.
SHARED_KEYS = ("SECRET_KEY", "LOOKUP_KEY", "ANCHOR_KEY", "CERT_SIGNING_KEY")


class MissingSharedKeys(RuntimeError):
    """A shared database without explicit keys: each host would make up its own."""


def check_shared_keys(database_url: str, environ=os.environ) -> None:
    """On PostgreSQL (a database several hosts may share) refuse keys made up by this host."""
    if not database_url.startswith("postgresql"):
        return
    missing = [f"PORTAL_{name}" for name in SHARED_KEYS if not environ.get(f"PORTAL_{name}")]
    if missing:
        raise MissingSharedKeys(
            f"{', '.join(missing)} not set: on PostgreSQL every host must be given the same keys "
            "(a key generated on one host would make sessions, public ids and look-up hashes "
            "differ from the others'). Generate each once, e.g. "
            "`python -c 'import secrets; print(secrets.token_hex(32))'`, and set it on every host.")


def from_environment() -> dict:
    """Read the configuration; called once by :func:`portal.create_app`."""
    database_url = _env("DATABASE_URL", f"sqlite:///{INSTANCE / 'portal.db'}")
    check_shared_keys(database_url)
    return {
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SECRET_KEY": _env("SECRET_KEY") or _persistent_secret("secret_key"),
        # HMAC key for exact look-ups of identifiers and for public ids; rotating it
        # requires `flask --app wsgi index rebuild` and a projection refresh.
        "PORTAL_LOOKUP_KEY": _env("LOOKUP_KEY") or _persistent_secret("lookup_key"),
        "PORTAL_PROFILE": _env("PROFILE", "jiamusi"),
        # The bureau's time zone: its calendar day is "today" everywhere (portal.clock).
        "PORTAL_TIMEZONE": _env("TIMEZONE", "Asia/Shanghai"),
        "PORTAL_REDIS_URL": _env("REDIS_URL"),
        "PORTAL_UPLOAD_DIR": _env("UPLOAD_DIR", str(INSTANCE / "uploads")),
        # Evidence files: "directory" (PORTAL_UPLOAD_DIR) or "database" (stored_files table).
        "PORTAL_UPLOAD_STORAGE": _env("UPLOAD_STORAGE", "directory"),
        "PORTAL_INDEX_DIR": _env("INDEX_DIR", str(INSTANCE / "index")),
        # Open-data export files, built once per publication version (outside the web root).
        "PORTAL_EXPORT_DIR": _env("EXPORT_DIR", str(INSTANCE / "exports")),
        # A public search taking longer raises search_index.SearchTimeout (0: no limit).
        "PORTAL_SEARCH_TIME_LIMIT_S": float(_env("SEARCH_TIME_LIMIT_S", "1.0")),
        # Written by the worker every round; /healthz reports its age.
        "PORTAL_HEARTBEAT_FILE": _env("HEARTBEAT_FILE", str(INSTANCE / "worker-heartbeat.json")),
        "PORTAL_HEARTBEAT_MAX_AGE": int(_env("HEARTBEAT_MAX_AGE", "120")),
        # The audit chain's head, signed, outside the database (append-only; keep it off the
        # database's disk and out of its backups' reach): portal.services.anchors.
        "PORTAL_AUDIT_ANCHORS": _env("AUDIT_ANCHORS", str(INSTANCE / "audit-anchors.jsonl")),
        "PORTAL_ANCHOR_KEY": _env("ANCHOR_KEY") or _persistent_secret("anchor_key"),
        # Ed25519 seed (base64 of 32 bytes) signing the query certificates (查询结果证明); its
        # public key is published at /certificates/public-key. Generate one with
        # `python -c 'import base64, secrets; print(base64.b64encode(secrets.token_bytes(32)).decode())'`.
        "PORTAL_CERT_SIGNING_KEY": (_env("CERT_SIGNING_KEY")
                                    or _persistent_signing_seed("cert_signing_key")),
        "PORTAL_MAX_UPLOAD_MB": int(_env("MAX_UPLOAD_MB", "10")),
        "PORTAL_MAX_FILES": int(_env("MAX_FILES", "10")),
        "PORTAL_SMTP_HOST": _env("SMTP_HOST"),
        "PORTAL_SMTP_PORT": int(_env("SMTP_PORT", "25")),
        "PORTAL_MAIL_FROM": _env("MAIL_FROM", "noreply@portal.invalid"),
        # Canonical URLs (feeds, exports, letters, e-mails): where `make run` serves, on PORT,
        # unless set (production: the public address behind the proxy).
        "PORTAL_BASE_URL": _env("BASE_URL") or f"http://127.0.0.1:{os.environ.get('PORT') or 8000}",
        "PORTAL_DEPARTMENT_CONTACT": _env("DEPARTMENT_CONTACT", "0454-12333"),
        "PORTAL_PROXY_HOPS": int(_env("PROXY_HOPS", "0")),
        # Secure session cookie: auto (when the request came over HTTPS, directly or through the
        # trusted proxy's X-Forwarded-Proto), true (always; TLS everywhere), false (local HTTP).
        "PORTAL_COOKIE_SECURE": _env("COOKIE_SECURE", "auto"),
        # Strict-Transport-Security max-age on HTTPS responses (0: no header).
        "PORTAL_HSTS_SECONDS": int(_env("HSTS_SECONDS", str(365 * 24 * 3600))),
        # Rate limits (Flask-Limiter notation); shared across workers when Redis is configured.
        "PORTAL_CHECK_RATE_LIMIT": _env("CHECK_RATE_LIMIT", "20 per minute"),
        "PORTAL_LETTER_VERIFY_RATE_LIMIT": _env("LETTER_VERIFY_RATE_LIMIT", "20 per minute"),
        "PORTAL_SCREEN_RATE_LIMIT": _env("SCREEN_RATE_LIMIT", "10 per hour"),
        "PORTAL_API_SCREEN_LIMIT": _env("API_SCREEN_LIMIT", "10/minute"),
        "PORTAL_API_SCREEN_RECORDS_LIMIT": _env("API_SCREEN_RECORDS_LIMIT", "20000/hour"),
        "PORTAL_SCREENING_RETENTION_HOURS": float(_env("SCREENING_RETENTION_HOURS", "24")),
        # Registering and signing in of organisations with watchlists, per client address.
        "PORTAL_WATCH_ACCOUNT_RATE_LIMIT": _env("WATCH_ACCOUNT_RATE_LIMIT", "10 per hour"),
        "PORTAL_WATCH_CODES_RATE_LIMIT": _env("WATCH_CODES_RATE_LIMIT", "60 per hour"),
        "PORTAL_API_CHECK_LIMIT": _env("API_CHECK_LIMIT", "30/minute"),
        "PORTAL_LOGIN_RATE_LIMIT": _env("LOGIN_RATE_LIMIT", "20 per minute"),
        "PORTAL_INTEGRATION_RATE_LIMIT": _env("INTEGRATION_RATE_LIMIT", "120/minute"),
        "PORTAL_CHANGES_SETTLE_SECONDS": int(_env("CHANGES_SETTLE_SECONDS", "60")),
        # Outbox rows superseded by a later row of the same record are pruned after this many
        # days, once every host's index has passed them (portal.services.outbox_pruning).
        "PORTAL_OUTBOX_RETENTION_DAYS": float(_env("OUTBOX_RETENTION_DAYS", "30")),
        # This host's index as the other hosts see it (default: host name + index directory).
        "PORTAL_REPLICA_NAME": _env("REPLICA_NAME"),
        # Public pages and /api/v1 (portal.deadline): one SQL statement may run this long
        # (PostgreSQL statement_timeout, SQLite progress handler), one request this long in all;
        # beyond, a 503 with Retry-After. The back office, worker and commands are not limited.
        "PORTAL_PUBLIC_STATEMENT_TIMEOUT_MS": int(_env("PUBLIC_STATEMENT_TIMEOUT_MS", "2000")),
        "PORTAL_PUBLIC_REQUEST_BUDGET_MS": int(_env("PUBLIC_REQUEST_BUDGET_MS", "5000")),
        # Processes that build the search index in a rebuild of 20,000 documents or more
        # (one segment each); 0: one per core, at most 4.
        "PORTAL_INDEX_BUILD_PROCESSES": int(_env("INDEX_BUILD_PROCESSES", "0")),
        # Public pages asked for without a cookie are answered whole from memory while their
        # publication stands (portal.front); each process re-reads the publication
        # version at most this often, so a page outlives a new publication by at most this.
        "PORTAL_PUBLICATION_RECHECK_MS": int(_env("PUBLICATION_RECHECK_MS", "1000")),
        "PORTAL_FRONT_CACHE_MB": float(_env("FRONT_CACHE_MB", "32")),
        # Pages, JSON and CSS compressed by the application (portal.compression); false when
        # the reverse proxy in front compresses them.
        "PORTAL_COMPRESS": _env("COMPRESS", "true"),
        # Report imports (monthly / quarterly dishonesty reports): size and rows of one file.
        "PORTAL_IMPORT_MAX_MB": float(_env("IMPORT_MAX_MB", "5")),
        "PORTAL_IMPORT_MAX_ROWS": int(_env("IMPORT_MAX_ROWS", "2000")),
        "PORTAL_INTEGRATION_RECENT_REMOVAL_DAYS": int(_env(
            "INTEGRATION_RECENT_REMOVAL_DAYS", str(BASE["PORTAL_INTEGRATION_RECENT_REMOVAL_DAYS"]))),
        # Webhooks (portal.services.webhook_delivery): seconds a receiver has to connect, take
        # the request and answer (each); a CA bundle for receivers with the bureau's own
        # certificates; hosts that may be registered with plain http:// (comma-separated:
        # keep it empty in production, every receiver is https://).
        "PORTAL_WEBHOOK_TIMEOUT_SECONDS": float(_env("WEBHOOK_TIMEOUT_SECONDS", "5")),
        "PORTAL_WEBHOOK_CA_BUNDLE": _env("WEBHOOK_CA_BUNDLE"),
        "PORTAL_WEBHOOK_ALLOW_HTTP_HOSTS": [
            h.strip() for h in (_env("WEBHOOK_ALLOW_HTTP_HOSTS") or "").split(",") if h.strip()],
    }


BASE = {
    # hide_parameters: a database error never prints the row it was writing (names, phone
    # numbers, filing texts, ID numbers) into the error log.  No ping at every checkout (a
    # round trip per request): connections are replaced after pool_recycle seconds, and a
    # connection found dead (a database restart) invalidates the whole pool, so at most one
    # request per process answers 503 (portal.web) and the next one reconnects.
    "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": False, "pool_recycle": 1800,
                                  "hide_parameters": True},
    "BABEL_DEFAULT_LOCALE": "zh_CN",
    "LANGUAGES": ("zh_CN", "en"),
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "WTF_CSRF_TIME_LIMIT": 3600 * 4,
    "JSON_AS_ASCII": False,
    # How far back the integration API's status answer reports a removal as "recently
    # removed". No seed or statute defines "recent": it is the bureau's operational choice
    # for its own business systems, so a setting, not a profile value (README, Configuration).
    "PORTAL_INTEGRATION_RECENT_REMOVAL_DAYS": 365,
}


TEST_CERT_SIGNING_KEY = base64.b64encode(bytes(range(1, 33))).decode()


def testing(database_url: str, tmp: Path) -> dict:
    """Settings for one test database; no key files, everything under ``tmp``."""
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SECRET_KEY": "test-secret",
        "PORTAL_LOOKUP_KEY": "test-lookup-key",
        "PORTAL_PROFILE": "jiamusi",
        "PORTAL_TIMEZONE": "Asia/Shanghai",
        "PORTAL_REDIS_URL": None,
        "PORTAL_UPLOAD_DIR": str(tmp / "uploads"),
        "PORTAL_UPLOAD_STORAGE": "directory",
        "PORTAL_INDEX_DIR": str(tmp / "index"),
        "PORTAL_EXPORT_DIR": str(tmp / "exports"),
        "PORTAL_HEARTBEAT_FILE": str(tmp / "worker-heartbeat.json"),
        "PORTAL_HEARTBEAT_MAX_AGE": 120,
        "PORTAL_AUDIT_ANCHORS": str(tmp / "audit-anchors.jsonl"),
        "PORTAL_ANCHOR_KEY": "test-anchor-key",
        # A fixed Ed25519 seed (32 bytes 0x01..0x20, base64) for the query certificates.
        "PORTAL_CERT_SIGNING_KEY": TEST_CERT_SIGNING_KEY,
        "PORTAL_MAX_UPLOAD_MB": 2,
        "PORTAL_MAX_FILES": 5,
        "PORTAL_SMTP_HOST": None,
        "PORTAL_SMTP_PORT": 25,
        "PORTAL_MAIL_FROM": "noreply@portal.invalid",
        "PORTAL_BASE_URL": "http://localhost",
        "PORTAL_DEPARTMENT_CONTACT": "0454-12333",
        "WTF_CSRF_ENABLED": False,
        "PORTAL_PUBLICATION_RECHECK_MS": 0,     # every request sees the latest publication
        # A loaded test machine is not a slow query: the time limits' own tests set theirs.
        "PORTAL_PUBLIC_STATEMENT_TIMEOUT_MS": 30_000,
        "PORTAL_PUBLIC_REQUEST_BUDGET_MS": 60_000,
        # the tests' receivers listen on the loopback address without TLS
        "PORTAL_WEBHOOK_ALLOW_HTTP_HOSTS": ["127.0.0.1"],
    }
