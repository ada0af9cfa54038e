"""The demo city's plan: which subjects are listed on which ground, when, and
how each listing ends (played through the services by :mod:`portal.demo.history`).

A plan is a list of :class:`Listing` items, each with a *fate*:

* ``listed`` — still on the list on demo-today (its term ends later);
* ``term_expired`` — the term ended before demo-today; removed at the end by
  :func:`portal.services.cases.expire_terms`, exactly as the worker would;
* ``rectified`` / ``credit_repaired`` / ``objection_upheld`` — the party's
  filing was granted and the entry removed early;
* ``revoked`` — the decision was revoked on reconsideration or by a court.

Items are played in the order of their decision dates, so case numbers and
document numbers grow with time and a repeat listing finds its earlier
listing (the repeat-term rule of the profile then applies).
"""
from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from dataclasses import dataclass

from portal.demo import facts as factgen
from portal.models import Case, Subject
from portal.rules.profiles import Ground, Period, Profile

#: How often each kind of ground is met in practice (arrears and benefit fraud dominate).
KIND_WEIGHTS = {"arrears": 3.0, "fraud": 3.0, "impersonation": 3.0, "medical": 2.5,
                "registration": 2.0, "irregular": 2.0, "injury_repay": 1.5, "fictitious": 1.5,
                "commitment": 1.5}
#: Share of persons among the subjects of a ground open to both kinds.
PERSON_SHARE = {"impersonation": 0.6, "fraud": 0.5, "commitment": 0.5, "false_report": 0.9,
                "fictitious": 0.4, "irregular": 0.3, "records": 0.3, "injury_repay": 0.2,
                "obstruct": 0.15, "medical": 0.05, "arrears": 0.05, "registration": 0.0}

REMOVAL_FATES = ("rectified", "credit_repaired", "objection_upheld", "revoked")

#: The demo's "today": fixed, so that the same seed always gives the same city (and the
#: same bulk data set, :mod:`portal.demo.bulk`).
DEMO_TODAY = dt.date(2026, 11, 20)
DEFAULT_SEED = 20260601


@dataclass(eq=False)
class Listing:
    ground: Ground
    kind: str
    flavour: str
    person: bool
    fate: str
    decided: dt.date
    repeat_of: Listing | None = None
    subject: Subject | None = None
    case: Case | None = None


def ground_weights(grounds: list[Ground]) -> dict[str, float]:
    """How often each ground is drawn: by its kind, a kind spread over many grounds
    (Zhengzhou's 17 medical items) not being 17 times as common."""
    kinds = {g.code: factgen.kind_of(g)[0] for g in grounds}
    per_kind = Counter(kinds.values())
    return {code: KIND_WEIGHTS.get(kind, 1.0) / per_kind[kind] ** 0.5 for code, kind in kinds.items()}


def period_days(period: Period) -> int:
    per = {"years": 365, "months": 30.5, "days": 1, "working_days": 1.45}[period.unit]
    return int(period.amount * per)


def term_days(ground: Ground) -> int:
    return period_days(ground.term)


def repair_wait(profile: Profile, ground: Ground) -> int:
    """Days from listing until a first listing may apply for credit repair (about)."""
    wait = 0
    minimum = profile.repair.min_period.get(ground.severity)
    if profile.national_overlay and minimum is not None:
        wait = period_days(minimum)
    if profile.repair.opens_after_rectification_window and ground.rectifiable:
        wait = max(wait, period_days(profile.deadline("rectification_window")))
    return wait


