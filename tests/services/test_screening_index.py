"""The name index finds what scoring every listed name would find (no database: the index
is built from rows, as ``index_for`` reads them)."""
import random

import opencc
import pytest
from pypinyin import lazy_pinyin

from portal.demo.names import NamePools
from portal.demo.places import place_for
from portal.rules import name_match
from portal.rules.profiles import load_profile
from portal.services import screening_index
from portal.services.screening import DEFAULT_THRESHOLD
from portal.security import lookup_hash

KEY = "test-lookup-key"


@pytest.fixture(scope="module")
def listed():
    pools = NamePools(3, place_for(load_profile("jiamusi")), size=400)
    rng = random.Random(3)
    rows = []
    for number in range(3000):
        person = number % 4 == 0
        name = pools.person(rng) if person else pools.organisation(rng, ("employer", "agency", "institution")[number % 3])
        jurisdiction = "jiamusi" if number % 5 else "other"
        rows.append((number + 1, jurisdiction, "person" if person else "organisation", name,
                     [] if person else [f"MA{number:06d}0"]))
    rows.sort(key=lambda row: (row[1], row[0]))
    return rows, screening_index.NameIndex(rows, KEY)


def _queries(rows, count=150):
    rng, s2t = random.Random(9), opencc.OpenCC("s2t")
    out = []
    for _ in range(count):
        name = rng.choice(rows)[3]
        variant = rng.randrange(5)
        if variant == 0:
            out.append(s2t.convert(name))
        elif variant == 1:
            out.append(" ".join(lazy_pinyin(name)))
        elif variant == 2:
            i = rng.randrange(len(name))
            out.append(name[:i] + name[i + 1:])
        elif variant == 3:
            out.append(name[2:])
        else:
            out.append(name)
    return out


def _everything(index, query, scope=None):
    """What scoring every name in scope would return."""
    found = set()
    for position, listed_name in enumerate(index.names):
        if scope is not None and not any(index.ranges[c][0] <= position < index.ranges[c][1]
                                         for c in scope if c in index.ranges):
            continue
        if name_match.score(query, listed_name, DEFAULT_THRESHOLD)[0] >= DEFAULT_THRESHOLD:
            found.add(index.ids[position])
    return found


def test_the_index_finds_what_scoring_every_name_finds(listed):
    rows, index = listed
    found = expected = 0
    for text in _queries(rows):
        query = name_match.prepare(text)
        truth = _everything(index, query)
        got = {hit.entry_id for hit in index.search(query, DEFAULT_THRESHOLD)}
        assert got <= truth
        found, expected = found + len(got), expected + len(truth)
    assert expected > 100 and found / expected >= 0.98, (found, expected)


def test_the_scope_is_a_range_of_every_postings_list(listed):
    rows, index = listed
    for text in _queries(rows, 40):
        query = name_match.prepare(text)
        scoped = {hit.entry_id for hit in index.search(query, DEFAULT_THRESHOLD, {"other"})}
        assert scoped <= _everything(index, query, {"other"})
        everywhere = {hit.entry_id for hit in index.search(query, DEFAULT_THRESHOLD)}
        assert {i for i in everywhere if (i - 1) % 5 == 0} <= scoped       # ids of "other"
        assert all((i - 1) % 5 == 0 for i in scoped)


def test_legacy_codes_are_found_by_their_keyed_hash_only(listed):
    rows, index = listed
    organisation = next(row for row in rows if row[2] == "organisation")
    digest = lookup_hash(KEY, organisation[4][0])
    assert index.by_code_hash(digest, None) == [organisation[0]]
    assert index.by_code_hash(digest, {organisation[1]}) == [organisation[0]]
    assert index.by_code_hash(digest, {"elsewhere"}) == []
    assert organisation[4][0] not in repr(index.codes)
