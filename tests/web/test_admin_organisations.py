"""/admin/organisations: the bureau sees the organisations' accounts registered at /watch
and closes or reopens one with a reason (admins only, with the CSRF token, audited).
Closing ends the account's sessions; sign-in, the feed, e-mail and webhooks stop."""
import re

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from portal import clock
from portal.admin import audit_text
from portal.models import (
    AuditEvent,
    Role,
    Subscriber,
    SubscriberSession,
    SubjectKind,
    WebhookEndpoint,
)
from portal.services import subscriber_accounts, subscribers, watchlists
from portal.services.permissions import PermissionDenied, may_manage_subscribers
from tests.factories import make_subject
from tests.web.admin_support import english, fast_passwords, login, staff, text  # noqa: F401

pytestmark = pytest.mark.usefixtures("fast_passwords")
PASSWORD = "a long passphrase"


def _organisation(app, session, email="hr@bank.example", name="某银行人事部", *,
                  verified=True, codes=0, hooks=0):
    owner, _token = subscribers.register(session, name, email, PASSWORD, "zh_CN", clock.now())
    if verified:
        owner.email_verified_at = clock.now()
    if codes or hooks:
        watchlist = watchlists.create(session, app.config["SECRET_KEY"], "供应商",
                                      subscriber_id=owner.id, now=clock.now())
        subjects = [make_subject(session, SubjectKind.ORGANISATION) for _ in range(codes)]
        watchlists.add_codes(session, app.config["PORTAL_LOOKUP_KEY"], watchlist,
                             [(i + 1, s.uscc, f"供应商标签{i}") for i, s in enumerate(subjects)],
                             clock.today(), clock.now())
        for number in range(hooks + 1):       # one more, removed: not counted
            session.add(WebhookEndpoint(
                owner_kind="watchlist", owner_id=watchlist.id, url=f"https://hooks.example/{number}",
                secret_sealed=b"x", secret_prefix="whs_x", event_types=["watch.listed"],
                active=number < hooks, deactivated_at=None if number < hooks else clock.now()))
    session.commit()
    return owner


def _org_login(client, email="hr@bank.example"):
    return client.post("/watch/login", data={"email": email, "password": PASSWORD})


def _feed_path(client) -> str:
    page = client.get("/watch").get_data(as_text=True)
    address = re.search(r'href="(/watch/lists/\d+)"', page).group(1)
    page = client.get(address).get_data(as_text=True)
    feed_url = re.search(r'<code class="feed-url">([^<]+)</code>', page).group(1)
    return "/" + feed_url.split("://", 1)[1].split("/", 1)[1]


def _events(session, action):
    return session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)).all()


