"""Batch screening against the public list: codes through their keyed hash, names scored,
persons a profile does not publish found only by their full ID number, jurisdictions scoped."""
import datetime as dt
import random

import pytest
import sqlalchemy as sa

from portal.models import PublishedEntry, SubjectKind
from portal.rules import identifiers
from portal.services import screening
from portal.services.screening import Record
from tests.factories import make_subject, published_case

TODAY = dt.date(2026, 12, 6)
NAME = "佳木斯市恒达建筑工程有限公司"


def _screen(session, *records, threshold=screening.DEFAULT_THRESHOLD, jurisdictions=None):
    return screening.screen(session, list(records), threshold=threshold,
                            jurisdictions=jurisdictions, today=TODAY)


@pytest.fixture
def listed(app, session):
    subject = make_subject(session, name=NAME, rng=random.Random(11))
    case = published_case(session, app, subject=subject)
    session.commit()
    return case


def test_a_code_matches_through_its_keyed_hash_whatever_its_spelling(session, listed):
    uscc = listed.subject.uscc
    typed = " ".join([uscc[:6], uscc[6:12].lower(), uscc[12:]])
    [result] = _screen(session, Record(row=1, code=typed))
    assert (result.error, result.masked_code, result.code_kind) == (None, uscc, "uscc")
    [match] = result.matches
    assert (match.how, match.score, match.reasons) == ("code", 1.0, ("exact_code",))
    entry = session.execute(sa.select(PublishedEntry)).scalar_one()
    assert (match.public_id, match.name, match.masked_code) == (entry.public_id, NAME, uscc)
    assert (match.listed_on, match.ground_code, match.leaves_list_on) == \
        (entry.listed_on, entry.ground_code, entry.leaves_list_on)
    assert match.public and match.jurisdiction == "jiamusi"


def test_a_legacy_organisation_code_matches_too(session, listed):
    org_code = listed.subject.org_code
    [result] = _screen(session, Record(row=1, code=f"{org_code[:8]}-{org_code[8]}"))
    assert result.code_kind == "org_code" and [m.how for m in result.matches] == ["code"]


def test_a_code_and_a_name_of_the_same_entry_give_one_match(session, listed):
    [result] = _screen(session, Record(row=1, name=NAME, code=listed.subject.uscc))
    assert [(m.how, m.score) for m in result.matches] == [("code", 1.0)]


def test_an_invalid_code_gives_an_error_never_an_exception_nor_the_number(session, listed):
    valid = identifiers.generate_ric(random.Random(5), birth=dt.date(1980, 4, 1))
    wrong = valid[:17] + ("0" if valid[17] != "0" else "1")
    bad_uscc = listed.subject.uscc[:17] + ("0" if listed.subject.uscc[17] != "0" else "1")
    results = _screen(session, Record(row=1, code=wrong), Record(row=2, code="12345"),
                      Record(row=3, code=bad_uscc, name=NAME), Record(row=4, code="ＸＹ！@#"),
                      Record(row=5, code=" "))
    assert [r.error_reason for r in results] == \
        ["ric:checksum", "any:length", "uscc:checksum", "any:length", None]
    assert all(r.error for r in results[:4]) and results[4].error is None
    assert "校验码不符" in str(results[0].error)            # translated (the default language)
    assert results[0].masked_code == identifiers.mask_ric(wrong)
    assert wrong not in repr(results) and wrong[6:14] not in repr(results)
    assert [m.how for m in results[2].matches] == ["name"]      # the name is still screened


def test_hostile_records_are_answered(session, listed):
    results = _screen(session, Record(row=1, name="\ud800" + NAME, code="\ud800" * 18),
                      Record(row=2, name="x" * 100_000, code="9" * 10_000),
                      Record(row=3, name="\x00", code="\x00"), Record(row=4, name=12345, code=None))
    assert [r.error_reason for r in results] == ["ric:format", "any:length", "any:length", None]
    assert [len(r.matches) for r in results] == [1, 0, 0, 0]


