"""/letters/verify: the holder of a letter checks its number and verification code (文书核验).

The code is printed on every numbered letter (HTML and PDF); the page says whether the
letter is genuine and still in force, the same "not confirmed" for a wrong number and a
wrong code, and never shows the party, its identifiers or the facts.
"""
from __future__ import annotations

import datetime as dt
import html
import re

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import Letter, LetterKind, Role, SubjectKind
from portal.rules.workflow import RemovalReason
from portal.security import CODE_ALPHABET, canonical_letter_code, letter_code
from portal.services import cases, letter_verification, letters
from tests.factories import make_subject
from tests.letters_support import DECIDED, SERVED, Procedure, day, page_text, parts, post_letter
from tests.web.admin_support import fast_passwords, login, staff  # noqa: F401
from tests.web.test_public_check import _fresh_app

K = LetterKind
URL = "/letters/verify"


def _issue(proc: Procedure, kind: LetterKind, today: dt.date = DECIDED) -> Letter:
    letter = letters.issue(proc.session, proc.clerk, proc.case, proc.profile, kind, today)
    proc.session.commit()
    return letter


def _code(app, letter: Letter) -> str:
    return letter_verification.code_of(app.config["PORTAL_LOOKUP_KEY"], letter)


def _ask(client, number: str, code: str):
    return client.post(URL, data={"number": number, "code": code})


def _answer(response) -> str:
    """The answer part of the page (the form above it echoes the typed number)."""
    body = response.get_data(as_text=True)
    found = re.search(r'<section class="panel check-result.*?</section>', body, re.DOTALL)
    return found.group(0) if found else ""


def page_text_of(fragment: str) -> str:
    """The visible text of a piece of a page, whitespace collapsed."""
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", fragment)))


def _private_values(proc: Procedure) -> list[str]:
    subject = proc.subject
    values = [subject.name, subject.uscc, proc.case.case_no, proc.case.facts, proc.case.reasons]
    values += [p.name for p in subject.people] + [p.id_number for p in subject.people if p.id_number]
    return [v for v in values if v]


# ------------------------------------------------------------------ the code itself

def test_the_code_is_derived_typable_and_keyed():
    code = letter_code("k", "JIA-LR-2026-00001", 7, dt.date(2026, 3, 16))
    assert re.fullmatch(r"[%s]{4}-[%s]{4}-[%s]{4}" % ((CODE_ALPHABET,) * 3), code)
    assert code == letter_code("k", "JIA-LR-2026-00001", 7, dt.date(2026, 3, 16))
    others = {letter_code("k2", "JIA-LR-2026-00001", 7, dt.date(2026, 3, 16)),
              letter_code("k", "JIA-LR-2026-00002", 7, dt.date(2026, 3, 16)),
              letter_code("k", "JIA-LR-2026-00001", 8, dt.date(2026, 3, 16)),
              letter_code("k", "JIA-LR-2026-00001", 7, dt.date(2026, 3, 17))}
    assert code not in others and len(others) == 4
    raw = code.replace("-", "")
    fullwidth = "".join(chr(ord(ch) + 0xFEE0) for ch in raw)
    for typed in (code, raw.lower(), f" {raw[:4]} {raw[4:8]} {raw[8:]} ", fullwidth,
                  code.replace("-", "—")):
        assert canonical_letter_code(typed) == raw, typed
    for typed in ("", raw[:11], raw + "2", raw[:11] + "0", raw[:11] + "I", "\x01" * 12):
        assert canonical_letter_code(typed) is None, typed


# ------------------------------------------------------------------ genuine, and nothing else

def test_a_genuine_letter_is_verified_without_any_personal_data(app, session, client):
    proc = Procedure(session, app)
    proc.decide()
    letter = _issue(proc, K.LISTING_DECISION)
    code = _code(app, letter)
    response = _ask(client, letter.letter_no, code)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    section = _answer(response)
    assert 'data-part="kind"' in section and 'data-status="in_force"' in section
    assert "社会保险领域严重失信人名单列入决定书" in section
    assert proc.profile.authority.zh in section
    assert day(DECIDED, "zh_CN") in section
    for value in _private_values(proc):
        assert value not in response.get_data(as_text=True), value
    assert code not in response.get_data(as_text=True)          # the code is not sent back

    # typed as people type it: small letters, spaces instead of dashes, a full-width number
    number = "".join(chr(ord(ch) + 0xFEE0) if ch.isalnum() else "－" for ch in letter.letter_no)
    loose = _ask(client, f" {number} ", code.lower().replace("-", " "))
    assert 'data-status="in_force"' in _answer(loose)

    client.get("/lang/en")
    english = _ask(client, letter.letter_no, code)
    section = _answer(english)
    assert "Genuine" in section and "In force" in section
    assert "Decision on Inclusion in the Social Insurance Serious Dishonesty List" in section
    assert proc.profile.authority.en in section and day(DECIDED, "en") in section
    for value in _private_values(proc):
        assert value not in english.get_data(as_text=True), value


