"""The filing forms in a real browser (Chromium, the app's CSP): forms.js hides and clears the
identity of an anonymous report, lists the files chosen before sending, and moves the focus to
the summary of a round's errors."""
from __future__ import annotations

import sqlalchemy as sa

from portal.models import Submission
from tests.factories import EVIDENCE


def test_the_complaint_form_helps_before_and_after_sending(live, web, tmp_path):
    page, watch = web.page, web.watch
    page.goto("/lang/en")
    watch.check(page)
    page.goto("/submit/complaint")
    watch.check(page)
    form = page.locator("form.filing")
    name = form.locator("#filer_name")
    name.fill("举报人甲")
    form.locator("#filer_contact").fill("13800000000")

    form.get_by_label("Report anonymously").check()          # hidden, disabled and cleared
    assert not name.is_visible() and name.is_disabled() and name.input_value() == ""
    assert form.locator("#filer_contact").input_value() == ""
    form.get_by_label("Report anonymously").uncheck()
    assert name.is_visible() and name.is_enabled()

    evidence = tmp_path / "现场照片.png"
    evidence.write_bytes(EVIDENCE["png"])
    form.locator("#files").set_input_files(str(evidence))      # listed before sending
    chosen = form.locator("#files-chosen")
    assert chosen.is_visible() and "现场照片.png (PNG, 1 KB)" in chosen.inner_text()

    with page.expect_navigation():                              # nothing else filled in
        form.get_by_role("button", name="Send report").click()
    watch.check(page)
    expected = [p for p in watch.problems if "422" in p and p.split()[-1].endswith("/submit/complaint")
                or "status of 422" in p]
    assert len(expected) == 2                                   # the round with errors: a 422, as meant
    watch.problems = [p for p in watch.problems if p not in expected]
    summary = page.locator("[data-error-summary]")
    assert summary.is_visible()
    assert page.evaluate("document.activeElement.hasAttribute('data-error-summary')")
    links = summary.locator("a")
    assert links.count() >= 4                                    # every error at once
    assert "现场照片.png" in page.locator(".held-files").inner_text()
    links.first.click()
    assert page.evaluate("location.hash") == "#reported_name"

    page.locator("#reported_name").fill("某某劳务派遣公司")
    page.locator("input[name=category][value=fraud]").check()
    page.locator("#body").fill("该公司虚构劳动关系为他人补缴社保。")
    page.get_by_label("Report anonymously").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Send report").click()
    watch.check(page)
    assert page.locator("h1").inner_text() == "Your filing has been received"
    assert "cannot be issued again" in page.locator("main").inner_text()
    live.session.expire_all()
    sub = live.session.execute(sa.select(Submission)).scalar_one()
    assert sub.anonymous and sub.filer_name is None
    assert [a.original_name for a in sub.attachments] == ["现场照片.png"]
    live.session.rollback()
    watch.assert_clean()
