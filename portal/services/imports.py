"""Import of the periodic dishonesty report (SPEC §4 step 8): stage, preview, commit.

* :func:`stage` reads the file, validates every row (``report_rows``) and
  checks the database (a subject with an open case on the same ground), and
  keeps the result in an :class:`~portal.models.ImportBatch`; nothing else is
  written.
* :func:`commit` is all-or-nothing: a batch with any bad row is refused;
  otherwise every row becomes a subject (an existing one is reused) and an
  OPENED case of origin IMPORT, in the caller's one transaction, with one
  audit event per case and one for the batch.  The same file (SHA-256) opens
  cases once: a second batch of it is refused, a committed batch is not
  committed again (idempotent).

Services flush; the caller commits.  The rows of a staged batch hold full ID
numbers: they are never logged or put into an audit event, and commit reduces
each row to what the preview of a committed batch shows (no identifiers).
"""
from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from portal import clock
from portal.models import (
    Case,
    CaseOrigin,
    CaseReportData,
    ImportBatch,
    ImportStatus,
    StaffUser,
    Subject,
    SubjectKind,
)
from portal.rules.profiles import Profile
from portal.rules.workflow import CaseState
from portal.security import lookup_hash
from portal.services import audit, case_steps, cases, rules_of, scope, subjects, uploads
from portal.services.audit import Actor
from portal.services.permissions import require
from portal.services.report_files import FileProblem, read_rows
from portal.services.report_format import ReportFormat, report_format
from portal.services.report_rows import RowResult, validate_rows

__all__ = ["ImportProblem", "FileProblem", "stage", "commit", "discard", "CommitResult", "limits", "megabytes",
           "DEFAULT_MAX_BYTES", "DEFAULT_MAX_ROWS", "CLOSED_STATES", "OPENING_ROLES"]

DEFAULT_MAX_BYTES = 5 * 1024 * 1024
DEFAULT_MAX_ROWS = 2000
#: A case in any other state is still open: a second case on the same ground is refused.
CLOSED_STATES = (CaseState.DROPPED, CaseState.REMOVED)
OPENING_ROLES = case_steps.CASE_STEPS["open"].roles     # who opens cases
#: Values kept for the export that have no column on the case (never an ID number).
REPORT_KEYS = ("date", "other", "insured", "months", "collection", "remarks", "violations",
               "cause", "extras")
#: What a committed batch keeps of a row's values for its preview: no identifier, no
#: representative, no free text (the case has them; the batch would keep them forever).
COMMITTED_KEYS = ("name", "kind", "ground", "date", "document_no", "amount")


class ImportProblem(ValueError):
    def __init__(self, code: str, **params):
        self.code, self.params = code, params
        super().__init__(code)


@dataclass(frozen=True)
class CommitResult:
    batch: ImportBatch
    cases: tuple[Case, ...]
    already: bool = False       # the batch had been committed before: nothing done
    conflicts: int = 0          # rows that became bad since the preview: nothing done


def megabytes(size: int) -> str:
    """5242880 → "5", 10485 → "0.01" (for messages)."""
    return f"{round(size / 1024 / 1024, 2):g}"


def limits(config) -> tuple[int, int]:
    """``(max bytes, max rows)`` of one upload: ``PORTAL_IMPORT_MAX_MB`` and
    ``PORTAL_IMPORT_MAX_ROWS`` of the app config (``portal.config``), else 5 MB / 2000."""
    max_mb = config.get("PORTAL_IMPORT_MAX_MB")
    max_rows = config.get("PORTAL_IMPORT_MAX_ROWS")
    return (int(float(max_mb) * 1024 * 1024) if max_mb else DEFAULT_MAX_BYTES,
            int(max_rows) if max_rows else DEFAULT_MAX_ROWS)


def _actor(user: StaffUser) -> Actor:
    return require(case_steps.can_open(user), user)


def _missing_columns(fmt: ReportFormat, found: set[str], default_ground: str | None) -> list[str]:
    needed = [k for k in ("name", "code", "rep_name", "rep_id", "cause", "violations", "date",
                          "document_no") if fmt.has(k)]
    missing = [k for k in needed if k not in found]
    ids = [k for k in ("uscc", "org_code", "reg_no") if fmt.has(k)]
    if not fmt.has("code") and not found.intersection(ids):
        missing.append("org_code" if "org_code" in ids else ids[0])
    if "ground" not in found and not default_ground:
        missing.append("ground")
    return missing


def _subject_filter(values: dict, key: str):
    if values.get("kind") == "person":
        return (Subject.kind == SubjectKind.PERSON) & (
            Subject.id_hash == lookup_hash(key, values["id_number"]))
    where = [getattr(Subject, k) == values[k] for k in ("uscc", "org_code", "reg_no") if values.get(k)]
    return (Subject.kind == SubjectKind.ORGANISATION) & sa.or_(*where)