def test_the_admin_lists_the_accounts_newest_first_without_their_codes(app, session, client):
    older = _organisation(app, session, "hr@bank.example", "某银行人事部", codes=2, hooks=1)
    newer = _organisation(app, session, "bid@tender.example", "招标委员会", verified=False)
    english(client)
    login(client, staff(session, Role.ADMIN, "admin.zhou"))
    page = client.get("/admin/organisations/")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    html, body = page.get_data(as_text=True), text(page)
    assert html.index("bid@tender.example") < html.index("hr@bank.example")     # newest first
    row = re.search(rf'<tr[^>]*data-subscriber-id="{older.id}".*?</tr>', html, re.S).group(0)
    cells = text_of(row)
    assert "某银行人事部" in cells and "confirmed" in cells and "not confirmed" not in cells
    assert "open" in cells and "hr@bank.example" in cells
    for label, count in (("Watchlists", 1), ("Codes", 2), ("Webhooks", 1)):
        assert re.search(rf'data-label="{label}">\s*{count}\s*<', row), label
    fresh = text_of(re.search(rf'<tr[^>]*data-subscriber-id="{newer.id}".*?</tr>', html, re.S).group(0))
    assert "not confirmed" in fresh and "never" in fresh
    assert "供应商" not in body and "供应商标签" not in html      # the watchlists are their own
    assert 'href="/admin/organisations/"' in html                # in the back-office menu
    found = text(client.get("/admin/organisations/?q=TENDER"))
    assert "招标委员会" in found and "某银行人事部" not in found
    assert "某银行" in text(client.get("/admin/organisations/?q=银行"))
    assert client.get("/admin/organisations/?q=%25_%5C" + "x" * 300).status_code == 200


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_closing_needs_a_reason_ends_the_sessions_and_stops_sign_in_and_the_feed(
        app, session, client):
    owner = _organisation(app, session, codes=1)
    organisation = app.test_client()
    assert _org_login(organisation).status_code == 303
    feed = _feed_path(organisation)
    assert organisation.get(feed).status_code == 200
    english(client)
    login(client, staff(session, Role.ADMIN, "admin.zhou"))
    account = client.get(f"/admin/organisations/{owner.id}")
    assert account.status_code == 200
    assert f'action="/admin/organisations/{owner.id}/close"' in account.get_data(as_text=True)

    refused = client.post(f"/admin/organisations/{owner.id}/close", data={"reason": "  "})
    assert refused.status_code == 400
    assert 'name="reason"' in refused.get_data(as_text=True) and "This field is required" \
        in text(refused)
    session.expire_all()
    assert session.get(Subscriber, owner.id).active and not _events(session, "subscriber.close")

    done = client.post(f"/admin/organisations/{owner.id}/close",
                       data={"reason": "合同终止 230102199001011234"})
    assert done.status_code == 302 and done.headers["Location"] == "/admin/organisations/"
    session.expire_all()
    assert not session.get(Subscriber, owner.id).active
    assert session.scalar(sa.select(sa.func.count()).select_from(SubscriberSession)) == 0
    [event] = _events(session, "subscriber.close")
    assert event.actor_label == "staff:admin.zhou" and event.entity_type == "subscriber"
    assert event.entity_id == str(owner.id) and "合同终止" in event.data["reason"]
    assert "230102199001011234" not in str(event.data)       # a typed ID number is masked
    assert "hr@bank.example" not in str(event.data)
    assert event.data["sessions"] == 1

    signed_out = organisation.get("/watch")
    assert signed_out.status_code == 303 and "/watch/login" in signed_out.headers["Location"]
    refused = _org_login(organisation)
    assert refused.status_code == 401
    # the right password: told that the bureau closed the account, not that it was wrong
    assert "本局已关闭此账户" in refused.get_data(as_text=True)
    wrong = organisation.post("/watch/login", data={"email": "hr@bank.example",
                                                    "password": "not the password!"})
    assert wrong.status_code == 401 and "本局已关闭此账户" not in wrong.get_data(as_text=True)
    assert organisation.get(feed).status_code == 404
    listed = client.get("/admin/organisations/").get_data(as_text=True)
    row = text_of(re.search(rf'<tr[^>]*data-subscriber-id="{owner.id}".*?</tr>', listed, re.S).group(0))
    assert "closed" in row
    # closing it again changes nothing and records nothing
    again = client.post(f"/admin/organisations/{owner.id}/close", data={"reason": "again"})
    assert again.status_code == 302 and len(_events(session, "subscriber.close")) == 1


