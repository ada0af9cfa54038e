"""jieba's word frequencies as a memory-mapped trie, shared by every process of a host.

jieba keeps its dictionary as a Python dict of 498,000 words and word prefixes: 62 MB in
every process that segments text (each gunicorn worker and the indexing worker), built
again in each. Here the same entries live in a file: a marisa trie (1.3 MB, mapped, so the
processes share its pages) and an array of the frequencies (2 MB). jieba asks its
``FREQ`` mapping three things — ``word in FREQ``, ``FREQ[word]``, ``FREQ.get(word)`` —
and gets the same answers, so it segments exactly as with its own dict; a lookup costs
about a third of a microsecond more.

The files are built once per dictionary, in a child process (the parent never holds the
dict), under the system's temporary directory like jieba's own cache; if that fails, jieba
loads its dictionary as usual.
"""

from __future__ import annotations

import array
import hashlib
import json
import logging
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import jieba
import marisa_trie

log = logging.getLogger(__name__)

FORMAT = 1  # bump when the files' layout changes
BUILD_TIMEOUT = 300  # seconds


class Frequencies(marisa_trie.Trie):
    """word → frequency (0 for a prefix that is not a word), for jieba's ``FREQ``."""

    freqs: array.array

    def __getitem__(self, word: str) -> int:
        return self.freqs[marisa_trie.Trie.__getitem__(self, word)]

    def get(self, word: str, default=None):
        key = marisa_trie.Trie.get(self, word)
        return default if key is None else self.freqs[key]


def folder() -> Path:
    return Path(tempfile.gettempdir()) / f"portal-words-{os.getuid()}"


def _files(dictionary: Path, where: Path) -> tuple[Path, Path, Path]:
    st = dictionary.stat()
    key = hashlib.sha256(
        f"{FORMAT}|{jieba.__version__}|{dictionary.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode()
    ).hexdigest()[:16]
    return where / f"{key}.marisa", where / f"{key}.freq", where / f"{key}.json"


def _private(folder: Path) -> bool:
    """The folder exists, is ours and only ours (nobody else could have planted a file)."""
    folder.mkdir(mode=0o700, exist_ok=True)
    st = folder.stat()
    return st.st_uid == os.getuid() and not st.st_mode & 0o077


def build(dictionary: Path, where: Path) -> None:
    """Write the trie, the frequencies and the total for *dictionary* (each atomically)."""
    trie_file, freq_file, meta_file = _files(dictionary, where)
    if not _private(where):
        raise PermissionError(f"{where} is not private to this user")
    with open(dictionary, "rb") as source:
        freq, total = jieba.Tokenizer().gen_pfdict(source)   # jieba's own reading
    trie = marisa_trie.Trie(freq)
    freqs = array.array("I", bytes(4 * len(trie)))
    for word, count in freq.items():
        freqs[trie.key_id(word)] = count
    meta = json.dumps({"total": total, "words": len(trie)})
    # the description last: a reader takes the files as there once it is
    for target, write in ((trie_file, trie.save),
                          (freq_file, lambda path: Path(path).write_bytes(freqs.tobytes())),
                          (meta_file, lambda path: Path(path).write_text(meta))):
        partial = target.with_name(f".{target.name}.{os.getpid()}")
        write(str(partial))
        os.replace(partial, target)


def install(tokenizer: jieba.Tokenizer | None = None) -> bool:
    """Give *tokenizer* (jieba's default) the mapped frequencies; False when it kept its own
    (it then loads its dictionary when first used)."""
    tokenizer = tokenizer or jieba.dt
    with tokenizer.lock:
        if tokenizer.initialized:
            return isinstance(tokenizer.FREQ, Frequencies)
        try:
            with tokenizer.get_dict_file() as source:
                dictionary = Path(source.name)
            where = folder()
            trie_file, freq_file, meta_file = _files(dictionary, where)
            if not _private(where):
                raise PermissionError(f"{where} is not private to this user")
            if not meta_file.exists():
                subprocess.run([sys.executable, "-m", "search_index.wordfreq", str(dictionary),
                                str(where)],
                               check=True, timeout=BUILD_TIMEOUT, capture_output=True,
                               cwd=Path(__file__).resolve().parent.parent)
            meta = json.loads(meta_file.read_text())
            trie = Frequencies()
            trie.mmap(str(trie_file))
            trie.freqs = array.array("I")
            trie.freqs.frombytes(freq_file.read_bytes())
            if len(trie) != meta["words"] or len(trie.freqs) != meta["words"]:
                raise ValueError("word files do not match")
        except (OSError, ValueError, KeyError, subprocess.SubprocessError) as error:
            log.warning("jieba loads its own dictionary (%s)", type(error).__name__)
            return False
        tokenizer.FREQ, tokenizer.total = trie, meta["total"]
        tokenizer.initialized = True
        return True


if __name__ == "__main__":
    build(Path(sys.argv[1]), Path(sys.argv[2]))
