"""Search in the back office: one box in the header, one results page.

What a query matches (case-insensitive; identifiers normalised: spaces, dashes and full-width
characters do not matter):

* a case number, whole (``JIA-2026-000179``), its beginning (``JIA-2026``) or its number part
  (``000179``, ``179``);
* a receipt number of a filing, whole or its beginning;
* a subject's name, any part of it (Chinese included);
* a unified social credit code, organisation code or registration number, whole;
* a resident ID number, whole: compared by its keyed hash (the subject's or a legal
  representative's or responsible person's); the page shows only the masked number.

Only cases and filings of the jurisdictions the user may read are found. One hit on an exact
identifier goes straight to the record (``go=list`` shows the list instead).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import sqlalchemy as sa
from flask import Blueprint, current_app, redirect, render_template, request, url_for
from sqlalchemy.orm import Session

from portal import clock
from portal.admin import queries, scoping
from portal.admin.access import role_required
from portal.extensions import db
from portal.input_guard import small_int
from portal.models import Case, RelatedPerson, Subject, Submission
from portal.rules import identifiers
from portal.rules.identifiers import mask_ric
from portal.security import lookup_hash
from portal.services.scope import Scope

bp = Blueprint("search", __name__)
#: Longer queries are cut: no identifier or name is longer.
MAX_QUERY = 100


@dataclass
class Found:
    query: str
    cases: queries.Page
    filings: queries.Page
    exact: bool               # the query is a whole identifier (case, receipt, code, ID)

    @property
    def total(self) -> int:
        return self.cases.total + self.filings.total

    def only(self) -> str | None:
        """The URL of the one record found, when the query named it exactly."""
        if not self.exact or self.total != 1:
            return None
        if self.cases.total:
            return url_for("admin.cases.show", case_id=self.cases.items[0].id)
        return url_for("admin.queues.submission", submission_id=self.filings.items[0].id)


def ric_of(raw: str | None) -> str | None:
    """The resident ID number the query is, normalised (None: it is not one)."""
    normal = identifiers.normalise(" ".join((raw or "").split())[:MAX_QUERY])
    if len(normal) not in (15, 18):
        return None
    try:
        return identifiers.validate_ric(normal, today=clock.today())
    except identifiers.InvalidIdentifier:
        return None


def _subject_ids(normal: str, text: str, hashed: str | None) -> sa.Select:
    """Subjects the query names: by a whole code or ID number's hash, or by part of the name."""
    match = []
    if hashed:
        match += [Subject.id_hash == hashed, Subject.id.in_(
            sa.select(RelatedPerson.subject_id).where(RelatedPerson.id_hash == hashed))]
    if normal:
        match += [Subject.uscc == normal, Subject.org_code == normal, Subject.reg_no == normal]
    if text:
        match.append(Subject.name.contains(text, autoescape=True))
    return sa.select(Subject.id).where(sa.or_(*match))


def _like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search(session: Session, scope: Scope, raw: str, page: int = 1,
           ric_hash: str | None = None) -> Found:
    """``ric_hash``: the keyed hash of a resident ID number; ``raw`` is then only its masked
    form, for display: the full number never travels in a URL or a page."""
    shown = " ".join((raw or "").split())[:MAX_QUERY]
    empty = queries.Page([], 0, 1, queries.PER_PAGE)
    if ric_hash is None and not shown:
        return Found(shown, empty, empty, False)
    text = "" if ric_hash else shown
    upper, normal = text.upper(), identifiers.normalise(text)
    digits = re.fullmatch(r"[0-9]{1,12}", upper) is not None
    case_no = sa.func.upper(Case.case_no)
    match = [Case.subject_id.in_(_subject_ids(normal, text, ric_hash))]
    if upper:
        match.append(case_no.like(f"{_like(upper)}%", escape="\\"))
    if digits:
        match += [case_no.like(f"%-{upper}"), case_no.like(f"%-{upper.zfill(6)}")]
    cases = scope.filter(sa.select(Case).join(Subject, Case.subject_id == Subject.id),
                         Case.jurisdiction).where(sa.or_(*match))
    found_cases = queries.paginate(session, cases.order_by(Case.id.desc()), page,
                                   queries.PER_PAGE)
    found_filings = empty
    if upper:
        filings = scope.filter(sa.select(Submission), Submission.jurisdiction).where(
            sa.func.upper(Submission.receipt_no).like(f"{_like(upper)}%", escape="\\"))
        found_filings = queries.paginate(session, filings.order_by(Submission.id.desc()), page,
                                         queries.PER_PAGE)
    exact = bool(ric_hash) or any(
        c.case_no.upper() == upper or (digits and c.case_no.upper().endswith(f"-{upper.zfill(6)}"))
        or (normal and normal in (c.subject.uscc, c.subject.org_code, c.subject.reg_no))
        for c in found_cases.items) or any(f.receipt_no.upper() == upper
                                           for f in found_filings.items)
    return Found(shown, found_cases, found_filings, exact)


HASH = re.compile(r"[0-9a-f]{64}")


def _by_ric(number: str, go: str | None):
    """The results URL for an ID number: its masked form and keyed hash, never the number."""
    hashed = lookup_hash(current_app.config["PORTAL_LOOKUP_KEY"], number)
    return redirect(url_for(".results", q=mask_ric(number), ric=hashed,
                            **({"go": go} if go else {})), 303)


@bp.post("/search")
@role_required()
def submit():
    """The header's search box posts here (CSRF-checked): the query then travels in the
    results URL, except a resident ID number, which never does."""
    raw = request.form.get("q", "")
    number = ric_of(raw)
    if number is not None:
        return _by_ric(number, None)
    # an ID number among other words (or mistyped) is masked before it enters any address
    raw = identifiers.mask_ric_numbers(raw)
    return redirect(url_for(".results", q=" ".join(raw.split())[:MAX_QUERY]), 303)


@bp.get("/search")
@role_required()
def results():
    raw, go = request.args.get("q", ""), request.args.get("go")
    number = ric_of(raw)
    if number is not None:
        return _by_ric(number, go)
    if identifiers.contains_ric_number(raw):     # typed into the address: masked at once
        return redirect(url_for(".results", q=identifiers.mask_ric_numbers(raw)[:MAX_QUERY],
                                **{k: v for k, v in request.args.items() if k not in ("q",)}),
                        303)
    ric = request.args.get("ric", "")
    ric = ric if HASH.fullmatch(ric) else None
    if ric is not None:
        raw = identifiers.mask_ric_numbers(raw)[:MAX_QUERY]
    page = small_int(request.args.get("page")) or 1
    found = search(db.session, scoping.current(), raw, max(1, page), ric_hash=ric)
    target = found.only() if go != "list" else None
    if target is not None:
        return redirect(target)
    case_nos = dict(db.session.execute(sa.select(Case.id, Case.case_no).where(
        Case.id.in_({f.case_id for f in found.filings.items if f.case_id}))).all()) \
        if found.filings.items else {}
    return render_template("admin/search.html", found=found, mask_ric=mask_ric,
                           case_nos=case_nos,
                           args={k: v for k, v in (("q", found.query), ("ric", ric)) if v})
