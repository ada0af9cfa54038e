"""``make bench``'s publish-to-searchable step takes a case through the whole procedure with
staff of its own: the bench must keep working as the services grow their checks (it broke
silently once, when staff came to need membership of the case's bureau)."""
import importlib.util
import random
from pathlib import Path

import sqlalchemy as sa

from portal.models import Case, PublishedEntry
from portal.rules.workflow import CaseState

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "publish_to_search.py"


def _script():
    spec = importlib.util.spec_from_file_location("bench_publish_to_search", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_bench_publishes_a_case_on_a_data_set_without_staff(app, session):
    script = _script()
    name = script.publish_one(app, random.Random(7))
    again = script.publish_one(app, random.Random(8))        # reuses its staff
    assert session.scalar(sa.select(sa.func.count()).select_from(Case)
                          .where(Case.state == CaseState.PUBLISHED)) == 2
    names = set(session.execute(sa.select(PublishedEntry.name)).scalars())
    assert {name, again} <= names
