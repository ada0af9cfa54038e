"""Large text with high contrast (适老化): chosen without JavaScript, kept in the session, a page
variant of its own for the HTTP validators and the page cache."""
from __future__ import annotations


def test_large_text_is_a_page_of_its_own_for_caches(app, client):
    standard = client.get("/entries")
    assert standard.status_code == 200 and 'class="large-text"' not in standard.get_data(as_text=True)
    assert 'href="/display/large?next=/entries?"' in standard.get_data(as_text=True)

    chosen = client.get("/display/large?next=/entries")
    assert chosen.status_code == 302 and chosen.headers["Location"].endswith("/entries")
    large = client.get("/entries")
    html = large.get_data(as_text=True)
    assert '<html lang="zh-CN" class="large-text">' in html
    assert 'href="/display/standard?next=/entries?"' in html
    assert large.headers["ETag"] != standard.headers["ETag"]
    # the standard page's validator does not answer for the large one, nor its kept bytes
    again = client.get("/entries", headers={"If-None-Match": standard.headers["ETag"]})
    assert again.status_code == 200 and 'class="large-text"' in again.get_data(as_text=True)

    client.get("/display/standard?next=/entries")
    back = client.get("/entries")
    assert 'class="large-text"' not in back.get_data(as_text=True)
    assert back.headers["ETag"] == standard.headers["ETag"]


def test_only_known_modes_and_same_site_addresses(client):
    assert client.get("/display/huge").status_code == 404
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        answer = client.get("/display/large", query_string={"next": target})
        assert answer.status_code == 302 and answer.headers["Location"] in ("/", "http://localhost/")