def test_a_wrong_code_and_a_wrong_number_get_the_same_answer(app, session, client):
    proc = Procedure(session, app)
    proc.decide()
    letter = _issue(proc, K.LISTING_DECISION)
    other = _issue(proc, K.PRE_NOTICE)
    code = _code(app, letter)
    wrong_code = code[:-1] + ("2" if code[-1] != "2" else "3")
    answers = {
        "wrong code": _ask(client, letter.letter_no, wrong_code),
        "unknown number": _ask(client, "JIA-LR-2026-09999", code),
        "another letter's number": _ask(client, other.letter_no, code),
        "not a number at all": _ask(client, "这不是文书编号", code),
    }
    bodies = {name: _answer(r) for name, r in answers.items()}
    assert all(r.status_code == 200 for r in answers.values())
    assert len(set(bodies.values())) == 1, bodies
    assert 'data-part="not_found"' in bodies["wrong code"]
    assert "data-status" not in bodies["wrong code"]


# ------------------------------------------------------------------ in force or not

def test_a_removed_listings_decision_is_no_longer_in_force_with_date_and_reason(app, session, client):
    proc = Procedure(session, app)
    proc.decide()
    decision = _issue(proc, K.LISTING_DECISION)
    removed_on = proc.remove(RemovalReason.REVOKED)
    session.commit()
    removal = _issue(proc, K.REMOVAL_DECISION, removed_on)
    client.get("/lang/en")
    section = _answer(_ask(client, decision.letter_no, _code(app, decision)))
    assert 'data-status="not_in_force"' in section
    assert (f"No longer in force since {day(removed_on, 'en')} "
            "(Listing decision revoked by reconsideration or court).") in page_text_of(section)
    # the removal decision itself stands
    section = _answer(_ask(client, removal.letter_no, _code(app, removal)))
    assert 'data-status="in_force"' in section
    assert "Decision on Removal from the Social Insurance Serious Dishonesty List" in section
    client.get("/lang/zh_CN")
    zh = _ask(client, decision.letter_no, _code(app, decision))
    assert f"自{day(removed_on, 'zh_CN')}起不再有效" in page_text(zh)
    for value in _private_values(proc):
        assert value not in zh.get_data(as_text=True), value


def test_a_term_expired_listing_says_so(app, session, client):
    proc = Procedure(session, app)
    proc.decide()
    decision = _issue(proc, K.LISTING_DECISION)
    removed_on = proc.remove(RemovalReason.TERM_EXPIRED)
    session.commit()
    client.get("/lang/en")
    text = page_text_of(_answer(_ask(client, decision.letter_no, _code(app, decision))))
    assert f"No longer in force since {day(removed_on, 'en')} (Term expired)." in text


def test_a_pre_notice_is_in_force_until_the_decision_concludes_it(app, session, client):
    proc = Procedure(session, app)
    notice = _issue(proc, K.PRE_NOTICE, SERVED)
    client.get("/lang/en")
    code = _code(app, notice)
    section = _answer(_ask(client, notice.letter_no, code))
    assert 'data-status="in_force"' in section and "is under way" in section
    assert "Prior Notice of Inclusion" in section and day(SERVED, "en") in section
    proc.decide()
    session.commit()
    section = _answer(_ask(client, notice.letter_no, code))
    assert 'data-status="concluded"' in section
    assert f"ended with a listing decision on {day(DECIDED, 'en')}" in page_text_of(section)


