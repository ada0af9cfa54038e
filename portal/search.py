"""The process-wide search index handle (searchers are reused, never reopened per request)."""
from __future__ import annotations

from flask import Flask, current_app

from search_index import SearchIndex


def get_index(app: Flask | None = None) -> SearchIndex:
    app = app or current_app._get_current_object()
    index = app.extensions.get("portal_search")
    if index is None:
        index = SearchIndex(app.config["PORTAL_INDEX_DIR"])
        app.extensions["portal_search"] = index
    return index
