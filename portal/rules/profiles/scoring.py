"""The credit score model of a profile (``[score]``, Zhengzhou §三 ¶1): reading and checking it,
and what makes a score → grade table usable (the provisional one of the profile and those the
bureau proposes in the back office). See :class:`ScoreModel` and ``portal.rules.credit_score``."""
from __future__ import annotations

import re
from decimal import Decimal
from types import MappingProxyType

from portal.rules.profiles.model import (
    COMPLAINT_OUTCOMES,
    DECAYS,
    SEVERITIES,
    GradingRule,
    Profile,
    ScoreBand,
    ScoreModel,
)
from portal.rules.profiles.tables import Table

#: Bounds of a score → grade table (the provisional one and those the bureau proposes).
MIN_BANDS, MAX_BANDS, SCORE_LIMIT = 2, 10, Decimal(1000)
_BAND_GRADE = re.compile(r"[^\s<>&\"']{1,10}")


def band_problem(bands: tuple[ScoreBand, ...] | list[ScoreBand]) -> str | None:
    """Why ``bands`` is not a usable score → grade table (None: it is): ``too_few`` /
    ``too_many`` bands, a ``grade`` code that is empty, longer than 10 characters or has
    spaces, a ``score`` that is not a number within ±1000, a ``duplicate_grade`` or a
    ``duplicate_score``. A score below the lowest band's minimum gets the lowest band."""
    bands = list(bands)
    if len(bands) < MIN_BANDS:
        return "too_few"
    if len(bands) > MAX_BANDS:
        return "too_many"
    for band in bands:
        if not isinstance(band.grade, str) or not _BAND_GRADE.fullmatch(band.grade) \
                or not band.grade.isprintable():
            return "grade"
        if not isinstance(band.min_score, Decimal) or not band.min_score.is_finite() \
                or abs(band.min_score) > SCORE_LIMIT:
            return "score"
    if len({b.grade for b in bands}) != len(bands):
        return "duplicate_grade"
    if len({b.min_score for b in bands}) != len(bands):
        return "duplicate_score"
    return None


def sorted_bands(bands) -> tuple[ScoreBand, ...]:
    """Highest band first."""
    return tuple(sorted(bands, key=lambda b: b.min_score, reverse=True))


def _number(t: Table, k: str, required: bool = True) -> Decimal | None:
    v = t.raw(k, required)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise t.error(k, "expected a number")
    found = Decimal(str(v))
    if not found.is_finite():
        raise t.error(k, "expected a finite number")
    return found


def _points(t: Table, k: str, allowed: tuple[str, ...] | None = None) -> MappingProxyType:
    """``{ code = points, … }``: a number per key (``allowed``: the keys it may name)."""
    table = t.table(k, required=False)
    out: dict[str, Decimal] = {}
    if table is None:
        return MappingProxyType(out)
    for key in list(table.data):
        if allowed is not None and key not in allowed:
            raise table.error(key, f"{key!r} is not one of {', '.join(allowed)}")
        out[key] = _number(table, key)
    table.close()
    return MappingProxyType(out)


def read_score(t: Table | None, grading: GradingRule | None) -> ScoreModel | None:
    """``[score]``: the credit score model and its provisional score → grade table
    (see :class:`ScoreModel`); it fades findings over the grading rule's periods."""
    if t is None:
        return None
    if grading is None:
        raise t.error("base", "a score needs the [grading] periods a finding counts for")
    table_t = t.table("provisional_table")
    bands = []
    for row in table_t.tables("bands", required=True):
        bands.append(ScoreBand(row.str("grade"), _number(row, "min_score")))
        row.close()
    problem = band_problem(bands)
    if problem is not None:
        raise table_t.error("bands", f"not a usable score table ({problem})")
    table_source = table_t.source()
    table_t.close()
    model = ScoreModel(
        base=_number(t, "base"),
        grade_points=_points(t, "grade_points", SEVERITIES),
        behaviour_points=_points(t, "behaviour_points"),
        criterion_points=_points(t, "criterion_points"),
        complaint_points=_points(t, "complaint_points", COMPLAINT_OUTCOMES),
        decay=t.choice("decay", DECAYS),
        periods=grading.finding_periods,
        provisional_table=sorted_bands(bands),
        source=t.source(),
        table_source=table_source,
        floor=_number(t, "floor", required=False),
        ceiling=_number(t, "ceiling", required=False),
    )
    if model.floor is not None and model.ceiling is not None and model.floor >= model.ceiling:
        raise t.error("ceiling", "not above the floor")
    t.close()
    return model


def check_score(root: Table, p: Profile) -> None:
    """Every grade a finding can have has points; overrides name the catalogue's codes."""
    s = p.score
    if s is None:
        return
    for grade in p.grading.finding_periods:
        if grade not in s.grade_points:
            raise root.error("score.grade_points", f"no points for grade {grade!r}")
    codes = {b.code for b in p.behaviours} | {g.code for g in p.grounds if "person" in g.subject_kinds}
    for code in s.behaviour_points:
        if code not in codes:
            raise root.error(f"score.behaviour_points.{code}", "not a behaviour of the catalogue")
    criteria = {c.code for c in p.red_list_criteria}
    for code in s.criterion_points:
        if code not in criteria:
            raise root.error(f"score.criterion_points.{code}", "not a red-list criterion")