def _open_case(session: Session, profile: Profile, values: dict, key: str) -> str | None:
    """The number of an open case of the same subject on the same ground, if any."""
    return session.scalar(
        sa.select(Case.case_no).join(Subject, Case.subject_id == Subject.id)
        .where(_subject_filter(values, key), Case.profile == profile.code,
               Case.ground == values["ground"], Case.state.not_in(CLOSED_STATES))
        .order_by(Case.id).limit(1))


def _check_database(session: Session, profile: Profile, results: list[RowResult], key: str,
                    ) -> dict[int, list]:
    """Add the open-case errors; return per line the warnings (an existing record is reused)."""
    warnings: dict[int, list] = {}
    for result in results:
        if not result.ok or result.identity() is None:
            continue
        found = _open_case(session, profile, result.values, key)
        if found:
            result.errors.append(("open_case", {"case_no": found}))
            continue
        existing = session.execute(sa.select(Subject.name).where(
            _subject_filter(result.values, key)).order_by(Subject.id).limit(1)).scalar()
        if existing is not None:
            warnings[result.line] = [["existing_subject", {
                "name": existing if existing != result.values.get("name") else ""}]]
    return warnings


def _row_json(result: RowResult, warnings: dict[int, list] | None = None) -> dict:
    return {"line": result.line, "values": result.values,
            "errors": [[code, params] for code, params in result.errors],
            "warnings": (warnings or {}).get(result.line, [])}


def _committed_row(result: RowResult, warnings: dict[int, list], case_no: str) -> dict:
    """A committed row: line, subject name, case number and warnings; no ID numbers."""
    v = result.values
    return {"line": result.line, "case_no": case_no, "errors": [],
            "values": {k: v[k] for k in COMMITTED_KEYS if v.get(k) not in (None, "")},
            "warnings": warnings.get(result.line, [])}


def stage(session: Session, user: StaffUser, profile: Profile, *, filename: str, raw: bytes,
          default_ground: str | None, key: str, today: dt.date,
          max_bytes: int = DEFAULT_MAX_BYTES, max_rows: int = DEFAULT_MAX_ROWS,
          jurisdiction: str | None = None) -> ImportBatch:
    """Validate an uploaded report of ``jurisdiction`` (``None``: the one seeded from
    ``profile``) under its profile and keep it for the preview; its cases are opened under
    that jurisdiction. Raises FileProblem / ImportProblem."""
    actor = _actor(user)
    jurisdiction = jurisdiction or profile.code
    scope.require(session, user, jurisdiction)
    profile = rules_of.jurisdiction(session, jurisdiction, profile)
    if len(raw) > max_bytes:
        raise FileProblem("too_large", max_mb=megabytes(max_bytes))
    if default_ground and default_ground not in {g.code for g in profile.grounds}:
        raise ImportProblem("unknown_ground", ground=default_ground[:20])
    sha256 = hashlib.sha256(raw).hexdigest()
    done = _committed(session, sha256)
    if done is not None:
        raise ImportProblem("already_imported", batch=done.id,
                            date=clock.local_day(done.committed_at).isoformat() if done.committed_at else "")
    fmt = report_format(profile)
    mapping, unknown, data = read_rows(fmt, raw, filename, max_rows)
    missing = _missing_columns(fmt, set(mapping.values()), default_ground)
    if missing:
        raise FileProblem("missing_columns", columns=missing)
    results = validate_rows(fmt, profile, data, default_ground, today)
    warnings = _check_database(session, profile, results, key)
    batch = ImportBatch(
        profile=profile.code, jurisdiction=jurisdiction, kind=fmt.frequency,
        filename=uploads.clean_name(filename or "upload")[-200:],   # no NUL or control characters
        sha256=sha256, uploaded_by_id=user.id, status=ImportStatus.STAGED,
        default_ground=default_ground or None, rows=[_row_json(r, warnings) for r in results],
        unknown_headers=unknown[:20], row_count=len(results),
        error_count=sum(1 for r in results if not r.ok))
    session.add(batch)
    session.flush()
    audit.record(session, actor, "import.stage", "import_batch", batch.id, {
        "profile": profile.code, "sha256": sha256, "rows": batch.row_count,
        "errors": batch.error_count})
    return batch


def _committed(session: Session, sha256: str) -> ImportBatch | None:
    return session.execute(sa.select(ImportBatch).where(
        ImportBatch.sha256 == sha256, ImportBatch.status == ImportStatus.COMMITTED).limit(1)
    ).scalar()


