"""Full-text search for the dishonesty list: plain dicts in, ids out.

This package never imports ``portal``. The portal's indexer process writes the
index (``rebuild`` / ``upsert`` / ``delete``); web workers search it::

    from search_index import SearchIndex, warm_up

    warm_up()                      # once per process: jieba + pypinyin tables
    index = SearchIndex(path)      # share one instance per process
    results = index.search("恒达", filters={"year": 2026}, page=1)
    [hit.id for hit in results.hits]
"""

from .analysis import ANALYSIS_VERSION, warm_up
from .deadline import SearchTimeout
from .engine import Hit, Results, SearchIndex
from .schema import fingerprint
from .snapshot import SnapshotError
from .store import IndexLockedError

__all__ = [
    "ANALYSIS_VERSION",
    "Hit",
    "IndexLockedError",
    "Results",
    "SearchIndex",
    "SearchTimeout",
    "SnapshotError",
    "fingerprint",
    "warm_up",
]
