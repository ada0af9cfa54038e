"""Batch screening against a seeded list: index build, 1,000 and 10,000 records.

    PORTAL_DATABASE_URL=sqlite:////path/portal.db PORTAL_LOOKUP_KEY=bench-lookup-key \\
        .venv/bin/python -m bench.screening [--records 10000]

The database is a data set of ``flask seed-demo --count N`` (``bench/datasets.py`` builds
them). The records are drawn from it with a fixed seed: a third listed names in another
spelling (place left out, traditional characters, a slip in the industry words, pinyin), a
third names that are not listed, a sixth codes of listed subjects, the rest invalid codes.
Prints the figures the README quotes ("Batch screening — matching").
"""
from __future__ import annotations

import argparse
import os
import random
import resource
import time

import opencc
import sqlalchemy as sa
from pypinyin import lazy_pinyin

from portal import clock, create_app
from portal.extensions import db
from portal.models import PublishedEntry, Subject
from portal.services import screening, screening_index
from portal.services.screening import Record


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def records(session, count: int, rng: random.Random) -> list[Record]:
    names = session.execute(sa.select(PublishedEntry.name).where(
        PublishedEntry.visible.is_(True), PublishedEntry.status == "listed")).scalars().all()
    codes = session.execute(sa.select(Subject.uscc).where(Subject.uscc.is_not(None))
                            .limit(5000)).scalars().all()
    t2s = opencc.OpenCC("s2t")
    out = []
    for row in range(count):
        roll = rng.random()
        name = rng.choice(names)
        if roll < 0.1:
            out.append(Record(row=row, name=name))
        elif roll < 0.15:
            out.append(Record(row=row, name=t2s.convert(name)))
        elif roll < 0.2:
            out.append(Record(row=row, name=" ".join(lazy_pinyin(name))))
        elif roll < 0.33:
            i = rng.randrange(len(name))
            out.append(Record(row=row, name=name[:i] + name[i + 1:]))
        elif roll < 0.66:
            out.append(Record(row=row, name="".join(rng.sample(name, len(name)))))
        elif roll < 0.83:
            out.append(Record(row=row, code=rng.choice(codes)))
        else:
            out.append(Record(row=row, name=name, code="91" + "".join(rng.choices("0123456789", k=16))))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=10_000)
    args = parser.parse_args()
    app = create_app()
    with app.app_context():
        session = db.session
        listed = session.scalar(sa.select(sa.func.count()).select_from(PublishedEntry)
                                .where(PublishedEntry.status == "listed"))
        today = clock.today()
        batch = records(session, args.records, random.Random(7))
        before = _rss_mb()
        started = time.perf_counter()
        index = screening_index.index_for(session, app.config["PORTAL_LOOKUP_KEY"])
        built = time.perf_counter() - started
        after_build = _rss_mb()
        started = time.perf_counter()
        index.pinyin_postings()
        pinyin_built = time.perf_counter() - started
        print(f"{listed} listed entries, {len(index)} in the name index; index built in {built:.1f} s "
              f"(+{after_build - before:.0f} MB), pinyin postings in {pinyin_built:.1f} s "
              f"(RSS now {_rss_mb():.0f} MB)")
        started = time.perf_counter()
        first = screening.screen(session, batch[:1000], threshold=screening.DEFAULT_THRESHOLD,
                                 jurisdictions=None, today=today)
        print(f"1,000 records (warm index): {time.perf_counter() - started:.2f} s")
        started = time.perf_counter()
        matched = errors = 0
        for start in range(0, len(batch), screening.MAX_RECORDS_PER_CALL):
            chunk = batch[start:start + screening.MAX_RECORDS_PER_CALL]
            results = screening.screen(session, chunk, threshold=screening.DEFAULT_THRESHOLD,
                                       jurisdictions=None, today=today)
            matched += sum(1 for r in results if r.matches)
            errors += sum(1 for r in results if r.error)
            session.rollback()
        took = time.perf_counter() - started
        print(f"{len(batch):,} records in chunks of {screening.MAX_RECORDS_PER_CALL}: {took:.1f} s "
              f"({took / len(batch) * 1000:.2f} ms a record); {matched} with a match, {errors} invalid "
              f"codes; RSS {_rss_mb():.0f} MB; {len(first)} in the first call")
        print(f"database: {os.environ.get('PORTAL_DATABASE_URL', 'default')}")


if __name__ == "__main__":
    main()
