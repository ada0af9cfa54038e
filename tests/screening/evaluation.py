"""The labelled evaluation set of batch screening: its list, its queries, its figures.

``entries.csv`` is the list: organisations and persons published through the whole
procedure (``tests.factories.published_case``), two persons under a profile that does not
publish natural persons (郑州: found by their full ID number only). ``eval_set.csv`` holds
the queries, each with the keys of the entries it must match (none: it must match
nothing), a category and a note. A code is written as a reference, resolved against the
subjects made here: ``uscc:E02``, ``org:E03`` (legacy organisation code), ``ric:P01``,
``uscc:none`` / ``ric:none`` (valid, listed nowhere), ``bad:ric`` / ``bad:uscc`` (a wrong
check character).

What counts as a match (README "Batch screening — matching"): the same organisation in
another spelling — legal form changed or left out, traditional or full-width characters,
spaces and brackets, the place written long, short or not at all, words in another order,
pinyin, a slip in the industry or the form words of a long name. Not a match: another trade
name (北京华星建筑 for 北京华兴建筑, 宏运 for 宏达), another city (上海华兴建筑), another line of
business under the same trade name (恒达商贸 for 恒达建筑), another person (张炜 for 张伟).

Precision and recall count (query, entry) pairs: a match that is labelled is a true
positive, one that is not a false positive, a labelled entry not returned a false negative.
"""
from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import random
from pathlib import Path

import sqlalchemy as sa

from portal.models import PublishedEntry, SubjectKind
from portal.rules import identifiers
from portal.services import screening
from portal.services.screening import Record
from tests.factories import make_subject, published_case

HERE = Path(__file__).resolve().parent
TODAY = dt.date(2026, 12, 6)
THRESHOLDS = (0.75, 0.8, 0.82, 0.85, 0.88, 0.9, 0.95)
_GROUNDS = {"zhengzhou": "ZP3"}


@dataclasses.dataclass(frozen=True)
class Query:
    name: str
    code: str
    expected: frozenset[str]
    category: str
    note: str


def load_entries() -> list[dict]:
    with open(HERE / "entries.csv", encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def load_queries() -> list[Query]:
    with open(HERE / "eval_set.csv", encoding="utf-8", newline="") as f:
        return [Query(row["query_name"], row["query_code"],
                      frozenset(k for k in row["expected"].split(";") if k),
                      row["category"], row["note"]) for row in csv.DictReader(f)]


def publish_list(app, session) -> dict:
    """Publish ``entries.csv``; returns key -> (subject, public id)."""
    made = {}
    for number, row in enumerate(load_entries()):
        kind = SubjectKind(row["kind"])
        app.config["PORTAL_PROFILE"] = row["profile"]
        subject = make_subject(session, kind, name=row["name"], rng=random.Random(1000 + number))
        case = published_case(session, app, profile_code=row["profile"], kind=kind, subject=subject,
                              ground=_GROUNDS.get(row["profile"]))
        public_id = session.execute(sa.select(PublishedEntry.public_id)
                                    .where(PublishedEntry.case_id == case.id)).scalar_one()
        made[row["key"]] = (subject, public_id)
    session.commit()
    return made


def resolve_code(reference: str, made: dict) -> str | None:
    if not reference:
        return None
    kind, _, key = reference.partition(":")
    if key == "none":
        rng = random.Random(4242)
        return identifiers.generate_uscc(rng) if kind == "uscc" else identifiers.generate_ric(rng)
    if kind == "bad":
        good = made["E23"][0].uscc if key == "uscc" else identifiers.generate_ric(random.Random(77))
        return good[:17] + ("0" if good[17] != "0" else "1")
    subject = made[key][0]
    return {"uscc": subject.uscc, "org": subject.org_code, "ric": subject.id_number}[kind]


def run(session, made: dict, queries: list[Query], threshold: float) -> list[screening.Result]:
    records = [Record(row=i, name=q.name or None, code=resolve_code(q.code, made))
               for i, q in enumerate(queries)]
    return screening.screen(session, records, threshold=threshold, jurisdictions=None, today=TODAY)


def figures(results, made: dict, queries: list[Query], threshold: float) -> dict:
    """Precision, recall and the pairs that went wrong, at ``threshold`` (results screened at
    a threshold no higher)."""
    key_of = {public_id: key for key, (_subject, public_id) in made.items()}
    tp = fp = fn = 0
    wrong = []
    for query, result in zip(queries, results):
        found = {key_of[m.public_id] for m in result.matches if m.score >= threshold}
        tp += len(found & query.expected)
        fp += len(found - query.expected)
        fn += len(query.expected - found)
        if found != query.expected:
            wrong.append((query.category, query.name or query.code, sorted(query.expected), sorted(found)))
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return {"threshold": threshold, "precision": precision, "recall": recall,
            "tp": tp, "fp": fp, "fn": fn, "wrong": wrong}


def table(results, made, queries, thresholds=THRESHOLDS) -> str:
    lines = ["| threshold | precision | recall | true pos. | false pos. | false neg. |",
             "|---|---|---|---|---|---|"]
    for t in thresholds:
        f = figures(results, made, queries, t)
        lines.append(f"| {t:.2f} | {f['precision']:.3f} | {f['recall']:.3f} | {f['tp']} | {f['fp']} | {f['fn']} |")
    return "\n".join(lines)
