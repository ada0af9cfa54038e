"""Profile data model: frozen dataclasses, constants and errors (no parsing here)."""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Literal

Severity = Literal["light", "general", "heavy", "serious"]  # 轻微 / 一般 / 较重 / 严重
SubjectKind = Literal["organisation", "person"]
Unit = Literal["working_days", "days", "months", "years"]

SEVERITIES: tuple[str, ...] = ("light", "general", "heavy", "serious")
SUBJECT_KINDS: tuple[str, ...] = ("organisation", "person")
SUBJECT_KINDS_ALL: frozenset[str] = frozenset(SUBJECT_KINDS)
BEHAVIOUR_SUBJECTS: tuple[str, ...] = ("employer", "medical_institution", "person")
#: Kinds of unit an organisation is (Zhengzhou §一(五), §二: 协议管理医疗机构、协议管理零售药店).
UNIT_KINDS: tuple[str, ...] = ("employer", "medical_institution", "pharmacy")
#: What a catalogue behaviour may apply to: the kinds of unit, or a person.
BEHAVIOUR_UNITS: tuple[str, ...] = (*UNIT_KINDS, "person")
UNITS: tuple[str, ...] = ("working_days", "days", "months", "years")
#: The figures of a case a ground's threshold may name: yuan, months, person-times (人次).
FIGURES: tuple[str, ...] = ("amount", "months", "person_times")
DEADLINE_KEYS: tuple[str, ...] = (
    "defence_window",        # 陈述申辩期限 (party)
    "publication",           # 公示 on the portal after the decision (bureau)
    "sharing",               # upload to the credit-sharing platform (bureau)
    "objection_decision",    # 异议 decided (bureau)
    "objection_marker",      # "under objection" marker shown (bureau)
    "rectification_window",  # 整改 period (party)
    "rectification_check",   # 整改 checked (bureau)
    "repair_check",          # 信用修复 checked (bureau)
    "complaint_decision",    # 投诉举报 handled (bureau)
    "supplement_reply",      # 补正 reply (party)
    "reconsideration",       # 行政复议 application (party)
    "litigation",            # 行政诉讼 (party)
)
#: The profile whose report fields serve a profile that prescribes none (Chizhou reports
#: monthly without fields; Jiamusi, Fuzhou and the national profile have no report):
#: Shanghai art. 7 is the only field list the seeds give for a monthly report (SPEC §4 step 8).
REPORT_FIELDS_PROFILE = "shanghai"
# A source names a seed ("000".."004" + article), the national overlay, a
# statute, the SPEC default, or a bureau setting.
SOURCE_PATTERN = re.compile(r"^(00[0-4] \S|national: \S|law: \S|SPEC §\d|bureau setting)")

_LABELS_ZH = {"light": "轻微", "general": "一般", "heavy": "较重", "serious": "严重"}
_LABELS_EN = {"light": "light", "general": "general", "heavy": "heavy", "serious": "serious"}
_UNIT_ZH = {"working_days": "个工作日", "days": "日", "months": "个月", "years": "年"}
_UNIT_EN = {"working_days": "working day", "days": "day", "months": "month", "years": "year"}


class UnknownProfile(KeyError):
    """No profile file of that code."""


class UnknownGround(KeyError):
    """The profile has no ground of that code."""


class ProfileError(ValueError):
    """A profile file is malformed; the message names the file and the key."""


# --------------------------------------------------------------------------
# Dataclasses
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class Text:
    """Chinese text first, with its English translation."""

    zh: str
    en: str

    def get(self, locale: Any) -> str:
        """English for any ``en*`` locale, Chinese otherwise."""
        return self.en if locale is not None and str(locale).lower().startswith("en") else self.zh

    def __str__(self) -> str:
        return self.zh


SEVERITY_LABELS: Mapping[str, Text] = MappingProxyType(
    {s: Text(_LABELS_ZH[s], _LABELS_EN[s]) for s in SEVERITIES}
)


@dataclass(frozen=True)
class Period:
    amount: int
    unit: Unit
    source: str

    def label(self) -> Text:
        """"7个工作日" / "7 working days"."""
        en = _UNIT_EN[self.unit] + ("" if self.amount == 1 else "s")
        return Text(f"{self.amount}{_UNIT_ZH[self.unit]}", f"{self.amount} {en}")

    def same_length(self, other: "Period") -> bool:
        return (self.amount, self.unit) == (other.amount, other.unit)


@dataclass(frozen=True)
class Limit:
    """One figure a case must reach: ``more than`` (超过) or, ``inclusive``, ``at least`` (以上)."""

    figure: str          # one of FIGURES
    value: Decimal
    inclusive: bool
    at_most: bool = False  # an upper limit: at most (以下 / 以内, the number included)