def test_a_dropped_case_concludes_its_pre_notice_without_the_staff_reason(app, session, client):
    proc = Procedure(session, app)
    notice = _issue(proc, K.PRE_NOTICE, SERVED)
    cases.drop_case(session, proc.reviewer, proc.case, "内部备注：证据不足")
    session.commit()
    client.get("/lang/en")
    response = _ask(client, notice.letter_no, _code(app, notice))
    section = _answer(response)
    assert 'data-status="concluded"' in section and "ended without a listing on " in section
    assert "内部备注" not in response.get_data(as_text=True)


def test_a_letter_issued_again_says_so_and_both_verify(app, session, client):
    proc = Procedure(session, app)
    proc.decide()
    first = _issue(proc, K.LISTING_DECISION)
    letters.reissue_code(session, proc.clerk, proc.case, K.LISTING_DECISION)
    second = _issue(proc, K.LISTING_DECISION)
    assert first.letter_no != second.letter_no and _code(app, first) != _code(app, second)
    client.get("/lang/en")
    old = _answer(_ask(client, first.letter_no, _code(app, first)))
    new = _answer(_ask(client, second.letter_no, _code(app, second)))
    assert 'data-status="in_force"' in old and 'data-part="reissued"' in old
    assert 'data-status="in_force"' in new and 'data-part="reissued"' not in new
    assert second.letter_no not in old                     # the later number is not given away
    # codes are not interchangeable between the two
    assert 'data-part="not_found"' in _answer(_ask(client, first.letter_no, _code(app, second)))


def test_a_person_listed_is_not_shown_either(app, session, client):
    person = make_subject(session, SubjectKind.PERSON, name="李秀英")
    proc = Procedure(session, app, subject=person, ground="J4")
    proc.decide()
    letter = _issue(proc, K.LISTING_DECISION)
    body = _ask(client, letter.letter_no, _code(app, letter)).get_data(as_text=True)
    assert 'data-status="in_force"' in body
    for value in ("李秀英", "李**", person.id_number, person.id_number[-4:], proc.case.case_no):
        assert value not in body, value


# ------------------------------------------------------------------ the form

def test_the_form_is_linked_from_the_check_page_and_the_footer(client):
    page = client.get(URL)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    body = page.get_data(as_text=True)
    assert 'name="number"' in body and 'name="code"' in body
    assert "核验文书真伪" in client.get("/check").get_data(as_text=True)
    home = client.get("/").get_data(as_text=True)
    assert f'href="{URL}"' in home


def test_blank_and_malformed_codes_are_explained(app, session, client):
    client.get("/lang/en")
    blank = client.post(URL, data={"number": "JIA-LR-2026-00001", "code": " "})
    assert blank.status_code == 400 and "Please enter both" in page_text(blank)
    short = client.post(URL, data={"number": "JIA-LR-2026-00001", "code": "2345-6789"})
    assert short.status_code == 400 and "12 letters and digits" in page_text(short)
    assert 'value="JIA-LR-2026-00001"' in short.get_data(as_text=True)     # the number is kept
    access = client.post(URL, data={"number": "JIA-LR-2026-00001", "code": "2345-6789-ab"})
    assert access.status_code == 400 and "looks like the access code" in page_text(access)
    assert "2345-6789-ab" not in access.get_data(as_text=True)


@pytest.mark.parametrize("number, code", [
    ("J" * 100_000, "2345-6789-ABCD"),
    ("JIA-LR-2026-00001", "2" * 100_000),
    ("JIA\x01LR\x1f2026\x7f00001", "2345\x0b6789\x0cABCD"),
    ("ＪＩＡ－ＬＲ－２０２６－００００１", "２３４５－６７８９－ＡＢＣＤ"),
    ("\u202eJIA-LR-2026-00001", "\ufeff2345-6789-ABCD"),
    ("JIA-LR-2026-00001' OR '1'='1", "%_%_%_%_%_%_"),
    ("🙂" * 20, "🙂" * 12),
    ("ﬁ" * 30, "Ⅻ" * 12),
])
def test_hostile_input_never_answers_5xx(app, session, client, number, code):
    Procedure(session, app).decide()
    session.commit()
    response = _ask(client, number, code)
    assert response.status_code in (200, 400), response.status_code
    assert "data-status" not in response.get_data(as_text=True)
    assert len(response.get_data()) < 60_000                      # the input is not echoed whole


def test_a_nul_byte_is_refused(client):
    assert _ask(client, "JIA\x00", "2345-6789-ABCD").status_code == 400


