"""Compressed responses (Brotli or gzip, as the browser asks) where no proxy compresses.

gunicorn does not compress, and a portal run as ``make run`` or behind a proxy that only
terminates TLS sends pages as they are; the application compresses them with
Flask-Compress. ``PORTAL_COMPRESS=false`` leaves it to a proxy that does (README).

What is compressed: whole text responses (pages, JSON, CSS, SVG) of 500 bytes or more that
carry nothing secret of this visitor. Left as they are:

* streamed responses and files sent from disk (open-data exports, evidence, the sitemap):
  ``COMPRESS_STREAMS`` off, so a download's Range requests and its ETag stay the file's;
* anything with a CSRF token of this request, and every ``no-store`` or ``private`` page
  (the back office, filings, look-ups): a secret next to text a visitor typed, compressed,
  leaks through the length (BREACH).

Pages keep their weak ETag (``W/"pub-…"``): the same validator for every encoding, so a
``304`` is answered as before (``portal.caching``); the per-process page cache keeps the
uncompressed bytes, and the front cache (:mod:`portal.front`) keeps each encoding apart.
Every response says ``Vary: Accept-Encoding``.
"""
from __future__ import annotations

from flask import Flask, current_app, g
from flask_compress import Compress

ALGORITHMS = ["br", "gzip"]


def _secret(response) -> bool:
    if current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token") in g:
        return True
    cache_control = (response.headers.get("Cache-Control") or "").lower()
    return "no-store" in cache_control or "private" in cache_control


def install(app: Flask) -> None:
    """Compress after every other ``after_request`` function (call before they are added)."""
    if str(app.config.get("PORTAL_COMPRESS", True)).strip().lower() in ("0", "false", "no", "off"):
        return
    app.config.setdefault("COMPRESS_ALGORITHM", ALGORITHMS)
    app.config.setdefault("COMPRESS_STREAMS", False)
    app.config.setdefault("COMPRESS_REGISTER", False)
    app.config.setdefault("COMPRESS_LEVEL", 6)
    app.config.setdefault("COMPRESS_BR_LEVEL", 5)
    compress = Compress()
    compress.init_app(app)
    app.extensions["portal.compress"] = compress

    # Flask runs the application's after_request functions last registered first: this one,
    # registered first, sees the response with every header set.
    @app.after_request
    def compressed(response):
        if response.direct_passthrough or response.is_streamed or _secret(response):
            response.vary.add("Accept-Encoding")
            return response
        return compress.after_request(response)