def test_a_person_the_profile_does_not_publish_is_found_by_id_number_only(app, session):
    app.config["PORTAL_PROFILE"] = "zhengzhou"
    person = make_subject(session, SubjectKind.PERSON, name="钱冒领")
    published_case(session, app, profile_code="zhengzhou", kind=SubjectKind.PERSON,
                   subject=person, ground="ZP3", decided_on=dt.date(2026, 3, 16))
    session.commit()
    full = person.id_number
    by_name, by_pinyin, by_id = _screen(session, Record(row=1, name="钱冒领"),
                                        Record(row=2, name="qian maoling"),
                                        Record(row=3, name="钱冒领", code=full), threshold=0.5)
    assert by_name.matches == () and by_pinyin.matches == ()
    [match] = by_id.matches
    assert (match.how, match.name, match.public) == ("code", "钱**", False)
    assert match.masked_code == identifiers.mask_ric(full) == by_id.masked_code
    assert full not in repr(by_id) and "钱冒领" not in repr(by_id.matches)


def test_a_published_person_is_found_by_name_and_by_id(app, session):
    person = make_subject(session, SubjectKind.PERSON, name="李秀英")
    published_case(session, app, kind=SubjectKind.PERSON, subject=person)
    session.commit()
    by_name, by_id = _screen(session, Record(row=1, name="李秀英"),
                             Record(row=2, code=person.id_number))
    assert [(m.how, m.name) for m in by_name.matches] == [("name", "李秀英")]
    assert [(m.how, m.masked_code) for m in by_id.matches] == \
        [("code", identifiers.mask_ric(person.id_number))]
    assert person.id_number not in repr(by_id)


def test_names_are_scored_with_reasons(session, listed):
    results = _screen(session, Record(row=1, name="佳木斯市恆達建築工程有限公司"),
                      Record(row=2, name="jiamusi hengda jianzhu gongcheng youxian gongsi"),
                      Record(row=3, name="佳木斯市恒达建筑工程股份有限公司"),
                      Record(row=4, name="佳木斯市华星建筑工程有限公司"))
    first, second, third, fourth = (r.matches for r in results)
    assert [(m.score, m.reasons) for m in first] == [(1.0, ("same_name", "traditional"))]
    assert [m.reasons for m in second] == [("pinyin",)]
    assert third[0].score < 1.0 and "legal_form_stripped" in third[0].reasons
    assert fourth == ()


def test_the_jurisdictions_scope_codes_and_names(session, listed):
    code, name = Record(row=1, code=listed.subject.uscc), Record(row=2, name=NAME)
    assert all(r.matches == () for r in _screen(session, code, name, jurisdictions=["nowhere"]))
    assert all(len(r.matches) == 1 for r in _screen(session, code, name, jurisdictions=["jiamusi"]))


def test_a_new_publication_is_screened_at_once(app, session, listed):
    assert _screen(session, Record(row=1, name="哈尔滨鑫源商贸有限公司"))[0].matches == ()
    published_case(session, app, subject=make_subject(session, name="哈尔滨鑫源商贸有限公司"))
    session.commit()
    [result] = _screen(session, Record(row=1, name="哈尔滨鑫源商贸有限公司"))
    assert [m.name for m in result.matches] == ["哈尔滨鑫源商贸有限公司"]


def test_a_call_is_bounded(session):
    too_many = [Record(row=i, name="x") for i in range(screening.MAX_RECORDS_PER_CALL + 1)]
    with pytest.raises(screening.ScreeningError):
        _screen(session, *too_many)
    with pytest.raises(screening.ScreeningError):
        _screen(session, Record(row=1, name="x"), threshold=0.1)


def test_every_reason_has_a_label():
    from portal.rules.name_match import REASONS

    assert set(screening.REASON_LABELS) == set(REASONS)
