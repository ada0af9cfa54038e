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
