"""The names of the public list, indexed in memory for batch screening.

Built once per publication version (``PublicationState.version``: every change of the
projection bumps it) from the listed entries that public pages show, and kept by the
process until the next version. What it holds, per entry: the database id, the
jurisdiction, whether it is a person, the prepared name (:class:`portal.rules.name_match.Name`)
and, for organisations, the keyed hashes of their legacy codes; plus postings lists from each
character bigram of a name's core to the entries that contain it (``array('I')``, sorted,
entries in jurisdiction order so a jurisdiction is one range of every list). A pinyin query
reads postings of syllable pairs, built the first time one is asked.

Candidates for a query come from the postings of its rarest bigrams (or syllable pairs), up
to :data:`BUDGET` entries read; the :data:`CANDIDATES` most alike by their characters
(rapidfuzz, in C; for pinyin, by shared syllable pairs) are scored by
:func:`portal.rules.name_match.score`. Natural persons whom a profile does not publish are
not in the index at all: they are found by an exact ID number only.
"""
from __future__ import annotations

import bisect
import functools
import itertools
import operator
import re
import threading
from array import array
from collections import Counter
from dataclasses import dataclass

import sqlalchemy as sa
from pypinyin import Style, pinyin
from rapidfuzz import process
from rapidfuzz.distance import Indel
from sqlalchemy.orm import Session

from portal.models import PublishedEntry
from portal.rules import name_match
from portal.rules.identifiers import org_code_from_uscc
from portal.security import lookup_hash
from portal.services import public_queries as queries

#: Entries scored per query (the best by shared bigrams).
CANDIDATES = 60
#: Postings read per query at most (the rarest keys first; at least the two rarest).
BUDGET = 8_000
#: The character similarity (of the whole cores, or of the query without its place) below
#: which a name is not scored at all. What it loses: a very short query that is a listed
#: name without a long place prefix (华兴 for 黑龙江佳木斯华兴).
PREFILTER = 0.5


@dataclass(frozen=True, slots=True)
class Hit:
    entry_id: int
    score: float
    reasons: tuple[str, ...]


def _bigrams(text: str) -> set[str]:
    if len(text) < 2:
        return {text} if text else set()
    return {text[i:i + 2] for i in range(len(text) - 1)}


class NameIndex:
    """The public names of one publication version (see the module's documentation)."""

    def __init__(self, rows, key: str) -> None:
        self.ids = array("q")
        self.names: list[name_match.Name] = []
        self.cores: list[str] = []
        self.person = bytearray()
        self.ranges: dict[str, tuple[int, int]] = {}
        self.codes: dict[str, list[int]] = {}
        postings: dict[str, list[int]] = {}
        for index, (entry_id, jurisdiction, kind, name, extra) in enumerate(rows):
            person = kind == "person"
            prepared = name_match.prepare(name, person=person)
            self.ids.append(entry_id)
            self.names.append(prepared)
            self.cores.append(prepared.core)
            self.person.append(person)
            start, _end = self.ranges.get(jurisdiction, (index, index))
            self.ranges[jurisdiction] = (start, index + 1)
            for gram in _bigrams(prepared.core):
                postings.setdefault(gram, []).append(index)
            for code in extra:
                self.codes.setdefault(lookup_hash(key, code), []).append(index)
        self.postings = {gram: array("I", found) for gram, found in postings.items()}
        self._pinyin: dict[str, array] | None = None
        self._syllables: frozenset[str] = frozenset()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.ids)

    # ---------------------------------------------------------------- look-ups

    def by_code_hash(self, code_hash: str, scope) -> list[int]:
        """Database ids of the entries with this legacy code (organisation code, registration
        number), by its keyed hash."""
        return [self.ids[i] for i in self.codes.get(code_hash, ()) if self._in(i, scope)]

    def search(self, query: name_match.Name, threshold: float, scope=None) -> list[Hit]:
        """Entries whose names score at least ``threshold`` against ``query``, best first;
        ``scope``: jurisdiction codes (None: all)."""
        if not query.core:
            return []
        if query.latin:
            keys, postings = self._syllable_pairs(query.letters), self.pinyin_postings()
        else:
            keys, postings = _bigrams(query.core), self.postings
            if query.place:
                keys |= _bigrams(query.rest)
        ranges = self._ranges(scope)
        lists = sorted((found for found in (self._slice(postings.get(k), ranges) for k in keys)
                        if found), key=len)
        read, chosen = 0, []
        for number, found in enumerate(lists):
            if number >= 2 and read + len(found) > BUDGET:
                break
            chosen.append(found)
            read += len(found)
        hits = []
        for index in self._best(query, chosen):
            value, reasons = name_match.score(query, self.names[index], threshold)
            if value >= threshold:
                hits.append(Hit(self.ids[index], value, reasons))
        hits.sort(key=lambda hit: (-hit.score, hit.entry_id))
        return hits

    def _best(self, query: name_match.Name, chosen: list) -> list[int]:
        """The :data:`CANDIDATES` entries of the postings read that are most alike: by shared
        syllable pairs for a pinyin query; else by the characters of the names (rapidfuzz,
        in C), the query whole and without its place."""
        if query.latin:
            counts: Counter = Counter()
            for found in chosen:
                counts.update(found)
            return [index for index, _shared in counts.most_common(CANDIDATES)]
        pool = list(set().union(*chosen))
        if not pool:
            return []
        cores = operator.itemgetter(*pool)(self.cores) if len(pool) > 1 else (self.cores[pool[0]],)
        best = {pool[at]: value for _core, value, at in process.extract(
            query.core, cores, scorer=Indel.normalized_similarity, limit=CANDIDATES,
            score_cutoff=PREFILTER)}
        if query.place:
            for _core, value, at in process.extract(query.rest, cores, scorer=Indel.normalized_similarity,
                                                    limit=CANDIDATES, score_cutoff=PREFILTER):
                best[pool[at]] = max(value, best.get(pool[at], 0.0))
        return sorted(best, key=best.__getitem__, reverse=True)[:CANDIDATES]

    # ---------------------------------------------------------------- scope

    def _ranges(self, scope) -> list[tuple[int, int]] | None:
        if scope is None:
            return None
        return [self.ranges[code] for code in sorted(scope) if code in self.ranges]

    def _in(self, index: int, scope) -> bool:
        return scope is None or any(a <= index < b for a, b in self._ranges(scope))

    @staticmethod
    def _slice(found, ranges):
        if found is None or ranges is None:
            return found
        parts = []
        for start, end in ranges:
            parts.append(found[bisect.bisect_left(found, start):bisect.bisect_left(found, end)])
        return parts[0] if len(parts) == 1 else array("I", itertools.chain.from_iterable(parts))

    # ---------------------------------------------------------------- pinyin

    def pinyin_postings(self) -> dict[str, array]:
        """Postings of syllable pairs (every reading of a character with several), built once."""
        if self._pinyin is None:
            with self._lock:
                if self._pinyin is None:
                    found: dict[str, list[int]] = {}
                    syllables: set[str] = set()
                    for index, prepared in enumerate(self.names):
                        readings = _readings(prepared.core)
                        syllables.update(itertools.chain.from_iterable(readings))
                        for key in _pairs(readings):
                            found.setdefault(key, []).append(index)
                    self._syllables = frozenset(syllables)
                    self._pinyin = {key: array("I", ids) for key, ids in found.items()}
        return self._pinyin

    def _syllable_pairs(self, letters: str) -> set[str]:
        self.pinyin_postings()
        return _pairs([(s,) for s in segment(letters, self._syllables)])


