"""The public pages on a phone (390 px) and a desktop, large text, and the back office's width
(issue 13, item 6), and the letter verification on a phone, measured in a real browser."""
from __future__ import annotations

import datetime as dt
import os

from portal import clock
from portal.models import LetterKind, SubjectKind
from portal.search import get_index
from portal.services import indexer, letter_verification, letters
from tests.browser.conftest import BROWSER
from tests.factories import make_subject, published_case
from tests.letters_support import DECIDED, Procedure

pytestmark = BROWSER

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
SHOTS = os.environ.get("PORTAL_TEST_SCREENSHOTS")     # a folder: keep screenshots to look at


def _publish(live, n: int = 3):
    session = live.session
    today = clock.today()
    for i in range(n):
        published_case(session, live.app, decided_on=today - dt.timedelta(days=40 + i * 35),
                       subject=make_subject(session, name=f"佳木斯市版式测试第{i}建筑工程有限公司"))
    published_case(session, live.app, kind=SubjectKind.PERSON,
                   decided_on=today - dt.timedelta(days=30),
                   subject=make_subject(session, SubjectKind.PERSON, name="王晓明"))
    session.commit()
    indexer.sync(session, get_index(live.app))
    session.commit()


def _page(web, size: dict, path: str):
    page = web.context.new_page()
    page.set_viewport_size(size)
    page.goto(path)
    web.watch.check(page)
    if SHOTS:
        name = f"{path.strip('/').replace('/', '_') or 'home'}-{size['width']}.png"
        page.screenshot(path=os.path.join(SHOTS, name), full_page=True)
    return page


def _no_sideways_scroll(page) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{page.url}: {overflow} px wider than the screen"


def _lines(page, selector: str) -> list[int]:
    """How many lines the text of each element takes (its own text, not a ::before label)."""
    return page.evaluate("""(selector) => [...document.querySelectorAll(selector)].map((el) => {
        const range = document.createRange(); range.selectNodeContents(el);
        return new Set([...range.getClientRects()].filter(r => r.width > 0)
                       .map(r => Math.round(r.top))).size; })""", selector)


#: The rendered font size (px) of every visible text of the charts: HTML text as computed,
#: SVG text scaled by its drawing (a viewBox shrinks it).
_CHART_TEXT = """() => {
  const sizes = [];
  for (const el of document.querySelectorAll('figure.chart-figure *')) {
    if (!el.getClientRects().length) continue;
    if (el instanceof SVGTextElement) {
      const box = el.getBBox(), shown = el.getBoundingClientRect();
      if (box.height) sizes.push(parseFloat(getComputedStyle(el).fontSize) * shown.height / box.height);
    } else if (!(el instanceof SVGElement)) {
      const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
      if (own) sizes.push(parseFloat(getComputedStyle(el).fontSize));
    }
  }
  return sizes;
}"""


def test_a_phone_sees_the_whole_menu_the_results_first_and_readable_charts(live, web):
    _publish(live)
    entries = _page(web, PHONE, "/entries")
    _no_sideways_scroll(entries)
    links = entries.locator("nav.main-nav a")
    assert links.count() == 7
    for i in range(links.count()):
        box = links.nth(i).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], links.nth(i).inner_text()
        assert box["height"] >= 44
    rows = entries.locator("nav.main-nav a").evaluate_all(
        "links => new Set(links.map(a => Math.round(a.getBoundingClientRect().top))).size")
    assert rows <= 2                                              # 统计, 网上办理 in view
    # the filters are folded; the first entry is on the first screen
    assert entries.locator("details.filters-fold").get_attribute("open") is None
    assert entries.locator("table.list tbody tr").first.bounding_box()["y"] < PHONE["height"]
    # dates and codes are never broken inside
    assert set(_lines(entries, "table.list td.token")) == {1}
    assert set(_lines(entries, "table.list td.code")) == {1}
    entries.locator("details.filters-fold > summary").click()
    assert entries.locator("input[name=ground]").first.is_visible()
    entries.keyboard.press("Tab")                                 # keyboard reaches the form

    search = _page(web, PHONE, "/search?q=" + "佳木斯")
    results, facets = search.locator("section.results"), search.locator("aside.facets")
    assert results.bounding_box()["y"] < facets.bounding_box()["y"]
    _no_sideways_scroll(search)

    stats = _page(web, PHONE, "/stats")
    _no_sideways_scroll(stats)
    sizes = stats.evaluate(_CHART_TEXT)
    assert sizes and min(sizes) >= 12, sorted(sizes)[:5]
    assert not stats.locator("svg.chart").first.is_visible()        # the months as bars
    assert stats.locator("#chart-months-narrow").is_visible()
    web.watch.assert_clean()


