"""The figures a ground requires (Jiamusi art. 5, Zhengzhou §四(三)2) as one pure check.

A ground's ``threshold`` (``portal.rules.profiles.Threshold``) names limits on
the case's figures — the amount in yuan, the months, the person-times (人次) —
and whether one of them is enough (``any``) or all are needed (``all``).
"超过" is *more than* (the number itself is not enough); "以上" is *at least*
(Civil Code art. 1259: 以上 includes the number).

:func:`shortfall` is the one check: the case form, the integration API intake,
the report import and ``services.cases.open_case`` all ask it. It returns
``None`` when the figures satisfy the ground, otherwise a :class:`Shortfall`
that says which limits were not reached and which figures were missing, so that
the message can cite the threshold and the case's own figures.

No Flask, no SQLAlchemy.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from portal.rules.profiles import Ground, Limit, Threshold


@dataclass(frozen=True)
class Figures:
    """What a case says about its size; ``None``: not given."""

    amount: Decimal | None = None
    months: int | None = None
    person_times: int | None = None
    alternative_met: bool = False   # the ground's alternative circumstance was established

    def value(self, figure: str) -> Decimal | None:
        v = getattr(self, figure)
        return None if v is None else Decimal(v)


@dataclass(frozen=True)
class Shortfall:
    """Why a case's figures do not satisfy its ground."""

    ground: str
    threshold: Threshold
    figures: Figures
    missing: tuple[str, ...]    # figures the threshold needs that the case does not give


def reached(limit: Limit, value: Decimal | None) -> bool:
    if value is None:
        return False
    if limit.at_most:
        return value <= limit.value
    return value >= limit.value if limit.inclusive else value > limit.value


def shortfall(ground: Ground, figures: Figures) -> Shortfall | None:
    """``None`` if ``figures`` satisfy ``ground``'s threshold (or it has none).

    ``ground``: a listing ground, or anything else with a ``code`` and a ``threshold``
    (a behaviour of the grade catalogue, Zhengzhou's arrears by years)."""
    threshold = ground.threshold
    if threshold is None:
        return None
    hits = [reached(lim, figures.value(lim.figure)) for lim in threshold.limits]
    if (any(hits) if threshold.combine == "any" else all(hits)):
        return None
    if threshold.alternative is not None and figures.alternative_met:
        return None
    missing = tuple(dict.fromkeys(lim.figure for lim in threshold.limits
                                  if figures.value(lim.figure) is None))
    return Shortfall(ground.code, threshold, figures, missing)


def figures_needed(ground: Ground) -> tuple[str, ...]:
    """The figures ``ground``'s threshold looks at (empty: none)."""
    return tuple(lim.figure for lim in ground.threshold.limits) if ground.threshold else ()



def least_figures(threshold: Threshold | None) -> Figures:
    """The smallest figures that reach every limit of ``threshold`` (e.g. for demo data)."""
    if threshold is None:
        return Figures()
    values: dict[str, Decimal] = {}
    for lim in threshold.limits:
        if not lim.at_most:
            step = Decimal("0.01") if lim.figure == "amount" else Decimal(1)
            low = lim.value if lim.inclusive else lim.value + step
            values[lim.figure] = max(low, values.get(lim.figure, low))
    for lim in threshold.limits:
        if lim.at_most:
            values.setdefault(lim.figure, lim.value)
    return Figures(amount=values.get("amount"),
                   months=int(values["months"]) if "months" in values else None,
                   person_times=int(values["person_times"]) if "person_times" in values else None)
