"""A large data set for benchmarks: ``count`` published entries in minutes.

The demo city goes through the services, one flush per step; at a million
entries that would take days.  Here the rows of the write model (subjects,
legal representatives, cases) and of the public projection (entries,
removal notices) are computed in Python and inserted with SQLAlchemy Core
``executemany`` in batches, ids allocated in advance from ``max(id)``, one
commit per batch so memory stays flat.  The rows are the ones the services
would write: the same masking (:func:`portal.rules.identifiers.mask_ric`),
keyed hashes, public ids, terms and deadlines from the profile and the
calendar.  No outbox rows: rebuild the search index afterwards with
``flask --app wsgi index rebuild``.  One audit event records the whole run.
"""
from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Callable, Mapping
from functools import lru_cache
from itertools import accumulate

import sqlalchemy as sa
from sqlalchemy.orm import Session

from portal import clock
from portal.demo import facts as factgen
from portal.demo.city import (
    DEFAULT_SEED,
    DEMO_TODAY,
    PERSON_SHARE,
    ground_weights,
    repair_wait,
    term_days,
)
from portal.demo.names import NamePools
from portal.demo.places import place_for
from portal.demo.subjects import uscc_check, uscc_prefix
from portal.models import (
    Case,
    CaseOrigin,
    PersonRole,
    PublicationHistory,
    PublishedEntry,
    RelatedPerson,
    RemovalNotice,
    Role,
    StaffUser,
    Subject,
    SubjectKind,
)
from portal.rules import identifiers, terms
from portal.rules.profiles import Ground, Profile, load_profile
from portal.rules.workflow import CaseState, RemovalReason
from portal.security import lookup_hash, public_id
from portal.services import audit, publication
from portal.services.calendar import load_calendar
from portal.services.publication import WITHDRAWING_REASONS

BATCH = 20_000
ONE_DAY = dt.timedelta(days=1)
#: Shares of the removal reasons among the removals (term expiry dominates in practice).
REASON_WEIGHTS = {
    RemovalReason.TERM_EXPIRED: 0.5, RemovalReason.RECTIFIED: 0.1, RemovalReason.CREDIT_REPAIRED: 0.15,
    RemovalReason.OBJECTION_UPHELD: 0.1, RemovalReason.REVOKED: 0.15,
}


def seed_bulk(session: Session, config: Mapping, count: int, seed: int | None = None,
              echo: Callable[[str], object] = print, today: dt.date | None = None,
              batch: int = BATCH) -> dict:
    """Write ``count`` currently listed entries plus about ``count // 10`` removals."""
    profile = load_profile(config.get("PORTAL_PROFILE") or "jiamusi")
    bulk = Bulk(session, profile, config["PORTAL_LOOKUP_KEY"],
                DEFAULT_SEED if seed is None else seed, today or DEMO_TODAY)
    return bulk.run(count, echo, batch)


