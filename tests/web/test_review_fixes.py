"""Defects found by review of the issue-13 work: an ID number inside a longer back-office
query, redirects after choosing a language or display, and names the static route keeps."""
import pytest

from portal.models import Role
from portal.rules.identifiers import contains_ric_number
from tests.web.admin_support import fast_passwords, login, staff  # noqa: F401

pytestmark = pytest.mark.usefixtures("fast_passwords")
NUMBER = "230803195807012431"


@pytest.mark.parametrize("query", [f"刘德明 {NUMBER}", f"{NUMBER}。", f"身份证{NUMBER}",
                                   "230803195807012430"])
def test_an_id_number_inside_a_search_never_reaches_the_address_or_the_page(
        session, client, query):
    login(client, staff(session, Role.CLERK, "wang.fang"))
    posted = client.post("/admin/search", data={"q": query})
    assert posted.status_code == 303 and not contains_ric_number(posted.headers["Location"])
    page = client.get(f"/admin/search?q={query}", follow_redirects=True)
    assert page.status_code == 200
    assert not contains_ric_number(page.get_data(as_text=True))
    for response in page.history:
        assert not contains_ric_number(response.headers.get("Location", ""))


@pytest.mark.parametrize("route", ["/display/large", "/display/standard", "/lang/en"])
@pytest.mark.parametrize("target", ["/%09/evil.example", "/%0a/evil.example", "/%0d/evil.example",
                                    "//evil.example", "/\\evil.example", "https://evil.example",
                                    "/%09%09/evil.example"])
def test_choosing_a_language_or_display_never_leaves_the_site(client, route, target):
    answer = client.get(f"{route}?next={target}")
    assert answer.status_code == 302
    location = answer.headers["Location"]
    assert "evil" not in location and not location.startswith("//")


def test_a_good_next_is_kept(client):
    assert client.get("/display/large?next=/entries?page=2").headers["Location"] == \
        "/entries?page=2"


def test_the_static_route_keeps_only_names_of_files(app, client):
    files = app.extensions["portal.static"]
    client.get("/static/css/nothing.css")          # the 404 page links the site's own files
    before = len(files._files)
    for i in range(50):
        client.get(f"/static/css/{i:032x}.css")
        client.get("/static/css/" + "./" * (i + 1) + "portal.css")
    assert len(files._files) == before
