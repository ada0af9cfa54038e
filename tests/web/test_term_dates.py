"""One meaning of the term on every surface (Civil Code arts. 201–203).

A one-year listing decided on 2026-12-06 is on the list up to and including
2027-12-06 (the term's last day) and leaves it on 2027-12-07.  Every surface
states these two facts with the same words.
"""
from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa
import time_machine

from portal.models import PublishedEntry, Role
from tests.factories import listed_case
from tests.letters_support import page_text, post_letter
from tests.web.admin_support import fast_passwords, login, staff  # noqa: F401

pytestmark = pytest.mark.usefixtures("fast_passwords")

DECIDED = dt.date(2026, 12, 6)
LAST_DAY = "2027年12月6日"
LEAVES = "2027年12月7日"
DATE = r"(\d{4}年\d{1,2}月\d{1,2}日)"


def _stated(text: str) -> tuple[set[str], set[str]]:
    """The term's last day ("至 …") and the day the subject leaves the list ("… 起…移出")."""
    last = {d for d in re.findall(r"至\s*" + DATE, text) if d.startswith("2027年12月")}
    leaves = set(re.findall(DATE + r"\s*起\S{0,4}移出", text))
    return last, leaves


def test_the_letter_and_the_entry_page_state_the_same_term(app, session, client):
    with time_machine.travel(dt.datetime(2026, 12, 8, 2, tzinfo=dt.UTC), tick=False):
        case, code = listed_case(session, app, decided_on=DECIDED, ground="J1")
        session.commit()
        entry = session.execute(sa.select(PublishedEntry)).scalar_one()
        page = page_text(client.get(f"/entries/{entry.public_id}"))
        login(client, staff(session, Role.CLERK))
        letter = page_text(post_letter(client, case, "listing_decision", code=code))
    assert _stated(letter) == ({LAST_DAY}, {LEAVES})
    assert _stated(page) == _stated(letter)


# ---------------------------------------------------------------- every surface, one listing

ISO_LAST, ISO_LEAVES = "2027-12-06", "2027-12-07"
SENTENCE_LAST = f"列入期限至{LAST_DAY}（含当日）"
SENTENCE_LEAVES = f"{LEAVES}起移出名单"
HEAD_LAST, HEAD_LEAVES = "列入期限至（含当日）", "移出名单日期（期满次日）"


def _says_both(name: str, text: str) -> None:
    """A page or letter states the last day and the leaving day in the common words, and
    never presents the leaving day as the end of the term."""
    assert SENTENCE_LAST in text, name
    assert SENTENCE_LEAVES in text, name
    assert _stated(text) == ({LAST_DAY}, {LEAVES}), name


def _machine(name: str, item: dict) -> None:
    assert item["term_last_day"] == ISO_LAST and item["leaves_list_on"] == ISO_LEAVES, name
    assert "term_end" not in item, name


def _table(name: str, header: list, row: list) -> None:
    line = dict(zip(header, row))
    assert str(line[HEAD_LAST])[:10] == ISO_LAST and str(line[HEAD_LEAVES])[:10] == ISO_LEAVES, name


def test_one_listing_states_the_same_two_dates_on_every_surface(app, session, client):
    import csv
    import io
    import json

    from openpyxl import load_workbook

    from portal.rules.profiles import load_profile
    from portal.services import cases, report_export
    from tests.web.integration_support import auth, new_client

    with time_machine.travel(dt.datetime(2026, 12, 8, 2, tzinfo=dt.UTC), tick=False):
        case, code = listed_case(session, app, decided_on=DECIDED, ground="J1")
        _api_client, token = new_client(session)
        session.commit()
        pid = session.execute(sa.select(PublishedEntry.public_id)).scalar_one()
        uscc = case.subject.uscc

        # public pages
        _says_both("entry page", page_text(client.get(f"/entries/{pid}")))
        listing = page_text(client.get("/entries"))
        assert LAST_DAY in listing and LEAVES in listing and HEAD_LAST in listing
        _says_both("/check", page_text(client.post("/check", data={"code": uscc})))
        # open data
        rows = list(csv.reader(io.StringIO(client.get("/exports/entries.csv").get_data(as_text=True)
                                           .lstrip("\ufeff"))))
        _table("entries.csv", rows[0], rows[1])
        book = load_workbook(io.BytesIO(client.get("/exports/entries.xlsx").get_data()))
        sheet = list(book.active.iter_rows(values_only=True))
        _table("entries.xlsx", list(sheet[0]), list(sheet[1]))
        _machine("entries.json", json.loads(client.get("/exports/entries.json").get_data())["data"][0])
        # public API and its description
        _machine("API entry", client.get(f"/api/v1/entries/{pid}").get_json()["data"])
        _machine("API list", client.get("/api/v1/entries").get_json()["data"][0])
        _machine("API check", client.get(f"/api/v1/check?code={uscc}").get_json()["entries"][0])
        for spec in ("/api/v1/openapi.json", "/api/v1/integration/openapi.json"):
            text = client.get(spec).get_data(as_text=True)
            assert "term_last_day" in text and "leaves_list_on" in text and "term_end" not in text
        # integration API: status and case-event feed
        status = client.post("/api/v1/integration/status", json={"code": uscc}, headers=auth(token))
        _machine("integration status", status.get_json()["listings"][0])
        feed = client.get("/api/v1/integration/changes", headers=auth(token)).get_json()["data"]
        _machine("integration changes", next(e for e in feed if e["event"] == "listing_decided"))
        # Atom feed
        _says_both("atom", client.get("/feeds/changes.atom").get_data(as_text=True))
        # the party's case page
        party = app.test_client()
        party.post("/submit/party", data={"case_no": case.case_no, "access_code": code,
                                          "identifier": uscc})
        _says_both("/submit/case", page_text(party.get("/submit/case")))
        # back office: case page, decision letter, sharing file; the report export
        login(client, staff(session, Role.CLERK))
        _says_both("admin case page", page_text(client.get(f"/admin/cases/{case.id}")))
        _says_both("decision letter", page_text(post_letter(client, case, "listing_decision",
                                                            code=code)))
        shared = client.post("/admin/sharing/export", data={
            "kind": "listings", "case": [str(case.id)], "fmt": "csv", "language": "zh"})
        rows = list(csv.reader(io.StringIO(shared.get_data().decode("utf-8-sig"))))
        _table("sharing file", rows[0], rows[1])
        header, report = report_export.report_table(
            session, load_profile("jiamusi"), report_export.ReportPeriod(2026, 12, "monthly"))
        other = dict(zip(header, report[0]))
        assert any(f"列入期限至{ISO_LAST}（含当日），{ISO_LEAVES}起移出名单" in str(v)
                   for v in other.values())

    # the term ends: the subject leaves the list on the day after its last day
    with time_machine.travel(dt.datetime(2027, 12, 7, 2, tzinfo=dt.UTC), tick=False):
        key = app.config["PORTAL_LOOKUP_KEY"]
        assert cases.expire_terms(session, load_profile, key, dt.date(2027, 12, 6)) == []
        assert cases.expire_terms(session, load_profile, key, dt.date(2027, 12, 7)) == [case.case_no]
        session.commit()
        _says_both("/removals", page_text(client.get("/removals")))
        entry_page = page_text(client.get(f"/entries/{pid}"))
        assert SENTENCE_LAST in entry_page and SENTENCE_LEAVES in entry_page
        login(client, staff(session, Role.CLERK))         # a year later: a new sign-in
        _says_both("removal letter", page_text(post_letter(client, case, "removal_decision")))
