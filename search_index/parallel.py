"""Analysis in several processes for a large rebuild.

A rebuild spends most of its time analysing names (jieba, pinyin, simplified
characters: :func:`search_index.schema.doc_fields`), pure Python on one core;
tantivy then writes the segments in its own threads. Here the documents go in
batches to ``parts`` worker processes and come back analysed, in their order, to
the calling process, which adds them to the one writer. The workers are started
with ``spawn``: the caller may be a threaded server process, and a fork would copy
whatever lock another thread held; they are daemons and end with the caller.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Iterable, Iterator
from itertools import islice

from .analysis import warm_up
from .schema import doc_fields

#: Documents per batch handed to a worker process.
BATCH = 500
#: Batches handed out per worker before the caller waits for the oldest.
AHEAD = 3
#: Below this many documents one process analyses (starting workers costs seconds).
MIN_DOCUMENTS = 20_000


class BuildFailed(RuntimeError):
    """A worker process of a parallel rebuild failed; the message says on what."""


def default_parts() -> int:
    """Worker processes for a rebuild when the caller does not say: the cores, at most 4."""
    return max(1, min(4, os.cpu_count() or 1))


def _analyse(batch: list[dict]) -> list[tuple[dict, str | None]]:
    return [(doc_fields(d), d.get("ground_text")) for d in batch]


def _batches(docs: Iterable[dict]) -> Iterator[list[dict]]:
    it = iter(docs)
    while batch := list(islice(it, BATCH)):
        yield batch


def analysed(docs: Iterable[dict], parts: int) -> Iterator[tuple[dict, str | None]]:
    """(fields, ground text) of every document of *docs*, in order, analysed by
    *parts* processes. An error in a worker is raised here."""
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(parts, initializer=warm_up) as pool:
        # the documents are read here, in the caller's thread (a database cursor is
        # not shared), at most AHEAD batches per worker ahead of the writer
        pending: deque = deque()
        for batch in _batches(docs):
            pending.append(pool.apply_async(_analyse, (batch,)))
            if len(pending) >= AHEAD * parts:
                yield from _result(pending.popleft())
        while pending:
            yield from _result(pending.popleft())


def _result(pending) -> list[tuple[dict, str | None]]:
    try:
        return pending.get()
    except Exception as e:  # the worker's exception, re-raised here by the pool
        raise BuildFailed(f"analysing a batch of documents failed: {e!r}") from e
