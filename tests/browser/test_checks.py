"""The browser tests' own checks can fail: axe-core finds violations on a real page, and a page
visited without its check is reported."""
import pytest

from tests.browser.conftest import BROWSER, VIEWPORTS, axe

pytestmark = BROWSER


def test_axe_reports_an_unlabelled_field_and_faint_text_with_their_selectors(live, web):
    page, watch = web.page, web.watch
    page.goto("/")
    watch.check(page)                                   # the home page as served: no violation
    page.evaluate("""() => {
        const main = document.querySelector('main');
        main.insertAdjacentHTML('beforeend',
            '<input id="unlabelled" type="text"><p id="faint">浅色文字</p>');
        document.getElementById('faint').style.color = '#bbb';    // CSSOM: allowed by the CSP
    }""")
    found = "\n".join(axe(page))
    assert "[critical] label:" in found and "#unlabelled" in found
    assert "[serious] color-contrast:" in found and "#faint" in found
    with pytest.raises(AssertionError, match="axe found 2 violation"):
        watch.check(page)
    page.evaluate("() => { for (const id of ['unlabelled', 'faint']) document.getElementById(id).remove(); }")
    watch.check(page)
    watch.assert_clean()


def test_a_page_visited_without_its_check_is_reported(live, web):
    page, watch = web.page, web.watch
    page.goto("/stats")
    with pytest.raises(AssertionError, match="/stats"):
        watch.assert_all_checked()
    watch.check(page)
    watch.assert_clean()


def test_the_phone_size_is_a_touch_screen_of_390_by_844(live, web, viewport):
    page = web.page
    page.goto("/")
    web.watch.check(page)
    size = page.evaluate("() => [innerWidth, innerHeight, matchMedia('(pointer: coarse)').matches]")
    wanted = viewport["viewport"]
    assert size == [wanted["width"], wanted["height"], viewport == VIEWPORTS["phone"]]