_CJK = re.compile(r"[\u3400-\u9fff]")


def _readings(text: str) -> list[tuple[str, ...]]:
    """The toneless readings of each character (pypinyin heteronyms, the first
    :data:`READINGS`; v as u)."""
    return [_char_readings(ch) for ch in text]


#: Readings of a character kept for retrieval (most have one; 行 has xing and hang).
READINGS = 2


@functools.lru_cache(maxsize=50_000)
def _char_readings(ch: str) -> tuple[str, ...]:
    if not _CJK.match(ch):
        return (ch,)
    found = pinyin(ch, style=Style.NORMAL, heteronym=True, errors="ignore")
    readings = tuple(dict.fromkeys(s.replace("v", "u") for s in (found[0] if found else ())))
    return readings[:READINGS] or ("",)


def _pairs(readings: list[tuple[str, ...]]) -> set[str]:
    if len(readings) == 1:
        return set(readings[0])
    return {f"{a}_{b}" for first, second in itertools.pairwise(readings)
            for a in first for b in second}


def segment(letters: str, syllables: frozenset[str]) -> list[str]:
    """``letters`` cut into the fewest known syllables (dynamic programming); letters no
    syllable covers are kept one by one."""
    size = len(letters)
    best: list[tuple[int, int] | None] = [None] * (size + 1)
    best[0] = (0, 0)
    for end in range(1, size + 1):
        for start in range(max(0, end - 6), end):
            if best[start] is None:
                continue
            piece = letters[start:end]
            cost = best[start][0] + (1 if piece in syllables else 3 if end - start == 1 else 99)
            if best[end] is None or cost < best[end][0]:
                best[end] = (cost, start)
    out, end = [], size
    while end > 0:
        start = best[end][1]
        out.append(letters[start:end])
        end = start
    return out[::-1]


# -------------------------------------------------------------------- one per version

_cache: dict[tuple, NameIndex] = {}
_cache_lock = threading.Lock()


def index_for(session: Session, key: str) -> NameIndex:
    """The index of the current publication version (built on first use, then kept)."""
    version, changed_at = queries.publication_version(session)
    bind = session.get_bind()
    token = (str(bind.url), version, changed_at, lookup_hash(key, "screening-index"))
    found = _cache.get(token)
    if found is not None:
        return found
    with _cache_lock:
        found = _cache.get(token)
        if found is None:
            found = NameIndex(_rows(session), key)
            for old in [t for t in _cache if t[0] == token[0]]:
                del _cache[old]
            _cache[token] = found
    return found


def clear() -> None:
    """Forget the kept indexes (tests: a fresh database may reach a version, at a frozen time,
    that an earlier one had)."""
    with _cache_lock:
        _cache.clear()


def _rows(session: Session):
    """(id, jurisdiction, kind, name, legacy codes) of every listed entry public pages show,
    in jurisdiction order."""
    result = session.execute(
        sa.select(PublishedEntry.id, PublishedEntry.jurisdiction, PublishedEntry.subject_kind,
                  PublishedEntry.name, PublishedEntry.extra_codes, PublishedEntry.code_display)
        .where(queries.LISTED)
        .order_by(PublishedEntry.jurisdiction, PublishedEntry.id)
        .execution_options(yield_per=5000))
    for entry_id, jurisdiction, kind, name, extra, display in result:
        codes = list(extra or ())
        if kind != "person" and display:
            try:
                codes.append(org_code_from_uscc(display))
            except ValueError:
                pass
        yield entry_id, jurisdiction, kind, name, sorted(set(codes))