class Bulk:
    def __init__(self, session: Session, profile: Profile, key: str, seed: int, today: dt.date) -> None:
        self.session, self.profile, self.key, self.today = session, profile, key, today
        self.rng = random.Random(seed)
        self.seed = seed
        self.place = place_for(profile)
        self.pools = NamePools(seed, self.place)
        self.cal = load_calendar(session)
        self.grounds = [g for g in profile.grounds if g.public]
        kinds = {g.code: factgen.kind_of(g) for g in self.grounds}
        self.kind = kinds
        weights = ground_weights(self.grounds)
        self.cum_weights = list(accumulate(weights[g.code] for g in self.grounds))
        self.contact = f"{self.place.area_code}-12333"
        self.department = profile.authority.zh
        staff = dict(session.execute(sa.select(StaffUser.role, StaffUser.id)).all())
        self.clerk_id, self.approver_id = staff.get(Role.CLERK), staff.get(Role.APPROVER)
        self.used_uscc: set[str] = set(
            session.execute(sa.select(Subject.uscc).where(Subject.uscc.is_not(None))).scalars())
        self.used_ids: set[str] = set(
            session.execute(sa.select(Subject.id_hash).where(Subject.id_hash.is_not(None))).scalars())
        self.doc_numbers: dict[int, int] = {}
        self._journal: str | None = None   # SQLite journal mode found before the run
        self.regions = [d.code for d in self.place.districts]
        self.rectifiable = [g for g in self.grounds if g.rectifiable]
        self.repairable = [g for g in self.grounds if term_days(g) - repair_wait(profile, g) > 150] \
            if profile.repair.allowed else []
        # about a thousand distinct days: compute each date rule once per day
        self.workday = lru_cache(maxsize=None)(self._workday)
        self.add_wd = lru_cache(maxsize=None)(self._add_wd)
        self.deadline = lru_cache(maxsize=None)(self._deadline)
        self.term = lru_cache(maxsize=None)(self._term)
        self.windows = lru_cache(maxsize=None)(self._windows)

    # ------------------------------------------------------------ calendar

    def _workday(self, day: dt.date) -> dt.date:
        return day if self.cal.is_workday(day) else self.cal.next_workday(day)

    def _add_wd(self, day: dt.date, n: int) -> dt.date:
        return self.cal.add_working_days(day, n).due

    def _deadline(self, name: str, day: dt.date):
        return terms.deadline(self.profile, name, day, self.cal)

    def _term(self, ground: str, decided: dt.date) -> terms.Term:
        return terms.listing_term(self.profile, ground, decided, 0)

    def _windows(self, ground: str, decided: dt.date, term_end: dt.date):
        """(rectification_closes_on, repair_opens_on, provisional names) as publication computes them."""
        dates = terms.entry_dates(self.profile, ground, decided, 0, self.cal)
        return dates.rectification_closes_on, dates.repair_opens_on, sorted(dates.provisional)

    # ---------------------------------------------------------------- codes

    def uscc(self, region: str, prefix: str) -> str:
        while True:
            body = prefix + region + identifiers.generate_org_code(self.rng)
            code = body + uscc_check(body)
            if code not in self.used_uscc:
                self.used_uscc.add(code)
                return code

    def ric(self, region: str, unique: bool) -> tuple[str, str]:
        rng = self.rng
        while True:
            birth = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randrange(17_000))
            number = identifiers.generate_ric(rng, region=region, birth=birth)
            digest = lookup_hash(self.key, number)
            if not unique or digest not in self.used_ids:
                if unique:
                    self.used_ids.add(digest)
                return number, digest

    def document_no(self, year: int) -> str:
        n = self.doc_numbers.get(year, 10_000) + 1
        self.doc_numbers[year] = n
        return f"{self.place.doc_abbr}失决〔{year}〕{n}号"

    # ---------------------------------------------------------------- dates

    def decision_date(self, ground: Ground, reason: RemovalReason | None) -> dt.date:
        rng, days = self.rng, term_days(ground)
        if reason is None:                       # still listed on demo-today
            back = rng.randint(12, max(13, min(days, 3 * 365) - 10))
        elif reason is RemovalReason.TERM_EXPIRED:
            back = days + rng.randint(5, 400)
        elif reason is RemovalReason.RECTIFIED:
            back = rng.randint(150, max(151, min(days - 60, 330)))
        elif reason is RemovalReason.CREDIT_REPAIRED:
            back = rng.randint(repair_wait(self.profile, ground) + 130, max(300, min(days, 3 * 365) - 10))
        else:
            back = rng.randint(200, max(201, min(days, 730) - 30))
        return self.workday(self.today - dt.timedelta(days=back))

    def removal_date(self, reason: RemovalReason, ground: Ground, decided: dt.date,
                     published: dt.date, term_end: dt.date, repair_opens: dt.date | None) -> dt.date | None:
        rng = self.rng
        if reason is RemovalReason.TERM_EXPIRED:
            return term_end
        if reason is RemovalReason.RECTIFIED:
            day = self.add_wd(published, rng.randint(20, 60))
        elif reason is RemovalReason.CREDIT_REPAIRED:
            start = max(repair_opens or published, published + 5 * ONE_DAY)
            day = self.workday(start + dt.timedelta(days=rng.randint(15, 90)))
        elif reason is RemovalReason.OBJECTION_UPHELD:
            day = self.workday(published + dt.timedelta(days=rng.randint(5, 40)))
        else:
            day = self.workday(decided + dt.timedelta(days=rng.randint(60, 150)))
        latest = min(term_end, self.today) - ONE_DAY
        day = min(day, latest)
        return day if day > published else None

    def dates(self, ground: Ground, reason: RemovalReason | None) -> dict | None:
        """Every date of one case; None if an early removal does not fit in its term."""
        rng = self.rng
        for _ in range(3):
            decided = self.decision_date(ground, reason)
            opened = self.workday(decided - dt.timedelta(days=rng.randint(45, 80)))
            served = self.add_wd(opened, rng.randint(2, 8))
            publish_due = self.deadline("publication", decided)
            share_due = self.deadline("sharing", decided)
            published = min(self.add_wd(decided, rng.choice((1, 1, 2, 2, 3, 4, 5))), publish_due.due)
            shared = max(published, min(self.add_wd(published, rng.choice((0, 0, 1, 2))), share_due.due))
            term = self.term(ground.code, decided)
            rect_closes, repair_opens, provisional = self.windows(ground.code, decided, term.expires_on)
            removed = None
            if reason is not None:
                removed = self.removal_date(reason, ground, decided, published, term.expires_on,
                                            repair_opens)
                if removed is None:
                    continue
            return {"decided": decided, "opened": opened, "served": served,
                    "defence_due": self.deadline("defence_window", served).due,
                    "publish_due": publish_due, "share_due": share_due, "published": published,
                    "shared": shared, "term": term, "rect_closes": rect_closes,
                    "repair_opens": repair_opens, "provisional": provisional, "removed": removed}
        return None

    # ------------------------------------------------------------------ run

    def _tune_connection(self) -> None:
        """SQLite bulk-load settings for this connection only (nothing persistent).

        * a page cache large enough for the indexes of a million rows (the
          default 2 MB makes every insert into the random-key unique indexes
          — public ids, codes, hashes — read its pages back from the OS);
        * the rollback journal in memory and no fsync: each batch commit would
          otherwise write every touched index page twice and wait for the disk.
          A crash during seeding can corrupt the file: seed again.  A database
          in WAL mode is left in WAL mode.
        """
        if self.session.get_bind().dialect.name != "sqlite":
            return
        execute = self.session.execute
        if self._journal is None:
            self._journal = str(execute(sa.text("PRAGMA journal_mode")).scalar()).lower()
        execute(sa.text("PRAGMA cache_size = -524288"))   # 512 MB
        execute(sa.text("PRAGMA synchronous = OFF"))
        if self._journal != "wal":
            execute(sa.text("PRAGMA journal_mode = MEMORY"))

    def _restore_connection(self) -> None:
        if self.session.get_bind().dialect.name != "sqlite" or self._journal is None:
            return
        self.session.commit()
        self.session.execute(sa.text(f"PRAGMA journal_mode = {self._journal.upper()}"))
        self.session.execute(sa.text("PRAGMA synchronous = FULL"))
        self.session.execute(sa.text("PRAGMA cache_size = -2000"))

    def _insert(self, table: sa.Table, rows: list[dict]) -> None:
        """Write ``rows`` (dicts with the same keys) to ``table``: COPY on PostgreSQL, else the
        driver's own executemany.

        Each value goes through its column type's bind processor (enum values, JSON, UTC
        timestamps) exactly as ``session.execute(insert(table), rows)`` would, without
        SQLAlchemy's per-row parameter handling, which was a third of the run.
        """
        connection = self.session.connection()
        dialect = connection.dialect
        names = list(rows[0])
        processors = [table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names]
        convert = [(name, process) for name, process in zip(names, processors)]
        values = [tuple(process(row[name]) if process else row[name] for name, process in convert)
                  for row in rows]
        columns = ", ".join(dialect.identifier_preparer.quote(name) for name in names)
        if dialect.name == "postgresql":
            with connection.connection.driver_connection.cursor() as cursor:
                with cursor.copy(f"COPY {table.name} ({columns}) FROM STDIN") as copy:
                    for value in values:
                        copy.write_row(value)
        else:   # SQLite (qmark parameters)
            connection.exec_driver_sql(
                f"INSERT INTO {table.name} ({columns}) VALUES ({', '.join('?' * len(names))})", values)

    def _fix_sequences(self) -> None:
        """PostgreSQL: ids were allocated here, so move the id sequences past them."""
        if self.session.get_bind().dialect.name != "postgresql":
            return
        for model in (Subject, RelatedPerson, Case, PublishedEntry, RemovalNotice, PublicationHistory):
            table = model.__tablename__
            self.session.execute(sa.text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT coalesce(max(id), 1) FROM {table}))"))

    def _next_ids(self) -> dict[str, int]:
        ids = {}
        for model in (Subject, RelatedPerson, Case, PublishedEntry, RemovalNotice, PublicationHistory):
            ids[model.__tablename__] = (self.session.scalar(sa.select(sa.func.max(model.id))) or 0) + 1
        return ids

    def _reasons(self) -> tuple[list[RemovalReason], list[float]]:
        reasons, weights = [], []
        for reason, weight in REASON_WEIGHTS.items():
            if reason is RemovalReason.RECTIFIED and not self.rectifiable:
                continue
            if reason is RemovalReason.CREDIT_REPAIRED and not self.repairable:
                continue
            reasons.append(reason)
            weights.append(weight)
        return reasons, weights

    def run(self, count: int, echo: Callable[[str], object], batch: int) -> dict:
        started = time.perf_counter()
        ids = self._next_ids()
        first_case = ids["cases"]
        removals = count // 10
        total = count + removals
        reasons, weights = self._reasons()
        cum_reasons = list(accumulate(weights))
        tables = [(Subject.__table__, []), (RelatedPerson.__table__, []), (Case.__table__, []),
                  (PublishedEntry.__table__, []), (RemovalNotice.__table__, []),
                  (PublicationHistory.__table__, [])]
        rows = {table.name: bucket for table, bucket in tables}
        stats = {"listed": 0, "removed_entries": 0, "removal_notices": 0, "persons": 0,
                 "organisations": 0, "hidden": 0}
        next_echo = 100_000
        for i in range(total):
            # spread the removals evenly over the run
            removed = (i * removals) // total != ((i + 1) * removals) // total
            reason = self.rng.choices(reasons, cum_weights=cum_reasons)[0] if removed else None
            self.one(ids, rows, reason, stats)
            if len(rows["cases"]) >= batch or i == total - 1:
                self._tune_connection()
                for table, bucket in tables:
                    if bucket:
                        self._insert(table, bucket)
                        bucket.clear()
                self.session.commit()
                if stats["listed"] >= next_echo or i == total - 1:
                    echo(f"  {stats['listed']:,} listed entries, {stats['removal_notices']:,} removals "
                         f"({time.perf_counter() - started:.0f}s)")
                    next_echo += 100_000
        last_case = ids["cases"] - 1
        self._restore_connection()
        self._fix_sequences()
        audit.record(self.session, audit.SYSTEM, "demo.bulk_seed", "case",
                     f"{first_case}-{last_case}",
                     {"profile": self.profile.code, "seed": self.seed, "today": self.today,
                      "listed": stats["listed"], "removal_notices": stats["removal_notices"],
                      "note": "bulk benchmark data; search index to be rebuilt from the projection"})
        publication.bump_version(self.session)
        self.session.commit()
        return {"profile": self.profile.code, "entries": stats["listed"] + stats["removed_entries"],
                **stats, "cases": last_case - first_case + 1,
                "seconds": round(time.perf_counter() - started, 1)}

    def one(self, ids: dict[str, int], rows: dict[str, list], reason: RemovalReason | None,
            stats: dict) -> None:
        rng, profile, now = self.rng, self.profile, clock.now()
        if reason is RemovalReason.RECTIFIED:
            ground = rng.choice(self.rectifiable)
        elif reason is RemovalReason.CREDIT_REPAIRED:
            ground = rng.choice(self.repairable)
        else:
            ground = rng.choices(self.grounds, cum_weights=self.cum_weights)[0]
        kind, flavour = self.kind[ground.code]
        if ground.subject_kinds == {"person"}:
            person = True
        elif "person" not in ground.subject_kinds:
            person = False
        else:
            person = rng.random() < PERSON_SHARE.get(kind, 0.3)
        region = rng.choice(self.regions)

        # ---- subject (+ legal representative)
        subject_id = ids["subjects"]
        ids["subjects"] += 1
        rep_name = rep_masked = None
        if person:
            name = self.pools.person(rng)
            number, digest = self.ric(region, unique=True)
            code_display, code_hash, extra = identifiers.mask_ric(number), digest, []
            rows["subjects"].append({
                "id": subject_id, "kind": SubjectKind.PERSON, "name": name, "uscc": None,
                "org_code": None, "reg_no": None, "id_number": number, "id_hash": digest,
                "address": self.pools.address(rng), "created_at": now})
            stats["persons"] += 1
        else:
            name = self.pools.organisation(rng, flavour)
            code = self.uscc(region if rng.random() < 0.6 else self.place.city_code, uscc_prefix(name))
            org_code = code[8:17]
            reg_no = identifiers.generate_reg_no(rng, region=region[:4] + "00") \
                if code[:2] in ("91", "92") and rng.random() < 0.3 else None
            code_display, code_hash = code, lookup_hash(self.key, code)
            extra = [c for c in (org_code, reg_no) if c]
            rows["subjects"].append({
                "id": subject_id, "kind": SubjectKind.ORGANISATION, "name": name, "uscc": code,
                "org_code": org_code, "reg_no": reg_no, "id_number": None, "id_hash": None,
                "address": self.pools.address(rng), "created_at": now})
            rep_name = self.pools.person(rng)
            rep_number, rep_digest = self.ric(rng.choice(self.regions), unique=False)
            rep_masked = identifiers.mask_ric(rep_number)
            rows["related_persons"].append({
                "id": ids["related_persons"], "subject_id": subject_id,
                "role": PersonRole.LEGAL_REPRESENTATIVE, "name": rep_name,
                "id_number": rep_number, "id_hash": rep_digest})
            ids["related_persons"] += 1
            stats["organisations"] += 1

        # ---- the case, with every date of the procedure
        d = self.dates(ground, reason)
        if d is None:   # no room for this early removal: the term expired instead
            reason = RemovalReason.TERM_EXPIRED
            d = self.dates(ground, reason)
        decided, published, term, removed_on = d["decided"], d["published"], d["term"], d["removed"]
        rect_closes, repair_opens = d["rect_closes"], d["repair_opens"]
        case_id = ids["cases"]
        ids["cases"] += 1
        case_no = f"BULK-{profile.code.upper()[:3]}-{decided.year}-{case_id:08d}"
        composed = factgen.compose(rng, ground, kind, name, person, decided, self.pools.person)
        document_no = self.document_no(decided.year)
        rows["cases"].append({
            "id": case_id, "case_no": case_no, "profile": profile.code,
            "jurisdiction": profile.code, "subject_id": subject_id,
            "ground": ground.code, "severity": ground.severity,
            "state": CaseState.REMOVED if reason else CaseState.PUBLISHED,
            "origin": CaseOrigin.IMPORT, "prior_listings": 0, "facts": composed.facts,
            "reasons": composed.reasons, "document_no": document_no, "amount": composed.amount,
            "months": composed.months, "person_times": composed.person_times,
            "alternative_met": False,
            "department": self.department, "department_contact": self.contact,
            "access_code_hash": None, "opened_on": d["opened"], "pre_notice_served_on": d["served"],
            "defence_due_on": d["defence_due"], "decided_on": decided,
            "publish_due_on": d["publish_due"].due, "published_on": published,
            "share_due_on": d["share_due"].due, "shared_on": d["shared"], "term_start": term.start,
            "leaves_list_on": term.expires_on, "removed_on": removed_on,
            "removal_reason": reason, "deadlines_provisional": d["publish_due"].provisional,
            "prepared_by_id": self.clerk_id, "approved_by_id": self.approver_id,
            "assignee_id": self.clerk_id, "created_at": now, "updated_at": now,
        })

        # ---- the public projection
        entry_pid = public_id(self.key, "E", case_no)
        visible = ground.public and (not person or profile.publish_individuals)
        if reason not in WITHDRAWING_REASONS:   # these entries are no longer published
            rows["published_entries"].append({
                "id": ids["published_entries"], "public_id": entry_pid, "case_id": case_id,
                "profile": profile.code, "jurisdiction": profile.code,
                "subject_kind": "person" if person else "organisation",
                "name": name, "code_display": code_display, "code_hash": code_hash,
                "extra_codes": extra, "legal_rep_name": rep_name, "legal_rep_id_masked": rep_masked,
                "ground_code": ground.code, "ground_text": ground.text.zh,
                "ground_text_en": ground.text.en, "severity": ground.severity,
                "facts": composed.facts, "reasons": composed.reasons,
                "legal_basis": ground.legal_basis.zh, "document_no": document_no,
                "department": self.department, "department_contact": self.contact,
                "listed_on": decided, "listing_year": decided.year, "published_on": published,
                "term_start": term.start, "term_last_day": term.last_day,
                "leaves_list_on": term.expires_on, "repeat_listing": False,
                "rectification_closes_on": rect_closes, "repair_opens_on": repair_opens,
                "dates_provisional": d["provisional"],
                "under_objection": False, "visible": visible,
                "status": "removed" if reason else "listed", "removed_on": removed_on,
                "removal_reason": reason.value if reason else None,
                "version": 2 if reason else 1, "updated_at": now,
            })
            ids["published_entries"] += 1
            if reason:
                stats["removed_entries"] += 1
            else:
                stats["listed"] += 1
                stats["hidden"] += not visible
        rows["publication_history"].append({
            "id": ids["publication_history"], "case_id": case_id, "public_id": entry_pid,
            "profile": profile.code, "jurisdiction": profile.code,
            "code_hash": code_hash, "subject_kind": "person" if person else "organisation",
            "visible": visible, "ground_code": ground.code, "listed_from": decided,
            "published_on": published, "listed_until": removed_on if reason else None,
            "removal_reason": reason.value if reason else None, "corrected_on": [],
            "unpublished_on": removed_on if reason in WITHDRAWING_REASONS else None,
            "updated_at": now,
        })
        ids["publication_history"] += 1
        if reason is not None:
            rows["removal_notices"].append({
                "id": ids["removal_notices"], "public_id": public_id(self.key, "R", case_no),
                "case_id": case_id, "profile": profile.code, "jurisdiction": profile.code,
                "subject_kind": "person" if person else "organisation", "name": name,
                "code_display": code_display, "code_hash": code_hash, "ground_code": ground.code,
                "ground_text": ground.text.zh, "listed_on": decided, "removed_on": removed_on,
                "reason": reason.value, "department": self.department,
                "entry_public_id": None if reason in WITHDRAWING_REASONS else entry_pid,
                "visible": visible, "version": 1, "updated_at": now,
            })
            ids["removal_notices"] += 1
            stats["removal_notices"] += 1
