"""Public text is public text: no internal note on a public surface, a letter or the back office.

For every profile the demo city is built once (``seed_city``, through the
services).  The crawler then fetches, in Chinese and in English, every public
page it can reach from ``/`` and the machine-readable routes (exports, the
Atom feed, the API and its OpenAPI document, the filing pages), with one
entry page per ground, kind and status; every letter kind is rendered for a
case walked through the procedure; and the back-office pages of that case and
of the profile's rules are read in both languages.  Each body is checked
against :data:`portal.rules.public_text.INTERNAL_MARKERS` (seed and SPEC references,
"§", "¶", "art." shorthand, notes about the text, doubled title marks …).

SQLite only, like the privacy crawl: the projection, not the database, decides
what is shown.
"""
from __future__ import annotations

import datetime as dt
import html
import re
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
import time_machine

from portal import clock
from portal.demo.seed import DEMO_TODAY
from portal.extensions import db
from portal.models import PublicationWithdrawal, PublishedEntry, Role
from portal.rules.public_text import internal_markers
from portal.rules.profiles import available_profiles, load_profile
from portal.rules.workflow import RemovalReason
from tests.letters_support import DECIDED, Procedure, post_letter
from tests.web.admin_support import fast_passwords, login, staff  # noqa: F401
from tests.web.crawl_support import PUBLIC_START, crawl, demo_city, first_pages

LANGS = ("zh_CN", "en")
SKIP = ("/static/", "/lang/", "/display/", "/admin")
#: Back-office pages that show the profile's rules (deadlines, report format, platforms, grades).
ADMIN_RULE_PAGES = ("/admin/", "/admin/imports/", "/admin/imports/reports", "/admin/sharing/",
                    "/admin/grades/", "/admin/grades/redlist", "/admin/calendar/")


def _at(day: dt.date):
    return time_machine.travel(dt.datetime.combine(day, dt.time(10), clock.zone()).astimezone(dt.UTC),
                               tick=False)


@pytest.fixture(scope="module", params=available_profiles())
def city(request, tmp_path_factory):
    code = request.param
    tmp = tmp_path_factory.mktemp(f"text-{code}")
    with demo_city(tmp, code) as app:
        yield app


def _sample_entries() -> set[str]:
    """One entry page per ground, kind of subject, status and repeat flag."""
    e = PublishedEntry
    rows = db.session.execute(sa.select(e.public_id, e.ground_code, e.subject_kind, e.status,
                                        e.repeat_listing, e.under_objection)
                              .order_by(e.id)).all()
    chosen = {}
    for public_id, *kind in rows:
        chosen.setdefault(tuple(kind), public_id)
    return {f"/entries/{public_id}" for public_id in chosen.values()}


def _findings(bodies: dict[str, str]) -> list[tuple[str, str, str]]:
    return [(url, label, context) for url, body in bodies.items()
            for label, context in internal_markers(body)]


def _report(found: list[tuple]) -> str:
    """Each distinct note once, with the number of bodies it is in and the first of them."""
    distinct: dict[tuple[str, str], list[str]] = {}
    for *where, label, context in found:
        distinct.setdefault((label, " ".join(context.split())), []).append(" ".join(where))
    return "\n".join(f"{label}: {context!r} ({len(urls)}×, e.g. {urls[0]})"
                     for (label, context), urls in sorted(distinct.items()))


@pytest.mark.usefixtures("fast_passwords")
def test_no_internal_note_on_any_public_surface_letter_or_back_office_page(city):
    """One test per profile, so that each demo city is built once even when the tests are
    spread over several workers."""
    public = _public_findings(city)
    staff_side = _letter_and_back_office_findings(city)
    assert not public + staff_side, _report(public + staff_side)


