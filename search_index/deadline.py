"""A per-thread search deadline: code that may run long calls :func:`check_deadline`."""

from __future__ import annotations

import contextlib
import threading
import time


class SearchTimeout(RuntimeError):
    """A search ran past its ``time_limit`` (``SearchIndex.search(..., time_limit=...)``)."""


_local = threading.local()


def check_deadline() -> None:
    """Raise :class:`SearchTimeout` if this thread's search is past its deadline."""
    deadline = getattr(_local, "deadline", None)
    if deadline is not None and time.monotonic() > deadline:
        limit = getattr(_local, "limit", 0.0)
        raise SearchTimeout(f"search took longer than {limit:g} s")


@contextlib.contextmanager
def deadline(seconds: float | None):
    """Run the block with a deadline *seconds* from now (None: no limit); nests."""
    previous = getattr(_local, "deadline", None), getattr(_local, "limit", None)
    if seconds is not None:
        new = time.monotonic() + max(0.0, float(seconds))
        if previous[0] is None or new < previous[0]:
            _local.deadline, _local.limit = new, float(seconds)
    try:
        yield
    finally:
        _local.deadline, _local.limit = previous
