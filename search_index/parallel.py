"""A rebuild in several processes: each one analyses and writes one segment of the new index.

A rebuild spends its time in two places, both pure Python: the analysis of every
name (jieba, pinyin, simplified characters: :func:`search_index.schema.doc_fields`)
and whoosh's postings (~100 a document).  One process uses one core.  Here the
calling process streams the documents, in contiguous shares, through chunk files
to ``parts`` worker processes; each one analyses its share and writes it with the
bulk writer as one segment, without the index lock (the caller holds it); the
caller then commits one table of contents listing the segments in order.  The
document numbers are those of a one-process build, so searches answer the same.

whoosh's own ``MpWriter`` does the same with plain segment writers (none of the
bulk writer's savings) and pickles documents one by one; it is not used.  The
workers are started with ``spawn``: the caller may be a threaded server process,
and a fork would copy whatever lock another thread held.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import pickle
import queue
import shutil
import tempfile
import traceback
from collections.abc import Iterable

from whoosh.index import open_dir
from whoosh.writing import SegmentWriter

from .analysis import normalize, warm_up
from .schema import doc_fields
from .store import merge_grounds

#: Documents per chunk file handed to a worker process.
CHUNK = 2000
#: Below this many documents one process builds the index (starting workers costs seconds).
MIN_DOCUMENTS = 20_000
#: How long the caller waits for a worker's segment once every chunk is handed out.
FINISH_TIMEOUT = 3600


class BuildFailed(RuntimeError):
    """A worker process of a parallel rebuild failed; its traceback is the message."""


def default_parts() -> int:
    """Worker processes for a rebuild when the caller does not say: the cores, at most 4."""
    return max(1, min(4, os.cpu_count() or 1))


def build_segments(ix, docs: Iterable[dict], total: int, parts: int, limitmb: int,
                   compound: bool) -> tuple[list, dict[str, list[str]], int]:
    """Write ``docs`` (about ``total`` of them) into ``ix`` as ``parts`` new segments.

    Returns (segments in document order, ground texts, document count).  The caller holds the
    index's write lock and commits the segments (:func:`commit_segments`).
    """
    context = multiprocessing.get_context("spawn")
    jobs = [context.Queue() for _ in range(parts)]
    results = context.Queue()
    folder = ix.storage.folder
    # The posting pools of all workers together stay within the one-process budget.
    share_mb = max(32, limitmb // parts)
    workers = [context.Process(target=_work, name=f"index-build-{part}", daemon=True,
                               args=(folder, ix.indexname, part, jobs[part], results, share_mb,
                                     compound, os.getpid()))
               for part in range(parts)]
    chunks = None
    try:
        for worker in workers:
            worker.start()
        chunks = tempfile.mkdtemp(prefix="chunks-", dir=folder)
        share = max(1, math.ceil(max(total, 1) / parts))
        chunk: list[dict] = []
        part = count = serial = 0

        def hand_out():
            nonlocal chunk, serial
            path = os.path.join(chunks, f"{part}-{serial}.pickle")
            with open(path, "wb") as out:
                pickle.dump(chunk, out, pickle.HIGHEST_PROTOCOL)
            jobs[part].put(path)
            chunk, serial = [], serial + 1
            _raise_early_failure(results)

        for doc in docs:
            wanted = min(count // share, parts - 1)
            if wanted != part and chunk:
                hand_out()
            part = wanted
            chunk.append(doc)
            count += 1
            if len(chunk) >= CHUNK:
                hand_out()
        if chunk:
            hand_out()
        for job in jobs:
            job.put(None)
        done = _collect(results, workers, parts)
    except BaseException:
        for job in jobs:
            job.cancel_join_thread()        # never block the exit on paths nobody will read
        for worker in workers:
            if worker.is_alive():
                worker.terminate()
        raise
    finally:
        for worker in workers:
            if worker.pid is not None:
                worker.join(timeout=10)
        if chunks is not None:
            shutil.rmtree(chunks, ignore_errors=True)
    segments, grounds, written = [], {}, 0
    for part in range(parts):
        segment, part_grounds, part_count = done[part]
        if segment is not None:
            segments.append(segment)
        for code, texts in part_grounds.items():
            for text in texts:
                merge_grounds(grounds, code, text)
        written += part_count
    if written != count:
        raise BuildFailed(f"{count} documents handed out, {written} written")
    return segments, grounds, written


def _raise_early_failure(results) -> None:
    """A worker that already failed stops the rebuild now, not after the whole stream."""
    try:
        part, outcome, payload = results.get_nowait()
    except queue.Empty:
        return
    if outcome == "error":
        raise BuildFailed(payload)
    results.put((part, outcome, payload))    # a finished share (no more work was queued for it)


def _collect(results, workers, parts: int) -> dict[int, tuple]:
    done: dict[int, tuple] = {}
    waited = 0.0
    while len(done) < parts:
        try:
            part, outcome, payload = results.get(timeout=1.0)
        except queue.Empty:
            waited += 1.0
            dead = [w.name for w in workers if not w.is_alive() and w.exitcode not in (0, None)]
            if dead or waited > FINISH_TIMEOUT:
                raise BuildFailed(f"index build process(es) {', '.join(dead) or 'timed out'}") from None
            continue
        if outcome == "error":
            raise BuildFailed(payload)
        done[part] = payload
    return done


def commit_segments(writer, segments: list) -> None:
    """Commit ``segments`` as the whole content of the new index ``writer`` belongs to (the writer
    added nothing itself); the steps of whoosh's ``MpWriter`` in its multi-segment mode."""
    writer._close_segment()
    writer._commit_toc(segments)
    writer._finish()


def _next_job(jobs, parent: int):
    """The next chunk file (None: no more); exits when the calling process has gone."""
    while True:
        try:
            return jobs.get(timeout=5.0)
        except queue.Empty:
            if os.getppid() != parent:
                os._exit(1)


def _work(folder: str, indexname: str, part: int, jobs, results, limitmb: int,
          compound: bool, parent: int) -> None:
    """One worker process: analyse and write every chunk of its share as one segment."""
    from .writing import BulkSegmentWriter, use_chunked_runs

    try:
        warm_up()
        ix = open_dir(folder, indexname=indexname)
        writer = SegmentWriter(ix, _lk=False, limitmb=limitmb, compound=compound)
        writer.__class__ = BulkSegmentWriter
        use_chunked_runs(writer)
        grounds: dict[str, list[str]] = {}
        count = 0
        while (path := _next_job(jobs, parent)) is not None:
            with open(path, "rb") as source:
                docs = pickle.load(source)
            os.unlink(path)
            for doc in docs:
                fields = doc_fields(doc)
                writer.add_document(**fields)
                merge_grounds(grounds, fields.get("ground"), normalize(doc.get("ground_text")))
                count += 1
        if count:
            segment = writer._finalize_segment()
        else:
            writer._close_segment()
            segment = None
        # The temporary directory (``MAIN.tmp``) is shared with the caller's writer, which
        # removes it when it commits.
        results.put((part, "ok", (segment, grounds, count)))
    except BaseException:
        results.put((part, "error", traceback.format_exc()[-4000:]))
