"""Precision and recall of batch screening on the labelled set, at the default threshold.

Run with ``-s`` to see the table at several thresholds (README "Batch screening — matching")::

    PORTAL_TEST_BACKENDS=sqlite .venv/bin/python -m pytest tests/screening -s -q
"""
import pytest

from portal.services import screening
from tests.screening import evaluation

#: Floors asserted at the default threshold (measured: precision 0.992, recall 0.992 — one false
#: positive, one false negative), so a regression fails.
PRECISION_FLOOR = 0.98
RECALL_FLOOR = 0.98


@pytest.fixture
def labelled(app, session, backend):
    if backend != "sqlite":
        pytest.skip("the scoring does not depend on the database: measured once, on SQLite")
    made = evaluation.publish_list(app, session)
    queries = evaluation.load_queries()
    results = evaluation.run(session, made, queries, screening.MIN_THRESHOLD)
    return made, queries, results


def test_the_set_is_large_and_covers_every_kind_of_query():
    queries = evaluation.load_queries()
    categories = {q.category for q in queries}
    assert len(queries) >= 150
    assert {"typo", "pinyin", "legal_form", "traditional", "full_width", "near_miss",
            "not_published", "code", "place", "person_near_miss"} <= categories
    keys = {row["key"] for row in evaluation.load_entries()}
    assert all(q.expected <= keys for q in queries)


def test_precision_and_recall_at_the_default_threshold(labelled):
    made, queries, results = labelled
    print()
    print(evaluation.table(results, made, queries))
    at_default = evaluation.figures(results, made, queries, screening.DEFAULT_THRESHOLD)
    print(f"default threshold {screening.DEFAULT_THRESHOLD}: precision {at_default['precision']:.3f}, "
          f"recall {at_default['recall']:.3f}")
    for wrong in at_default["wrong"]:
        print("  differs:", wrong)
    assert at_default["precision"] >= PRECISION_FLOOR, at_default["wrong"]
    assert at_default["recall"] >= RECALL_FLOOR, at_default["wrong"]


def test_persons_not_published_never_match_by_name_at_any_threshold(labelled):
    made, queries, results = labelled
    hidden = {made[k][1] for k in ("Q01", "Q02")}
    for query, result in zip(queries, results):
        for match in result.matches:
            if match.public_id in hidden:
                assert match.how == "code" and query.code.startswith("ric:Q")