class CityPlan:
    """Builds the list of listings for a profile (pure: no database)."""

    def __init__(self, profile: Profile, rng: random.Random, today: dt.date,
                 visible_target: int, per_reason: int, repeats: int, per_ground: int = 3) -> None:
        self.profile, self.rng, self.today = profile, rng, today
        self.grounds = [g for g in profile.grounds if g.public]
        if not self.grounds:
            raise ValueError(f"profile {profile.code} has no public ground to list on")
        self.kinds = {g.code: factgen.kind_of(g) for g in self.grounds}
        self.weights = ground_weights(self.grounds)
        self.items: list[Listing] = []
        self.visible_target, self.per_reason, self.repeats = visible_target, per_reason, repeats
        self.per_ground = per_ground

    # -------------------------------------------------------------- helpers

    def visible(self, item: Listing) -> bool:
        return not item.person or self.profile.publish_individuals

    def _days_ago(self, low: int, high: int) -> dt.date:
        return self.today - dt.timedelta(days=self.rng.randint(min(low, high), max(low, high)))

    def _pick_ground(self, pool: list[Ground] | None = None) -> Ground:
        pool = pool or self.grounds
        return self.rng.choices(pool, [self.weights[g.code] for g in pool])[0]

    def _listing(self, ground: Ground, fate: str, decided: dt.date, person: bool | None = None,
                 repeat_of: Listing | None = None) -> Listing:
        kind, flavour = self.kinds[ground.code]
        if person is None:
            if ground.subject_kinds == {"person"}:
                person = True
            elif "person" not in ground.subject_kinds:
                person = False
            else:
                share = PERSON_SHARE.get(kind, 0.3)
                if not self.profile.publish_individuals:
                    share *= 0.3
                person = self.rng.random() < share
        item = Listing(ground, kind, flavour, person, fate, decided, repeat_of)
        self.items.append(item)
        return item

    def _current(self, ground: Ground, person: bool | None = None) -> Listing:
        """Still listed on demo-today: the term must outlast it."""
        span = min(term_days(ground), 3 * 365)
        return self._listing(ground, "listed", self._days_ago(14, span - 20), person)

    # ---------------------------------------------------------------- plan

    def build(self) -> list[Listing]:
        rectifiable = [g for g in self.grounds if g.rectifiable]
        shortest = min(term_days(g) for g in self.grounds)
        short = [g for g in self.grounds if term_days(g) == shortest]
        # every ground at least three times on the current list
        for ground in self.grounds:
            for _ in range(self.per_ground):
                self._current(ground)
        # early removals, at least per_reason each (where the profile allows the remedy)
        repairable = [g for g in self.grounds
                      if term_days(g) - repair_wait(self.profile, g) > 150] \
            if self.profile.repair.allowed else []
        for fate in REMOVAL_FATES:
            pool = {"rectified": rectifiable, "credit_repaired": repairable}.get(fate, self.grounds)
            if not pool:
                continue
            for _ in range(self.per_reason + 2):
                ground = self._pick_ground(pool)
                span = min(term_days(ground), 3 * 365)
                if fate == "rectified":
                    decided = self._days_ago(150, min(span - 60, 330))
                elif fate == "credit_repaired":
                    decided = self._days_ago(repair_wait(self.profile, ground) + 130, span - 10)
                elif fate == "objection_upheld":
                    decided = self._days_ago(60, min(span, 730) - 60)
                else:
                    decided = self._days_ago(200, min(span, 730) - 30)
                self._listing(ground, fate, decided)
        # expired terms, mostly on the shortest-term grounds
        for _ in range(self.per_reason * 4):
            ground = self._pick_ground(short if self.rng.random() < 0.8 else None)
            days = term_days(ground)
            self._listing(ground, "term_expired", self._days_ago(days + 5, days + 420))
        # repeat listings: an expired first listing, then a new one on the repeat term
        for _ in range(self.repeats):
            first_ground = self._pick_ground(short)
            first_days = term_days(first_ground)
            first = self._listing(first_ground, "term_expired",
                                  self._days_ago(first_days + 200, first_days + 500))
            kind = "person" if first.person else "organisation"
            pool = [g for g in self.grounds if kind in g.subject_kinds]
            second_ground = self._pick_ground(pool)
            second_days = term_days(second_ground)
            if self.profile.repeat.term is not None:
                second_days = max(second_days, period_days(self.profile.repeat.term))
            gap = (self.today - first.decided).days - first_days
            self._listing(second_ground, "listed",
                          self._days_ago(14, max(min(gap - 30, second_days - 20), 20)),
                          first.person, repeat_of=first)
        # recent first listings on rectifiable grounds: rectification window still open
        for _ in range(8 if rectifiable else 0):
            ground = self.rng.choice(rectifiable)
            self._listing(ground, "listed", self._days_ago(14, 70))
        # fill the current list up to the target of visible entries
        while sum(1 for i in self.items if i.fate == "listed" and self.visible(i)) < self.visible_target:
            self._current(self._pick_ground())
        self.items.sort(key=lambda i: (i.decided, i.ground.code))
        return self.items