def _public_findings(city) -> list[tuple]:
    sample = _sample_entries()
    names = db.session.execute(sa.select(PublishedEntry.name)
                               .order_by(PublishedEntry.id)).scalars().all()

    def keep(url: str) -> bool:
        path = urlsplit(url).path
        if re.fullmatch(r"/entries/[^/]+", path):
            return path in sample or path in gone
        if re.fullmatch(r"/api/v1/entries/[^/]+", path):
            return f"/entries/{path.rsplit('/', 1)[1]}" in sample | gone
        return first_pages(url)

    # withdrawn entries answer 410 with a page and an API body that say why: read those too
    withdrawn = db.session.execute(
        sa.select(PublicationWithdrawal.public_id).where(PublicationWithdrawal.topic == "entry")
        .order_by(PublicationWithdrawal.reason, PublicationWithdrawal.id).limit(6)).scalars().all()
    gone = {f"/entries/{pid}" for pid in withdrawn}
    start = PUBLIC_START + [f"/search?q={names[0][:4]}"] + sorted(sample | gone) + [
        f"/api/v1/entries/{u.rsplit('/', 1)[1]}" for u in sorted(sample | gone)]
    found, crawled = [], {}
    with _at(DEMO_TODAY):
        for lang in LANGS:
            client = city.test_client()
            client.get(f"/lang/{lang}")
            asked = "en" if lang == "en" else "zh"       # exports and the feed take ?lang= too
            with_lang = [f"{u}?lang={asked}" for u in PUBLIC_START
                         if u.startswith(("/exports", "/feeds"))]
            bodies, statuses = crawl(client, start + with_lang, SKIP, keep)
            missing = [u for u in start if u not in bodies]
            assert not missing, (lang, missing, {u: statuses.get(u) for u in missing})
            crawled[lang] = len(bodies)
            for url in sample:   # the legal basis reads in the page's language
                ground = db.session.execute(sa.select(PublishedEntry.ground_code).where(
                    PublishedEntry.public_id == url.rsplit("/", 1)[1])).scalar_one()
                basis = load_profile(city.config["PORTAL_PROFILE"]).ground(ground).legal_basis
                assert html.escape(basis.get(lang), quote=False) in bodies[url], (lang, url)
            found += [(lang, *f) for f in _findings(bodies)]
    assert min(crawled.values()) > 40, crawled
    return found


def _letter_and_back_office_findings(city) -> list[tuple]:
    session = db.session
    proc = Procedure(session, city, city.config["PORTAL_PROFILE"])
    case = proc.case
    session.commit()
    clerk, approver = staff(session, Role.CLERK), staff(session, Role.APPROVER)
    rendered: dict[str, str] = {}
    client = city.test_client()
    with _at(DECIDED):
        login(client, clerk)
        for lang in LANGS:
            response = post_letter(client, case, "pre_notice", code=proc.pre_notice_code, lang=lang)
            assert response.status_code == 200
            rendered[f"pre_notice/{lang}"] = response.get_data(as_text=True)
        proc.decide()
        session.commit()
        for lang in LANGS:
            response = post_letter(client, case, "listing_decision", code=proc.decision_code,
                                   lang=lang)
            assert response.status_code == 200
            rendered[f"listing_decision/{lang}"] = response.get_data(as_text=True)
    removed_on = proc.remove(RemovalReason.CREDIT_REPAIRED)
    session.commit()
    with _at(removed_on):
        login(client, clerk)
        kinds = ["removal_decision"]
        if proc.profile.repair.certificate:
            kinds.append("repair_certificate")
        for kind in kinds:
            for lang in LANGS:
                response = post_letter(client, case, kind, lang=lang)
                assert response.status_code == 200, kind
                rendered[f"{kind}/{lang}"] = response.get_data(as_text=True)
        for lang in LANGS:   # the case form lists the grounds with their articles
            client.get(f"/lang/{lang}")
            response = client.get("/admin/cases/new")
            assert response.status_code == 200
            rendered[f"/admin/cases/new/{lang}"] = response.get_data(as_text=True)
        admin = city.test_client()
        login(admin, approver)
        for lang in LANGS:
            admin.get(f"/lang/{lang}")
            for url in (f"/admin/cases/{case.id}", f"/admin/grades/subjects/{proc.subject.id}",
                        *ADMIN_RULE_PAGES):
                response = admin.get(url)
                if url.startswith("/admin/cases/") or response.status_code == 200:
                    assert response.status_code == 200, url
                    rendered[f"{url}/{lang}"] = response.get_data(as_text=True)
    assert len(rendered) >= 10
    return _findings(rendered)
