"""Parse and validate profile TOML files into :mod:`portal.rules.profiles.model` objects."""
from __future__ import annotations

import re
import tomllib
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType

from portal.rules.profiles.model import (
    BEHAVIOUR_SUBJECTS,
    BEHAVIOUR_UNITS,
    DEADLINE_KEYS,
    FIGURES,
    SEVERITIES,
    SUBJECT_KINDS,
    Behaviour,
    Criterion,
    GradingRule,
    Ground,
    Limit,
    Measure,
    Period,
    Profile,
    ProfileError,
    RepairRule,
    RepeatRule,
    ReportRule,
    Threshold,
    UnknownProfile,
)
from portal.rules.profiles.scoring import check_score as _check_score
from portal.rules.profiles.scoring import read_score as _score
from portal.rules.profiles.tables import Table as _Table
from portal.rules.public_text import internal_markers


def _period(t: _Table) -> Period:
    return t.as_period()


def _code(t: _Table, k: str = "code") -> str:
    v = t.str(k)
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]*", v):
        raise t.error(k, f"invalid code {v!r}")
    return v


def _unique(t: _Table, k: str, codes: list[str]) -> None:
    seen: set[str] = set()
    for c in codes:
        if c in seen:
            raise t.error(k, f"duplicate code {c!r}")
        seen.add(c)


def _threshold(t: _Table | None) -> Threshold | None:
    """``[grounds.threshold]``: ``<figure>_over`` (超过) / ``<figure>_at_least`` (以上) limits,
    how they combine, the clause cited to the party, an optional alternative, the source."""
    if t is None:
        return None
    limits = []
    for figure in FIGURES:
        for suffix, inclusive, at_most in (("_over", False, False), ("_at_least", True, False),
                                           ("_at_most", True, True)):
            value = t.raw(figure + suffix, required=False)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise t.error(figure + suffix, "expected a positive number")
            if figure != "amount" and not isinstance(value, int):
                raise t.error(figure + suffix, "expected a whole number")
            limits.append(Limit(figure, Decimal(str(value)), inclusive, at_most))
    if not limits:
        raise t.error("amount_over", "a threshold names at least one limit")
    if len({(lim.figure, lim.at_most) for lim in limits}) != len(limits):
        raise t.error("amount_over", "one lower and one upper limit per figure")
    th = Threshold(limits=tuple(limits), combine=t.choice("combine", ("any", "all")),
                   clause=t.text("clause"), source=t.source(),
                   alternative=t.text("alternative", required=False))
    t.close()
    return th


def _ground(t: _Table) -> Ground:
    g = Ground(
        code=_code(t),
        article=t.str("article"),
        text=t.text("text"),
        legal_basis=t.text("legal_basis"),
        term=t.period("term"),
        rectifiable=t.bool("rectifiable"),
        severity=t.choice("severity", SEVERITIES),
        subject_kinds=t.choices("subject_kinds", SUBJECT_KINDS),
        public=t.bool("public"),
        source=t.source(),
        threshold=_threshold(t.table("threshold", required=False)),
    )
    if not g.subject_kinds:
        raise t.error("subject_kinds", "at least one subject kind")
    if g.term.unit == "working_days" or g.term.amount <= 0:
        raise t.error("term", "a listing term is a positive number of days, months or years")
    t.close()
    return g


def _measure(t: _Table) -> Measure:
    m = Measure(
        code=_code(t),
        text=t.text("text"),
        implementing_units=t.text("implementing_units"),
        legal_basis=t.text("legal_basis"),
        source=t.source(),
        severities=t.choices("severities", SEVERITIES, required=False),
        subject_kinds=t.choices("subject_kinds", SUBJECT_KINDS),
    )
    if not m.subject_kinds:
        raise t.error("subject_kinds", "at least one subject kind")
    t.close()
    return m


def _criterion(t: _Table) -> Criterion:
    c = Criterion(code=_code(t), text=t.text("text"), source=t.source(),
                  subjects=t.choices("subjects", BEHAVIOUR_SUBJECTS, required=False))
    t.close()
    return c


