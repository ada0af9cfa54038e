"""Watchlists in a real browser: an organisation registers, opens the link sent to it, signs
in, makes a watchlist, adds codes and sees which are on the list today, registers a webhook
(its secret shown once) and removes it — every page checked for its language, heading and
accessibility (axe)."""
import re

import sqlalchemy as sa

from portal.extensions import db
from portal.models import OutgoingMail
from portal.services import webhook_guard
from tests.browser.conftest import BROWSER
from tests.factories import make_subject, published_case

pytestmark = BROWSER


def test_register_confirm_sign_in_and_watch(live, web, monkeypatch):
    live.app.config["PORTAL_SMTP_HOST"] = "127.0.0.1"     # messages are queued, not sent here
    listed = make_subject(live.session, name="佳木斯市恒达建筑工程有限公司")
    published_case(live.session, live.app, subject=listed)
    other = make_subject(live.session)
    live.session.commit()
    codes = (listed.uscc, other.uscc)
    page, watch = web.page, web.watch

    page.goto("/watch/register")
    watch.check(page)
    page.get_by_label("单位名称").fill("某银行佳木斯分行")
    page.get_by_label("电子邮箱").fill("risk@bank.example")
    page.get_by_label("密码（至少 10 个字符）").fill("a long passphrase")
    page.get_by_label("再次输入密码").fill("a long passphrase")
    page.get_by_role("button", name="注册单位").click()
    watch.check(page)
    assert "risk@bank.example" in page.inner_text("main")

    db.session.remove()
    row = db.session.scalar(sa.select(OutgoingMail).where(OutgoingMail.event == "subscriber_verify"))
    page.goto(f"/watch/verify/{row.payload['token']}")
    watch.check(page)
    page.get_by_label("电子邮箱").fill("risk@bank.example")
    page.get_by_label("密码").fill("a long passphrase")
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(re.compile(r"/watch$"))
    watch.check(page)

    page.get_by_label("关注名单名称").fill("供应商")
    page.get_by_role("button", name="创建").click()
    page.wait_for_url(re.compile(r"/watch/lists/\d+$"))
    watch.check(page)
    page.get_by_label("代码，每行一个（逗号后可加备注）").fill(
        f"{codes[0]},甲供应商\n{codes[1]},乙供应商\n")
    page.get_by_role("button", name="添加", exact=True).click()
    page.wait_for_url(re.compile(r"/watch/lists/\d+\?added=2$"))
    watch.check(page)
    table = page.locator("table").last.inner_text()
    assert "甲供应商" in table and "乙供应商" in table
    assert "其中今天在名单上的 1 个" in page.inner_text("main")

    # a webhook to the bank's own system (its name resolves to a public address here)
    monkeypatch.setattr(webhook_guard, "resolve", lambda host, port: ["93.184.216.34"])
    address = page.url.split("?")[0]
    page.get_by_label("接收地址（https://…）").fill("https://hooks.bank.example/portal?k=1")
    page.get_by_role("button", name="登记推送地址").click()
    watch.check(page)
    [secret] = re.findall(r"whsec_[A-Za-z0-9_-]{40,}", page.inner_text("main"))
    table = page.locator("#webhooks ~ table").first.inner_text()
    assert "https://hooks.bank.example" in table and "k=1" not in table
    page.goto(address)
    watch.check(page)
    assert secret not in page.content() and secret[:10] in page.inner_text("main")
    page.get_by_role("button", name="删除此推送地址").click()
    page.wait_for_url(address)
    watch.check(page)
    assert "已删除" in page.locator("#webhooks ~ table").first.inner_text()
    watch.assert_clean()