def test_reopening_lets_the_organisation_sign_in_and_read_its_feed_again(app, session, client):
    owner = _organisation(app, session, codes=1)
    organisation = app.test_client()
    assert _org_login(organisation).status_code == 303
    feed = _feed_path(organisation)
    admin = staff(session, Role.ADMIN, "admin.zhou")
    subscriber_accounts.close(session, admin, owner, "test")
    session.commit()
    assert organisation.get(feed).status_code == 404
    english(client)
    login(client, admin)
    page = client.get(f"/admin/organisations/{owner.id}").get_data(as_text=True)
    assert f'action="/admin/organisations/{owner.id}/reopen"' in page and "/close" not in page
    assert client.post(f"/admin/organisations/{owner.id}/reopen",
                       data={"reason": ""}).status_code == 400
    done = client.post(f"/admin/organisations/{owner.id}/reopen",
                       data={"reason": "合同续签"})
    assert done.status_code == 302
    session.expire_all()
    assert session.get(Subscriber, owner.id).active
    [event] = _events(session, "subscriber.reopen")
    assert event.data["reason"] == "合同续签" and event.entity_id == str(owner.id)
    assert _org_login(organisation).status_code == 303
    assert organisation.get(feed).status_code == 200


def test_other_roles_get_403_and_the_service_refuses_them(app, session, client):
    owner = _organisation(app, session)
    clerk = staff(session, Role.CLERK, "wang.fang")
    login(client, clerk)
    assert client.get("/admin/organisations/").status_code == 403
    assert client.get(f"/admin/organisations/{owner.id}").status_code == 403
    assert client.post(f"/admin/organisations/{owner.id}/close",
                       data={"reason": "x"}).status_code == 403
    assert not may_manage_subscribers(clerk).allowed
    with pytest.raises(PermissionDenied):
        subscriber_accounts.close(session, clerk, owner, "x")
    session.rollback()
    session.expire_all()
    assert session.get(Subscriber, owner.id).active
    assert 'href="/admin/organisations/"' not in client.get("/admin/").get_data(as_text=True)


def test_an_unknown_account_is_404_and_a_blank_reason_is_refused_by_the_service(
        app, session, client):
    owner = _organisation(app, session)
    admin = staff(session, Role.ADMIN, "admin.zhou")
    login(client, admin)
    assert client.get("/admin/organisations/999999").status_code == 404
    assert client.post("/admin/organisations/999999/close",
                       data={"reason": "x"}).status_code == 404
    with pytest.raises(subscriber_accounts.AccountError) as refused:
        subscriber_accounts.close(session, admin, owner, " \n")
    assert refused.value.code == "no_reason"


def test_closing_needs_the_csrf_token(app, session, client):
    owner = _organisation(app, session)
    login(client, staff(session, Role.ADMIN, "admin.zhou"))
    app.config["WTF_CSRF_ENABLED"] = True
    assert client.post(f"/admin/organisations/{owner.id}/close",
                       data={"reason": "合同终止"}).status_code == 400
    session.expire_all()
    assert session.get(Subscriber, owner.id).active
    page = client.get(f"/admin/organisations/{owner.id}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page).group(1)
    assert client.post(f"/admin/organisations/{owner.id}/close",
                       data={"reason": "合同终止", "csrf_token": token}).status_code == 302
    session.expire_all()
    assert not session.get(Subscriber, owner.id).active


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_the_audit_log_reads_closing_and_reopening_as_sentences(app, session, client, lang):
    owner = _organisation(app, session)
    admin = staff(session, Role.ADMIN, "admin.zhou")
    subscriber_accounts.close(session, admin, owner, "合同终止")
    subscriber_accounts.reopen(session, admin, owner, "合同续签")
    session.commit()
    closed, reopened = _events(session, "subscriber.close")[0], _events(session, "subscriber.reopen")[0]
    with app.test_request_context(), force_locale(lang):
        said = audit_text.sentence(closed, {"admin.zhou": "周"})
        back = audit_text.sentence(reopened, {"admin.zhou": "周"})
    assert "周 (admin.zhou)" in said and str(owner.id) in said and "合同终止" in said
    assert "合同续签" in back and "subscriber." not in said + back
    if lang == "en":
        assert "closed" in said and "reopened" in back
    else:
        assert "关闭" in said and "重新开通" in back
    login(client, admin)
    english(client)
    log = text(client.get("/admin/audit/"))
    assert f"closed the account of organisation no. {owner.id}" in log