def test_a_desktop_opens_the_filters_beside_the_results_and_keeps_chart_text_readable(live, web):
    _publish(live)
    entries = _page(web, DESKTOP, "/entries")
    entries.wait_for_function("document.querySelector('details.filters-fold').open")
    search = _page(web, DESKTOP, "/search?q=" + "佳木斯")
    results, facets = search.locator("section.results").bounding_box(), \
        search.locator("aside.facets").bounding_box()
    assert facets["x"] + facets["width"] <= results["x"] and abs(facets["y"] - results["y"]) < 2
    stats = _page(web, DESKTOP, "/stats")
    assert stats.locator("svg.chart").first.is_visible()
    sizes = stats.evaluate(_CHART_TEXT)
    assert sizes and min(sizes) >= 12, sorted(sizes)[:5]
    web.watch.assert_clean()


def test_large_text_high_contrast_is_chosen_without_javascript_and_kept(live, web):
    _publish(live, 1)
    context = web.context.browser.new_context(base_url=live.url, java_script_enabled=False)
    page = context.new_page()
    page.set_viewport_size(PHONE)
    page.goto("/entries")
    normal = page.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)")
    page.locator("a.display-toggle").click()
    page.wait_for_load_state("load")
    assert page.url.endswith("/entries")
    assert page.locator("html").get_attribute("class") == "large-text"
    large = page.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)")
    assert large >= normal * 1.25 - 0.5
    assert page.evaluate("getComputedStyle(document.body).color") == "rgb(0, 0, 0)"
    page.goto("/stats")                                           # kept from page to page
    assert page.locator("html").get_attribute("class") == "large-text"
    _no_sideways_scroll(page)
    page.locator("a.display-toggle").click()
    page.wait_for_load_state("load")
    assert page.locator("html").get_attribute("class") is None
    context.close()


def test_the_back_office_uses_the_width_of_a_desktop(live, web):
    page = _page(web, {"width": 1600, "height": 900}, "/admin/login")
    width = page.evaluate("document.querySelector('main').getBoundingClientRect().width")
    assert width > 1300
    public = _page(web, {"width": 1600, "height": 900}, "/entries")
    assert public.evaluate("document.querySelector('main').getBoundingClientRect().width") <= 1080
    web.watch.assert_clean()


def test_an_entry_prints_black_on_white_without_menus_and_with_link_addresses(live, web):
    import sqlalchemy as sa

    from portal.models import PublishedEntry

    _publish(live, 1)
    public_id = live.session.execute(sa.select(PublishedEntry.public_id)).scalars().first()
    page = _page(web, DESKTOP, f"/entries/{public_id}")
    page.emulate_media(media="print")
    for hidden in ("header.site", "nav.main-nav", "footer.site", "nav.lang"):
        assert not page.locator(hidden).is_visible(), hidden
    address = page.locator("main .page-address")
    assert address.is_visible() and address.inner_text().startswith("http")
    assert address.inner_text().endswith(f"/entries/{public_id}")
    after = page.evaluate("""() => { const a = [...document.querySelectorAll('article.entry a')]
        .find(a => a.getClientRects().length);
        return getComputedStyle(a, '::after').content; }""")
    assert "http" in after and "/submit" in after
    assert page.evaluate("getComputedStyle(document.body).color") == "rgb(0, 0, 0)"
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") in (
        "rgb(255, 255, 255)", "rgba(0, 0, 0, 0)")
    page.emulate_media(media="screen")
    assert not address.is_visible()
    web.watch.assert_clean()


def test_a_phone_verifies_a_letter_without_sideways_scrolling(live, web):
    page = _page(web, PHONE, "/letters/verify")
    _no_sideways_scroll(page)
    for field in ("#number", "#code", "button[type=submit]"):
        box = page.locator(field).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], field
        assert box["height"] >= 44, (field, box["height"])
    page.fill("#number", "ＪＩＡ－ＬＲ－２０２６－００００１")
    page.fill("#code", "2345 6789 abcd")
    page.keyboard.press("Enter")
    page.locator("[data-part=not_found]").wait_for()
    web.watch.check(page)                                   # the answer page too
    _no_sideways_scroll(page)
    # a genuine letter: the answer with its status, readable on the phone
    proc = Procedure(live.session, live.app)
    proc.decide()
    letter = letters.issue(live.session, proc.clerk, proc.case, proc.profile,
                           LetterKind.LISTING_DECISION, DECIDED)
    live.session.commit()
    page.fill("#number", letter.letter_no)
    page.fill("#code", letter_verification.code_of(live.app.config["PORTAL_LOOKUP_KEY"], letter))
    page.keyboard.press("Enter")
    page.locator("[data-status=in_force]").wait_for()
    web.watch.check(page)
    _no_sideways_scroll(page)
    web.watch.assert_clean()
