"""On-disk layout, atomic generation swap and the cross-process write lock.

Layout of the index directory ``path``::

    path/CURRENT          name of the live generation directory (one line)
    path/WRITELOCK        fcntl lock file – one writer at a time
    path/ix-<stamp>/      generations: the tantivy index in ``tv/`` beside these files
    path/ix-<stamp>/analysis.json  the analysis version it was written with
    path/ix-<stamp>/grounds.json   ground code → legal text(s), matched at query
                          time instead of indexing the same text in every document

``rebuild`` writes a complete index into a temporary directory next to
``path`` (``.<name>.build-<random>``), renames it into ``path`` and then
atomically replaces ``CURRENT`` (write temp file + ``os.replace``). Readers
only ever follow ``CURRENT``, so they see the old or the new index, never a
half-built one. The previous generation is kept so a reader that has just
resolved ``CURRENT`` can still open it; older ones are removed.
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import json
import os
import shutil
import time
import uuid
from pathlib import Path

CURRENT = "CURRENT"
LOCK_NAME = "WRITELOCK"
GEN_PREFIX = "ix-"
TANTIVY_DIR = "tv"


#: The order documents are written in (the browse order of one day): a storage stamp like
#: the generation names, increasing within a process and from one process to the next.
WRITTEN = itertools.count(time.time_ns())


class IndexLockedError(RuntimeError):
    """Another writer holds the search index lock."""


class IndexStore:
    def __init__(self, path: str | os.PathLike):
        self.root = Path(path)

    # ----------------------------------------------------------------- reading
    def current_name(self) -> str | None:
        try:
            name = (self.root / CURRENT).read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        if not name or "/" in name or "\\" in name or name.startswith("."):
            return None
        return name

    def gen_dir(self, name: str) -> Path:
        return self.root / name

    def tantivy_dir(self, name: str) -> Path:
        return self.root / name / TANTIVY_DIR

    # ----------------------------------------------------------------- locking
    @contextlib.contextmanager
    def write_lock(self, timeout: float):
        """Hold an exclusive fcntl lock on ``path/WRITELOCK``; raise after *timeout* s."""
        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.root / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            deadline = time.monotonic() + max(0.0, timeout)
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise IndexLockedError(
                            f"search index {self.root} is locked by another writer "
                            f"(waited {timeout:g}s for {self.root / LOCK_NAME}); "
                            "is a rebuild or another indexer running?"
                        ) from None
                    time.sleep(0.05)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    # ----------------------------------------------------------------- building
    def new_build_dir(self) -> Path:
        parent = self.root.parent
        parent.mkdir(parents=True, exist_ok=True)
        d = parent / f".{self.root.name}.build-{uuid.uuid4().hex[:12]}"
        d.mkdir()
        return d

    def publish(self, build_dir: Path) -> str:
        """Move *build_dir* into the index dir and make it current (atomically)."""
        self.root.mkdir(parents=True, exist_ok=True)
        name = f"{GEN_PREFIX}{time.strftime('%Y%m%d%H%M%S')}-{uuid.uuid4().hex[:8]}"
        target = self.root / name
        try:
            os.rename(build_dir, target)
        except OSError:  # e.g. EXDEV when path's parent is another mount
            shutil.move(str(build_dir), str(target))
        previous = self.current_name()
        self._write_current(name)
        self._cleanup(keep={name, previous})
        return name

    def _write_current(self, name: str) -> None:
        tmp = self.root / f".{CURRENT}.{uuid.uuid4().hex[:8]}"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(name + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.root / CURRENT)
        with contextlib.suppress(OSError):  # make the rename durable
            fd = os.open(self.root, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    def _cleanup(self, keep: set) -> None:
        for child in self.root.iterdir():
            if child.name.startswith(GEN_PREFIX) and child.name not in keep and child.is_dir():
                shutil.rmtree(child, ignore_errors=True)

    @staticmethod
    def discard(build_dir: Path) -> None:
        shutil.rmtree(build_dir, ignore_errors=True)

    def discard_stale_builds(self) -> None:
        """Remove build dirs of crashed rebuilds (call with the write lock held:
        a live rebuild would hold it, so any build dir left is abandoned)."""
        parent = self.root.parent
        if parent.is_dir():
            for d in parent.glob(f".{self.root.name}.build-*"):
                shutil.rmtree(d, ignore_errors=True)


# --------------------------------------------------------------------------- analysis version
ANALYSIS_FILE = "analysis.json"


def read_analysis(gen_dir: Path) -> int:
    """The analysis version a generation was written with (1: before versions were kept)."""
    try:
        return int(json.loads((gen_dir / ANALYSIS_FILE).read_text(encoding="utf-8"))["version"])
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        return 1


def write_analysis(gen_dir: Path, version: int) -> None:
    (gen_dir / ANALYSIS_FILE).write_text(json.dumps({"version": version}), encoding="utf-8")


# --------------------------------------------------------------------------- ground texts
GROUNDS_FILE = "grounds.json"
MAX_TEXTS_PER_GROUND = 8


def read_grounds(gen_dir: Path) -> dict[str, list[str]]:
    """Ground code → legal texts seen for it (normalized), from a generation dir."""
    try:
        data = json.loads((gen_dir / GROUNDS_FILE).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return {}
    return {str(k): [str(t) for t in v][:MAX_TEXTS_PER_GROUND] for k, v in data.items()}


def merge_grounds(into: dict[str, list[str]], code, text) -> bool:
    """Record *text* for ground *code*; True if something new was added."""
    if not code or not text:
        return False
    texts = into.setdefault(str(code), [])
    if text in texts or len(texts) >= MAX_TEXTS_PER_GROUND:
        return False
    texts.append(text)
    return True


def write_grounds(gen_dir: Path, grounds: dict[str, list[str]]) -> None:
    """Atomically (re)write the ground texts of a generation."""
    tmp = gen_dir / f".{GROUNDS_FILE}.{uuid.uuid4().hex[:8]}"
    tmp.write_text(json.dumps(grounds, ensure_ascii=False, sort_keys=True), encoding="utf-8")
    os.replace(tmp, gen_dir / GROUNDS_FILE)