@dataclass(frozen=True)
class Threshold:
    """The figures a ground requires (Jiamusi art. 5: "超过20人次或从中牟利超过2万元").

    ``combine``: ``any`` (one limit reached is enough) or ``all``; ``clause``: the
    provision as the public and the parties read it ("第五条第（三）项"); ``alternative``:
    a circumstance that satisfies the ground although no limit is reached (art. 5(三):
    "虽未达到1万元但经责令退回仍拒不退回").
    """

    limits: tuple[Limit, ...]
    combine: Literal["any", "all"]
    clause: Text
    source: str
    alternative: Text | None = None


@dataclass(frozen=True)
class Ground:
    code: str
    article: str
    text: Text
    legal_basis: Text
    term: Period
    rectifiable: bool
    severity: Severity
    subject_kinds: frozenset[str]
    public: bool
    source: str
    threshold: Threshold | None = None


@dataclass(frozen=True)
class Measure:
    code: str
    text: Text
    implementing_units: Text
    legal_basis: Text
    source: str
    severities: frozenset[str] = frozenset()  # empty = applies to every severity
    subject_kinds: frozenset[str] = SUBJECT_KINDS_ALL  # the listed subjects it applies to

    def applies_to(self, severity: str, subject_kind: str) -> bool:
        return ((not self.severities or severity in self.severities)
                and subject_kind in self.subject_kinds)


@dataclass(frozen=True)
class Criterion:
    code: str
    text: Text
    source: str
    subjects: frozenset[str] = frozenset()  # behaviour subjects it applies to (empty = every unit)

    def applies_to(self, unit_type: str) -> bool:
        return not self.subjects or unit_type in self.subjects


@dataclass(frozen=True)
class Behaviour:
    code: str
    grade: Severity
    text: Text
    units: frozenset[str]  # the kinds of unit (or "person") it may be found against
    source: str
    threshold: Threshold | None = None   # figures a finding must give (Zhengzhou arrears)

    @property
    def subject(self) -> str:
        """The catalogue part it belongs to: ``person``, ``employer`` (any unit) or
        ``medical_institution`` (medical institutions and pharmacies only)."""
        if "person" in self.units:
            return "person"
        return "employer" if "employer" in self.units else "medical_institution"


@dataclass(frozen=True)
class RepairRule:
    allowed: bool
    commitment_required: bool
    min_period: Mapping[str, Period]  # severity -> minimum period before one may apply
    check: Period
    source: str
    opens_after_rectification_window: bool = False
    stops_publication: bool = False
    free: bool = True
    certificate: bool = False
    conditions: tuple[Text, ...] = ()

    def __hash__(self) -> int:
        return hash((self.allowed, self.commitment_required, self.check, self.source))


@dataclass(frozen=True)
class RepeatRule:
    term: Period | None
    source: str


@dataclass(frozen=True)
class ReportRule:
    frequency: Literal["monthly", "quarterly"]
    due: Period | None
    due_day_of_month: int | None
    fields: tuple[Text, ...]
    source: str
    recipient: Text | None = None
    #: The citation of ``fields`` where another profile's report borrows them
    #: (:data:`REPORT_FIELDS_PROFILE`).
    fields_source: str | None = None
    forward_due: Period | None = None
    forward_day_of_month: int | None = None
    forward_recipient: Text | None = None


@dataclass(frozen=True)
class GradingRule:
    """Credit grades from findings of catalogue behaviours (Zhengzhou §三, §四).

    ``finding_periods``: grade -> how long a finding of that grade counts from the
    day it was made; ``false_complaint_ground``: the personal-blacklist ground a
    complaint found false puts the complainant on; ``red_list_validity``: how long
    an admission to the red list lasts (None: no end date).
    """

    finding_periods: Mapping[str, Period]
    source: str
    false_complaint_ground: str | None = None
    red_list_validity: Period | None = None

    def __hash__(self) -> int:
        return hash((self.source, self.false_complaint_ground))


#: Outcomes of a complaint that the credit score counts (Zhengzhou §三 ¶3): a complaint about a
#: unit that was verified, and a complaint found false (against its complainant).
COMPLAINT_OUTCOMES: tuple[str, ...] = ("verified", "found_false")
#: How a finding's points fade over the period it counts: ``linear`` (in full on the day it was
#: made, nothing on the first day it no longer counts) or ``none`` (in full while it counts).
DECAYS: tuple[str, ...] = ("linear", "none")


@dataclass(frozen=True)
class ScoreBand:
    """One row of a score → grade table: ``grade`` from ``min_score`` upwards."""

    grade: str
    min_score: Decimal


