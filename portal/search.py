"""The process-wide search index handle (searchers are reused, never reopened per request)."""
from __future__ import annotations

from flask import Flask, current_app

from search_index import SearchIndex, SearchTimeout

__all__ = ["DEFAULT_TIME_LIMIT_S", "SearchTimeout", "get_index"]

# A search that takes longer raises search_index.SearchTimeout (PORTAL_SEARCH_TIME_LIMIT_S;
# 0 or less: no limit) instead of holding a worker thread.
DEFAULT_TIME_LIMIT_S = 1.0
# How often a process looks whether its host's worker committed to the index (a stat of two
# small files; it reopens the searcher only when there was a commit). With the worker's
# quarter-second poll, an entry published on any host is searchable on every host within
# about a second (bench/far_host.py).
REFRESH_S = 0.25


def time_limit(app: Flask) -> float | None:
    limit = float(app.config.get("PORTAL_SEARCH_TIME_LIMIT_S", DEFAULT_TIME_LIMIT_S))
    return limit if limit > 0 else None


def get_index(app: Flask | None = None) -> SearchIndex:
    app = app or current_app._get_current_object()
    index = app.extensions.get("portal_search")
    if index is None:
        index = SearchIndex(app.config["PORTAL_INDEX_DIR"], time_limit=time_limit(app),
                            refresh_interval=REFRESH_S)
        app.extensions["portal_search"] = index
    return index
