"""gunicorn settings for ``make run`` and production (override with GUNICORN_CMD_ARGS).

Rate limits are shared by the worker processes only through Redis
(``PORTAL_REDIS_URL``): without it gunicorn runs one worker process, and a
start with more (WEB_CONCURRENCY, ``-w``) is refused (``portal.ratelimit``).
"""
import os

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
_REDIS = os.environ.get("PORTAL_REDIS_URL") or None
workers = int(os.environ.get("WEB_CONCURRENCY") or (2 if _REDIS else 1))
preload_app = True          # jieba's dictionary and the app load once, before forking
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = 30
graceful_timeout = 10
accesslog = "-"
# The query string is left out of the access log: /check?code= may carry an ID number.
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(L)ss'
# ...and the secret of a feed, confirmation link or screening address is cut out of the path.
logger_class = "portal.access_log.AccessLogger"


def on_starting(server):
    """Before any worker starts: several processes need the shared (Redis) limit storage."""
    from portal.ratelimit import SharedStorageMissing, check_workers

    try:
        check_workers(server.cfg.workers, _REDIS)
    except SharedStorageMissing as refused:
        server.log.error("%s", refused)
        raise SystemExit(f"refusing to start: {refused}") from None
