"""English pages name the deciding department and the contact in English, and say that the
facts and reasons are published in Chinese only (issue 13, item 7)."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from portal.models import Jurisdiction, PublishedEntry
from portal.public_scope import contact_line, department_label, has_chinese
from portal.rules.profiles import load_profile
from portal.services import jurisdictions
from tests.factories import published_case

PROFILES = ["jiamusi", "chizhou", "fuzhou", "national", "shanghai", "zhengzhou"]
NOTE = "Facts and reasons are published in Chinese only"


def _dd(html: str, css_class: str) -> str:
    found = re.search(rf'<dd class="{css_class}"[^>]*>(.*?)</dd>', html, re.S)
    assert found, css_class
    return found.group(1).strip()


@pytest.mark.parametrize("code", PROFILES)
def test_every_profile_seeds_a_bureau_with_english_departments_and_contact(code):
    profile = load_profile(code)
    values = jurisdictions.values_from_profile(profile, "0454-12333")
    assert values["name_en"] and values["authority_en"] and not has_chinese(values["authority_en"])
    assert values["departments"] and all(d["en"] and not has_chinese(d["en"])
                                         for d in values["departments"])
    assert values["contact_en"] == "0454-12333"
    # a case decided by the profile's authority reads in English, whatever bureau it has
    assert department_label(profile.authority.zh, "en", [], [profile]) == profile.authority.en
    assert department_label(profile.authority.zh, "zh_CN", [], [profile]) == profile.authority.zh


def test_a_chinese_contact_line_gives_way_to_the_bureaus_english_one():
    info = jurisdictions.Directory.of([Jurisdiction(
        **jurisdictions.values_from_profile(load_profile("jiamusi"), "")
        | {"contact_zh": "0454-12333（工作日）", "contact_en": "0454-12333 (working days)"},
        active=True)]).items[0]
    assert contact_line("0454-12333（工作日）", info, "en") == "0454-12333 (working days)"
    assert contact_line("0454-12333（工作日）", info, "zh_CN") == "0454-12333（工作日）"
    assert contact_line("0454-8612333", info, "en") == "0454-8612333"
    assert contact_line("", info, "en") == "0454-12333 (working days)"


def test_an_english_entry_page_names_department_and_contact_in_english(app, session, client):
    bureau = session.get(Jurisdiction, "jiamusi")
    bureau.departments = [*bureau.departments,
                          {"zh": "佳木斯市社会保险事业中心", "en": "Jiamusi Social Insurance Centre"}]
    bureau.contact_zh, bureau.contact_en = "0454-12333（工作日）", "0454-12333 (working days)"
    session.commit()
    default = published_case(session, app)                       # the profile's authority
    centre = published_case(session, app, department="佳木斯市社会保险事业中心")
    session.commit()
    rows = {row.case_id: row for row in session.execute(sa.select(PublishedEntry)).scalars()}
    rows[centre.id].department_contact = "佳木斯市社会保险事业中心 0454-12333（工作日）"
    session.commit()

    client.get("/lang/en")
    expected = {default.id: "Jiamusi Municipal Human Resources and Social Security Bureau",
                centre.id: "Jiamusi Social Insurance Centre"}
    for case_id, department in expected.items():
        html = client.get(f"/entries/{rows[case_id].public_id}").get_data(as_text=True)
        assert _dd(html, "department") == department
        contact = _dd(html, "contact")
        assert contact == "0454-12333 (working days)" and not has_chinese(contact)
        assert NOTE in html
        assert re.search(r'<dd class="prose" lang="zh-CN">经查', html)      # the facts, marked
    listing = client.get("/entries").get_data(as_text=True)
    assert "published in Chinese only" in listing
    options = re.search(r'<select id="f-department".*?</select>', listing, re.S).group(0)
    assert "Jiamusi Social Insurance Centre (1)" in options and not has_chinese(
        re.sub(r'value="[^"]*"', "", options))

    client.get("/lang/zh_CN")
    html = client.get(f"/entries/{rows[centre.id].public_id}").get_data(as_text=True)
    assert _dd(html, "department") == "佳木斯市社会保险事业中心" and NOTE not in html
    assert _dd(html, "contact") == "佳木斯市社会保险事业中心 0454-12333（工作日）"