def test_verification_is_rate_limited_per_address(tmp_path):
    app = _fresh_app(tmp_path, RATELIMIT_ENABLED=True, PORTAL_LETTER_VERIFY_RATE_LIMIT="3 per minute")
    client = app.test_client()
    with app.app_context():
        try:
            for _ in range(3):
                assert _ask(client, "JIA-LR-2026-00001", "2345-6789-ABCD").status_code == 200
            assert client.get(URL).status_code == 200                    # GET is not counted
            limited = _ask(client, "JIA-LR-2026-00002", "2345-6789-ABCD")
            assert limited.status_code == 429
            assert "Retry-After" in limited.headers and limited.headers["Cache-Control"] == "no-store"
            body = limited.get_data(as_text=True)
            assert 'name="number"' in body and "2345-6789-ABCD" not in body
            client.get("/lang/en")
            body = _ask(client, "JIA-LR-2026-00003", "2345-6789-ABCD").get_data(as_text=True)
            assert "You have made too many look-ups in a short time." in body
            # /check counts on its own
            assert client.post("/check", data={"code": "x"}).status_code != 429
        finally:
            db.session.remove()
            db.engine.dispose()


def test_verification_requires_a_csrf_token(tmp_path):
    app = _fresh_app(tmp_path, WTF_CSRF_ENABLED=True)
    client = app.test_client()
    with app.app_context():
        try:
            client.get("/lang/en")
            refused = _ask(client, "JIA-LR-2026-00001", "2345-6789-ABCD")
            assert refused.status_code == 400
            assert "The form has expired." in refused.get_data(as_text=True)
            assert 'name="number"' in refused.get_data(as_text=True)
            form = client.get(URL).get_data(as_text=True)
            token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form).group(1)
            answered = client.post(URL, data={"number": "JIA-LR-2026-00001",
                                              "code": "2345-6789-ABCD", "csrf_token": token})
            assert answered.status_code == 200
            assert 'data-part="not_found"' in answered.get_data(as_text=True)
        finally:
            db.session.remove()
            db.engine.dispose()


# ------------------------------------------------------------------ on the letter

@pytest.mark.usefixtures("fast_passwords")
def test_every_printed_letter_carries_its_code_and_the_address(app, session, client):
    proc = Procedure(session, app)
    session.commit()
    login(client, staff(session, Role.CLERK))
    for lang in ("zh_CN", "en"):
        response = post_letter(client, proc.case, "pre_notice", code=proc.pre_notice_code, lang=lang)
        assert response.status_code == 200 and "verification" in parts(response)
        text = page_text(response)
        notice = session.execute(sa.select(Letter)).scalar_one()
        assert _code(app, notice) in text and "http://localhost/letters/verify" in text
        assert notice.letter_no in text
    copy = post_letter(client, proc.case, "pre_notice")              # a copy without the access code
    assert _code(app, notice) in page_text(copy)
    # the code is derived, not stored
    session.expire_all()
    row = session.execute(sa.select(Letter)).scalar_one()
    assert all(_code(app, row) not in str(getattr(row, c.key)) and
               _code(app, row).replace("-", "") not in str(getattr(row, c.key))
               for c in Letter.__table__.columns)
    # what the letter prints verifies on the public page
    printed = re.search(r'data-part="verification_code">([^<]+)<', copy.get_data(as_text=True)).group(1)
    assert 'data-status="in_force"' in _answer(_ask(client, row.letter_no, printed))


@pytest.mark.usefixtures("fast_passwords")
def test_the_pdf_letter_carries_the_code(app, session, client):
    import shutil
    import subprocess

    from portal.admin import letter_pdf

    if not letter_pdf.available() or shutil.which("pdftotext") is None:
        pytest.skip("WeasyPrint or pdftotext (poppler-utils) is not installed")
    proc = Procedure(session, app)
    code = proc.decide()
    session.commit()
    login(client, staff(session, Role.CLERK))
    response = post_letter(client, proc.case, "listing_decision", code=code, fmt="pdf")
    assert response.mimetype == "application/pdf"
    text = subprocess.run(["pdftotext", "-", "-"], input=response.data, capture_output=True,
                          check=True).stdout.decode("utf-8")
    letter = session.execute(sa.select(Letter)).scalar_one()
    flat = re.sub(r"\s+", "", text)
    assert _code(app, letter) in flat and "localhost/letters/verify" in flat