def _grading(t: _Table) -> GradingRule:
    """``[grading]``: how long a finding counts per grade, the false-complaint ground, and
    an optional red-list validity (see :class:`GradingRule`)."""
    fp = t.table("finding_periods")
    periods: dict[str, Period] = {}
    for grade in list(fp.data):
        if grade not in SEVERITIES:
            raise fp.error(grade, f"{grade!r} is not one of {', '.join(SEVERITIES)}")
        period = fp.period(grade)
        if period.unit == "working_days" or period.amount <= 0:
            raise fp.error(grade, "a finding counts for a positive number of days, months or years")
        periods[grade] = period
    fp.close()
    validity = t.period("red_list_validity", required=False)
    if validity is not None and (validity.unit == "working_days" or validity.amount <= 0):
        raise t.error("red_list_validity", "a positive number of days, months or years")
    g = GradingRule(finding_periods=MappingProxyType(periods), source=t.source(),
                    false_complaint_ground=t.str("false_complaint_ground", required=False),
                    red_list_validity=validity)
    t.close()
    return g


def _behaviour(t: _Table) -> Behaviour:
    b = Behaviour(
        code=_code(t),
        grade=t.choice("grade", SEVERITIES),
        text=t.text("text"),
        units=t.choices("units", BEHAVIOUR_UNITS),
        source=t.source(),
        threshold=_threshold(t.table("threshold", required=False)),
    )
    if not b.units:
        raise t.error("units", "at least one kind of unit")
    if "person" in b.units and len(b.units) > 1:
        raise t.error("units", "a behaviour is either a person's or a unit's")
    t.close()
    return b


def _repair(t: _Table) -> RepairRule:
    mp = t.table("min_period", required=False)
    min_period: dict[str, Period] = {}
    if mp is not None:
        for sev in list(mp.data):
            if sev not in SEVERITIES:
                raise mp.error(sev, f"{sev!r} is not one of {', '.join(SEVERITIES)}")
            min_period[sev] = mp.period(sev)
        mp.close()
    r = RepairRule(
        allowed=t.bool("allowed"),
        commitment_required=t.bool("commitment_required"),
        min_period=MappingProxyType(min_period),
        check=t.period("check"),
        source=t.source(),
        opens_after_rectification_window=t.bool("opens_after_rectification_window", required=False),
        stops_publication=t.bool("stops_publication", required=False),
        free=t.bool("free", required=False, default=True),
        certificate=t.bool("certificate", required=False),
        conditions=t.texts("conditions"),
    )
    t.close()
    return r


def _repeat(t: _Table) -> RepeatRule:
    r = RepeatRule(term=t.period("term", required=False), source=t.source())
    t.close()
    return r


def _report(t: _Table) -> ReportRule:
    r = ReportRule(
        frequency=t.choice("frequency", ("monthly", "quarterly")),
        due=t.period("due", required=False),
        due_day_of_month=t.int("due_day_of_month", required=False, minimum=1, maximum=31),
        fields=t.texts("fields"),
        source=t.source(),
        fields_source=t.source("fields_source") if t.raw("fields_source", False) is not None else None,
        recipient=t.text("recipient", required=False),
        forward_due=t.period("forward_due", required=False),
        forward_day_of_month=t.int("forward_day_of_month", required=False, minimum=1, maximum=31),
        forward_recipient=t.text("forward_recipient", required=False),
    )
    t.close()
    return r


def _removal_notice_period(t: _Table | None) -> Period | None:
    """``[publication] removal_notice_period``: how long removal notices stay published."""
    if t is None:
        return None
    period = t.period("removal_notice_period")
    if period.unit == "working_days" or period.amount <= 0:
        raise t.error("removal_notice_period", "a positive number of days, months or years")
    t.close()
    return period


