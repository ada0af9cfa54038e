"""``flask --app wsgi grades backtest``: the grade distribution of the credit score (Zhengzhou §三).

Scores every subject the bureau holds a finding or a red-list admission of, on a day (today
unless ``--date``), and prints how many fall in each grade under the score → grade table in
force (or the profile's provisional one) and, with ``--table FILE.json``, under a candidate
table: run it before proposing a new table in the back office. Counts only; no names.

The candidate file is a JSON list of bands, ``[{"grade": "A", "min_score": 90}, …]`` (or an
object with that list under ``"bands"``). Exit status 1 when the bureau's rules define no
credit score, 2 for a wrong option or file.
"""
from __future__ import annotations

import json
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path

import click
from flask.cli import with_appcontext


@click.group("grades")
def grades_group() -> None:
    """Credit grades and the credit score (Zhengzhou §三)."""


def read_table(path: Path) -> tuple:
    """The bands of a candidate table file (``click.BadParameter`` when it is not one)."""
    from portal.rules import credit_score
    from portal.rules.profiles import ScoreBand

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise click.BadParameter(f"not a JSON file: {exc}", param_hint="--table") from None
    if isinstance(data, dict):
        data = data.get("bands")
    if not isinstance(data, list) or not all(isinstance(b, dict) for b in data):
        raise click.BadParameter('expected a list of {"grade": …, "min_score": …}',
                                 param_hint="--table")
    bands = []
    for item in data:
        grade, score = item.get("grade"), item.get("min_score")
        if isinstance(score, bool) or not isinstance(score, (int, float, str)):
            raise click.BadParameter(f"band {grade!r}: min_score is not a number",
                                     param_hint="--table")
        try:
            bands.append(ScoreBand(grade if isinstance(grade, str) else "", Decimal(str(score))))
        except InvalidOperation:
            raise click.BadParameter(f"band {grade!r}: min_score is not a number",
                                     param_hint="--table") from None
    problem = credit_score.band_problem(bands)
    if problem is not None:
        raise click.BadParameter(f"not a usable score table ({problem})", param_hint="--table")
    return credit_score.sorted_bands(bands)


def _bands(bands) -> str:
    return ", ".join(f"{b.grade}>={b.min_score}" for b in bands)


def _print(title: str, counts: dict[str, int], total: int) -> None:
    click.echo(title)
    click.echo(f"  {'grade':<10} {'subjects':>8} {'share':>7}")
    for grade, n in counts.items():
        share = f"{n / total:.1%}" if total else "-"
        click.echo(f"  {grade:<10} {n:>8} {share:>7}")


@grades_group.command("backtest")
@click.option("--jurisdiction", default=None,
              help="Code of the bureau (default: the portal's only one).")
@click.option("--table", "table_file", default=None,
              type=click.Path(dir_okay=False, path_type=Path),
              help="A candidate score → grade table (JSON) to compare with the one in force.")
@click.option("--date", "day", default=None, type=click.DateTime(formats=["%Y-%m-%d"]),
              help="Score on this day (default: today at the bureau).")
@with_appcontext
def backtest_command(jurisdiction: str | None, table_file: Path | None, day) -> None:
    """Print the grade distribution over the current data under the table in force and,
    with --table, under a candidate table."""
    from portal import clock
    from portal.extensions import db
    from portal.models import Jurisdiction
    from portal.services import credit_scores, jurisdictions, score_tables
    from portal.services.scope import scope_of

    code = jurisdiction or jurisdictions.only_code(db.session)
    if code is None:
        raise click.UsageError("the portal has several bureaus: name one with --jurisdiction")
    if db.session.get(Jurisdiction, code) is None:
        raise click.BadParameter(f"no bureau {code!r}", param_hint="--jurisdiction")
    candidate = read_table(table_file) if table_file is not None else None
    today = day.date() if day is not None else clock.today()
    try:
        result = credit_scores.backtest(db.session, code, today, scope_of(db.session, [code]),
                                        {"candidate": candidate} if candidate else None)
    except score_tables.ScoreTableError:
        click.echo(f"the rules of bureau {code} define no credit score", err=True)
        sys.exit(1)
    finally:
        db.session.rollback()
    click.echo(f"credit-score back-test: bureau {code}, {today.isoformat()}, "
               f"{result.subjects} subjects with a finding or a red-list admission")
    current = result.current
    _print(f"table in force: {current.version} ({_bands(current.bands)})",
           result.distributions["current"], result.subjects)
    if candidate:
        _print(f"candidate table {table_file.name} ({_bands(candidate)})",
               result.distributions["candidate"], result.subjects)