@dataclass(frozen=True)
class ScoreModel:
    """The credit score (Zhengzhou §三 ¶1): points per behaviour, red-list criterion and
    complaint outcome, added to ``base``; findings fade over the period they count.

    ``grade_points``: severity -> points of a finding of that grade; ``behaviour_points``:
    a catalogue code -> points overriding its grade's; ``criterion_points``: red-list criterion
    -> points while the unit is on the red list with it; ``complaint_points``: outcome ->
    points; ``periods``: how long a finding (and a complaint outcome, by its finding's grade)
    counts — the grading rule's ``finding_periods``, copied in when the profile is read;
    ``provisional_table``: the score → grade table used until the bureau sets one, highest
    band first; ``floor`` / ``ceiling``: the score never goes below / above them.
    """

    base: Decimal
    grade_points: Mapping[str, Decimal]
    behaviour_points: Mapping[str, Decimal]
    criterion_points: Mapping[str, Decimal]
    complaint_points: Mapping[str, Decimal]
    decay: str
    periods: Mapping[str, Period]
    provisional_table: tuple[ScoreBand, ...]
    source: str
    table_source: str
    floor: Decimal | None = None
    ceiling: Decimal | None = None

    def __hash__(self) -> int:
        return hash((self.base, self.decay, self.source, self.provisional_table))


@dataclass(frozen=True)
class Profile:
    code: str
    name: Text
    authority: Text
    document: Text
    seed: str | None
    valid_from: date | None
    valid_until: date | None
    national_overlay: bool
    publish_individuals: bool
    public_severities: frozenset[str]
    deadlines: Mapping[str, Period]
    supplement_pauses_clock: bool
    grounds: tuple[Ground, ...]
    measures: tuple[Measure, ...]
    channels: tuple[Text, ...]
    repair: RepairRule
    repeat: RepeatRule
    report: ReportRule | None
    red_list_criteria: tuple[Criterion, ...]
    red_list_incentives: tuple[Text, ...]
    behaviours: tuple[Behaviour, ...]
    # additions (see module docstring)
    removal_channels: tuple[Text, ...] = ()
    sharing_platforms: tuple[Text, ...] = ()
    sources: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    interpretations: tuple[Text, ...] = ()
    scope: Text | None = None
    grading: GradingRule | None = None
    # How long a removal notice (and an entry kept after its removal) stays published,
    # counted from the removal day; None: until withdrawn by staff
    removal_notice_period: Period | None = None
    # The credit score model and its provisional score → grade table (None: no score)
    score: ScoreModel | None = None

    def __hash__(self) -> int:
        return hash((self.code, self.seed, self.valid_from, self.valid_until))

    def ground(self, code: str) -> Ground:
        for g in self.grounds:
            if g.code == code:
                return g
        raise UnknownGround(f"{self.code}: no ground {code!r}")

    def deadline(self, name: str) -> Period:
        try:
            return self.deadlines[name]
        except KeyError:
            raise KeyError(f"{self.code}: no deadline {name!r}") from None

    def is_in_force(self, day: date) -> bool:
        if self.valid_from is not None and day < self.valid_from:
            return False
        if self.valid_until is not None and day > self.valid_until:
            return False
        return True

    def behaviours_of(self, grade: str) -> tuple[Behaviour, ...]:
        return tuple(b for b in self.behaviours if b.grade == grade)

    def measures_for(self, severity: str, subject_kind: str) -> tuple[Measure, ...]:
        """The measures that apply to a listing of ``severity`` of an ``organisation`` or a
        ``person`` (a measure without severities applies to every severity; each measure
        names the kinds of subject it applies to, e.g. Fuzhou's enterprise-only measures)."""
        return tuple(m for m in self.measures if m.applies_to(severity, subject_kind))


# --------------------------------------------------------------------------
# Parsing with strict validation
# --------------------------------------------------------------------------

__all__ = ['Severity', 'SubjectKind', 'Unit', 'SEVERITIES', 'SEVERITY_LABELS', 'SUBJECT_KINDS', 'BEHAVIOUR_SUBJECTS', 'UNIT_KINDS', 'BEHAVIOUR_UNITS', 'UNITS', 'DEADLINE_KEYS', 'REPORT_FIELDS_PROFILE', 'SOURCE_PATTERN', 'Text', 'Period', 'FIGURES', 'Limit', 'Threshold', 'Ground', 'Measure', 'Criterion', 'Behaviour', 'GradingRule', 'ScoreBand', 'ScoreModel', 'COMPLAINT_OUTCOMES', 'DECAYS', 'RepairRule', 'RepeatRule', 'ReportRule', 'Profile', 'UnknownProfile', 'UnknownGround', 'ProfileError']