def parse_profile(path: str | Path) -> Profile:
    """Parse and validate one profile file (no caching)."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"{path}: not valid TOML: {exc}") from exc
    except OSError as exc:
        raise ProfileError(f"{path}: cannot read: {exc}") from exc
    root = _Table(path, data, "")

    code = root.str("code")
    if not re.fullmatch(r"[a-z][a-z0-9_]*", code):
        raise root.error("code", f"invalid profile code {code!r}")
    seed = root.str("seed", required=False)
    if seed is not None and not re.fullmatch(r"\d{3}", seed):
        raise root.error("seed", f"expected a three-digit seed number, got {seed!r}")

    dl = root.table("deadlines")
    deadlines: dict[str, Period] = {}
    for name in DEADLINE_KEYS:
        deadlines[name] = dl.period(name)
    dl.close()

    grounds_t = root.tables("grounds", required=True)
    grounds = tuple(_ground(g) for g in grounds_t)
    if not grounds:
        raise root.error("grounds", "a profile needs at least one ground")
    _unique(root, "grounds", [g.code for g in grounds])

    measures = tuple(_measure(m) for m in root.tables("measures"))
    _unique(root, "measures", [m.code for m in measures])
    criteria = tuple(_criterion(c) for c in root.tables("red_list_criteria"))
    _unique(root, "red_list_criteria", [c.code for c in criteria])
    behaviours = tuple(_behaviour(b) for b in root.tables("behaviours"))
    _unique(root, "behaviours", [b.code for b in behaviours])

    sources_t = root.table("sources", required=False)
    sources: dict[str, str] = {}
    if sources_t is not None:
        for k in list(sources_t.data):
            sources[k] = sources_t.source(k)
        sources_t.close()

    report_t = root.table("report", required=False)
    grading_t = root.table("grading", required=False)
    publication_t = root.table("publication", required=False)
    grading = _grading(grading_t) if grading_t is not None else None
    profile = Profile(
        code=code,
        name=root.text("name"),
        authority=root.text("authority"),
        document=root.text("document"),
        seed=seed,
        valid_from=root.date("valid_from"),
        valid_until=root.date("valid_until"),
        national_overlay=root.bool("national_overlay"),
        publish_individuals=root.bool("publish_individuals"),
        public_severities=root.choices("public_severities", SEVERITIES),
        deadlines=MappingProxyType(deadlines),
        supplement_pauses_clock=root.bool("supplement_pauses_clock"),
        grounds=grounds,
        measures=measures,
        channels=root.texts("channels"),
        repair=_repair(root.table("repair")),
        repeat=_repeat(root.table("repeat")),
        report=_report(report_t) if report_t is not None else None,
        red_list_criteria=criteria,
        red_list_incentives=root.texts("red_list_incentives"),
        behaviours=behaviours,
        removal_channels=root.texts("removal_channels"),
        sharing_platforms=root.texts("sharing_platforms"),
        sources=MappingProxyType(sources),
        interpretations=root.texts("interpretations"),
        scope=root.text("scope", required=False),
        grading=grading,
        removal_notice_period=_removal_notice_period(publication_t),
        score=_score(root.table("score", required=False), grading),
    )
    root.close()
    _check_consistency(root, profile)
    return profile


def _check_consistency(root: _Table, p: Profile) -> None:
    if p.valid_from and p.valid_until and p.valid_from > p.valid_until:
        raise root.error("valid_until", "before valid_from")
    for i, g in enumerate(p.grounds):
        if g.public and g.severity not in p.public_severities:
            raise root.error(f"grounds[{i}].public",
                             f"ground {g.code} is public but severity {g.severity!r} is not in public_severities")
        if p.national_overlay and p.repair.allowed and g.severity not in p.repair.min_period:
            raise root.error("repair.min_period",
                             f"overlay profile lacks a minimum repair period for {g.severity!r} (ground {g.code})")
    for name in ("publication", "sharing", "objection_decision", "objection_marker",
                 "rectification_check", "repair_check", "complaint_decision", "defence_window",
                 "supplement_reply"):
        if p.deadlines[name].amount <= 0:
            raise root.error(f"deadlines.{name}.amount", "must be positive")
    if p.repeat.term is not None and p.repeat.term.unit == "working_days":
        raise root.error("repeat.term.unit", "a listing term is days, months or years")
    _check_grading(root, p)
    _check_score(root, p)
    _check_public_text(root, p)
    if "supplement_pauses_clock" not in p.sources:
        raise root.error("sources.supplement_pauses_clock", "missing required key")


def public_texts(p: Profile):
    """(key, Text) of every field that pages, exports, the API or the letters show."""
    yield from (("name", p.name), ("authority", p.authority), ("document", p.document))
    if p.scope is not None:
        yield "scope", p.scope
    for i, g in enumerate(p.grounds):
        yield from ((f"grounds[{i}].text", g.text), (f"grounds[{i}].legal_basis", g.legal_basis))
        if g.threshold is not None:                  # quoted to the party in a refusal
            yield f"grounds[{i}].threshold.clause", g.threshold.clause
            if g.threshold.alternative is not None:
                yield f"grounds[{i}].threshold.alternative", g.threshold.alternative
    for i, m in enumerate(p.measures):
        for name in ("text", "implementing_units", "legal_basis"):
            yield f"measures[{i}].{name}", getattr(m, name)
    for name in ("channels", "removal_channels", "sharing_platforms", "red_list_incentives"):
        yield from ((f"{name}[{i}]", t) for i, t in enumerate(getattr(p, name)))
    yield from ((f"repair.conditions[{i}]", t) for i, t in enumerate(p.repair.conditions))
    yield from ((f"red_list_criteria[{i}].text", c.text) for i, c in enumerate(p.red_list_criteria))
    yield from ((f"behaviours[{i}].text", b.text) for i, b in enumerate(p.behaviours))
    if p.report is not None:
        yield from ((f"report.fields[{i}]", t) for i, t in enumerate(p.report.fields))
        for name in ("recipient", "forward_recipient"):
            if getattr(p.report, name) is not None:
                yield f"report.{name}", getattr(p.report, name)


def _check_public_text(root: _Table, p: Profile) -> None:
    """Public wording carries no internal note: notes belong in ``source`` (portal.rules.public_text)."""
    for key, text in public_texts(p):
        for lang in ("zh", "en"):
            found = internal_markers(getattr(text, lang))
            if found:
                label, context = found[0]
                raise root.error(f"{key}.{lang}", f"{label} in public text ({context!r}); "
                                                  "internal notes belong in 'source'")


def _check_grading(root: _Table, p: Profile) -> None:
    g = p.grading
    if g is None:
        return
    for b in p.behaviours:
        if b.grade not in g.finding_periods:
            raise root.error("grading.finding_periods", f"no period for grade {b.grade!r} (behaviour {b.code})")
    if g.false_complaint_ground is not None:
        ground = next((x for x in p.grounds if x.code == g.false_complaint_ground), None)
        if ground is None or "person" not in ground.subject_kinds:
            raise root.error("grading.false_complaint_ground",
                             f"{g.false_complaint_ground!r} is not a ground for persons")
        if ground.severity not in g.finding_periods:
            raise root.error("grading.finding_periods", f"no period for grade {ground.severity!r}")


# --------------------------------------------------------------------------
# The shipped profiles
# --------------------------------------------------------------------------

PROFILE_DIR = Path(__file__).resolve().parent


@lru_cache(maxsize=None)
def load_profile(code: str) -> Profile:
    """The validated profile ``code`` (cached; raises UnknownProfile / ProfileError)."""
    if not isinstance(code, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", code):
        raise UnknownProfile(code)
    path = PROFILE_DIR / f"{code}.toml"
    if not path.is_file():
        raise UnknownProfile(code)
    profile = parse_profile(path)
    if profile.code != code:
        raise ProfileError(f"{path}: code: {profile.code!r} does not match the file name")
    return profile


def available_profiles() -> tuple[str, ...]:
    """Codes of the shipped profiles, sorted."""
    return tuple(sorted(p.stem for p in PROFILE_DIR.glob("*.toml")))
