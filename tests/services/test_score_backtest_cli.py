"""``flask grades backtest``: the grade distribution of the credit score over the current data,
under the table in force and a candidate table (Zhengzhou §三 ¶1)."""
import json
from decimal import Decimal

import pytest

from portal.models import Role
from portal.rules.profiles import ScoreBand
from portal.services import jurisdictions, score_tables
from tests.factories import bureau_day, make_staff, make_subject
from tests.grades_support import TODAY, admitted, finding


@pytest.fixture
def zz(app, session, time_machine):
    bureau_day(time_machine, TODAY)
    jurisdictions.ensure_seeded(session, "zhengzhou")
    clean, general, serious = (make_subject(session) for _ in range(3))
    admitted(session, clean)                      # 112
    finding(session, general, "ZG1")              # 90
    finding(session, serious, "ZS4")              # 60
    finding(session, serious, "ZH1")              # 40
    session.commit()
    return app


def run(app, *args):
    return app.test_cli_runner().invoke(args=["grades", "backtest", *args])


def test_the_distribution_under_the_provisional_table(zz):
    result = run(zz, "--jurisdiction", "zhengzhou")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "bureau zhengzhou, 2026-10-12, 3 subjects" in out
    assert "table in force: provisional (A>=90, B>=75, C>=60, D>=0)" in out
    lines = [line.split() for line in out.splitlines()]
    assert ["A", "2", "66.7%"] in lines and ["B", "0", "0.0%"] in lines
    assert ["D", "1", "33.3%"] in lines
    assert "candidate" not in out


def test_a_candidate_table_beside_the_table_in_force(zz, session, tmp_path):
    row = score_tables.propose(session, make_staff(session, Role.REVIEWER), "zhengzhou",
                               (ScoreBand("A", Decimal(100)), ScoreBand("B", Decimal(0))),
                               "试行", TODAY)
    score_tables.approve(session, make_staff(session, Role.APPROVER), row, TODAY)
    session.commit()
    path = tmp_path / "table.json"
    path.write_text(json.dumps({"bands": [{"grade": "优", "min_score": 85},
                                          {"grade": "中", "min_score": "50"},
                                          {"grade": "差", "min_score": 0}]}), encoding="utf-8")
    result = run(zz, "--jurisdiction", "zhengzhou", "--table", str(path))
    assert result.exit_code == 0, result.output
    out = result.output
    assert f"table in force: {row.table_no} (A>=100, B>=0)" in out
    before, _sep, after = out.partition("candidate table table.json (优>=85, 中>=50, 差>=0)")
    assert after, out
    assert ["A", "1", "33.3%"] in [line.split() for line in before.splitlines()]
    after_lines = [line.split() for line in after.splitlines()]
    assert ["优", "2", "66.7%"] in after_lines and ["中", "0", "0.0%"] in after_lines
    assert ["差", "1", "33.3%"] in after_lines


def test_on_another_day_the_findings_have_faded(zz):
    result = run(zz, "--jurisdiction", "zhengzhou", "--date", "2030-01-01")
    assert result.exit_code == 0, result.output
    assert ["A", "3", "100.0%"] in [line.split() for line in result.output.splitlines()]


@pytest.mark.parametrize("content, message", [
    ("not json", "not a JSON file"),
    ('{"grade": "A"}', "expected a list"),
    ('[{"grade": "A", "min_score": 90}]', "too_few"),
    ('[{"grade": "A", "min_score": true}, {"grade": "B", "min_score": 0}]', "not a number"),
    ('[{"grade": "A", "min_score": "x"}, {"grade": "B", "min_score": 0}]', "not a number"),
    ('[{"grade": "A", "min_score": 9}, {"grade": "A", "min_score": 0}]', "duplicate_grade"),
])
def test_a_bad_candidate_file_is_refused(zz, tmp_path, content, message):
    path = tmp_path / "t.json"
    path.write_text(content, encoding="utf-8")
    result = run(zz, "--jurisdiction", "zhengzhou", "--table", str(path))
    assert result.exit_code == 2 and message in result.output


def test_a_bureau_without_a_score_or_unknown_or_unnamed(zz):
    result = run(zz, "--jurisdiction", "jiamusi")
    assert result.exit_code == 1 and "define no credit score" in result.output
    assert run(zz, "--jurisdiction", "nowhere").exit_code == 2
    unnamed = run(zz)                                   # two bureaus now: name one
    assert unnamed.exit_code == 2 and "--jurisdiction" in unnamed.output
