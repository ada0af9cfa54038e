"""Batch screening in a real browser: upload a file, watch the progress bar move while the
workers screen it, see the results appear by themselves and download them."""
import re

from playwright.sync_api import expect

from portal import clock
from portal.extensions import db
from portal.services import screening_batches
from tests.browser.conftest import BROWSER
from tests.factories import make_subject, published_case

pytestmark = BROWSER

NAME = "佳木斯市恒达建筑工程有限公司"


def _chunk(live, rows: int) -> int:
    """What a worker does in one round: screen the next ``rows`` rows."""
    config = live.app.config
    done = screening_batches.run_once(db.session, config["SECRET_KEY"],
                                      config["PORTAL_LOOKUP_KEY"], "host-a",
                                      clock.now(), clock.today(), chunk=rows)
    db.session.remove()
    return done


def test_a_file_is_screened_with_a_visible_progress_bar(live, web, tmp_path):
    published_case(live.session, live.app, subject=make_subject(live.session, name=NAME))
    live.session.commit()
    lines = ["名称,统一社会信用代码"] + [f"无关测试单位{i}号商店," for i in range(39)]
    lines.insert(5, "佳木斯恒达建筑工程公司,")           # the listed name, legal form changed
    upload = tmp_path / "名单.csv"
    upload.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8-sig")
    page, watch = web.page, web.watch

    page.goto("/screen")
    watch.check(page)
    page.locator("input[type=file]").set_input_files(str(upload))
    page.get_by_role("button", name="上传并比对").click()
    page.wait_for_url(re.compile(r"/screen/[A-Za-z0-9_-]{32}$"))
    watch.check(page)
    bar = page.locator("progress#screen-progress")
    assert bar.is_visible() and bar.get_attribute("value") == "0"
    assert bar.get_attribute("max") == "40"
    # the workers screen a quarter; the page's bar follows without a reload
    assert _chunk(live, 10) == 10
    expect(bar).to_have_attribute("value", "10")
    expect(page.locator("#screen-progress-text")).to_contain_text("10 / 40")
    while _chunk(live, 10):
        pass
    # when every row is screened the page shows the results by itself
    page.wait_for_selector("table.screen-results")
    watch.check(page)
    assert page.locator("progress").count() == 0
    row = page.locator("tr[data-row='6']")
    assert NAME in row.inner_text() and "名称可能匹配" in row.inner_text()
    link = page.get_by_role("link", name="下载比对结果（CSV）")
    download = page.request.get(link.get_attribute("href"))
    assert download.ok and download.body().startswith(b"\xef\xbb\xbf")
    assert NAME in download.body().decode("utf-8-sig")
    watch.assert_clean()
