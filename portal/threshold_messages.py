"""The refusal of a case below its ground's threshold, in the words the party reads.

"第五条第（三）项要求金额超过1万元；本案金额为5,000元。" — one wording for the case
form, the integration API and the report import (``portal.rules.thresholds``
decides; this module only words the decision).
"""
from __future__ import annotations

from decimal import Decimal

from flask_babel import get_locale
from flask_babel import gettext as _

from portal.rules.profiles import Threshold
from portal.rules.thresholds import Shortfall


def _english() -> bool:
    locale = get_locale()
    return locale is not None and str(locale).lower().startswith("en")


def _number(value: Decimal) -> str:
    value = Decimal(value)
    text = f"{value:,.2f}"
    return text[:-3] if text.endswith(".00") else text


def money(value: Decimal) -> str:
    """"1万元" / "5,000元" in Chinese, "¥10,000" in English."""
    value = Decimal(value)
    if _english():
        return f"¥{_number(value)}"
    if value >= 10000 and value % 10000 == 0:
        return f"{_number(value / 10000)}万元"
    return f"{_number(value)}元"


def _count(value: Decimal) -> str:
    return _number(Decimal(value))


def _requirement(figure: str, value: Decimal, inclusive: bool, at_most: bool = False) -> str:
    if at_most:
        if figure == "amount":
            return _("an amount of at most %(amount)s", amount=money(value))
        if figure == "months":
            return _("at most %(num)s months", num=_count(value))
        return _("at most %(num)s person-times", num=_count(value))
    if figure == "amount":
        return (_("an amount of %(amount)s or more", amount=money(value)) if inclusive
                else _("an amount over %(amount)s", amount=money(value)))
    if figure == "months":
        return (_("%(num)s months or more", num=_count(value)) if inclusive
                else _("more than %(num)s months", num=_count(value)))
    return (_("%(num)s person-times or more", num=_count(value)) if inclusive
            else _("more than %(num)s person-times", num=_count(value)))


def _actual(figure: str, value: Decimal | None) -> str:
    if figure == "amount":
        return (_("no amount is given") if value is None
                else _("the amount is %(amount)s", amount=money(value)))
    if figure == "months":
        return (_("no number of months is given") if value is None
                else _("the period is %(num)s months", num=_count(value)))
    return (_("no number of person-times is given") if value is None
            else _("the count is %(num)s person-times", num=_count(value)))


def requirement(th: Threshold) -> str:
    """What a threshold requires: "金额超过1万元（或虽未达到1万元但经责令退回仍拒不退回）"."""
    lang = "en" if _english() else "zh"
    joiner = _(" or ") if th.combine == "any" else _(" and ")
    text = joiner.join(_requirement(lim.figure, lim.value, lim.inclusive, lim.at_most)
                       for lim in th.limits)
    if th.alternative is not None:
        text = _("%(requirement)s (or: %(alternative)s)", requirement=text,
                 alternative=th.alternative.get(lang))
    return text


def refusal(short: Shortfall) -> str:
    """The message that cites the threshold and the case's own figures."""
    th = short.threshold
    lang = "en" if _english() else "zh"
    requirement_text = requirement(th)
    figures = dict.fromkeys(lim.figure for lim in th.limits)       # each figure once
    actual = _(", ").join(_actual(f, short.figures.value(f)) for f in figures)
    return _("%(clause)s requires %(requirement)s; in this case %(actual)s.",
             clause=th.clause.get(lang), requirement=requirement_text, actual=actual)