def _facts(fmt: ReportFormat, v: dict) -> str:
    """The case's facts: the report's cause (or violations), then its other fields, labelled."""
    lines = [v.get("cause") or v.get("violations") or ""]
    for col in fmt.columns:
        value = None
        if col.key == "date" and v.get("date"):
            value = v["date"]
        elif col.key == "arrears" and (v.get("months") is not None or v.get("amount")):
            value = "；".join(x for x in (
                f"{v['months']}个月" if v.get("months") is not None else "",
                f"{v['amount']}元" if v.get("amount") else "") if x)
        elif col.key in ("insured", "collection", "remarks", "other") and v.get(col.key) not in (None, ""):
            value = v[col.key]
        elif col.key.startswith("extra_"):
            value = v.get("extras", {}).get(col.label.zh)
        if value not in (None, ""):
            lines.append(f"{col.label.zh}：{value}")
    return "\n".join(line for line in lines if line)


def _subject_input(v: dict) -> subjects.SubjectInput:
    if v["kind"] == "person":
        return subjects.SubjectInput(kind=SubjectKind.PERSON, name=v["name"], id_number=v["id_number"])
    return subjects.SubjectInput(
        kind=SubjectKind.ORGANISATION, name=v["name"], uscc=v.get("uscc"),
        org_code=v.get("org_code"), reg_no=v.get("reg_no"),
        legal_rep=subjects.PersonInput(v.get("rep_name") or "", v.get("rep_id")))


def commit(session: Session, user: StaffUser, batch_id: int, profile: Profile, *, key: str,
           today: dt.date) -> CommitResult:
    """Open every case of a clean batch, or nothing. Raises ImportProblem when refused."""
    actor = _actor(user)
    batch = session.execute(sa.select(ImportBatch).where(ImportBatch.id == batch_id)
                            .with_for_update()).scalar_one_or_none()
    if batch is None:
        raise ImportProblem("not_found")
    scope.require(session, user, batch.jurisdiction)
    if batch.status is ImportStatus.COMMITTED:
        return CommitResult(batch, (), already=True)
    if batch.status is ImportStatus.DISCARDED:
        raise ImportProblem("discarded")
    profile = rules_of.own(batch, profile)      # the rules it was staged under
    done = _committed(session, batch.sha256)
    if done is not None:
        raise ImportProblem("already_imported", batch=done.id,
                            date=clock.local_day(done.committed_at).isoformat() if done.committed_at else "")
    if batch.error_count:
        raise ImportProblem("has_errors", rows=batch.error_count)
    fmt = report_format(profile)
    results = [RowResult(r["line"], r["values"], []) for r in batch.rows]
    warnings = _check_database(session, profile, results, key)
    conflicts = sum(1 for r in results if not r.ok)
    if conflicts:        # something changed since the preview: show it, write nothing else
        batch.rows = [_row_json(r, warnings) for r in results]
        batch.error_count = conflicts
        session.flush()
        return CommitResult(batch, (), conflicts=conflicts)
    opened: list[Case] = []
    rows = []
    for result in results:
        v = result.values
        try:
            subject, _created = subjects.register_subject(session, user, key, _subject_input(v))
        except subjects.SubjectError as exc:     # validated at staging: only a changed rule
            raise ImportProblem("row", line=result.line, field=exc.field) from None
        try:
            case = cases.open_case(session, user, profile, subject, cases.CaseInput(
                ground=v["ground"], facts=_facts(fmt, v), origin=CaseOrigin.IMPORT,
                document_no=v.get("document_no") or None,
                amount=Decimal(v["amount"]) if v.get("amount") else None, months=v.get("months"),
                jurisdiction=batch.jurisdiction), today)
        except cases.BelowThreshold:             # checked at staging: only a changed profile
            raise ImportProblem("row", line=result.line, field="amount") from None
        session.add(CaseReportData(case_id=case.id, batch_id=batch.id, values={
            k: v[k] for k in REPORT_KEYS if v.get(k) not in (None, "", {})}))
        opened.append(case)
        rows.append(_committed_row(result, warnings, case.case_no))
    batch.rows = rows
    batch.status, batch.commit_key = ImportStatus.COMMITTED, batch.sha256
    batch.committed_by_id, batch.committed_at = user.id, clock.now()
    batch.case_count = len(opened)
    session.flush()
    audit.record(session, actor, "import.commit", "import_batch", batch.id, {
        "profile": profile.code, "sha256": batch.sha256, "cases": len(opened),
        "first": opened[0].case_no if opened else None,
        "last": opened[-1].case_no if opened else None})
    return CommitResult(batch, tuple(opened))


def discard(session: Session, user: StaffUser, batch_id: int) -> ImportBatch:
    """Throw a staged batch away; its rows (with ID numbers) are deleted with it."""
    actor = _actor(user)
    batch = session.get(ImportBatch, batch_id)
    if batch is None:
        raise ImportProblem("not_found")
    scope.require(session, user, batch.jurisdiction)
    if batch.status is not ImportStatus.STAGED:
        raise ImportProblem("not_staged")
    batch.status, batch.rows = ImportStatus.DISCARDED, []
    session.flush()
    audit.record(session, actor, "import.discard", "import_batch", batch.id,
                 {"profile": batch.profile, "sha256": batch.sha256})
    return batch
